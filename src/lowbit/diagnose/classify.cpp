// lowbit/diagnose/classify.cpp — the failure-mode rule: signal degradation versus computation
// collapse, from the per-layer, per-head and restoration evidence.
// defines: lowbit::diag::classify_mode
//
// The rule (parameters in ModeRule; E = the early layers [0, ceil(early_fraction·L))):
//   broken      = some head's mean local JS divergence (compressed block on FP input) > js_broken_bits
//   destroyed   = the propagated residual-stream SNR of some early layer < snr_collapse_db
//   concentrated= restoring the top_n sub-block components (attention, MLP, heads; ranked by
//                 the gap each closes alone) together closes >= share_min of the loss gap, and the
//                 best single component lies in E
//   smooth      = no layer makes much more error than the others and the error does not shrink: the
//                 local relative errors ε_l (compressed block on the FP input) satisfy
//                 max_l ε_l <= spread_max · median_l ε_l, and the propagated relative error of the
//                 last block is at least that of the first
//   label = computation_collapse  if concentrated and (broken or destroyed)
//         = signal_degradation    if not broken, not destroyed, and smooth
//         = mixed                 otherwise (the evidence disagrees; all of it is stored)
// A gap below gap_min_nats keeps its label but sets evidence "gap_negligible" = 1.
#include <algorithm>
#include <cmath>

#include "lowbit/core/error.hpp"
#include "lowbit/diagnose/diagnose.hpp"

namespace lowbit::diag {

ModeLabel classify_mode(const DiagnoseResult& r, const ModeRule& rule) {
  LB_INPUT_CHECK(rule.early_fraction > 0 && rule.early_fraction <= 1, "mode rule early_fraction ",
                 rule.early_fraction, " must be in (0, 1]");
  LB_INPUT_CHECK(rule.top_n >= 1, "mode rule top_n must be at least 1");
  const int L = int(r.layers.size());
  LB_CHECK(L > 0, "classify_mode needs the per-layer diagnostics");
  ModeLabel m;
  m.rule = rule;
  auto& ev = m.evidence;
  const int n_early = std::max(1, int(std::ceil(rule.early_fraction * L)));
  // Heads.
  double js_max = 0;
  int js_layer = -1, js_head = -1;
  for (const auto& h : r.heads)
    if (h.local_js > js_max) {
      js_max = h.local_js;
      js_layer = h.layer;
      js_head = h.head;
    }
  const bool broken = js_max > rule.js_broken_bits;
  ev["max_local_head_js_bits"] = js_max;
  ev["max_local_head_layer"] = js_layer;
  ev["max_local_head"] = js_head;
  ev["broken_attention"] = broken;
  // Early signal.
  double snr_min = INFINITY;
  for (int l = 0; l < n_early; ++l) snr_min = std::min(snr_min, r.layers[size_t(l)].prop.snr_db);
  const bool destroyed = snr_min < rule.snr_collapse_db;
  ev["early_layers"] = n_early;
  ev["min_early_snr_db"] = snr_min;
  ev["early_signal_destroyed"] = destroyed;
  // Concentration of restoration.
  bool concentrated = false;
  if (!r.restoration.empty()) {
    const Component* best = nullptr;
    for (const auto& c : r.restoration)
      if (c.kind != "block") { best = &c; break; }
    ev["top_n_joint_gap_closed"] = r.top_n_joint_gap_closed;
    if (best) {
      ev["best_component_layer"] = best->layer;
      ev["best_component_gap_closed"] = best->gap_closed;
      concentrated = r.top_n_joint_gap_closed >= rule.share_min && best->layer < n_early;
    }
  } else {
    ev["top_n_joint_gap_closed"] = std::nan("");
  }
  ev["concentrated_restoration"] = concentrated;
  // Smooth growth.
  std::vector<double> local;
  for (const auto& d : r.layers) local.push_back(d.local.rel_l2);
  std::vector<double> sorted = local;
  std::sort(sorted.begin(), sorted.end());
  const double median = L % 2 ? sorted[size_t(L / 2)] : 0.5 * (sorted[size_t(L / 2) - 1] + sorted[size_t(L / 2)]);
  const double lmax = sorted.back();
  const double spread = lmax == 0 ? 1.0 : (median > 0 ? lmax / median : INFINITY);
  const double first_err = r.layers.front().prop.rel_l2, final_err = r.layers.back().prop.rel_l2;
  const bool smooth = spread <= rule.spread_max && final_err >= first_err;
  ev["local_error_spread"] = spread;
  ev["first_rel_l2"] = first_err;
  ev["final_rel_l2"] = final_err;
  ev["smooth_growth"] = smooth;
  ev["gap_nats"] = r.gap();
  ev["gap_negligible"] = std::fabs(r.gap()) < rule.gap_min_nats;

  if (concentrated && (broken || destroyed)) {
    m.label = "computation_collapse";
    m.reason = cat(broken ? cat("head L", js_layer, ".h", js_head, " lost its pattern (local JS ", js_max, " bits)")
                          : cat("early-layer SNR ", snr_min, " dB"),
                   "; restoring ", r.top_n_components.size(), " components closes ", r.top_n_joint_gap_closed,
                   " of the gap");
  } else if (!broken && !destroyed && smooth) {
    m.label = "signal_degradation";
    m.reason = cat("attention patterns preserved (max local head JS ", js_max, " bits), early SNR ", snr_min,
                   " dB, error grows smoothly (local error max/median ", spread, ", rel. L2 ", first_err, " -> ",
                   final_err, ")");
  } else {
    m.label = "mixed";
    m.reason = cat("broken=", broken, " destroyed=", destroyed, " concentrated=", concentrated, " smooth=", smooth);
  }
  return m;
}

}  // namespace lowbit::diag
