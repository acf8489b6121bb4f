// tests/unit/test_diagnose.cpp — the diagnostics on constructed cases with a known answer, on a
// tiny synthetic LLaMA: a deliberately broken head is found by restoration and labelled
// computation collapse; small Gaussian weight noise is labelled signal degradation; an identical
// copy has perfect fidelity; patching the last layer and restoring the final state in causal
// tracing close everything; each repair undoes exactly the damage it models.
#include <gtest/gtest.h>
#include <omp.h>

#include <cmath>
#include <fstream>
#include <random>

#include "lowbit/core/error.hpp"
#include "lowbit/diagnose/config_run.hpp"
#include "lowbit/diagnose/diagnose.hpp"
#include "lowbit/io/load.hpp"
#include "lowbit/model/forward.hpp"
#include "lowbit/model/synthetic.hpp"
#include "paths.hpp"
#include "test_configs.hpp"
#include "tolerances.hpp"

using namespace lowbit;
using namespace lowbit::diag;

namespace {

// These models are tiny (D = 32): OpenMP threads bring nothing, and on shared, loaded cores every
// parallel region's barrier can cost milliseconds (a 10 ms test took 8 s with 2 threads under load
// 8 on 2 cores). Each test runs single-threaded and restores the thread count afterwards.
struct OneThread {
  int prev = omp_get_max_threads();
  OneThread() { omp_set_num_threads(1); }
  ~OneThread() { omp_set_num_threads(prev); }
};

DecoderConfig cfg4() {
  DecoderConfig c = test::small_config(Arch::Llama, 32, 64, 8);
  c.n_layers = 4;
  return c;
}

// B sequences of T tokens sampled from the FP model itself (temperature 1): on its own samples
// the FP model has the lowest expected loss (any other model pays the KL), so gaps are positive.
EvalBatch sampled_batch(const Model& m, int B, int T, uint64_t seed) {
  std::mt19937_64 g(seed);
  EvalBatch b;
  b.B = B;
  b.T = T;
  std::vector<std::vector<int>> seqs(size_t(B), std::vector<int>{m.cfg.bos_id});
  for (int t = 1; t < T; ++t) {
    std::vector<int> flat;
    for (const auto& s : seqs) flat.insert(flat.end(), s.begin(), s.end());
    Tensor logits;
    forward_logits(m, flat.data(), B, t, logits);
    for (int i = 0; i < B; ++i) {
      const float* row = logits.row(int64_t(i) * t + t - 1);
      std::vector<double> p(size_t(logits.cols()));
      for (size_t v = 0; v < p.size(); ++v) p[v] = std::exp(double(row[v]));
      std::discrete_distribution<int> dd(p.begin(), p.end());
      seqs[size_t(i)].push_back(dd(g));
    }
  }
  for (const auto& s : seqs) b.tokens.insert(b.tokens.end(), s.begin(), s.end());
  return b;
}

EvalBatch random_batch(int vocab, int B, int T, uint64_t seed) {
  std::mt19937_64 g(seed);
  EvalBatch b;
  b.B = B;
  b.T = T;
  for (int i = 0; i < B * T; ++i) b.tokens.push_back(int(g() % uint64_t(vocab)));
  return b;
}

CalibSet random_calib(int vocab, int n, int L, uint64_t seed) {
  CalibSet c;
  c.spec.seqlen = L;
  c.spec.nsamples = n;
  std::mt19937_64 g(seed);
  for (int i = 0; i < n; ++i) {
    std::vector<int> s;
    for (int t = 0; t < L; ++t) s.push_back(int(g() % uint64_t(vocab)));
    c.samples.push_back(s);
  }
  return c;
}

// Break head h of layer l: its query rows scaled by `k` (sharp, wrong attention).
void break_head(Model& m, int l, int h, float k) {
  BlockWeights b = m.block(l);
  const int64_t hd = m.cfg.head_dim;
  for (int64_t r = h * hd; r < (h + 1) * hd; ++r)
    for (int64_t i = 0; i < b.q.in(); ++i) b.q.w.row(r)[i] *= k;
  m.set_block(l, std::move(b));
}

}  // namespace

