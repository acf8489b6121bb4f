// lowbit/diagnose/diagnose.hpp — failure-mode diagnostics of a compressed model against its
// full-precision original on the same inputs (issue #6): per-layer fidelity (propagated and
// local), per-head attention fidelity, logit lens, activation statistics, causal tests
// (restoration, patching, causal tracing of facts), the degradation/collapse label with its
// evidence, and training-free repairs. Everything lands in one DiagnoseResult, which
// fill_group() turns into an archive Group (tables with column names and units).
// defines: lowbit::diag::DiagnoseOptions, ModeRule, LayerDiag, HeadDiag, ActDiag, Component,
//          PatchDiag, TraceResult, RepairResult, ModeLabel, DiagnoseResult, layerwise_diagnostics,
//          restoration_ranking, restore_components, activation_patching, load_facts, Fact,
//          causal_trace, classify_mode, run_repairs, add_weight_noise, diagnose, fill_group, group_json
//
// Files: layerwise.cpp (per-layer, per-head, lens, activations), restoration.cpp (restoration,
// patching), tracing.cpp (facts, causal tracing), classify.cpp (the mode rule), repair.cpp
// (bias/variance/norm-gain correction, mixed precision), weight_noise.cpp (the reference
// perturbation), diagnose.cpp (driver, Group, JSON); config_run.hpp runs one whole configuration.
#pragma once

#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "lowbit/archive/record.hpp"
#include "lowbit/compress/calib.hpp"
#include "lowbit/compress/quant.hpp"  // QuantSpec::kPerChannel
#include "lowbit/diagnose/metrics.hpp"
#include "lowbit/diagnose/net.hpp"
#include "lowbit/io/tokenizer.hpp"

