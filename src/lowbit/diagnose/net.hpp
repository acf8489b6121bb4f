// lowbit/diagnose/net.hpp — the forward pass the diagnostics intervene in: a model's global
// weights with a chosen block per layer (FP, compressed, or a mix), evaluation batches, the loss,
// and a layer loop with a hook after every block (patching, restoration, corruption).
// defines: lowbit::diag::Net, EvalBatch, make_eval_batch, run_blocks, net_logits, net_loss,
//          nll_sum, nll_tokens, apply_final_norm
#pragma once

#include <functional>
#include <vector>

#include "lowbit/model/forward.hpp"
#include "lowbit/model/model.hpp"

namespace lowbit::diag {

// B sequences of T tokens (row-major, sequence b = tokens[b*T .. b*T+T)). The loss is the mean
// next-token NLL over the B·(T−1) predictions inside the windows.
struct EvalBatch {
  std::vector<int> tokens;
  int B = 0, T = 0;
  long long predictions() const { return (long long)B * (T - 1); }
};
// Cut a token stream into at most `max_windows` non-overlapping windows of T tokens (0 = all).
// InputError when the stream holds no full window.
EvalBatch make_eval_batch(const std::vector<int>& stream, int T, int max_windows, const std::string& what);

// A decoder assembled from a model's global weights and one block per layer. The final-norm gain
// and bias may be overridden (norm-gain recalibration).
struct Net {
  const Model* model = nullptr;
  std::vector<const BlockWeights*> blocks;
  const Tensor* final_norm_w = nullptr;  // nullptr: the model's
  const Tensor* final_norm_b = nullptr;
  static Net of(const Model& m);  // every block materialised and taken from m
  const DecoderConfig& cfg() const { return model->cfg; }
};

// Called after block `layer` (0-based) with the residual stream [B*T, D], which it may modify.
using AfterBlock = std::function<void(int layer, Tensor& x)>;

// Run blocks [from, to) of `net` on x in place (hooks/after may be null).
void run_blocks(const Net& net, Tensor& x, int B, int T, int from, int to, const ForwardHooks* hooks = nullptr,
                const AfterBlock& after = {});
// Final norm of `net` (in place).
void apply_final_norm(const Net& net, Tensor& x);
// tokens -> logits [B*T, V]; optional hooks/after-block intervention and embedding modifier.
void net_logits(const Net& net, const EvalBatch& b, Tensor& logits, const ForwardHooks* hooks = nullptr,
                const AfterBlock& after = {});
// Sum of −log p(next token) over the predictions of each window (double), from logits.
double nll_sum(const Tensor& logits, const EvalBatch& b);
// −log p(next token) of every prediction, window by window (double).
std::vector<double> nll_tokens(const Tensor& logits, const EvalBatch& b);
// Mean next-token NLL in nats/token.
double net_loss(const Net& net, const EvalBatch& b, const AfterBlock& after = {});

}  // namespace lowbit::diag
