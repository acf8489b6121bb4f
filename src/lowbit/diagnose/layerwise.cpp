// lowbit/diagnose/layerwise.cpp — per-layer diagnostics on one evaluation batch: residual-stream
// fidelity (propagated: each model on its own inputs; local: the compressed block on the FP
// block's input), sub-layer output fidelity, per-head attention fidelity (JS divergence, top-k
// overlap), the logit lens and activation statistics (per-channel max |x|, kurtosis).
// defines: lowbit::diag::layerwise_diagnostics
#include <algorithm>
#include <array>
#include <cmath>

#include "lowbit/core/error.hpp"
#include "lowbit/core/log.hpp"
#include "lowbit/diagnose/diagnose.hpp"

namespace lowbit::diag {

namespace {

constexpr std::array<const char*, 4> kSites = {"attn_in", "o_in", "mlp_in", "down_in"};
int site_of(LinearId id) {
  switch (id) {
    case LinearId::Q: return 0;
    case LinearId::O: return 1;
    case LinearId::Up: return 2;
    case LinearId::Down: return 3;
    default: return -1;
  }
}

struct Capture {
  std::vector<Tensor> states;  // [L+1]: embeddings, then after each block
  std::vector<Tensor> probs, attn_out, mlp_out;
  std::vector<std::array<ChannelStats, 4>> acts;
};

ForwardHooks capture_hooks(Capture& c, bool acts) {
  ForwardHooks h;
  h.capture_attention = true;
  h.attention = [&c](int l, const Tensor& p) { c.probs[size_t(l)] = p; };
  h.sublayer_output = [&c](int l, const Tensor& a, const Tensor& m) {
    c.attn_out[size_t(l)] = a;
    c.mlp_out[size_t(l)] = m;
  };
  if (acts)
    h.linear_input = [&c](int l, LinearId id, const Tensor& x) {
      const int s = site_of(id);
      if (s >= 0) c.acts[size_t(l)][size_t(s)] = channel_stats(x);
    };
  return h;
}

Capture run_capture(const Net& net, const EvalBatch& b) {
  const int L = net.cfg().n_layers;
  Capture c;
  c.states.resize(size_t(L) + 1);
  c.probs.resize(size_t(L));
  c.attn_out.resize(size_t(L));
  c.mlp_out.resize(size_t(L));
  c.acts.resize(size_t(L));
  ForwardHooks h = capture_hooks(c, true);
  Tensor x;
  embed_tokens(*net.model, b.tokens.data(), b.B, b.T, 0, x);
  c.states[0] = x;
  run_blocks(net, x, b.B, b.T, 0, L, &h, [&c](int l, Tensor& s) { c.states[size_t(l) + 1] = s; });
  return c;
}

// Per head: mean JS (bits) and mean top-k overlap over all query rows of probs [B,H,T,Tk].
void head_fidelity(const Tensor& pa, const Tensor& pb, int topk, std::vector<double>& js, std::vector<double>& ov) {
  LB_CHECK(pa.shape == pb.shape && pa.shape.size() == 4, "attention shapes ", pa.shape_str(), " vs ", pb.shape_str());
  const int B = int(pa.dim(0)), H = int(pa.dim(1)), T = int(pa.dim(2)), Tk = int(pa.dim(3));
  js.assign(size_t(H), 0);
  ov.assign(size_t(H), 0);
#pragma omp parallel for schedule(static)
  for (int h = 0; h < H; ++h) {
    double sj = 0, so = 0;
    for (int b = 0; b < B; ++b)
      for (int t = 0; t < T; ++t) {
        const int64_t off = ((int64_t(b) * H + h) * T + t) * Tk;
        const int n = Tk - T + t + 1;  // visible keys of query t
        sj += js_divergence_bits(pa.ptr() + off, pb.ptr() + off, n);
        so += topk_overlap(pa.ptr() + off, pb.ptr() + off, n, topk);
      }
    js[size_t(h)] = sj / double(B * T);
    ov[size_t(h)] = so / double(B * T);
  }
}

// Logit lens of `states` through `net`'s final norm and unembedding against reference logits:
// mean KL(P_ref ‖ P_lens) in nats and top-1 agreement.
void lens(const Net& net, const Tensor& state, const Tensor& ref_logits, double& kl, double& top1) {
  Tensor x = state, logits;
  apply_final_norm(net, x);
  lm_logits(*net.model, x, logits);
  const int64_t rows = logits.rows();
  const int V = int(logits.cols());
  double skl = 0, agree = 0;
#pragma omp parallel for schedule(static) reduction(+ : skl, agree)
  for (int64_t r = 0; r < rows; ++r) {
    skl += kl_from_logits(ref_logits.row(r), logits.row(r), V);
    const float* a = ref_logits.row(r);
    const float* b = logits.row(r);
    agree += (std::max_element(a, a + V) - a) == (std::max_element(b, b + V) - b) ? 1.0 : 0.0;
  }
  kl = skl / double(rows);
  top1 = agree / double(rows);
}

void update_minus(const Tensor& out, const Tensor& in, Tensor& d) {
  d = out;
  for (size_t i = 0; i < d.data.size(); ++i) d.data[i] -= in.data[i];
}

}  // namespace

void layerwise_diagnostics(const Net& fp, const Net& q, const EvalBatch& b, const DiagnoseOptions& o,
                           DiagnoseResult& r) {
  const DecoderConfig& c = fp.cfg();
  const int L = c.n_layers, H = c.n_heads;
  r.n_layers = L;
  r.n_heads = H;
  Capture cf = run_capture(fp, b), cq = run_capture(q, b);
  // Final FP logits: the lens reference.
  Tensor xf = cf.states[size_t(L)], ref_logits;
  apply_final_norm(fp, xf);
  lm_logits(*fp.model, xf, ref_logits);

  r.layers.assign(size_t(L), LayerDiag{});
  r.heads.clear();
  r.acts.clear();
  r.resid_channel_max_fp.clear();
  Progress prog("diagnose: per-layer metrics", L, "layers");
  for (int l = 0; l < L; ++l) {
    LayerDiag& d = r.layers[size_t(l)];
    d.prop = fidelity(cf.states[size_t(l) + 1], cq.states[size_t(l) + 1]);
    d.attn_out = fidelity(cf.attn_out[size_t(l)], cq.attn_out[size_t(l)]);
    d.mlp_out = fidelity(cf.mlp_out[size_t(l)], cq.mlp_out[size_t(l)]);
    // Local: the compressed block on the FP input.
    Capture cl;
    cl.probs.resize(size_t(L));
    cl.attn_out.resize(size_t(L));
    cl.mlp_out.resize(size_t(L));
    ForwardHooks hl = capture_hooks(cl, false);
    Tensor x = cf.states[size_t(l)];
    block_forward(c, *q.blocks[size_t(l)], l, x, b.B, b.T, 0, &hl);
    d.local = fidelity(cf.states[size_t(l) + 1], x);
    Tensor du_f, du_q;
    update_minus(cf.states[size_t(l) + 1], cf.states[size_t(l)], du_f);
    update_minus(x, cf.states[size_t(l)], du_q);
    d.local_update_rel_l2 = fidelity(du_f, du_q).rel_l2;
    d.local_attn_out = fidelity(cf.attn_out[size_t(l)], cl.attn_out[size_t(l)]);
    d.local_mlp_out = fidelity(cf.mlp_out[size_t(l)], cl.mlp_out[size_t(l)]);
    // Heads.
    std::vector<double> js, ov, ljs, lov;
    head_fidelity(cf.probs[size_t(l)], cq.probs[size_t(l)], o.topk, js, ov);
    head_fidelity(cf.probs[size_t(l)], cl.probs[size_t(l)], o.topk, ljs, lov);
    for (int h = 0; h < H; ++h)
      r.heads.push_back(HeadDiag{l, h, js[size_t(h)], ov[size_t(h)], ljs[size_t(h)], lov[size_t(h)]});
    auto mean = [](const std::vector<double>& v) {
      double s = 0;
      for (double e : v) s += e;
      return v.empty() ? 0.0 : s / double(v.size());
    };
    d.attn_js_mean = mean(js);
    d.attn_js_max = *std::max_element(js.begin(), js.end());
    d.attn_topk_mean = mean(ov);
    d.attn_topk_min = *std::min_element(ov.begin(), ov.end());
    d.local_js_mean = mean(ljs);
    d.local_js_max = *std::max_element(ljs.begin(), ljs.end());
    d.local_topk_mean = mean(lov);
    d.local_topk_min = *std::min_element(lov.begin(), lov.end());
    // Logit lens (each model through its own final norm; both against the FP final distribution).
    lens(fp, cf.states[size_t(l) + 1], ref_logits, d.lens_kl_fp, d.lens_top1_fp);
    lens(q, cq.states[size_t(l) + 1], ref_logits, d.lens_kl_q, d.lens_top1_q);
    // Activation statistics.
    for (int s = 0; s < int(kSites.size()); ++s)
      r.acts.push_back(ActDiag{l, kSites[size_t(s)], cf.acts[size_t(l)][size_t(s)], cq.acts[size_t(l)][size_t(s)]});
    ActDiag res{l, "resid", channel_stats(cf.states[size_t(l) + 1]), channel_stats(cq.states[size_t(l) + 1])};
    r.resid_channel_max_fp.push_back(res.fp.max_abs);
    r.acts.push_back(std::move(res));
    prog.step();
  }
  prog.finish();
}

}  // namespace lowbit::diag