TEST(Diagnose, IdenticalModelHasPerfectFidelity) {
  OneThread one;
  auto fp = make_synthetic_model(cfg4(), 11);
  auto q = make_synthetic_model(cfg4(), 11);
  EvalBatch b = random_batch(97, 2, 16, 1);
  DiagnoseOptions o;
  o.restoration = o.repairs = false;
  DiagnoseResult r = diagnose(*fp, *q, b, CalibSet{}, {}, o);
  EXPECT_EQ(r.loss_fp, r.loss_q);
  EXPECT_EQ(r.gap_se, 0.0);
  EXPECT_NEAR(r.loss_fp, net_loss(Net::of(*fp), b), tol::kF64Recomputed);
  ASSERT_EQ(r.layers.size(), 4u);
  for (const auto& d : r.layers) {
    EXPECT_EQ(d.prop.rel_l2, 0.0);
    EXPECT_NEAR(d.prop.cos, 1.0, tol::kCosIdentical);
    EXPECT_EQ(d.local.rel_l2, 0.0);
    EXPECT_NEAR(d.attn_js_max, 0.0, tol::kDivergenceIdentical);
    EXPECT_DOUBLE_EQ(d.attn_topk_min, 1.0);
    EXPECT_DOUBLE_EQ(d.lens_kl_q, d.lens_kl_fp);
  }
  // The lens of the last layer is the model's own output: KL 0, top-1 agreement 1.
  EXPECT_NEAR(r.layers.back().lens_kl_fp, 0.0, tol::kDivergenceIdentical);
  EXPECT_DOUBLE_EQ(r.layers.back().lens_top1_fp, 1.0);
  EXPECT_GT(r.layers.front().lens_kl_fp, 0.0);
}

TEST(Diagnose, BrokenHeadIsFoundByRestorationAndLabelledCollapse) {
  OneThread one;
  auto fp = make_synthetic_model(cfg4(), 5);
  auto q = make_synthetic_model(cfg4(), 5);
  const int bad = 2;
  break_head(*q, 0, bad, 30.f);
  EvalBatch b = sampled_batch(*fp, 4, 32, 2);
  DiagnoseOptions o;
  o.repairs = false;
  DiagnoseResult r = diagnose(*fp, *q, b, CalibSet{}, {}, o);
  ASSERT_GT(r.gap(), 0.0);
  // Restoration: the broken head closes the whole gap; no other head closes any of it.
  for (const auto& c : r.restoration) {
    if (c.kind != "head") continue;
    if (c.layer == 0 && c.head == bad) EXPECT_NEAR(c.gap_closed, 1.0, tol::kGapClosedByHead) << c.name;
    else EXPECT_NEAR(c.gap_closed, 0.0, tol::kGapClosedByHead) << c.name;
  }
  const Component* best_head = nullptr;
  for (const auto& c : r.restoration)
    if (c.kind == "head") { best_head = &c; break; }
  ASSERT_NE(best_head, nullptr);
  EXPECT_EQ(best_head->name, "L0.h2");
  // Per-head fidelity points at the same head: its local JS is the largest, the others' are 0.
  for (const auto& h : r.heads)
    if (h.layer == 0 && h.head != bad) EXPECT_NEAR(h.local_js, 0.0, tol::kDivergenceIdentical);
  EXPECT_EQ(r.mode.evidence.at("max_local_head_layer"), 0);
  EXPECT_EQ(r.mode.evidence.at("max_local_head"), bad);
  EXPECT_EQ(r.mode.evidence.at("broken_attention"), 1.0);
  EXPECT_EQ(r.mode.label, "computation_collapse") << r.mode.reason;
}

TEST(Diagnose, SmallGaussianNoiseIsLabelledDegradation) {
  OneThread one;
  auto fp = make_synthetic_model(cfg4(), 5);
  auto q = make_synthetic_model(cfg4(), 5);
  add_weight_noise(*q, 0.05, 9);
  EvalBatch b = sampled_batch(*fp, 4, 32, 2);
  DiagnoseOptions o;
  o.repairs = false;
  o.heads = false;
  DiagnoseResult r = diagnose(*fp, *q, b, CalibSet{}, {}, o);
  EXPECT_GT(r.layers.back().prop.rel_l2, 0.0);
  // Error grows with depth; attention stays faithful.
  for (size_t l = 1; l < r.layers.size(); ++l) EXPECT_GE(r.layers[l].prop.rel_l2, 0.9 * r.layers[l - 1].prop.rel_l2);
  EXPECT_EQ(r.mode.evidence.at("broken_attention"), 0.0);
  EXPECT_EQ(r.mode.label, "signal_degradation") << r.mode.reason;
  // The label does not hinge on one draw: other noise seeds and levels give the same.
  for (uint64_t seed : {1, 2, 3})
    for (double level : {0.02, 0.1}) {
      auto q2 = make_synthetic_model(cfg4(), 5);
      add_weight_noise(*q2, level, seed);
      o.restoration = false;
      EXPECT_EQ(diagnose(*fp, *q2, b, CalibSet{}, {}, o).mode.label, "signal_degradation") << seed << " " << level;
    }
}

