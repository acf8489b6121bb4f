// lowbit/diagnose/diagnose.cpp — the diagnostics driver for one configuration, and its results as
// an archive Group (and JSON). defines: lowbit::diag::diagnose, fill_group, group_json
#include "lowbit/diagnose/diagnose.hpp"

#include <cmath>

#include "lowbit/archive/keys.hpp"
#include "lowbit/core/error.hpp"
#include "lowbit/core/log.hpp"

namespace lowbit::diag {

DiagnoseResult diagnose(const Model& fp_model, const Model& q_model, const EvalBatch& b, const CalibSet& calib,
                        const std::vector<Fact>& facts, const DiagnoseOptions& o, const TraceOptions& to) {
  const auto& cf = fp_model.cfg;
  const auto& cq = q_model.cfg;
  LB_INPUT_CHECK(cf.dim == cq.dim && cf.n_layers == cq.n_layers && cf.n_heads == cq.n_heads &&
                     cf.hidden_dim == cq.hidden_dim && cf.vocab_size == cq.vocab_size,
                 q_model.path, ": the compressed model's shape differs from ", fp_model.path);
  LB_INPUT_CHECK(b.T <= cf.max_seq_len, "evaluation windows of ", b.T, " tokens exceed the model's context ",
                 cf.max_seq_len);
  const Net fp = Net::of(fp_model), q = Net::of(q_model);
  DiagnoseResult r;
  {
    Tensor lf, lq;
    net_logits(fp, b, lf);
    net_logits(q, b, lq);
    const auto nf = nll_tokens(lf, b), nq = nll_tokens(lq, b);
    double sf = 0, sq = 0, sd = 0, sd2 = 0;
    for (size_t i = 0; i < nf.size(); ++i) {
      sf += nf[i];
      sq += nq[i];
      sd += nq[i] - nf[i];
      sd2 += (nq[i] - nf[i]) * (nq[i] - nf[i]);
    }
    const double n = double(nf.size());
    r.loss_fp = sf / n;
    r.loss_q = sq / n;
    r.gap_se = n > 1 ? std::sqrt(std::max(0.0, (sd2 - sd * sd / n) / (n - 1)) / n) : 0.0;
  }
  r.eval_tokens = b.predictions();
  log_info("diagnose: loss FP ", r.loss_fp, " compressed ", r.loss_q, " nats/token (gap ", r.gap(), " ± ", r.gap_se, ") over ",
           r.eval_tokens, " predictions");
  layerwise_diagnostics(fp, q, b, o, r);
  if (o.restoration) restoration_ranking(fp, q, b, o, r);
  if (o.patching) activation_patching(fp, q, b, r);
  if (!facts.empty()) r.tracing = std::make_unique<TraceResult>(causal_trace(fp, q, facts, to));
  if (o.repairs && !calib.samples.empty()) run_repairs(fp, q, calib, b, o, r);
  r.mode = classify_mode(r, o.rule);
  log_info("diagnose: ", r.mode.label, " (", r.mode.reason, ")");
  return r;
}

namespace {

using archive::Table;

Table make_table(std::initializer_list<std::pair<const char*, const char*>> cols, std::string description) {
  Table t;
  for (const auto& [n, u] : cols) t.add_column(n, u);
  t.description = std::move(description);
  return t;
}

}  // namespace

void fill_group(const DiagnoseResult& r, archive::Group& g) {
  namespace kd = archive::keys::diag;
  namespace km = archive::keys::mode_rule;
  namespace kt = archive::keys::tracing;
  g.set(kd::kLossFp, r.loss_fp);
  g.set(kd::kLossQ, r.loss_q);
  g.set(kd::kLossGap, r.gap());
  g.set(kd::kLossGapSe, r.gap_se);
  g.set(kd::kLossUnit, std::string("nats/token"));
  g.set(kd::kEvalPredictions, int64_t(r.eval_tokens));
  g.set(kd::kNLayers, int64_t(r.n_layers));
  g.set(kd::kNHeads, int64_t(r.n_heads));
  g.set(kd::kMode, r.mode.label);
  g.set(kd::kModeReason, r.mode.reason);
  archive::Group& ev = g.group(kd::kModeEvidence);
  for (const auto& [k, v] : r.mode.evidence) ev.set(k, v);
  archive::Group& rule = g.group(kd::kModeRule);
  const ModeRule& mr = r.mode.rule;
  rule.set(km::kJsBrokenBits, mr.js_broken_bits);
  rule.set(km::kEarlyFraction, mr.early_fraction);
  rule.set(km::kSnrCollapseDb, mr.snr_collapse_db);
  rule.set(km::kTopN, int64_t(mr.top_n));
  rule.set(km::kShareMin, mr.share_min);
  rule.set(km::kSpreadMax, mr.spread_max);
  rule.set(km::kGapMinNats, mr.gap_min_nats);

  Table t = make_table({{"layer", ""}, {"cos", ""}, {"rel_l2", ""}, {"snr_db", "dB"}, {"local_cos", ""},
                        {"local_rel_l2", ""}, {"local_snr_db", "dB"}, {"local_update_rel_l2", ""},
                        {"attn_out_cos", ""}, {"attn_out_rel_l2", ""}, {"mlp_out_cos", ""}, {"mlp_out_rel_l2", ""},
                        {"local_attn_out_rel_l2", ""}, {"local_mlp_out_rel_l2", ""}, {"attn_js_mean", "bits"},
                        {"attn_js_max", "bits"}, {"attn_topk_mean", ""}, {"attn_topk_min", ""},
                        {"local_attn_js_mean", "bits"}, {"local_attn_js_max", "bits"}, {"local_attn_topk_mean", ""},
                        {"local_attn_topk_min", ""}, {"lens_kl_fp", "nats"}, {"lens_top1_fp", ""},
                        {"lens_kl_q", "nats"}, {"lens_top1_q", ""}},
                       "per block: residual-stream fidelity after the block (propagated: compressed model on its own "
                       "inputs; local: compressed block on the FP input), sub-layer outputs, attention over heads, "
                       "logit lens (KL to the FP model's final distribution, top-1 agreement)");
  for (int l = 0; l < int(r.layers.size()); ++l) {
    const auto& d = r.layers[size_t(l)];
    t.add_row({double(l), d.prop.cos, d.prop.rel_l2, d.prop.snr_db, d.local.cos, d.local.rel_l2, d.local.snr_db,
               d.local_update_rel_l2, d.attn_out.cos, d.attn_out.rel_l2, d.mlp_out.cos, d.mlp_out.rel_l2,
               d.local_attn_out.rel_l2, d.local_mlp_out.rel_l2, d.attn_js_mean, d.attn_js_max, d.attn_topk_mean,
               d.attn_topk_min, d.local_js_mean, d.local_js_max, d.local_topk_mean, d.local_topk_min, d.lens_kl_fp,
               d.lens_top1_fp, d.lens_kl_q, d.lens_top1_q},
              "L" + std::to_string(l));
  }
  g.tables[kd::kLayers] = std::move(t);

  t = make_table({{"layer", ""}, {"head", ""}, {"js", "bits"}, {"topk", ""}, {"local_js", "bits"}, {"local_topk", ""}},
                 "per head: mean over query rows of the JS divergence and top-k overlap of the attention "
                 "distributions, propagated and local");
  for (const auto& h : r.heads)
    t.add_row({double(h.layer), double(h.head), h.js, h.topk, h.local_js, h.local_topk},
              "L" + std::to_string(h.layer) + ".h" + std::to_string(h.head));
  g.tables[kd::kHeads] = std::move(t);

  t = make_table({{"layer", ""}, {"max_abs_fp", "activation"}, {"median_channel_max_fp", "activation"},
                  {"outlier_ratio_fp", ""}, {"kurtosis_fp", ""}, {"channel_kurtosis_fp", ""}, {"argmax_channel_fp", ""},
                  {"max_abs_q", "activation"}, {"median_channel_max_q", "activation"}, {"kurtosis_q", ""}},
                 "activation statistics per site (input of the attention projections, of W_o, of the MLP, of the "
                 "down projection, and the residual stream after the block): per-channel max |x| summarised, "
                 "Pearson kurtosis of all values and mean per-channel kurtosis");
  for (const auto& a : r.acts)
    t.add_row({double(a.layer), a.fp.max, a.fp.median, a.fp.median > 0 ? a.fp.max / a.fp.median : std::nan(""),
               a.fp.kurtosis, a.fp.channel_kurtosis_mean, double(a.fp.argmax), a.q.max, a.q.median, a.q.kurtosis},
              "L" + std::to_string(a.layer) + "." + a.site);
  g.tables[kd::kActivations] = std::move(t);

  if (!r.resid_channel_max_fp.empty()) {
    Table c;
    c.description = "FP residual stream after each block: max |x| per channel";
    for (size_t i = 0; i < r.resid_channel_max_fp[0].size(); ++i) c.add_column("ch" + std::to_string(i), "activation");
    for (size_t l = 0; l < r.resid_channel_max_fp.size(); ++l) c.add_row(r.resid_channel_max_fp[l], "L" + std::to_string(l));
    g.tables[kd::kResidChannelMax] = std::move(c);
  }

  if (!r.restoration.empty()) {
    t = make_table({{"rank", ""}, {"layer", ""}, {"head", ""}, {"kind", "0 block,1 attn,2 mlp,3 head"},
                    {"params", "weights"}, {"loss", "nats/token"}, {"gap_closed", "fraction"}},
                   "restoration: one component at a time put back to FP weights, ranked by the share of the loss "
                   "gap it closes");
    int rank = 0;
    for (const auto& c : r.restoration) {
      const double kind = c.kind == "block" ? 0 : c.kind == "attn" ? 1 : c.kind == "mlp" ? 2 : 3;
      t.add_row({double(rank++), double(c.layer), double(c.head), kind, double(c.params), c.loss, c.gap_closed}, c.name);
    }
    g.tables[kd::kRestoration] = std::move(t);
    g.set(kd::kTopNJointGapClosed, r.top_n_joint_gap_closed);
    std::string names;
    for (const auto& n : r.top_n_components) names += (names.empty() ? "" : ",") + n;
    g.set(kd::kTopNComponents, names);
  }
  if (!r.patching.empty()) {
    t = make_table({{"layer", ""}, {"loss", "nats/token"}, {"gap_closed", "fraction"}, {"final_rel_l2", ""}},
                   "patching: the compressed residual stream after the block replaced by the FP one (same tokens); "
                   "loss and the last block's relative error downstream");
    for (const auto& p : r.patching)
      t.add_row({double(p.layer), p.loss, p.gap_closed, p.final_rel_l2}, "L" + std::to_string(p.layer));
    g.tables[kd::kPatching] = std::move(t);
  }
  if (r.tracing) {
    const TraceResult& tr = *r.tracing;
    archive::Group& tg = g.group(kd::kTracing);
    tg.set(kt::kFacts, int64_t(tr.facts));
    tg.set(kt::kSkipped, int64_t(tr.skipped));
    tg.set(kt::kNoiseSamples, int64_t(tr.noise_samples));
    tg.set(kt::kNoiseStd, tr.noise_std);
    tg.set(kt::kFpPClean, tr.fp.p_clean);
    tg.set(kt::kFpPCorrupt, tr.fp.p_corrupt);
    tg.set(kt::kFpTop1, tr.fp.top1);
    tg.set(kt::kQPClean, tr.q.p_clean);
    tg.set(kt::kQPCorrupt, tr.q.p_corrupt);
    tg.set(kt::kQTop1, tr.q.top1);
    t = make_table({{"layer", ""}, {"fp_subject_last", "probability"}, {"fp_subject_other", "probability"},
                    {"fp_after_subject", "probability"}, {"fp_last", "probability"}, {"q_subject_last", "probability"},
                    {"q_subject_other", "probability"}, {"q_after_subject", "probability"}, {"q_last", "probability"}},
                   "causal tracing: mean indirect effect p(answer | clean state restored after the block at that "
                   "position) − p(answer | corrupted), by position class");
    for (size_t l = 0; l < tr.fp.ie_last.size(); ++l)
      t.add_row({double(l), tr.fp.ie_subject_last[l], tr.fp.ie_subject_other[l], tr.fp.ie_after_subject[l],
                 tr.fp.ie_last[l], tr.q.ie_subject_last[l], tr.q.ie_subject_other[l], tr.q.ie_after_subject[l],
                 tr.q.ie_last[l]},
                "L" + std::to_string(l));
    tg.tables[kt::kIndirectEffect] = std::move(t);
  }
  if (!r.repairs.empty()) {
    t = make_table({{"loss", "nats/token"}, {"gap_closed", "fraction"}, {"avg_bits", "bits/weight"}},
                   "training-free repairs: loss after each and the share of the gap it closes");
    archive::Group& rg = g.group(kd::kRepairDetails);
    for (const auto& rp : r.repairs) {
      t.add_row({rp.loss, rp.gap_closed, rp.avg_bits}, rp.name);
      if (!rp.detail.empty()) rg.set(rp.name, rp.detail);
    }
    g.tables[kd::kRepairs] = std::move(t);
  }
}

nlohmann::json group_json(const archive::Group& g) {
  nlohmann::json j = nlohmann::json::object();
  nlohmann::json attrs = nlohmann::json::object();
  for (const auto& [name, v] : g.attrs) {
    const std::string& k = name;  // a structured binding cannot be captured before clang 16
    std::visit(
        [&](const auto& x) {
          using X = std::decay_t<decltype(x)>;
          if constexpr (std::is_same_v<X, double>) {
            if (std::isfinite(x)) attrs[k] = x;
            else attrs[k] = nullptr;
          } else {
            attrs[k] = x;
          }
        },
        v);
  }
  j["attrs"] = attrs;
  nlohmann::json tables = nlohmann::json::object();
  for (const auto& [name, t] : g.tables) {
    nlohmann::json data = nlohmann::json::array();
    for (size_t r = 0; r < t.nrows(); ++r) {
      nlohmann::json row = nlohmann::json::array();
      for (size_t c = 0; c < t.ncols(); ++c) {
        const double v = t.at(r, c);
        if (std::isfinite(v)) row.push_back(v);
        else row.push_back(nullptr);
      }
      data.push_back(row);
    }
    tables[name] = {{"columns", t.columns}, {"units", t.units}, {"rows", t.rows}, {"description", t.description},
                    {"data", data}};
  }
  j["tables"] = tables;
  nlohmann::json groups = nlohmann::json::object();
  for (const auto& [name, sub] : g.groups) groups[name] = group_json(sub);
  j["groups"] = groups;
  return j;
}

}  // namespace lowbit::diag
