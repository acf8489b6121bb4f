// lowbit/diagnose/net.cpp — forward with interventions. defines: see net.hpp
#include "lowbit/diagnose/net.hpp"

#include "lowbit/core/error.hpp"
#include "lowbit/eval/perplexity.hpp"

namespace lowbit::diag {

EvalBatch make_eval_batch(const std::vector<int>& stream, int T, int max_windows, const std::string& what) {
  LB_INPUT_CHECK(T >= 2, what, ": evaluation window length ", T, " must be at least 2");
  EvalBatch b;
  b.T = T;
  const int full = int(stream.size() / size_t(T));
  b.B = max_windows > 0 ? std::min(full, max_windows) : full;
  LB_INPUT_CHECK(b.B >= 1, what, ": ", stream.size(), " tokens hold no evaluation window of ", T, " tokens");
  b.tokens.assign(stream.begin(), stream.begin() + int64_t(b.B) * T);
  return b;
}

Net Net::of(const Model& m) {
  Net n;
  n.model = &m;
  m.materialize_all();
  for (int l = 0; l < m.cfg.n_layers; ++l) n.blocks.push_back(&m.block(l));
  return n;
}

void run_blocks(const Net& net, Tensor& x, int B, int T, int from, int to, const ForwardHooks* hooks,
                const AfterBlock& after) {
  for (int l = from; l < to; ++l) {
    block_forward(net.cfg(), *net.blocks[size_t(l)], l, x, B, T, 0, hooks);
    if (after) after(l, x);
  }
}

void apply_final_norm(const Net& net, Tensor& x) {
  const DecoderConfig& c = net.cfg();
  const Tensor& w = net.final_norm_w ? *net.final_norm_w : net.model->final_norm_w;
  const Tensor& bb = net.final_norm_b ? *net.final_norm_b : net.model->final_norm_b;
  Tensor y(x.shape);
  if (c.norm == NormKind::RMSNorm)
    rms_norm(x.ptr(), w.ptr(), y.ptr(), x.rows(), x.cols(), c.norm_eps);
  else
    layer_norm(x.ptr(), w.ptr(), bb.empty() ? nullptr : bb.ptr(), y.ptr(), x.rows(), x.cols(), c.norm_eps);
  x = std::move(y);
}

void net_logits(const Net& net, const EvalBatch& b, Tensor& logits, const ForwardHooks* hooks,
                const AfterBlock& after) {
  Tensor x;
  embed_tokens(*net.model, b.tokens.data(), b.B, b.T, 0, x);
  run_blocks(net, x, b.B, b.T, 0, net.cfg().n_layers, hooks, after);
  apply_final_norm(net, x);
  lm_logits(*net.model, x, logits);
}

double nll_sum(const Tensor& logits, const EvalBatch& b) {
  const int V = int(logits.cols());
  double s = 0;
  for (int i = 0; i < b.B; ++i)
    for (int t = 0; t + 1 < b.T; ++t) {
      const int64_t r = int64_t(i) * b.T + t;
      s -= log_softmax_at(logits.row(r), V, b.tokens[size_t(r + 1)]);
    }
  return s;
}

std::vector<double> nll_tokens(const Tensor& logits, const EvalBatch& b) {
  const int V = int(logits.cols());
  std::vector<double> out;
  out.reserve(size_t(b.predictions()));
  for (int i = 0; i < b.B; ++i)
    for (int t = 0; t + 1 < b.T; ++t) {
      const int64_t r = int64_t(i) * b.T + t;
      out.push_back(-log_softmax_at(logits.row(r), V, b.tokens[size_t(r + 1)]));
    }
  return out;
}

double net_loss(const Net& net, const EvalBatch& b, const AfterBlock& after) {
  Tensor logits;
  net_logits(net, b, logits, nullptr, after);
  return nll_sum(logits, b) / double(b.predictions());
}

}  // namespace lowbit::diag