TEST(Diagnose, PatchingTheLastLayerClosesTheWholeGap) {
  OneThread one;
  auto fp = make_synthetic_model(cfg4(), 5);
  auto q = make_synthetic_model(cfg4(), 5);
  add_weight_noise(*q, 0.3, 4);
  EvalBatch b = random_batch(97, 2, 16, 3);
  DiagnoseResult r;
  const Net nf = Net::of(*fp), nq = Net::of(*q);
  r.loss_fp = net_loss(nf, b);
  r.loss_q = net_loss(nq, b);
  activation_patching(nf, nq, b, r);
  ASSERT_EQ(r.patching.size(), 4u);
  EXPECT_NEAR(r.patching.back().gap_closed, 1.0, tol::kGapClosedIdentical);
  EXPECT_EQ(r.patching.back().final_rel_l2, 0.0);
  EXPECT_GT(r.patching.front().final_rel_l2, 0.0);
}

// Repairs on damage they model exactly: a constant output offset (bias correction), an output
// scale (variance correction) and a wrong norm gain (norm-gain recalibration) are undone.
TEST(Diagnose, RepairsUndoTheDamageTheyModel) {
  OneThread one;
  const DecoderConfig c = cfg4();
  auto fp = make_synthetic_model(c, 8);
  EvalBatch b = random_batch(97, 2, 24, 4);
  CalibSet cal = random_calib(97, 6, 24, 5);
  const Net nf = Net::of(*fp);
  const double lfp = net_loss(nf, b);
  auto loss_of = [&](const Net& q, const std::vector<BlockWeights>& blocks, const Tensor* fw = nullptr) {
    Net n = q;
    for (size_t l = 0; l < blocks.size(); ++l) n.blocks[l] = &blocks[l];
    if (fw) n.final_norm_w = fw;
    return net_loss(n, b);
  };
  {  // offset on layer 1's down projection
    auto q = make_synthetic_model(c, 8);
    BlockWeights w = q->block(1);
    w.down.b = Tensor({c.dim});
    for (int i = 0; i < c.dim; ++i) w.down.b.data[size_t(i)] = 0.3f * float(i % 5) - 0.5f;
    q->set_block(1, w);
    const Net nq = Net::of(*q);
    const double lq = net_loss(nq, b);
    ASSERT_GT(std::fabs(lq - lfp), 1e-3);
    EXPECT_NEAR(gap_closed(lfp, lq, loss_of(nq, bias_correction(nf, nq, cal, false, 4))), 1.0, tol::kRepairGapClosed);
  }
  {  // output rows of layer 0's o projection scaled by 1.5 (and 0.7 for half of them)
    auto q = make_synthetic_model(c, 8);
    BlockWeights w = q->block(0);
    for (int64_t r = 0; r < w.o.out(); ++r)
      for (int64_t i = 0; i < w.o.in(); ++i) w.o.w.row(r)[i] *= r % 2 ? 1.5f : 0.7f;
    q->set_block(0, w);
    const Net nq = Net::of(*q);
    const double lq = net_loss(nq, b);
    ASSERT_GT(std::fabs(lq - lfp), 1e-3);
    const double bias_only = gap_closed(lfp, lq, loss_of(nq, bias_correction(nf, nq, cal, false, 4)));
    const double with_var = gap_closed(lfp, lq, loss_of(nq, bias_correction(nf, nq, cal, true, 4)));
    EXPECT_NEAR(with_var, 1.0, tol::kRepairGapClosed);
    EXPECT_LT(bias_only, 0.9);
  }
  {  // attention-norm gain of layer 0 and the final norm gain off by per-channel factors
    auto q = make_synthetic_model(c, 8);
    BlockWeights w = q->block(0);
    for (int i = 0; i < c.dim; ++i) w.attn_norm_w.data[size_t(i)] *= 1.0f + 0.5f * float(i % 3);
    q->set_block(0, w);
    for (int i = 0; i < c.dim; ++i) q->final_norm_w.data[size_t(i)] *= 0.6f;
    const Net nq = Net::of(*q);
    const double lq = net_loss(nq, b);
    ASSERT_GT(std::fabs(lq - lfp), 1e-3);
    Tensor fw, fb;
    auto blocks = norm_recalibration(nf, nq, cal, 4, fw, fb);
    EXPECT_NEAR(gap_closed(lfp, lq, loss_of(nq, blocks, &fw)), 1.0, tol::kRepairGapClosed);
    for (int i = 0; i < c.dim; ++i) EXPECT_NEAR(blocks[0].attn_norm_w.data[size_t(i)], fp->block(0).attn_norm_w.data[size_t(i)], tol::kNormGainRecovered);
  }
}

