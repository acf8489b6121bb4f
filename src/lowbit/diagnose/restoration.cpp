// lowbit/diagnose/restoration.cpp — causal tests on the weights and on the residual stream.
// Restoration: put the FP weights back for one component (a block, its attention, its MLP, one
// head's projections) in the compressed model and measure the share of the loss gap that closes;
// rank components by it. Patching: replace the compressed model's residual stream after layer l by
// the FP model's (same tokens) and measure the loss and the final-layer error downstream.
// defines: lowbit::diag::gap_closed, restore_components, component_params, restoration_ranking,
//          activation_patching
#include <algorithm>
#include <cmath>

#include "lowbit/core/error.hpp"
#include "lowbit/core/log.hpp"
#include "lowbit/diagnose/diagnose.hpp"

namespace lowbit::diag {

double gap_closed(double loss_fp, double loss_q, double loss) {
  const double gap = loss_q - loss_fp;
  if (gap == 0) return std::nan("");
  return (loss_q - loss) / gap;
}

namespace {

void copy_rows(const Tensor& src, Tensor& dst, int64_t r0, int64_t n) {
  if (src.empty()) return;
  const int64_t cols = src.cols();
  std::copy(src.ptr() + r0 * cols, src.ptr() + (r0 + n) * cols, dst.ptr() + r0 * cols);
}
void copy_cols(const Tensor& src, Tensor& dst, int64_t c0, int64_t n) {
  for (int64_t r = 0; r < src.rows(); ++r) std::copy(src.row(r) + c0, src.row(r) + c0 + n, dst.row(r) + c0);
}
void restore_linear(const Linear& f, Linear& q) { q = f; }

bool norms_equal(const BlockWeights& a, const BlockWeights& b) {
  return a.attn_norm_w.data == b.attn_norm_w.data && a.attn_norm_b.data == b.attn_norm_b.data;
}

}  // namespace

long long component_params(const DecoderConfig& c, const Component& comp) {
  const long long D = c.dim, Hd = c.hidden_dim, hd = c.head_dim, q = c.q_dim(), kv = c.kv_dim();
  const long long attn = D * q + 2 * D * kv + q * D;
  const long long mlp = (c.gated_mlp ? 3 : 2) * D * Hd;
  if (comp.kind == "block") return attn + mlp;
  if (comp.kind == "attn") return attn;
  if (comp.kind == "mlp") return mlp;
  if (comp.kind == "head") return 2 * D * hd + (c.n_kv_heads == c.n_heads ? 2 * D * hd : 0);
  LB_FAIL_INTERNAL("unknown component kind ", comp.kind);
}

std::vector<BlockWeights> restore_components(const Net& fp, const Net& q, const std::vector<Component>& comps) {
  const DecoderConfig& c = fp.cfg();
  std::vector<BlockWeights> out;
  for (int l = 0; l < c.n_layers; ++l) out.push_back(*q.blocks[size_t(l)]);
  for (const auto& comp : comps) {
    LB_CHECK(comp.layer >= 0 && comp.layer < c.n_layers, "component layer ", comp.layer);
    const BlockWeights& f = *fp.blocks[size_t(comp.layer)];
    BlockWeights& w = out[size_t(comp.layer)];
    if (comp.kind == "block") {
      w = f;
    } else if (comp.kind == "attn") {
      w.attn_norm_w = f.attn_norm_w;
      w.attn_norm_b = f.attn_norm_b;
      for (auto id : {LinearId::Q, LinearId::K, LinearId::V, LinearId::O}) restore_linear(f.linear(id), w.linear(id));
    } else if (comp.kind == "mlp") {
      w.mlp_norm_w = f.mlp_norm_w;
      w.mlp_norm_b = f.mlp_norm_b;
      for (auto id : {LinearId::Gate, LinearId::Up, LinearId::Down}) restore_linear(f.linear(id), w.linear(id));
    } else if (comp.kind == "head") {
      LB_CHECK(comp.head >= 0 && comp.head < c.n_heads, "component head ", comp.head);
      const int64_t hd = c.head_dim, h = comp.head;
      copy_rows(f.q.w, w.q.w, h * hd, hd);
      if (!f.q.b.empty()) std::copy(f.q.b.ptr() + h * hd, f.q.b.ptr() + (h + 1) * hd, w.q.b.ptr() + h * hd);
      copy_cols(f.o.w, w.o.w, h * hd, hd);
      if (c.n_kv_heads == c.n_heads) {  // K/V of this head are its own (no grouped-query sharing)
        copy_rows(f.k.w, w.k.w, h * hd, hd);
        copy_rows(f.v.w, w.v.w, h * hd, hd);
        if (!f.k.b.empty()) std::copy(f.k.b.ptr() + h * hd, f.k.b.ptr() + (h + 1) * hd, w.k.b.ptr() + h * hd);
        if (!f.v.b.empty()) std::copy(f.v.b.ptr() + h * hd, f.v.b.ptr() + (h + 1) * hd, w.v.b.ptr() + h * hd);
      }
    } else {
      LB_FAIL_INTERNAL("unknown component kind ", comp.kind);
    }
  }
  return out;
}

namespace {
double loss_with(const Net& q, const std::vector<BlockWeights>& blocks, const EvalBatch& b) {
  Net n = q;
  for (size_t l = 0; l < blocks.size(); ++l) n.blocks[l] = &blocks[l];
  return net_loss(n, b);
}
}  // namespace

void restoration_ranking(const Net& fp, const Net& q, const EvalBatch& b, const DiagnoseOptions& o,
                         DiagnoseResult& r) {
  const DecoderConfig& c = fp.cfg();
  std::vector<Component> comps;
  for (int l = 0; l < c.n_layers; ++l) {
    comps.push_back({cat("L", l), "block", l});
    comps.push_back({cat("L", l, ".attn"), "attn", l});
    comps.push_back({cat("L", l, ".mlp"), "mlp", l});
    // Head restoration assumes the compressed block computes in the FP coordinates (the same
    // attention norm): true for RTN/GPTQ, not for AWQ's folded scales.
    if (o.heads && norms_equal(*fp.blocks[size_t(l)], *q.blocks[size_t(l)]))
      for (int h = 0; h < c.n_heads; ++h) comps.push_back({cat("L", l, ".h", h), "head", l, h});
  }
  Progress prog("diagnose: restoration", (long long)comps.size() + 1, "components");
  for (auto& comp : comps) {
    comp.params = component_params(c, comp);
    comp.loss = loss_with(q, restore_components(fp, q, {comp}), b);
    comp.gap_closed = gap_closed(r.loss_fp, r.loss_q, comp.loss);
    prog.step();
  }
  std::stable_sort(comps.begin(), comps.end(), [](const Component& a, const Component& b2) {
    const double x = std::isnan(a.gap_closed) ? -1e300 : a.gap_closed, y = std::isnan(b2.gap_closed) ? -1e300 : b2.gap_closed;
    return x > y;
  });
  // Joint restoration of the best top_n sub-block components (attn, mlp, head).
  std::vector<Component> top;
  for (const auto& comp : comps)
    if (comp.kind != "block" && int(top.size()) < o.rule.top_n) top.push_back(comp);
  r.top_n_components.clear();
  for (const auto& t : top) r.top_n_components.push_back(t.name);
  if (!top.empty()) r.top_n_joint_gap_closed = gap_closed(r.loss_fp, r.loss_q, loss_with(q, restore_components(fp, q, top), b));
  prog.step();
  prog.finish();
  r.restoration = std::move(comps);
}

void activation_patching(const Net& fp, const Net& q, const EvalBatch& b, DiagnoseResult& r) {
  const int L = fp.cfg().n_layers;
  std::vector<Tensor> fp_states(static_cast<size_t>(L));
  Tensor logits;
  net_logits(fp, b, logits, nullptr, [&](int l, Tensor& x) { fp_states[size_t(l)] = x; });
  r.patching.clear();
  for (int p = 0; p < L; ++p) {
    Tensor last;
    net_logits(q, b, logits, nullptr, [&](int l, Tensor& x) {
      if (l == p) x = fp_states[size_t(l)];
      if (l == L - 1) last = x;
    });
    PatchDiag d;
    d.layer = p;
    d.loss = nll_sum(logits, b) / double(b.predictions());
    d.gap_closed = gap_closed(r.loss_fp, r.loss_q, d.loss);
    d.final_rel_l2 = fidelity(fp_states[size_t(L) - 1], last).rel_l2;
    r.patching.push_back(d);
  }
}

}  // namespace lowbit::diag
