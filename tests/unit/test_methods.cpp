// tests/unit/test_methods.cpp — the method table: its rows are consistent, the questions callers ask
// of it agree with the rows, and each row's `run` is exactly its algorithm (bit for bit).
#include <gtest/gtest.h>

#include <random>
#include <set>
#include <string>

#include "lowbit/compress/gptq.hpp"
#include "lowbit/compress/methods.hpp"
#include "lowbit/compress/prune.hpp"
#include "lowbit/compress/quant.hpp"
#include "lowbit/compress/stats.hpp"
#include "lowbit/core/error.hpp"
#include "lowbit/model/synthetic.hpp"
#include "error_of.hpp"
#include "test_configs.hpp"

namespace lowbit {
namespace {

Tensor random_tensor(int64_t r, int64_t c, uint32_t seed) {
  std::mt19937 g(seed);
  std::normal_distribution<float> n(0.f, 1.f);
  Tensor t({r, c});
  for (auto& v : t.data) v = n(g);
  return t;
}

TEST(Methods, RowsAreConsistent) {
  std::set<std::string> names;
  for (const auto& r : method_table()) {
    EXPECT_TRUE(names.insert(r.name).second) << "duplicate row " << r.name;
    const bool compressor = r.kind == MethodKind::Quant || r.kind == MethodKind::Prune;
    EXPECT_EQ(r.run != nullptr, compressor) << r.name;
    EXPECT_TRUE(!r.needs_calibration || r.reads_calibration) << r.name << ": needs but does not read calibration";
    EXPECT_TRUE(!r.needs_calibration || r.needs_hessian) << r.name;
    EXPECT_TRUE(!r.scales_block || r.quant()) << r.name;
    EXPECT_TRUE(!(r.supports_nm || r.has_levels) || r.prune()) << r.name;
    EXPECT_GT(std::string(r.summary).size(), 10u) << r.name;
    EXPECT_EQ(find_method(r.name), &r);
    EXPECT_EQ(is_quant_method(r.name), r.kind == MethodKind::Quant);
    EXPECT_EQ(is_prune_method(r.name), r.kind == MethodKind::Prune);
    EXPECT_EQ(is_compress_method(r.name), compressor);
  }
  // The methods of the three studies are all there.
  for (const char* m : {"fp", "rtn", "gptq", "awq", "magnitude", "wanda", "sparsegpt", "haar", "noise"})
    EXPECT_NE(find_method(m), nullptr) << m;
  EXPECT_EQ(method_names(MethodKind::Quant), "rtn, gptq, awq");
  EXPECT_EQ(method_names(MethodKind::Prune), "magnitude, wanda, sparsegpt, haar");
}

TEST(Methods, UnknownNameIsOneLineListingTheMethods) {
  try {
    method_row("gtpq", "methods[2].method");
    FAIL() << "no error";
  } catch (const InputError& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("methods[2].method"), std::string::npos) << m;
    EXPECT_NE(m.find("'gtpq'"), std::string::npos) << m;
    for (const auto& r : method_table()) EXPECT_NE(m.find(r.name), std::string::npos) << m;
    EXPECT_EQ(m.find('\n'), std::string::npos) << m;
  }
  EXPECT_EQ(find_method("GPTQ"), nullptr);  // names are exact
}

TEST(Methods, HelpListsEveryRowOfTheKinds) {
  const std::string h = method_help({MethodKind::Quant, MethodKind::Control});
  EXPECT_EQ(h.substr(0, h.find('\n')), "rtn | gptq | awq | noise");
  for (const char* m : {"rtn:", "gptq:", "awq:", "noise:"}) EXPECT_NE(h.find(m), std::string::npos) << h;
  EXPECT_EQ(h.find("haar"), std::string::npos) << h;
}

// Each compressing row runs exactly its algorithm.
TEST(Methods, RunIsTheAlgorithmBitForBit) {
  const Tensor w = random_tensor(24, 64, 1), x = random_tensor(200, 64, 2);
  LinearStats st;
  st.init(64, true);
  st.add(x);
  CompressOptions o;
  o.spec.bits = 3;
  o.spec.group = 32;
  o.prune.sparsity = 0.5;
  auto run = [&](const char* name) {
    LinearOutcome oc;
    method_row(name).run(LinearJob{w, st, o}, oc);
    return oc;
  };
  EXPECT_EQ(run("rtn").w_hat.data, quantize_rtn(w, o.spec).w_hat.data);
  EXPECT_EQ(run("awq").w_hat.data, quantize_rtn(w, o.spec).w_hat.data);  // on weights already scaled
  GptqReport gr;
  const LinearOutcome g = run("gptq");
  EXPECT_EQ(g.w_hat.data, quantize_gptq(w, st.xtx, o.spec, o.gptq, &gr).w_hat.data);
  EXPECT_EQ(g.rec.damp_raises, gr.damp_raises);
  EXPECT_EQ(g.rec.dead_columns, gr.dead_columns);
  EXPECT_FALSE(g.q.q.empty());   // the codes stay for exports
  EXPECT_TRUE(g.q.w_hat.data.empty());  // the weights moved, not copied
  EXPECT_EQ(run("magnitude").w_hat.data, prune_magnitude(w, o.prune).w_hat.data);
  EXPECT_EQ(run("wanda").w_hat.data, prune_wanda(w, st, o.prune).w_hat.data);
  EXPECT_EQ(run("sparsegpt").w_hat.data, prune_sparsegpt(w, st.xtx, o.prune, o.sparsegpt).w_hat.data);
  const LinearOutcome h = run("haar");
  const PruneResult hp = prune_haar(w, o.prune);
  EXPECT_EQ(h.w_hat.data, hp.w_hat.data);
  ASSERT_TRUE(h.haar.has_value());
  EXPECT_EQ(h.haar->levels, hp.haar_levels);
  EXPECT_EQ(h.rec.pruned, hp.pruned);
  EXPECT_EQ(h.rec.subbands.size(), hp.subbands.size());
  EXPECT_FALSE(run("wanda").haar.has_value());
}

// GPTQ and SparseGPT share one OBS prologue (compress/hessian.hpp), so both report the dead columns
// (inputs that never saw a nonzero value) and zero their weights.
TEST(Methods, ObsSolversReportDeadColumnsAlike) {
  const Tensor w = random_tensor(16, 32, 3);
  Tensor x = random_tensor(100, 32, 4);
  for (int64_t r = 0; r < 100; ++r) x.row(r)[5] = x.row(r)[17] = 0.f;
  LinearStats st;
  st.init(32, true);
  st.add(x);
  CompressOptions o;
  o.spec.bits = 4;
  o.prune.sparsity = 0.25;
  for (const char* m : {"gptq", "sparsegpt"}) {
    LinearOutcome oc;
    method_row(m).run(LinearJob{w, st, o}, oc);
    EXPECT_EQ(oc.rec.dead_columns, 2) << m;
    EXPECT_EQ(oc.rec.damp_raises, 0) << m;
    for (int64_t r = 0; r < 16; ++r) {
      EXPECT_EQ(oc.w_hat.row(r)[5], 0.f) << m;
      EXPECT_EQ(oc.w_hat.row(r)[17], 0.f) << m;
    }
  }
}

TEST(Methods, CheckAsksTheRowAndNamesTheField) {
  CompressOptions o;
  o.prune.set_nm({2, 4});
  EXPECT_FALSE(method_row("wanda").check(o, 64).has_value());
  const auto haar = method_row("haar").check(o, 64);
  ASSERT_TRUE(haar.has_value()) << "haar accepted N:M";
  EXPECT_EQ(haar->field, "nm");
  EXPECT_NE(haar->what.find("haar"), std::string::npos) << haar->what;
  EXPECT_EQ(haar->what.find("--"), std::string::npos) << "no surface's name: " << haar->what;
  o.spec.group = 48;  // does not divide 64: a ragged last group of 16 columns, accepted
  EXPECT_FALSE(method_row("gptq").check(o, 64).has_value());
  o.spec.group = -3;
  const auto g = method_row("gptq").check(o, 64);
  ASSERT_TRUE(g.has_value()) << "group -3 accepted";
  EXPECT_EQ(g->field, "group");
  EXPECT_NE(g->what.find("-3"), std::string::npos) << g->what;
  o.spec.group = 128;
  o.spec.bits = 9;
  const auto b = method_row("rtn").check(o, 64);
  ASSERT_TRUE(b.has_value());
  EXPECT_EQ(b->field, "bits");
}

// The surface names the field: validate_compress_options prefixes the namer's name and the linear.
TEST(Methods, ValidateCompressOptionsLetsTheSurfaceNameTheField) {
  const auto model = make_synthetic_model(test::small_config(Arch::Llama, 32, 64, 8), 3);  // >= 32 inputs per linear
  CompressOptions o;
  o.method = "gptq";
  o.spec.group = -3;
  const std::string cli = test::error_of<InputError>([&] { validate_compress_options(*model, o, [](const std::string& f) { return "--" + f; }); });
  EXPECT_EQ(cli.rfind("--group for attn.q: group size -3", 0), 0u) << cli;
  const std::string plain = test::error_of<InputError>([&] { validate_compress_options(*model, o); });
  EXPECT_EQ(plain.rfind("group for attn.q: ", 0), 0u) << plain;
  o.spec.group = 128;
  o.gptq.percdamp = 2;
  const std::string damp = test::error_of<InputError>([&] { validate_compress_options(*model, o, [](const std::string& f) { return "<" + f + ">"; }); });
  EXPECT_EQ(damp.rfind("<damp>: GPTQ damping 2", 0), 0u) << damp;
  o.gptq.percdamp = 0.01;
  EXPECT_NO_THROW(validate_compress_options(*model, o));
}

// One N:M parser for the manifest, --nm and the runner: the same text is refused everywhere.
TEST(Methods, NmParsedOnceRefusesTheSameInputs) {
  const auto p = parse_nm("2:4");
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->n, 2);
  EXPECT_EQ(p->m, 4);
  EXPECT_EQ(p->str(), "2:4");
  for (const char* bad : {"", "2", "2:", ":4", "2-4", "4:2", "2:2", "0:4", "-1:4", "+2:4", " 2:4", "2:4 ", "2: 4",
                          "2:4:8", "a:b", "1:9999999999"})
    EXPECT_FALSE(parse_nm(bad).has_value()) << "'" << bad << "'";
  EXPECT_NE(nm_syntax_problem("4:2").find("'4:2' is not N:M with 0 < N < M"), std::string::npos);
}

}  // namespace
}  // namespace lowbit