// Facts in both formats; the traced effect of restoring the last position after the last block
// is exactly p(clean) − p(corrupted).
TEST(Diagnose, FactsLoadAndTracingRestoresTheCleanProbability) {
  OneThread one;
  const std::string dir = test::tmpdir("diag_facts");
  auto tok = load_tokenizer(test::source("models/stories260K/tok512.bin"));
  {
    std::ofstream f(dir + "/facts.jsonl");
    f << R"({"type":"cloze","context":"Tom had a red ball. Tom","answer":"played","subject":"red ball"})" << "\n"
      << R"({"type":"cloze","context":"Once upon a time there was a girl named","answer":"Lily"})" << "\n"
      << R"({"sub_label":"Paris","obj_label":"France","predicate_id":"P17"})" << "\n"
      << R"({"sub_label":"Tom","obj_label":"guitar","predicate_id":"P413"})" << "\n";  // [Y] not last: skipped
    std::ofstream(dir + "/relations.jsonl") << R"({"relation":"P17","template":"[X] is located in [Y] ."})" << "\n"
                                            << R"({"relation":"P413","template":"[X] plays in [Y] position ."})" << "\n";
  }
  int skipped = -1;
  auto facts = load_facts(dir + "/facts.jsonl", dir + "/relations.jsonl", *tok, 0, &skipped);
  ASSERT_EQ(facts.size(), 3u);
  EXPECT_EQ(skipped, 1);
  EXPECT_EQ(facts[2].context, "Paris is located in");
  // Subject spans decode back to the subject text.
  EXPECT_EQ(tok->decode(std::vector<int>(facts[0].tokens.begin() + facts[0].subj_begin, facts[0].tokens.begin() + facts[0].subj_end)),
            " red ball");
  EXPECT_EQ(facts[1].subj_begin, 1);
  EXPECT_EQ(facts[1].subj_end, int(facts[1].tokens.size()) - 1);
  EXPECT_EQ(std::string(" Lily").find(tok->decode({facts[1].answer_token})), size_t(0));

  auto fp = load_model(test::source("models/stories260K/stories260K.bin"));
  auto q = load_model(test::source("models/stories260K/stories260K.bin"));
  add_weight_noise(*q, 0.2, 1);
  TraceOptions to;
  to.noise_samples = 2;
  TraceResult tr = causal_trace(Net::of(*fp), Net::of(*q), facts, to);
  for (const auto* s : {&tr.fp, &tr.q}) {
    EXPECT_NEAR(s->ie_last.back(), s->p_clean - s->p_corrupt, tol::kTraceLastRestore);
    EXPECT_GT(s->p_clean, 0.0);
  }
  EXPECT_GT(tr.fp.p_clean, 0.1);  // "...a girl named" -> "Lily" is something stories260K knows
  EXPECT_THROW(load_facts(dir + "/nope.jsonl", "", *tok, 0, nullptr), InputError);
}

TEST(Diagnose, GroupHasNamedColumnsWithUnits) {
  OneThread one;
  auto fp = make_synthetic_model(cfg4(), 5);
  auto q = make_synthetic_model(cfg4(), 5);
  add_weight_noise(*q, 0.1, 2);
  EvalBatch b = random_batch(97, 2, 16, 2);
  DiagnoseOptions o;
  o.heads = false;
  DiagnoseResult r = diagnose(*fp, *q, b, random_calib(97, 4, 16, 3), {}, o);
  archive::Group g;
  fill_group(r, g);
  for (const char* name : {"layers", "heads", "activations", "restoration", "patching", "repairs", "resid_channel_max"}) {
    ASSERT_TRUE(g.tables.count(name)) << name;
    const auto& t = g.tables.at(name);
    EXPECT_EQ(t.columns.size(), t.units.size()) << name;
    EXPECT_GT(t.nrows(), 0u) << name;
    EXPECT_TRUE(t.rows.empty() || t.rows.size() == t.nrows()) << name;
  }
  EXPECT_EQ(g.tables.at("layers").units[size_t(g.tables.at("layers").col("snr_db"))], "dB");
  EXPECT_EQ(std::get<std::string>(g.attrs.at("mode")), r.mode.label);
  EXPECT_EQ(g.tables.at("repairs").nrows(), 5u);
  auto j = group_json(g);
  EXPECT_EQ(j["tables"]["layers"]["data"].size(), 4u);
  EXPECT_EQ(j["attrs"]["mode"], r.mode.label);
}

