// lowbit/compress/awq.cpp — AWQ scale search and folding. defines: see awq.hpp
#include "lowbit/compress/awq.hpp"

#include <algorithm>
#include <cmath>

#include "lowbit/core/error.hpp"

namespace lowbit {

namespace {

// Σ tr(ΔW H ΔWᵀ) of the group when its columns are scaled by s before RTN.
double group_loss(const std::vector<const Tensor*>& ws, const std::vector<double>& H, const std::vector<float>& s,
                  const QuantSpec& spec) {
  double total = 0;
  for (const Tensor* w : ws) {
    Tensor scaled = *w;
    const int64_t out = w->dim(0), in = w->dim(1);
    for (int64_t o = 0; o < out; ++o)
      for (int64_t j = 0; j < in; ++j) scaled.row(o)[j] *= s[size_t(j)];
    QuantResult q = quantize_rtn(scaled, spec);
    for (int64_t o = 0; o < out; ++o)
      for (int64_t j = 0; j < in; ++j) q.w_hat.row(o)[j] /= s[size_t(j)];
    total += output_error(*w, q.w_hat, H);
  }
  return total;
}

void scale_cols(Tensor& w, const std::vector<float>& s) {
  for (int64_t o = 0; o < w.dim(0); ++o)
    for (int64_t j = 0; j < w.dim(1); ++j) w.row(o)[j] *= s[size_t(j)];
}
void scale_rows_inv(Linear& l, const std::vector<float>& s) {
  for (int64_t o = 0; o < l.w.dim(0); ++o) {
    for (int64_t j = 0; j < l.w.dim(1); ++j) l.w.row(o)[j] /= s[size_t(o)];
    if (!l.b.empty()) l.b.data[size_t(o)] /= s[size_t(o)];
  }
}
void scale_vec_inv(Tensor& t, const std::vector<float>& s) {
  if (t.empty()) return;
  for (size_t j = 0; j < t.data.size(); ++j) t.data[j] /= s[j];
}

}  // namespace

std::vector<float> awq_search_scales(const std::vector<const Tensor*>& ws, const LinearStats& st, const QuantSpec& spec,
                                     const AwqOptions& o, AwqGroupReport& rep) {
  LB_CHECK(st.with_hessian && st.rows > 0, "AWQ needs activation statistics with a Hessian");
  const int64_t in = st.in;
  std::vector<double> mean(static_cast<size_t>(in));
  for (int64_t j = 0; j < in; ++j) mean[size_t(j)] = std::max(st.sum_abs[size_t(j)] / double(st.rows), 1e-8);
  std::vector<float> ones(size_t(in), 1.f), best = ones;
  rep.loss_unscaled = group_loss(ws, st.xtx, ones, spec);
  rep.loss = rep.loss_unscaled;
  rep.alpha = 0;
  for (int g = 1; g < o.grid; ++g) {
    const double a = double(g) / o.grid;
    std::vector<float> s(static_cast<size_t>(in));
    double mx = 0, mn = INFINITY;
    for (int64_t j = 0; j < in; ++j) {
      double v = std::pow(mean[size_t(j)], a);
      s[size_t(j)] = float(v);
      mx = std::max(mx, v);
      mn = std::min(mn, v);
    }
    const double norm = std::sqrt(mx * mn);
    for (auto& v : s) v = float(double(v) / norm);
    const double l = group_loss(ws, st.xtx, s, spec);
    if (l < rep.loss) {
      rep.loss = l;
      rep.alpha = a;
      best = s;
    }
  }
  return best;
}

std::vector<AwqGroupReport> awq_scale_block(const DecoderConfig& c, BlockWeights& w,
                                            const std::vector<const LinearStats*>& stats, const QuantSpec& spec,
                                            const AwqOptions& o) {
  std::vector<AwqGroupReport> reps;
  auto st = [&](LinearId id) { return stats.at(size_t(id)); };
  {  // attention norm -> q, k, v
    AwqGroupReport r{"attn_norm->qkv"};
    auto s = awq_search_scales({&w.q.w, &w.k.w, &w.v.w}, *st(LinearId::Q), spec, o, r);
    scale_vec_inv(w.attn_norm_w, s);
    scale_vec_inv(w.attn_norm_b, s);
    for (Linear* l : {&w.q, &w.k, &w.v}) scale_cols(l->w, s);
    r.applied = true;
    reps.push_back(r);
  }
  {  // v -> o: exact only when each o input channel has its own v output row (no GQA sharing)
    AwqGroupReport r{"v->o"};
    if (c.n_kv_heads == c.n_heads) {
      auto s = awq_search_scales({&w.o.w}, *st(LinearId::O), spec, o, r);
      scale_rows_inv(w.v, s);
      scale_cols(w.o.w, s);
      r.applied = true;
    }
    reps.push_back(r);
  }
  {  // MLP norm -> gate, up (or fc1)
    AwqGroupReport r{"mlp_norm->gate_up"};
    std::vector<const Tensor*> ws = {&w.up.w};
    if (c.gated_mlp) ws.insert(ws.begin(), &w.gate.w);
    auto s = awq_search_scales(ws, *st(LinearId::Up), spec, o, r);
    scale_vec_inv(w.mlp_norm_w, s);
    scale_vec_inv(w.mlp_norm_b, s);
    if (c.gated_mlp) scale_cols(w.gate.w, s);
    scale_cols(w.up.w, s);
    r.applied = true;
    reps.push_back(r);
  }
  {  // up -> down: silu(g)·(u/s) = (silu(g)·u)/s, and relu(u/s) = relu(u)/s for s > 0; GELU is not
     // homogeneous, so a non-gated GELU MLP gets no fold.
    AwqGroupReport r{"up->down"};
    if (c.gated_mlp || c.act == Activation::ReLU) {
      auto s = awq_search_scales({&w.down.w}, *st(LinearId::Down), spec, o, r);
      scale_rows_inv(w.up, s);
      scale_cols(w.down.w, s);
      r.applied = true;
    }
    reps.push_back(r);
  }
  return reps;
}

}  // namespace lowbit
