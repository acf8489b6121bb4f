// lowbit/diagnose/repair.cpp — training-free repairs of a compressed model, each calibrated on
// calibration sequences and scored by the share of the loss gap it closes:
//   bias          per output channel of every linear: b += E[W x] − E[Ŵ x] on the compressed
//                 model's own inputs x (bias correction, Nagel et al. 2019), block by block;
//   bias_variance also rescale each output channel so its std matches W x's: Ŵ_j ← a_j Ŵ_j,
//                 a_j = std(W x)_j / std(Ŵ x)_j (clamped to [0.5, 2]), then match the mean;
//   norm_gain     refit every norm gain (and LayerNorm bias) per channel by least squares so the
//                 compressed model's normalized inputs reproduce the FP model's (same tokens);
//   mixed_precision  put the components with the largest restoration gain per parameter (attention
//                 or MLP of one block) back at hi_bits (RTN of the FP weights) until the average
//                 bits/weight reach the budget; mixed_precision_by_depth spends the same budget on
//                 the earliest components instead (the uninformed baseline).
// Linears are corrected in dependency order inside a block (QKV, O, gate/up, down), each on inputs
// produced by the already-corrected parts.
// defines: lowbit::diag::bias_correction, norm_recalibration, run_repairs
#include <algorithm>
#include <array>
#include <cmath>

#include "lowbit/compress/driver.hpp"
#include "lowbit/compress/quant.hpp"
#include "lowbit/core/error.hpp"
#include "lowbit/core/log.hpp"
#include "lowbit/diagnose/diagnose.hpp"