namespace lowbit::diag {

// The parameters of the degradation/collapse rule (classify.cpp documents the rule itself).
struct ModeRule {
  double js_broken_bits = 0.15;   // a head whose mean local JS exceeds this has lost its pattern
  double early_fraction = 0.5;    // layers [0, ceil(f·L)) are "early"
  double snr_collapse_db = 0.0;   // propagated SNR below this in an early layer: signal destroyed
  int top_n = 3;                  // components restored jointly for the concentration test
  double share_min = 0.5;         // ... which must close at least this share of the loss gap
  double spread_max = 3.0;        // smooth growth: max local rel. error <= spread_max × median over layers
  double gap_min_nats = 0.002;    // below this gap the label is kept but flagged negligible
};

struct DiagnoseOptions {
  int topk = 3;                 // top-k overlap of attention rows
  bool heads = true;            // per-head restoration (H·L extra loss evaluations)
  bool restoration = true;
  bool patching = true;
  bool repairs = true;
  double budget_bits = 0;       // mixed precision: average bits/weight allowed (0 = base bits + 1)
  int base_bits = 4;            // bit-width of the compressed model (for the budget)
  int hi_bits = 8;              // precision the chosen components are restored to (RTN)
  int group = QuantSpec::kPerChannel;  // group size of that RTN
  int micro_batch = 8;          // calibration sequences per forward in the repairs
  bool norm_scales_folded = false;  // the method folded scales into the block norms (AWQ)
  ModeRule rule;
};

// Per block l (after block l).
struct LayerDiag {
  Fidelity prop;          // residual stream, compressed model vs FP model (propagated error)
  Fidelity local;         // compressed block l on the FP input vs FP block l (error made in the layer)
  double local_update_rel_l2 = 0;  // the same for the block's update (output − input)
  Fidelity attn_out, mlp_out;              // sub-layer outputs, propagated
  Fidelity local_attn_out, local_mlp_out;  // sub-layer outputs, local
  double attn_js_mean = 0, attn_js_max = 0, attn_topk_mean = 1, attn_topk_min = 1;  // propagated, over heads
  double local_js_mean = 0, local_js_max = 0, local_topk_mean = 1, local_topk_min = 1;
  double lens_kl_fp = 0, lens_top1_fp = 0;  // FP model's layer l decoded vs FP final distribution
  double lens_kl_q = 0, lens_top1_q = 0;    // compressed model's layer l vs FP final distribution
};
struct HeadDiag {
  int layer = 0, head = 0;
  double js = 0, topk = 1, local_js = 0, local_topk = 1;  // JS in bits, mean over query rows
};
struct ActDiag {
  int layer = 0;
  std::string site;  // attn_in, o_in, mlp_in, down_in, resid
  ChannelStats fp, q;
};
// A component restored to full precision: "L2" (block), "L2.attn", "L2.mlp", "L2.h5" (head).
struct Component {
  std::string name, kind;  // kind: block | attn | mlp | head
  int layer = 0, head = -1;
  long long params = 0;
  double loss = 0, gap_closed = 0;
};
struct PatchDiag {
  int layer = 0;
  double loss = 0, gap_closed = 0, final_rel_l2 = 0;
};
struct TraceResult {
  int facts = 0, skipped = 0, noise_samples = 0;
  double noise_std = 0;
  // Per model ("fp", "q"): mean p(answer) clean / corrupted, top-1 accuracy on the clean prompts,
  // and per layer the mean indirect effect p(restored) − p(corrupted) by position class.
  struct Side {
    double p_clean = 0, p_corrupt = 0, top1 = 0;
    std::vector<double> ie_subject_last, ie_subject_other, ie_after_subject, ie_last;
  };
  Side fp, q;
};
struct RepairResult {
  std::string name;
  double loss = 0, gap_closed = 0, avg_bits = 0;
  std::string detail;
};
struct ModeLabel {
  std::string label;  // signal_degradation | computation_collapse | mixed
  std::string reason;
  std::map<std::string, double> evidence;
  ModeRule rule;
};

struct DiagnoseResult {
  int n_layers = 0, n_heads = 0;
  double loss_fp = 0, loss_q = 0;
  double gap_se = 0;  // standard error of the gap from the paired per-token NLL differences
  long long eval_tokens = 0;
  std::vector<LayerDiag> layers;
  std::vector<HeadDiag> heads;
  std::vector<ActDiag> acts;
  std::vector<std::vector<double>> resid_channel_max_fp;  // [layer][channel] max |h|
  std::vector<Component> restoration;  // ranked, best first
  double top_n_joint_gap_closed = std::nan("");
  std::vector<std::string> top_n_components;
  std::vector<PatchDiag> patching;
  std::unique_ptr<TraceResult> tracing;
  std::vector<RepairResult> repairs;
  ModeLabel mode;
  double gap() const { return loss_q - loss_fp; }
};

// ---- layerwise.cpp ----
void layerwise_diagnostics(const Net& fp, const Net& q, const EvalBatch& b, const DiagnoseOptions& o,
                           DiagnoseResult& r);

// ---- restoration.cpp ----
// Share of the loss gap closed by a loss: (loss_q − loss)/(loss_q − loss_fp); NaN when the gap is 0.
double gap_closed(double loss_fp, double loss_q, double loss);
// Compressed blocks with the named components put back to the FP weights. Heads: rows of W_q
// (and W_k, W_v when every head has its own K/V), columns of W_o; sub-layers include their norm.
std::vector<BlockWeights> restore_components(const Net& fp, const Net& q, const std::vector<Component>& comps);
long long component_params(const DecoderConfig& c, const Component& comp);
// Every component alone, ranked by gap closed (best first); fills r.restoration and the joint top-n.
void restoration_ranking(const Net& fp, const Net& q, const EvalBatch& b, const DiagnoseOptions& o,
                         DiagnoseResult& r);
// Patch the compressed residual stream after layer l with the FP one (same tokens), per l.
void activation_patching(const Net& fp, const Net& q, const EvalBatch& b, DiagnoseResult& r);

// ---- tracing.cpp ----
struct Fact {
  std::string context, subject, answer;
  std::vector<int> tokens;  // BOS + context
  int subj_begin = 0, subj_end = 0;  // token span corrupted [begin, end)
  int answer_token = 0;
};
// JSONL facts: LAMA ({sub_label, obj_label, predicate_id} with templates from `relations`) or
// cloze ({"type":"cloze","context","answer"[,"subject"]}; without a subject every context token
// but BOS and the last is corrupted). Facts whose template does not end in [Y] or whose tokens
// do not split at the subject boundary are skipped (counted in `skipped`).
std::vector<Fact> load_facts(const std::string& path, const std::string& relations, const Tokenizer& tok,
                             int max_facts, int* skipped);
struct TraceOptions {
  int noise_samples = 5;
  double noise_scale = 3.0;  // noise std = scale × std of the token-embedding entries
  uint64_t seed = 0;
};
TraceResult causal_trace(const Net& fp, const Net& q, const std::vector<Fact>& facts, const TraceOptions& o);

// ---- classify.cpp ----
ModeLabel classify_mode(const DiagnoseResult& r, const ModeRule& rule);

// ---- repair.cpp ----
// Each repair on a copy of the compressed blocks, calibrated on `calib`, scored on `b`.
void run_repairs(const Net& fp, const Net& q, const CalibSet& calib, const EvalBatch& b, const DiagnoseOptions& o,
                 DiagnoseResult& r);
// The individual repairs (exposed for tests): corrected copies of the compressed blocks.
std::vector<BlockWeights> bias_correction(const Net& fp, const Net& q, const CalibSet& calib, bool variance,
                                          int micro_batch);
// Recalibrated norm gains (and biases); final_w/final_b receive the final norm. `folded`: the
// compressed block norms carry scales folded in by the method (AWQ), which are kept.
std::vector<BlockWeights> norm_recalibration(const Net& fp, const Net& q, const CalibSet& calib, int micro_batch,
                                             Tensor& final_w, Tensor& final_b, bool folded = false);

// ---- weight_noise.cpp ----
// w += rel_std·rms(row)·N(0,1) on every linear weight of every block (deterministic in seed).
void add_weight_noise(Model& m, double rel_std, uint64_t seed);

// ---- diagnose.cpp ----
// The whole study of one configuration. `calib` may be empty (no repairs then); `facts` may be
// empty (no tracing).
DiagnoseResult diagnose(const Model& fp, const Model& q, const EvalBatch& b, const CalibSet& calib,
                        const std::vector<Fact>& facts, const DiagnoseOptions& o, const TraceOptions& to = {});
// Tables: layers, heads, logit_lens, activations, resid_channel_max, restoration, patching,
// tracing, repairs; attributes: losses, gap, label, reason, evidence and rule parameters.
void fill_group(const DiagnoseResult& r, archive::Group& g);
// A Group as JSON: {"attrs":{..}, "tables":{name:{"columns","units","rows","data":[[..],..]}}, "groups":{..}}.
nlohmann::json group_json(const archive::Group& g);

}  // namespace lowbit::diag