// Every architecture variant (GQA + untied head, Qwen2 biases, OPT LayerNorm / ReLU / learned
// positions) goes through every stage and gives finite numbers.
TEST(Diagnose, RunsOnEveryArchitecture) {
  OneThread one;
  for (Arch a : {Arch::Llama, Arch::Qwen2, Arch::Opt}) {
    const DecoderConfig c = test::small_config(a, 32, 48, 8);
    auto fp = make_synthetic_model(c, 3);
    auto q = make_synthetic_model(c, 3);
    add_weight_noise(*q, 0.1, 1);
    EvalBatch b = sampled_batch(*fp, 2, 16, 1);
    DiagnoseResult r = diagnose(*fp, *q, b, random_calib(c.vocab_size, 4, 16, 2), {}, DiagnoseOptions{});
    EXPECT_GT(r.gap(), 0.0) << arch_name(a);
    for (const auto& d : r.layers) EXPECT_TRUE(std::isfinite(d.prop.snr_db) && std::isfinite(d.lens_kl_q)) << arch_name(a);
    ASSERT_EQ(r.repairs.size(), 5u) << arch_name(a);  // bias, bias_variance, norm_gain, 2 × mixed precision
    for (const auto& rp : r.repairs) EXPECT_TRUE(std::isfinite(rp.loss)) << arch_name(a) << " " << rp.name;
    EXPECT_EQ(r.restoration.size(), size_t(c.n_layers * (3 + c.n_heads))) << arch_name(a);
  }
}

// The manifest entry point: check_and_prepare refuses bad configurations before any work, and
// run_prepared fills a Group with the results and the configuration.
TEST(Diagnose, ConfigRunFillsTheGroupAndRefusesBadInput) {
  OneThread one;
  auto fp = load_model(test::source("models/stories260K/stories260K.bin"));
  auto tok = load_tokenizer(test::source("models/stories260K/tok512.bin"));
  DiagnoseConfig c;
  c.compress.method = "rtn";
  c.compress.spec.bits = 3;
  c.calib.path = test::source("jobs/data/tinystories_sample.txt");
  c.calib.nsamples = 4;
  c.calib.seqlen = 32;
  c.eval_seqlen = 64;
  c.eval_windows = 2;
  c.opts.heads = false;
  {
    DiagnoseConfig bad = c;
    bad.compress.spec.group = -2;  // (48, which divides no layer, is a ragged last group: accepted)
    EXPECT_THROW(check_and_prepare(bad, *fp, *tok), InputError);
    bad = c;
    bad.eval_seqlen = 100000;
    EXPECT_THROW(check_and_prepare(bad, *fp, *tok), InputError);
    bad = c;
    bad.compress.method = "noise";
    bad.noise = -1;
    EXPECT_THROW(check_and_prepare(bad, *fp, *tok), InputError);
  }
  const PreparedInputs in = check_and_prepare(c, *fp, *tok);
  EXPECT_EQ(in.batch.B, 2);
  EXPECT_EQ(c.opts.base_bits, 3);
  archive::Group g;
  DiagnoseResult r = run_prepared(c, *fp, in, g);
  EXPECT_GT(r.gap(), 0.0);
  EXPECT_EQ(std::get<int64_t>(g.attrs.at("bits")), 3);
  EXPECT_EQ(std::get<std::string>(g.attrs.at("method")), "rtn");
  EXPECT_EQ(std::get<double>(g.attrs.at("loss_gap")), r.gap());
  // The FP model is left untouched: its loss on the batch is what the diagnostics measured.
  EXPECT_NEAR(net_loss(Net::of(*fp), in.batch), r.loss_fp, tol::kF64Recomputed);
}