namespace lowbit::diag {

namespace {

// Run block w over all calibration rows x [n*L, D] in micro-batches (in place when `update`).
void run_mb(const DecoderConfig& c, const BlockWeights& w, int layer, Tensor& x, int n, int L, int mb,
            const ForwardHooks* hooks, bool update) {
  run_block_batched(c, w, layer, x, n, L, mb, hooks, update);
}

Tensor embed_calib(const Model& m, const CalibSet& calib) {
  std::vector<int> flat;
  for (const auto& s : calib.samples) flat.insert(flat.end(), s.begin(), s.end());
  Tensor x;
  embed_tokens(m, flat.data(), int(calib.samples.size()), calib.spec.seqlen, 0, x);
  return x;
}

// Per output channel sums of y and y² for y = x·wᵀ + b.
struct OutMoments {
  std::vector<double> s, s2;
  double n = 0;
  void add(const Tensor& y) {
    const int64_t out = y.cols();
    if (s.empty()) s.assign(size_t(out), 0), s2.assign(size_t(out), 0);
    for (int64_t r = 0; r < y.rows(); ++r)
      for (int64_t j = 0; j < out; ++j) {
        const double v = y.row(r)[j];
        s[size_t(j)] += v;
        s2[size_t(j)] += v * v;
      }
    n += double(y.rows());
  }
  double mean(size_t j) const { return s[j] / n; }
  double var(size_t j) const { return std::max(0.0, s2[j] / n - mean(j) * mean(j)); }
};

const std::array<std::vector<LinearId>, 4> kStages = {std::vector<LinearId>{LinearId::Q, LinearId::K, LinearId::V},
                                                      {LinearId::O},
                                                      {LinearId::Gate, LinearId::Up},
                                                      {LinearId::Down}};

}  // namespace

std::vector<BlockWeights> bias_correction(const Net& fp, const Net& q, const CalibSet& calib, bool variance,
                                          int micro_batch) {
  const DecoderConfig& c = fp.cfg();
  LB_INPUT_CHECK(!calib.samples.empty(), "bias correction needs calibration data (--calib)");
  const int n = int(calib.samples.size()), L = calib.spec.seqlen;
  std::vector<BlockWeights> out;
  for (int l = 0; l < c.n_layers; ++l) out.push_back(*q.blocks[size_t(l)]);
  Tensor x = embed_calib(*q.model, calib);
  for (int l = 0; l < c.n_layers; ++l) {
    const BlockWeights& f = *fp.blocks[size_t(l)];
    BlockWeights& w = out[size_t(l)];
    for (const auto& stage : kStages) {
      std::array<OutMoments, 7> mf, mq;
      ForwardHooks h;
      h.linear_input = [&](int, LinearId id, const Tensor& xin) {
        if (std::find(stage.begin(), stage.end(), id) == stage.end()) return;
        Tensor yf, yq;
        linear_forward(xin, f.linear(id), yf);
        linear_forward(xin, w.linear(id), yq);
        mf[size_t(id)].add(yf);
        mq[size_t(id)].add(yq);
      };
      run_mb(c, w, l, x, n, L, micro_batch, &h, false);
      for (auto id : stage) {
        Linear& lin = w.linear(id);
        if (lin.w.empty() || mq[size_t(id)].n == 0) continue;
        const int64_t o = lin.out();
        if (lin.b.empty()) lin.b = Tensor({o});
        for (int64_t j = 0; j < o; ++j) {
          const size_t J = size_t(j);
          double a = 1.0;
          if (variance) {
            const double vq = mq[size_t(id)].var(J), vf = mf[size_t(id)].var(J);
            a = vq > 0 ? std::clamp(std::sqrt(vf / vq), 0.5, 2.0) : 1.0;
            float* row = lin.w.row(j);
            for (int64_t i = 0; i < lin.in(); ++i) row[i] = float(row[i] * a);
          }
          // new mean = a·(mean_q − b) + b_new must equal mean_f.
          const double bq = lin.b.data[J];
          lin.b.data[J] = float(mf[size_t(id)].mean(J) - a * (mq[size_t(id)].mean(J) - bq));
        }
      }
    }
    run_mb(c, w, l, x, n, L, micro_batch, nullptr, true);
  }
  return out;
}

namespace {

// Normalization without gain (and without bias) of x [rows, D].
Tensor normalize(const DecoderConfig& c, const Tensor& x) {
  Tensor ones({x.cols()}), y(x.shape);
  std::fill(ones.data.begin(), ones.data.end(), 1.f);
  if (c.norm == NormKind::RMSNorm)
    rms_norm(x.ptr(), ones.ptr(), y.ptr(), x.rows(), x.cols(), c.norm_eps);
  else
    layer_norm(x.ptr(), ones.ptr(), nullptr, y.ptr(), x.rows(), x.cols(), c.norm_eps);
  return y;
}

// Refit gain (and bias) per channel: target_i ≈ g_i·u_i (+ b_i), least squares. `fw`/`fb` are the
// FP gain/bias that produce the target from the FP stream xf; gw/gb hold the compressed model's on
// entry. With `folded` (AWQ: g_q = g_fp/s, the next linears scaled by s) the target is expressed in
// the compressed model's coordinates, t·(g_q/g_fp) per channel, so the folded scales are kept;
// otherwise (RTN, GPTQ: g_q = g_fp unless damaged) the target is the FP output itself.
void refit_norm(const DecoderConfig& c, const Tensor& xq, const Tensor& xf, const Tensor& fw, const Tensor& fb,
                Tensor& gw, Tensor& gb, bool folded) {
  const Tensor u = normalize(c, xq), uf = normalize(c, xf);
  const int64_t D = xq.cols(), rows = xq.rows();
  const bool bias = c.norm == NormKind::LayerNorm && !fb.empty();
  std::vector<double> ratio(static_cast<size_t>(D), 1.0);
  for (int64_t i = 0; i < D; ++i)
    if (folded && fw.data[size_t(i)] != 0.f) ratio[size_t(i)] = double(gw.data[size_t(i)]) / double(fw.data[size_t(i)]);
  if (bias && gb.empty()) gb = Tensor({D});
  for (int64_t i = 0; i < D; ++i) {
    double su = 0, st = 0, suu = 0, sut = 0;
    for (int64_t r = 0; r < rows; ++r) {
      const double a = u.row(r)[i],
                   t = ratio[size_t(i)] * (double(uf.row(r)[i]) * fw.data[size_t(i)] + (bias ? fb.data[size_t(i)] : 0.0));
      su += a;
      st += t;
      suu += a * a;
      sut += a * t;
    }
    if (bias) {
      const double mu = su / double(rows), mt = st / double(rows), var = suu / double(rows) - mu * mu;
      const double g = var > 0 ? (sut / double(rows) - mu * mt) / var : gw.data[size_t(i)];
      gw.data[size_t(i)] = float(g);
      gb.data[size_t(i)] = float(mt - g * mu);
    } else if (suu > 0) {
      gw.data[size_t(i)] = float(sut / suu);
    }
  }
}

}  // namespace

std::vector<BlockWeights> norm_recalibration(const Net& fp, const Net& q, const CalibSet& calib, int micro_batch,
                                             Tensor& final_w, Tensor& final_b, bool folded) {
  const DecoderConfig& c = fp.cfg();
  LB_INPUT_CHECK(!calib.samples.empty(), "norm-gain recalibration needs calibration data (--calib)");
  const int n = int(calib.samples.size()), L = calib.spec.seqlen;
  std::vector<BlockWeights> out;
  for (int l = 0; l < c.n_layers; ++l) out.push_back(*q.blocks[size_t(l)]);
  Tensor xq = embed_calib(*q.model, calib), xf = xq;
  for (int l = 0; l < c.n_layers; ++l) {
    const BlockWeights& f = *fp.blocks[size_t(l)];
    BlockWeights& w = out[size_t(l)];
    refit_norm(c, xq, xf, f.attn_norm_w, f.attn_norm_b, w.attn_norm_w, w.attn_norm_b, folded);
    // Mid-block streams (input + attention output) of both models.
    auto mid = [&](const BlockWeights& bw, const Tensor& x) {
      Tensor m = x;
      int64_t row = 0;
      ForwardHooks h;
      h.sublayer_output = [&](int, const Tensor& a, const Tensor&) {
        for (int64_t i = 0; i < a.numel(); ++i) m.data[size_t(row * c.dim + i)] += a.data[size_t(i)];
        row += a.rows();
      };
      Tensor probe = x;
      run_mb(c, bw, l, probe, n, L, micro_batch, &h, false);
      return m;
    };
    const Tensor mq = mid(w, xq), mf = mid(f, xf);
    refit_norm(c, mq, mf, f.mlp_norm_w, f.mlp_norm_b, w.mlp_norm_w, w.mlp_norm_b, folded);
    run_mb(c, w, l, xq, n, L, micro_batch, nullptr, true);
    run_mb(c, f, l, xf, n, L, micro_batch, nullptr, true);
  }
  final_w = q.final_norm_w ? *q.final_norm_w : q.model->final_norm_w;
  final_b = q.final_norm_b ? *q.final_norm_b : q.model->final_norm_b;
  refit_norm(c, xq, xf, fp.model->final_norm_w, fp.model->final_norm_b, final_w, final_b, false);
  return out;
}

namespace {

double loss_blocks(const Net& q, const std::vector<BlockWeights>& blocks, const EvalBatch& b,
                   const Tensor* fw = nullptr, const Tensor* fb = nullptr) {
  Net n = q;
  for (size_t l = 0; l < blocks.size(); ++l) n.blocks[l] = &blocks[l];
  if (fw) n.final_norm_w = fw;
  if (fb && !fb->empty()) n.final_norm_b = fb;
  return net_loss(n, b);
}

// Blocks with the chosen components at hi_bits (RTN of the FP weights, FP norms).
std::vector<BlockWeights> promote(const Net& fp, const Net& q, const std::vector<const Component*>& chosen,
                                  const QuantSpec& hi) {
  std::vector<Component> comps;
  for (auto* c : chosen) comps.push_back(*c);
  std::vector<BlockWeights> out = restore_components(fp, q, comps);
  for (auto* comp : chosen) {
    BlockWeights& w = out[size_t(comp->layer)];
    std::vector<LinearId> ids = comp->kind == "attn" ? std::vector<LinearId>{LinearId::Q, LinearId::K, LinearId::V, LinearId::O}
                                                    : std::vector<LinearId>{LinearId::Gate, LinearId::Up, LinearId::Down};
    for (auto id : ids) {
      Linear& lin = w.linear(id);
      if (lin.w.empty()) continue;
      lin.w = quantize_rtn(lin.w, hi).w_hat;  // a group that does not divide in() leaves a ragged last group
    }
  }
  return out;
}

}  // namespace

void run_repairs(const Net& fp, const Net& q, const CalibSet& calib, const EvalBatch& b, const DiagnoseOptions& o,
                 DiagnoseResult& r) {
  const DecoderConfig& c = fp.cfg();
  r.repairs.clear();
  Progress prog("diagnose: repairs", 4, "repairs");
  auto add = [&](std::string name, double loss, double bits, std::string detail) {
    r.repairs.push_back(RepairResult{std::move(name), loss, gap_closed(r.loss_fp, r.loss_q, loss), bits, std::move(detail)});
  };
  const double base = o.base_bits;
  // Per-linear corrections compare W x with Ŵ x on the same x, which needs the compressed linears to
  // compute in the FP coordinates; AWQ's folded scales change them (x/s, W·s), so they are skipped.
  if (o.norm_scales_folded) {
    log_info("diagnose: bias/variance correction skipped (scales folded into the norms: AWQ)");
  } else {
    add("bias", loss_blocks(q, bias_correction(fp, q, calib, false, o.micro_batch), b), base, "");
    prog.step();
    add("bias_variance", loss_blocks(q, bias_correction(fp, q, calib, true, o.micro_batch), b), base, "");
    prog.step();
  }
  {
    Tensor fw, fb;
    auto blocks = norm_recalibration(fp, q, calib, o.micro_batch, fw, fb, o.norm_scales_folded);
    add("norm_gain", loss_blocks(q, blocks, b, &fw, &fb), base, "");
  }
  prog.step();
  if (!r.restoration.empty() && o.hi_bits <= o.base_bits)
    log_info("diagnose: mixed precision skipped (--hi-bits ", o.hi_bits, " is not above the base ", o.base_bits, " bits)");
  if (!r.restoration.empty() && o.hi_bits > o.base_bits) {
    long long total = 0;
    for (int l = 0; l < c.n_layers; ++l) total += component_params(c, Component{"", "block", l});
    const double budget = o.budget_bits > 0 ? o.budget_bits : base + 1;
    LB_INPUT_CHECK(budget >= base, "bit budget ", budget, " is below the base bit-width ", base);
    const double extra_per = double(o.hi_bits) - base;
    const double allowed = (budget - base) * double(total);
    QuantSpec hi{o.hi_bits, o.group, false};
    auto spend = [&](std::vector<const Component*> order, const std::string& name) {
      std::vector<const Component*> chosen;
      double used = 0;
      std::string names;
      for (auto* comp : order) {
        const double cost = extra_per * double(comp->params);
        if (used + cost > allowed + 1e-9) continue;
        used += cost;
        chosen.push_back(comp);
        names += (names.empty() ? "" : ",") + comp->name;
      }
      const double bits = base + used / double(total);
      add(name, chosen.empty() ? r.loss_q : loss_blocks(q, promote(fp, q, chosen, hi), b), bits, names);
    };
    std::vector<const Component*> ranked, depth;
    for (const auto& comp : r.restoration)
      if ((comp.kind == "attn" || comp.kind == "mlp") && comp.gap_closed > 0) ranked.push_back(&comp);
    std::stable_sort(ranked.begin(), ranked.end(), [](const Component* a, const Component* bb) {
      return a->gap_closed / double(a->params) > bb->gap_closed / double(bb->params);
    });
    for (const auto& comp : r.restoration)
      if (comp.kind == "attn" || comp.kind == "mlp") depth.push_back(&comp);
    std::stable_sort(depth.begin(), depth.end(), [](const Component* a, const Component* bb) {
      return a->layer != bb->layer ? a->layer < bb->layer : a->kind < bb->kind;
    });
    spend(ranked, "mixed_precision");
    spend(depth, "mixed_precision_by_depth");
  }
  prog.finish();
}

}  // namespace lowbit::diag
