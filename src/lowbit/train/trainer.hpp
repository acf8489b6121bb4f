// lowbit/train/trainer.hpp — the training loop: seeded batches from a token stream, forward and
// backward, clipping, AdamW on a warm-up + cosine schedule, loss log, resumable checkpoints.
// defines: lowbit::train::TrainOptions, StepRecord, TrainSummary, Trainer, train_flops_per_token,
//          summary_group
//
// Batches: the token stream (documents with BOS, concatenated) is cut into non-overlapping windows
// of seq_len+1 tokens; epoch e visits them in the order of a permutation seeded by (seed, e), and
// step s takes windows s·batch .. s·batch+batch-1 of that endless sequence. A batch is therefore a
// pure function of (seed, step), which is what makes a resumed run bit-identical to an
// uninterrupted one (same thread count; the checkpoint holds parameters, both AdamW moments and
// the step).
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "lowbit/archive/record.hpp"
#include "lowbit/core/log.hpp"
#include "lowbit/io/tokenizer.hpp"
#include "lowbit/train/adamw.hpp"
#include "lowbit/train/decoder_grad.hpp"

namespace lowbit::train {

struct TrainOptions {
  int seq_len = 64;
  int batch = 16;
  long long steps = 1000;
  double lr = 3e-3;
  double min_lr_frac = 0.1;  // final lr = lr · min_lr_frac
  long long warmup = 50;
  double grad_clip = 1.0;
  AdamWConfig adamw;
  uint64_t seed = 1;       // parameter init and batch order
  int log_every = 50;      // a log line (and a StepRecord kept) every this many steps; the last step always
  // Throws ConfigError naming the field (prefixed by `where`) when a value is out of range.
  void validate(const std::string& where) const;
};

struct StepRecord {
  long long step = 0;      // 1-based: the number of optimizer steps done
  long long tokens = 0;    // tokens trained on so far
  double loss = 0;         // mean train loss over the steps since the previous record
  double lr = 0, grad_norm = 0;
  double seconds = 0;      // training time so far (checkpoint writing excluded)
};

struct TrainSummary {
  DecoderConfig cfg;
  TrainOptions opt;
  long long steps = 0, tokens = 0;
  long long non_embedding_params = 0, total_params = 0;
  double seconds = 0;
  double flops_6nd = 0;       // 6 · non-embedding params · tokens (the scaling-law convention)
  double flops = 0;           // train_flops_per_token · tokens (classifier and attention included)
  double final_loss = 0;      // mean loss over the last log interval
  std::vector<StepRecord> history;
};

// Forward+backward FLOPs per trained token: 6·(non-embedding params + V·D) for the GEMMs plus
// 6·L·T·D for attention (QKᵀ and PV, causal: ~T/2 keys per query, ×3 for the backward).
double train_flops_per_token(const DecoderConfig& c, int seq_len);

class Trainer {
 public:
  // A fresh run: parameters initialised from opt.seed. `stream` is the tokenized training text.
  Trainer(const DecoderConfig& cfg, const TrainOptions& opt, std::shared_ptr<const std::vector<int>> stream);
  // Continue from a checkpoint written by save_checkpoint. The stream must be the same tokens
  // (checked by length and hash: InputError otherwise).
  static std::unique_ptr<Trainer> resume(const std::string& checkpoint, std::shared_ptr<const std::vector<int>> stream);

  // One optimizer step; returns its loss.
  double step();
  // Steps until opt.steps (or `until` when > 0), logging every log_every steps through
  // `progress` (may be null) and writing a checkpoint every `ckpt_every` steps to `ckpt_path`.
  void train(long long until = 0, Progress* progress = nullptr, long long ckpt_every = 0,
             const std::string& ckpt_path = "");
  // Parameters, AdamW moments, step, options, history (binary header + JSON + f32 arrays; atomic).
  void save_checkpoint(const std::string& path) const;

  long long current_step() const { return step_; }
  const std::vector<float>& params() const { return params_; }
  const DecoderConfig& config() const { return dec_.config(); }
  const TrainOptions& options() const { return opt_; }
  TrainSummary summary() const;
  // The batch of step `s`: tokens and targets [batch·seq_len] (exposed for tests).
  void batch_for_step(long long s, std::vector<int>& tokens, std::vector<int>& targets);

 private:
  TrainableDecoder dec_;
  TrainOptions opt_;
  std::shared_ptr<const std::vector<int>> stream_;
  std::vector<float> params_, grad_;
  AdamWState adam_;
  long long step_ = 0;
  double seconds_ = 0;
  std::vector<StepRecord> history_;
  double loss_acc_ = 0, gnorm_acc_ = 0;
  long long loss_n_ = 0;
  long long cached_epoch_ = -1;
  std::vector<int64_t> perm_;
  std::vector<int> tok_buf_, tgt_buf_;
};

// The training stream of a text: documents split at `doc_sep` ("" = one document), each encoded
// with BOS (when the tokenizer has one), concatenated.
std::vector<int> token_stream(const Tokenizer& tok, const std::string& text, const std::string& doc_sep);

// Threads for OpenMP loops and OpenBLAS GEMMs (n <= 0: leave the libraries' defaults). Results
// are bit-identical across runs with the same thread count.
void set_compute_threads(int n);

// Hash of a token stream (FNV-1a over the ids), stored in checkpoints.
uint64_t stream_hash(const std::vector<int>& s);

// The training record for the archive: attributes (config, options, params, tokens, FLOPs,
// seconds, final loss) and a table "curve" with columns step, tokens, loss, lr, grad_norm, seconds.
archive::Group summary_group(const TrainSummary& s);
// The same summary as JSON (used by `lowbit train --json` and the family summary).
nlohmann::json summary_to_json(const TrainSummary& s);

}  // namespace lowbit::train
