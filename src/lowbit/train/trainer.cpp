// lowbit/train/trainer.cpp — the training loop and its checkpoints. defines: see trainer.hpp
#include "lowbit/train/trainer.hpp"

#include <cblas.h>
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <numeric>
#include <random>

#include "lowbit/archive/keys.hpp"
#include "lowbit/core/error.hpp"
#include "lowbit/core/mapped_file.hpp"
#include "lowbit/eval/perplexity.hpp"

namespace lowbit::train {

using nlohmann::json;

namespace {

constexpr char kMagic[8] = {'L', 'B', 'T', 'R', 'A', 'I', 'N', '1'};

uint64_t mix(uint64_t a, uint64_t b) {  // splitmix64 of a combined key
  uint64_t z = a * 0x9E3779B97F4A7C15ull + b + 0x632BE59BD9B4E019ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

json config_to_json(const DecoderConfig& c) {
  return {{"dim", c.dim},           {"hidden_dim", c.hidden_dim},   {"n_layers", c.n_layers},
          {"n_heads", c.n_heads},   {"vocab_size", c.vocab_size},   {"max_seq_len", c.max_seq_len},
          {"norm_eps", c.norm_eps}, {"rope_theta", c.rope_theta},   {"tie_embeddings", c.tie_embeddings}};
}

json options_to_json(const TrainOptions& o) {
  return {{"seq_len", o.seq_len},
          {"batch", o.batch},
          {"steps", o.steps},
          {"lr", o.lr},
          {"min_lr_frac", o.min_lr_frac},
          {"warmup", o.warmup},
          {"grad_clip", o.grad_clip},
          {"beta1", o.adamw.beta1},
          {"beta2", o.adamw.beta2},
          {"eps", o.adamw.eps},
          {"weight_decay", o.adamw.weight_decay},
          {"seed", o.seed},
          {"log_every", o.log_every}};
}

json record_to_json(const StepRecord& r) {
  return {{"step", r.step}, {"tokens", r.tokens},       {"loss", r.loss},
          {"lr", r.lr},     {"grad_norm", r.grad_norm}, {"seconds", r.seconds}};
}

}  // namespace

void TrainOptions::validate(const std::string& where) const {
  auto fail = [&](const char* field, const auto& v, const char* what) {
    LB_THROW(ConfigError, where, ".", field, ": ", v, " ", what);
  };
  if (seq_len < 2) fail("seq_len", seq_len, "must be at least 2");
  if (batch < 1) fail("batch", batch, "must be at least 1");
  if (steps < 1) fail("steps", steps, "must be at least 1");
  if (!(lr > 0) || !std::isfinite(lr)) fail("lr", lr, "must be a positive number");
  if (!(min_lr_frac >= 0 && min_lr_frac <= 1)) fail("min_lr_frac", min_lr_frac, "must be in [0, 1]");
  if (warmup < 0 || warmup > steps) fail("warmup", warmup, "must be in [0, steps]");
  if (!(grad_clip >= 0)) fail("grad_clip", grad_clip, "must be >= 0 (0 = no clipping)");
  if (!(adamw.beta1 >= 0 && adamw.beta1 < 1)) fail("beta1", adamw.beta1, "must be in [0, 1)");
  if (!(adamw.beta2 >= 0 && adamw.beta2 < 1)) fail("beta2", adamw.beta2, "must be in [0, 1)");
  if (!(adamw.eps > 0)) fail("eps", adamw.eps, "must be positive");
  if (!(adamw.weight_decay >= 0)) fail("weight_decay", adamw.weight_decay, "must be >= 0");
  if (log_every < 1) fail("log_every", log_every, "must be at least 1");
}

double train_flops_per_token(const DecoderConfig& c, int seq_len) {
  return 6.0 * (double(c.non_embedding_params()) + double(c.vocab_size) * c.dim) +
         6.0 * double(c.n_layers) * seq_len * c.dim;
}

std::vector<int> token_stream(const Tokenizer& tok, const std::string& text, const std::string& doc_sep) {
  PplOptions o;
  o.doc_sep = doc_sep;
  o.add_bos = true;
  std::vector<int> out;
  for (const auto& d : tokenize_documents(tok, text, o)) out.insert(out.end(), d.begin(), d.end());
  return out;
}

void set_compute_threads(int n) {
  if (n <= 0) return;
  omp_set_num_threads(n);
  openblas_set_num_threads(n);
}

uint64_t stream_hash(const std::vector<int>& s) {
  uint64_t h = 1469598103934665603ull;
  for (int v : s) {
    h ^= uint64_t(uint32_t(v));
    h *= 1099511628211ull;
  }
  return h;
}

Trainer::Trainer(const DecoderConfig& cfg, const TrainOptions& opt, std::shared_ptr<const std::vector<int>> stream)
    : dec_(cfg), opt_(opt), stream_(std::move(stream)) {
  opt_.validate("train");
  LB_CHECK(stream_ != nullptr, "no token stream");
  const int V = cfg.vocab_size;
  for (size_t i = 0; i < stream_->size(); ++i)
    LB_INPUT_CHECK((*stream_)[i] >= 0 && (*stream_)[i] < V, "training data: token id ", (*stream_)[i],
                   " at position ", i, " is outside the model's vocabulary [0, ", V, ")");
  LB_INPUT_CHECK(int64_t(stream_->size()) >= int64_t(opt_.seq_len) + 1, "training data: ", stream_->size(),
                 " tokens, fewer than one window of seq_len + 1 = ", opt_.seq_len + 1);
  params_ = init_parameters(cfg, dec_.layout(), opt_.seed);
  grad_.assign(dec_.layout().total, 0.f);
}

void Trainer::batch_for_step(long long s, std::vector<int>& tokens, std::vector<int>& targets) {
  const int T = opt_.seq_len, B = opt_.batch;
  const int64_t nw = (int64_t(stream_->size()) - 1) / T;
  tokens.resize(size_t(B) * T);
  targets.resize(size_t(B) * T);
  for (int b = 0; b < B; ++b) {
    const int64_t g = int64_t(s) * B + b;
    const int64_t epoch = g / nw, idx = g % nw;
    if (epoch != cached_epoch_) {
      perm_.resize(size_t(nw));
      std::iota(perm_.begin(), perm_.end(), int64_t(0));
      std::mt19937_64 rng(mix(opt_.seed, uint64_t(epoch) + 1));
      // Fisher–Yates with our own index draw: std::shuffle's use of the engine is unspecified.
      for (int64_t i = nw - 1; i > 0; --i) std::swap(perm_[size_t(i)], perm_[size_t(rng() % uint64_t(i + 1))]);
      cached_epoch_ = epoch;
    }
    const int64_t start = perm_[size_t(idx)] * T;
    const int* src = stream_->data() + start;
    std::copy(src, src + T, tokens.begin() + int64_t(b) * T);
    std::copy(src + 1, src + T + 1, targets.begin() + int64_t(b) * T);
  }
}

double Trainer::step() {
  const auto t0 = std::chrono::steady_clock::now();
  batch_for_step(step_, tok_buf_, tgt_buf_);
  std::fill(grad_.begin(), grad_.end(), 0.f);
  const double loss = dec_.forward_backward(params_, tok_buf_.data(), tgt_buf_.data(), opt_.batch, opt_.seq_len, &grad_);
  LB_INPUT_CHECK(std::isfinite(loss), "training diverged: loss is ", loss, " at step ", step_ + 1,
                 " (lower the learning rate)");
  const double gnorm = clip_grad_norm(grad_, opt_.grad_clip);
  const double lr = lr_at(step_, opt_.steps, opt_.warmup, opt_.lr, opt_.lr * opt_.min_lr_frac);
  adamw_step(dec_.layout(), opt_.adamw, lr, params_, grad_, adam_);
  ++step_;
  seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  loss_acc_ += loss;
  gnorm_acc_ += gnorm;
  ++loss_n_;
  if (step_ % opt_.log_every == 0 || step_ == opt_.steps) {
    StepRecord r;
    r.step = step_;
    r.tokens = step_ * int64_t(opt_.batch) * opt_.seq_len;
    r.loss = loss_acc_ / double(loss_n_);
    r.grad_norm = gnorm_acc_ / double(loss_n_);
    r.lr = lr;
    r.seconds = seconds_;
    history_.push_back(r);
    loss_acc_ = gnorm_acc_ = 0;
    loss_n_ = 0;
  }
  return loss;
}

void Trainer::train(long long until, Progress* progress, long long ckpt_every, const std::string& ckpt_path) {
  const long long end = until > 0 ? std::min(until, opt_.steps) : opt_.steps;
  const long long tokens_per_step = int64_t(opt_.batch) * opt_.seq_len;
  while (step_ < end) {
    step();
    if (progress) progress->step(1, tokens_per_step);
    if (!history_.empty() && history_.back().step == step_)
      log_debug("train: step ", step_, " loss ", history_.back().loss, " lr ", history_.back().lr);
    if (ckpt_every > 0 && !ckpt_path.empty() && step_ % ckpt_every == 0) save_checkpoint(ckpt_path);
  }
  if (progress) progress->finish();
}

TrainSummary Trainer::summary() const {
  TrainSummary s;
  s.cfg = dec_.config();
  s.opt = opt_;
  s.steps = step_;
  s.tokens = step_ * int64_t(opt_.batch) * opt_.seq_len;
  s.non_embedding_params = s.cfg.non_embedding_params();
  s.total_params = s.cfg.total_params();
  s.seconds = seconds_;
  s.flops_6nd = 6.0 * double(s.non_embedding_params) * double(s.tokens);
  s.flops = train_flops_per_token(s.cfg, opt_.seq_len) * double(s.tokens);
  s.final_loss = history_.empty() ? NAN : history_.back().loss;
  s.history = history_;
  return s;
}

void Trainer::save_checkpoint(const std::string& path) const {
  json h;
  h["format"] = "lowbit-train-checkpoint";
  h["version"] = 1;
  h["config"] = config_to_json(dec_.config());
  h["options"] = options_to_json(opt_);
  h["step"] = step_;
  h["adam_t"] = adam_.t;
  h["seconds"] = seconds_;
  h["stream_len"] = stream_->size();
  h["stream_hash"] = stream_hash(*stream_);
  h["loss_acc"] = loss_acc_;
  h["gnorm_acc"] = gnorm_acc_;
  h["loss_n"] = loss_n_;
  json hist = json::array();
  for (const auto& r : history_) hist.push_back(record_to_json(r));
  h["history"] = hist;
  const std::string text = h.dump();
  const size_t n = dec_.layout().total;
  std::string out;
  out.reserve(16 + text.size() + 3 * n * 4);
  out.append(kMagic, 8);
  const uint64_t len = text.size();
  out.append(reinterpret_cast<const char*>(&len), 8);
  out += text;
  auto put = [&](const std::vector<float>& v) {
    if (v.empty()) {
      out.append(n * 4, '\0');  // moments before the first step are zero
    } else {
      out.append(reinterpret_cast<const char*>(v.data()), v.size() * 4);
    }
  };
  put(params_);
  put(adam_.m);
  put(adam_.v);
  write_file_atomic(path, out);
}

std::unique_ptr<Trainer> Trainer::resume(const std::string& path, std::shared_ptr<const std::vector<int>> stream) {
  const std::string bytes = read_file(path);
  LB_INPUT_CHECK(bytes.size() >= 16 && std::memcmp(bytes.data(), kMagic, 8) == 0, path,
                 ": not a lowbit training checkpoint (bad magic)");
  uint64_t len = 0;
  std::memcpy(&len, bytes.data() + 8, 8);
  LB_INPUT_CHECK(len <= bytes.size() - 16, path, ": truncated checkpoint header (", len, " bytes announced)");
  json h;
  try {
    h = json::parse(bytes.substr(16, len));
  } catch (const json::exception& e) {
    LB_FAIL_INPUT(path, ": checkpoint header is not valid JSON: ", e.what());
  }
  auto get = [&](const json& obj, const char* key, const std::string& where) -> const json& {
    LB_INPUT_CHECK(obj.is_object() && obj.contains(key), path, ": checkpoint header lacks ", where, ".", key);
    return obj.at(key);
  };
  DecoderConfig c;
  TrainOptions o;
  try {
    const json& jc = get(h, "config", "header");
    c = llama_train_config(get(jc, "dim", "config").get<int>(), get(jc, "hidden_dim", "config").get<int>(),
                           get(jc, "n_layers", "config").get<int>(), get(jc, "n_heads", "config").get<int>(),
                           get(jc, "vocab_size", "config").get<int>(), get(jc, "max_seq_len", "config").get<int>(),
                           get(jc, "tie_embeddings", "config").get<bool>());
    c.norm_eps = get(jc, "norm_eps", "config").get<float>();
    c.rope_theta = get(jc, "rope_theta", "config").get<float>();
    const json& jo = get(h, "options", "header");
    o.seq_len = get(jo, "seq_len", "options").get<int>();
    o.batch = get(jo, "batch", "options").get<int>();
    o.steps = get(jo, "steps", "options").get<long long>();
    o.lr = get(jo, "lr", "options").get<double>();
    o.min_lr_frac = get(jo, "min_lr_frac", "options").get<double>();
    o.warmup = get(jo, "warmup", "options").get<long long>();
    o.grad_clip = get(jo, "grad_clip", "options").get<double>();
    o.adamw.beta1 = get(jo, "beta1", "options").get<double>();
    o.adamw.beta2 = get(jo, "beta2", "options").get<double>();
    o.adamw.eps = get(jo, "eps", "options").get<double>();
    o.adamw.weight_decay = get(jo, "weight_decay", "options").get<double>();
    o.seed = get(jo, "seed", "options").get<uint64_t>();
    o.log_every = get(jo, "log_every", "options").get<int>();
  } catch (const json::exception& e) {
    LB_FAIL_INPUT(path, ": checkpoint header has a field of the wrong type: ", e.what());
  }
  check_trainable_config(c, path);
  auto t = std::make_unique<Trainer>(c, o, stream);
  const uint64_t want_len = get(h, "stream_len", "header").get<uint64_t>();
  const uint64_t want_hash = get(h, "stream_hash", "header").get<uint64_t>();
  LB_INPUT_CHECK(want_len == stream->size() && want_hash == stream_hash(*stream), path,
                 ": the training data differs from the data this checkpoint was trained on (", stream->size(),
                 " tokens vs ", want_len, ", or a different hash)");
  const size_t n = t->dec_.layout().total;
  LB_INPUT_CHECK(bytes.size() == 16 + len + 3 * n * 4, path, ": checkpoint holds ", bytes.size() - 16 - len,
                 " bytes of arrays, the config needs ", 3 * n * 4);
  const char* p = bytes.data() + 16 + len;
  auto take = [&](std::vector<float>& v) {
    v.resize(n);
    std::memcpy(v.data(), p, n * 4);
    p += n * 4;
  };
  take(t->params_);
  take(t->adam_.m);
  take(t->adam_.v);
  for (float x : t->params_) LB_INPUT_CHECK(std::isfinite(x), path, ": checkpoint parameters hold NaN/Inf");
  t->adam_.t = get(h, "adam_t", "header").get<long long>();
  t->step_ = get(h, "step", "header").get<long long>();
  t->seconds_ = get(h, "seconds", "header").get<double>();
  t->loss_acc_ = get(h, "loss_acc", "header").get<double>();
  t->gnorm_acc_ = get(h, "gnorm_acc", "header").get<double>();
  t->loss_n_ = get(h, "loss_n", "header").get<long long>();
  LB_INPUT_CHECK(t->step_ >= 0 && t->step_ <= o.steps, path, ": step ", t->step_, " outside [0, ", o.steps, "]");
  for (const auto& r : get(h, "history", "header")) {
    StepRecord s;
    s.step = r.at("step").get<long long>();
    s.tokens = r.at("tokens").get<long long>();
    s.loss = r.at("loss").get<double>();
    s.lr = r.at("lr").get<double>();
    s.grad_norm = r.at("grad_norm").get<double>();
    s.seconds = r.at("seconds").get<double>();
    t->history_.push_back(s);
  }
  return t;
}

nlohmann::json summary_to_json(const TrainSummary& s) {
  json hist = json::array();
  for (const auto& r : s.history) hist.push_back(record_to_json(r));
  return {{"config", config_to_json(s.cfg)},
          {"options", options_to_json(s.opt)},
          {"steps", s.steps},
          {"tokens", s.tokens},
          {"non_embedding_params", s.non_embedding_params},
          {"total_params", s.total_params},
          {"seconds", s.seconds},
          {"tokens_per_second", s.seconds > 0 ? double(s.tokens) / s.seconds : 0.0},
          {"flops_6nd", s.flops_6nd},
          {"flops", s.flops},
          {"final_loss", s.final_loss},
          {"history", hist}};
}

archive::Group summary_group(const TrainSummary& s) {
  namespace k = archive::keys::train;
  namespace kc = archive::keys::train_curve;
  archive::Group g;
  g.set(k::kDim, int64_t(s.cfg.dim));
  g.set(k::kHiddenDim, int64_t(s.cfg.hidden_dim));
  g.set(k::kNLayers, int64_t(s.cfg.n_layers));
  g.set(k::kNHeads, int64_t(s.cfg.n_heads));
  g.set(k::kVocabSize, int64_t(s.cfg.vocab_size));
  g.set(k::kSeqLen, int64_t(s.opt.seq_len));
  g.set(k::kBatch, int64_t(s.opt.batch));
  g.set(k::kLr, s.opt.lr);
  g.set(k::kSeed, int64_t(s.opt.seed));
  g.set(k::kSteps, int64_t(s.steps));
  g.set(k::kTokens, int64_t(s.tokens));
  g.set(k::kNonEmbeddingParams, int64_t(s.non_embedding_params));
  g.set(k::kTotalParams, int64_t(s.total_params));
  g.set(k::kSeconds, s.seconds);
  g.set(k::kFlops6nd, s.flops_6nd);
  g.set(k::kFlops, s.flops);
  g.set(k::kFinalLoss, s.final_loss);
  archive::Table t;
  t.description = "training curve: mean train loss over each log interval";
  t.add_column(kc::kStep, "");
  t.add_column(kc::kTokens, "tokens");
  t.add_column(kc::kLoss, "nats/token");
  t.add_column(kc::kLr, "");
  t.add_column(kc::kGradNorm, "");
  t.add_column(kc::kSeconds, "s");
  for (const auto& r : s.history)
    t.add_row({double(r.step), double(r.tokens), r.loss, r.lr, r.grad_norm, r.seconds});
  g.tables[k::kCurve] = std::move(t);
  return g;
}

}  // namespace lowbit::train
