// tests/unit/test_manifest_corpus.cpp — the malformed-manifest corpus (tests/data/manifests/bad_*.yaml)
// against its table of expected errors (expected.tsv), and the sweep semantics of manifests (zip,
// exclude, per-method overrides, resources, --no-file-checks, job-array slices) on small cases.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "lowbit/core/error.hpp"
#include "lowbit/plan/manifest.hpp"
#include "lowbit/plan/submit.hpp"
#include "lowbit/run/runner.hpp"
#include "paths.hpp"

using namespace lowbit;
namespace fs = std::filesystem;

namespace {

struct Expect {
  int problems;        // the "N problems" header; 0 = a single error without a list (YAML syntax, shape)
  std::string needle;  // substring of the message; {file} stands for the manifest's path
};

std::map<std::string, std::vector<Expect>> read_table(const std::string& dir) {
  std::map<std::string, std::vector<Expect>> t;
  std::ifstream f(dir + "/expected.tsv");
  std::string line;
  while (std::getline(f, line)) {
    if (line.empty() || line[0] == '#') continue;
    const auto a = line.find('\t'), b = line.find('\t', a + 1);
    if (a == std::string::npos || b == std::string::npos) continue;
    t[line.substr(0, a)].push_back({std::stoi(line.substr(a + 1, b - a - 1)), line.substr(b + 1)});
  }
  return t;
}

std::string replace_all(std::string s, const std::string& from, const std::string& to) {
  for (size_t p = 0; (p = s.find(from, p)) != std::string::npos; p += to.size()) s.replace(p, from.size(), to);
  return s;
}

}  // namespace

TEST(ManifestCorpus, EveryMalformedManifestGivesItsExpectedErrors) {
  const std::string dir = test::source("tests/data/manifests");
  const auto table = read_table(dir);
  std::vector<std::string> files;
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string n = e.path().filename().string();
    if (n.rfind("bad_", 0) == 0 && n.ends_with(".yaml")) files.push_back(n);
  }
  std::sort(files.begin(), files.end());
  ASSERT_GE(files.size(), 25u);
  for (const auto& name : files) {
    SCOPED_TRACE(name);
    const auto it = table.find(name);
    ASSERT_NE(it, table.end()) << name << " has no row in expected.tsv";
    const std::string path = dir + "/" + name;
    std::string msg;
    try {
      plan::load_manifest(path);
      ADD_FAILURE() << name << " was accepted";
      continue;
    } catch (const ConfigError& e) {
      msg = e.what();
    } catch (const Error& e) {
      ADD_FAILURE() << name << " raised a non-configuration error: " << e.what();
      continue;
    }
    for (const auto& ex : it->second) {
      EXPECT_NE(msg.find(replace_all(ex.needle, "{file}", path)), std::string::npos)
          << "expected: " << ex.needle << "\ngot: " << msg;
      if (ex.problems > 0)
        EXPECT_EQ(msg.rfind(std::to_string(ex.problems) + " problem", 0), 0u) << msg;
      else EXPECT_EQ(msg.find('\n'), std::string::npos) << "one line expected: " << msg;
    }
    // every listed problem names the file, a line and a column
    std::istringstream ls(msg);
    std::string l;
    std::getline(ls, l);
    while (std::getline(ls, l)) EXPECT_EQ(l.rfind("  " + path + ":", 0), 0u) << l;
  }
  for (const auto& [name, _] : table) EXPECT_TRUE(fs::exists(dir + "/" + name)) << "expected.tsv names a missing " << name;
  EXPECT_NO_THROW(plan::load_manifest(dir + "/good.yaml"));
}

namespace {
const std::string kHead = "name: t\nmodels:\n  - name: s\n    path: /nonexistent/s.bin\n"
                          "calibration:\n  path: /nonexistent/c.txt\n  nsamples: 8\n  seqlen: 32\nmethods:\n";
plan::Manifest parse(const std::string& methods, const std::string& extra = "") {
  plan::ParseOptions po;
  po.check_files = false;
  return plan::parse_manifest(kHead + methods + extra, "/tmp/m.yaml", po);
}
std::vector<std::string> ids(const plan::Manifest& m) {
  std::vector<std::string> v;
  for (const auto& c : plan::expand(m)) v.push_back(c.id);
  return v;
}
}  // namespace

TEST(ManifestSweep, ZipPairsAxesInsteadOfCrossingThem) {
  const auto m = parse("  - method: gptq\n    bits: [2, 3, 4]\n    group: [4, 8, -1]\n    zip: [bits, group]\n"
                       "    nsamples: [8, 16]\n");
  EXPECT_EQ(ids(m), (std::vector<std::string>{"s.gptq.b2.g4.asym.n8.s0", "s.gptq.b2.g4.asym.n16.s0",
                                              "s.gptq.b3.g8.asym.n8.s0", "s.gptq.b3.g8.asym.n16.s0",
                                              "s.gptq.b4.g-1.asym.n8.s0", "s.gptq.b4.g-1.asym.n16.s0"}));
  // without the zip: the full product, 3 x 3 x 2
  EXPECT_EQ(ids(parse("  - method: gptq\n    bits: [2, 3, 4]\n    group: [4, 8, -1]\n    nsamples: [8, 16]\n")).size(), 18u);
  // two zip groups: (bits, sym) and (nsamples, seeds)
  const auto z2 = parse("  - method: rtn\n    bits: [2, 4]\n    sym: [true, false]\n    nsamples: [8, 16]\n"
                        "    seeds: [5, 6]\n    zip: [[bits, sym], [nsamples, seeds]]\n");
  EXPECT_EQ(ids(z2), (std::vector<std::string>{"s.rtn.b2.g128.sym.n8.s5", "s.rtn.b2.g128.sym.n16.s6",
                                               "s.rtn.b4.g128.asym.n8.s5", "s.rtn.b4.g128.asym.n16.s6"}));
}

TEST(ManifestSweep, ExcludesDropMatchingConfigurations) {
  const auto m = parse("  - method: rtn\n    bits: [2, 3, 4]\n    group: [4, -1]\n    exclude:\n"
                       "      - {bits: 2, group: -1}\n      - {bits: [3, 4], group: 4}\n");
  EXPECT_EQ(ids(m), (std::vector<std::string>{"s.rtn.b2.g4.asym.n8.s0", "s.rtn.b3.g-1.asym.n8.s0",
                                              "s.rtn.b4.g-1.asym.n8.s0"}));
  // numeric values compare as numbers (0.50 == 0.5), sym as a boolean
  EXPECT_EQ(ids(parse("  - method: wanda\n    sparsity: [0.5, 0.6]\n    exclude: [{sparsity: 0.50}]\n")),
            std::vector<std::string>{"s.wanda.sp0.6.n8.s0"});
  EXPECT_EQ(ids(parse("  - method: rtn\n    bits: 4\n    sym: [true, false]\n    exclude: [{sym: yes}]\n")),
            std::vector<std::string>{"s.rtn.b4.g128.asym.n8.s0"});
}

// A subnormal sparsity prints as "1e-310", which std::stod refuses (out_of_range): expansion read
// the value back from that text with stod, so the exception escaped parse_manifest (`lowbit plan`
// ended in terminate). The value is read with strtod now; the id spells it as before.
TEST(ManifestSweep, SubnormalSparsityIsAValueNotAnException) {
  const auto m = parse("  - method: wanda\n    sparsity: [1e-310, 0.5]\n");
  const auto cs = plan::expand(m);
  ASSERT_EQ(cs.size(), 2u);
  EXPECT_EQ(cs[0].id, "s.wanda.sp1e-310.n8.s0");
  EXPECT_GT(cs[0].sparsity, 0.0);
  EXPECT_EQ(cs[1].id, "s.wanda.sp0.5.n8.s0");
}

// Per channel has one in-code value, QuantSpec::kPerChannel: the manifest's -1 is converted at parse,
// the id keeps the spelling (a name), and the archive attribute, the QuantSpec the runner hands to
// compress_model and the one `lowbit quantize --group -1` builds (cmd_quantize.cpp: from_user_group)
// are the same.
TEST(ManifestSweep, PerChannelIsOneValueFromManifestToQuantSpec) {
  const auto m = parse("  - method: gptq\n    bits: 3\n    group: [-1, 32]\n");
  const auto cs = plan::expand(m);
  ASSERT_EQ(cs.size(), 2u);
  EXPECT_EQ(cs[0].id, "s.gptq.b3.g-1.asym.n8.s0");
  EXPECT_EQ(cs[0].group, QuantSpec::kPerChannel);
  EXPECT_EQ(cs[1].group, 32);
  const QuantSpec cli{3, QuantSpec::from_user_group(-1), false};
  const QuantSpec man = run::compress_options(m, cs[0]).spec;
  EXPECT_EQ(man.bits, cli.bits);
  EXPECT_EQ(man.group, cli.group);
  EXPECT_EQ(man.sym, cli.sym);
  EXPECT_TRUE(man.per_channel());
  EXPECT_EQ(man.str(), "w3pcasym");
  EXPECT_EQ(plan::config_params(m, cs[0]).number("group", 99), double(QuantSpec::kPerChannel));
  EXPECT_EQ(run::compress_options(m, cs[1]).spec.group, 32);
  // the CLI's older spelling 0 is the same value; the manifest refuses 0, in an axis and an exclude
  EXPECT_EQ(QuantSpec::from_user_group(0), QuantSpec::kPerChannel);
  EXPECT_THROW(parse("  - method: rtn\n    group: 0\n"), ConfigError);
  EXPECT_THROW(parse("  - method: rtn\n    group: [4, -1]\n    exclude: [{group: 0}]\n"), ConfigError);
}

TEST(ManifestSweep, PerMethodOverridesOfCalibration) {
  const auto m = parse("  - method: gptq\n    bits: 4\n    nsamples: 32\n    seqlen: 64\n    seeds: [1, 2]\n"
                       "  - method: awq\n    bits: 4\n");
  EXPECT_EQ(ids(m), (std::vector<std::string>{"s.gptq.b4.g128.asym.n32.s1.L64", "s.gptq.b4.g128.asym.n32.s2.L64",
                                              "s.awq.b4.g128.asym.n8.s0"}));
  const auto cs = plan::expand(m);
  EXPECT_EQ(cs[0].seqlen, 64);
  EXPECT_EQ(cs[0].nsamples, 32);
  EXPECT_EQ(cs[1].seed, 2u);
  EXPECT_EQ(cs[2].seqlen, 32);  // the manifest's calibration.seqlen; no .L in the id
}

TEST(ManifestSweep, ResourcesAndSections) {
  const auto m = parse("  - method: fp\n",
                       "execution: {group_size: 2}\n"
                       "resources:\n  nodes: 2\n  ranks_per_node: 4\n  gpus_per_rank: 1\n  time: \"1-12:00:00\"\n"
                       "  partition: gpu\n  account: proj42\n  qos: high\n  memory: 256G\n  chunks: 8\n"
                       "  sbatch: [\"--constraint=a100\", \"#SBATCH --exclusive\"]\n  setup: [\"module load openmpi\"]\n"
                       "laws: {drop: {target: drop, expr: a*B^-b, params: {a: {init: [1]}, b: {init: [1]}}}}\n");
  const auto& R = m.resources;
  EXPECT_EQ(R.ranks(), 8);
  EXPECT_EQ(R.gpus_per_rank, 1);
  EXPECT_EQ(R.time, "1-12:00:00");
  EXPECT_EQ(R.memory, "256G");
  EXPECT_EQ(R.sbatch.size(), 2u);
  ASSERT_TRUE(m.laws.present);
  ASSERT_EQ(m.laws.laws.size(), 1u);  // parsed by fit's parser at plan time
  EXPECT_EQ(m.laws.laws[0].name, "drop");
  EXPECT_EQ(m.laws.laws[0].params.size(), 2u);
  EXPECT_EQ(plan::default_chunks(m, 100), 8);
  EXPECT_EQ(plan::default_chunks(m, 3), 3);  // never more tasks than configurations
}

TEST(ManifestSweep, FileChecksCanBeSkippedButNotTheRest) {
  plan::ParseOptions strict;
  EXPECT_THROW(plan::parse_manifest(kHead + "  - method: fp\n", "/tmp/m.yaml", strict), ConfigError);
  EXPECT_NO_THROW(parse("  - method: fp\n"));
  EXPECT_THROW(parse("  - method: rtn\n    bits: 1\n"), ConfigError);
}

TEST(ManifestSweep, ChunksAreDisjointAndCoverThePlan) {
  const auto m = parse("  - method: rtn\n    bits: [2, 3, 4, 5, 6, 8]\n    group: [4, -1]\n");
  const auto cs = plan::expand(m);
  for (int n : {1, 2, 3, 5, 16}) {
    std::multiset<std::string> seen;
    for (int i = 0; i < n; ++i)
      for (size_t k = 0; k < cs.size(); ++k)
        if (plan::chunk_of(k, n) == i) seen.insert(cs[k].id);
    EXPECT_EQ(seen.size(), cs.size()) << n;
    for (const auto& c : cs) EXPECT_EQ(seen.count(c.id), 1u) << n;
  }
}

TEST(SubmitScripts, TemplatesRenderTheResources) {
  auto m = parse("  - method: rtn\n    bits: [2, 3, 4]\n",
                 "resources:\n  nodes: 2\n  ranks_per_node: 4\n  gpus_per_rank: 1\n  partition: gpu\n"
                 "  account: proj42\n  max_concurrent: 2\n  sbatch: [\"--constraint=a100\"]\n"
                 "  setup: [\"module load openmpi\"]\n");
  plan::SubmitOptions o;
  o.templates_dir = test::source("slurm");
  o.lowbit = "/opt/lowbit/bin/lowbit";
  const auto s = plan::prepare_submission(m, plan::expand(m).size(), o);
  EXPECT_EQ(s.chunks, 3);
  for (const char* want : {"#SBATCH --array=0-2%2\n", "#SBATCH --nodes=2\n", "#SBATCH --ntasks-per-node=4\n",
                           "#SBATCH --gpus-per-task=1\n", "#SBATCH --partition=gpu\n", "#SBATCH --account=proj42\n",
                           "#SBATCH --requeue\n", "#SBATCH --constraint=a100\n", "module load openmpi\n",
                           "srun --mpi=pmix '/opt/lowbit/bin/lowbit' run '/tmp/m.yaml' --output '/tmp/t.h5' --resume "
                           "--chunk \"${SLURM_ARRAY_TASK_ID}/3\""})
    EXPECT_NE(s.array_script.find(want), std::string::npos) << want << "\n" << s.array_script;
  EXPECT_EQ(s.array_script.find('@'), std::string::npos) << s.array_script;  // every placeholder filled
  const std::string fit = plan::render_template(s.fit_script, {{"ARRAY_JOB", "77"}}, "fit");
  EXPECT_NE(fit.find("'/opt/lowbit/bin/lowbit' inspect '/tmp/t.h5'"), std::string::npos) << fit;
  EXPECT_EQ(fit.find("--array"), std::string::npos);
  EXPECT_EQ(plan::shell_quote("a'b"), "'a'\\''b'");
  o.chunks = 4;
  EXPECT_THROW(plan::prepare_submission(m, 3, o), InputError);  // more tasks than configurations
  EXPECT_THROW(plan::render_template("x @NOPE@", {}, "t"), InputError);
}

// Paths read as a shell would: ~/ is $HOME, ${NAME} and ${NAME:-default} (what jobs/smollm2.yaml uses
// to find the models .ci/models caches); relative results still resolve against the manifest's folder.
TEST(ManifestSweep, PathsExpandHomeAndEnvironmentWithDefaults) {
  const std::string text = "name: t\nmodels:\n"
                           "  - name: a\n    path: ${LOWBIT_TEST_UNSET_VAR:-~/cache}/a.gguf\n"
                           "  - name: b\n    path: ${LOWBIT_TEST_SET_VAR}/b.gguf\n"
                           "  - name: c\n    path: ${LOWBIT_TEST_UNSET_VAR:-${LOWBIT_TEST_SET_VAR}}/c.gguf\n"
                           "  - name: d\n    path: rel/${LOWBIT_TEST_UNSET_VAR:-x}/d.bin\n"
                           "methods:\n  - method: fp\n";
  ::unsetenv("LOWBIT_TEST_UNSET_VAR");
  ::setenv("LOWBIT_TEST_SET_VAR", "/opt/models", 1);
  ::setenv("HOME", ::getenv("HOME") ? ::getenv("HOME") : "/root", 1);
  plan::ParseOptions po;
  po.check_files = false;
  const auto m = plan::parse_manifest(text, "/tmp/jobs/m.yaml", po);
  ASSERT_EQ(m.models.size(), 4u);
  EXPECT_EQ(m.models[0].path, std::string(::getenv("HOME")) + "/cache/a.gguf");
  EXPECT_EQ(m.models[1].path, "/opt/models/b.gguf");
  EXPECT_EQ(m.models[2].path, "/opt/models/c.gguf");
  EXPECT_EQ(m.models[3].path, "/tmp/jobs/rel/x/d.bin");
  ::unsetenv("LOWBIT_TEST_SET_VAR");
}

// Limits are refused before the work they bound: a manifest over kMaxManifestBytes is not read, a
// sweep over kMaxConfigurations is counted, not expanded (10^12 returns at once); a big manifest
// under the limits still parses in seconds.
TEST(ManifestLimits, OversizedManifestIsRefusedWithItsSizeBeforeParsing) {
  const std::string path = ::testing::TempDir() + "/lowbit_big_manifest.yaml";
  {
    std::ofstream f(path);
    f << "name: t\n";
    const std::string line(1023, '#');
    for (long long n = 0; n <= plan::kMaxManifestBytes / 1024; ++n) f << line << "\n";
  }
  const long long bytes = (long long)fs::file_size(path);
  try {
    plan::load_manifest(path);
    ADD_FAILURE() << "accepted";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find(cat(path, ": the manifest is ", bytes, " bytes, more than the limit of ",
                                             plan::kMaxManifestBytes)), std::string::npos) << e.what();
  }
  fs::remove(path);
}

TEST(ManifestLimits, BigManifestUnderTheLimitParsesInSeconds) {
  std::string text = kHead + "  - method: rtn\n    bits: 4\n    seeds: [";
  for (int i = 0; i < 100000; ++i) text += cat(i ? ", " : "", i);
  text += "]\ndescription: |\n";
  const std::string line = "  " + std::string(1000, 'x') + "\n";
  while (text.size() + line.size() < size_t(plan::kMaxManifestBytes) - 4096) text += line;
  plan::ParseOptions po;
  po.check_files = false;
  const auto t0 = std::chrono::steady_clock::now();
  const auto m = plan::parse_manifest(text, "/tmp/big.yaml", po);
  EXPECT_EQ(plan::expand(m).size(), 100000u);
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_LT(s, 20.0) << "a " << text.size() << "-byte manifest took " << s << " s";
}

// A sweep at the limit is expanded, and its ids checked, in seconds (natively 3-4 s each for parse
// and expand before expand_method worked out each axis value once and the id sets were hashed;
// more than a minute under the fuzzers' ASan build).
TEST(ManifestLimits, SweepAtTheLimitExpandsInSeconds) {
  std::string text = "  - method: gptq\n    bits: 4\n    group: [";
  for (int i = 1; i <= 1000; ++i) text += cat(i > 1 ? ", " : "", i);
  text += "]\n    nsamples: [";
  for (int i = 1; i <= 1000; ++i) text += cat(i > 1 ? ", " : "", i);
  text += "]\n";
  const auto t0 = std::chrono::steady_clock::now();
  const auto cs = plan::expand(parse(text));
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  ASSERT_EQ(cs.size(), size_t(plan::kMaxConfigurations));
  EXPECT_EQ(cs.front().id, "s.gptq.b4.g1.asym.n1.s0");
  EXPECT_EQ(cs.back().id, "s.gptq.b4.g1000.asym.n1000.s0");
  EXPECT_EQ(cs.back().group, 1000);
  EXPECT_EQ(cs.back().nsamples, 1000);
  EXPECT_LT(s, 20.0) << "10^6 configurations took " << s << " s";
}

TEST(ManifestLimits, HugeSweepsAreCountedNotExpanded) {
  const std::string dir = test::source("tests/data/manifests");
  for (const char* f : {"bad_sweep_1e9.yaml", "bad_sweep_1e12.yaml"}) {
    const auto t0 = std::chrono::steady_clock::now();
    EXPECT_THROW(plan::load_manifest(dir + "/" + f), ConfigError) << f;
    EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 5.0) << f;
  }
  // 10^20 and more (past 2^64) neither overflow nor wrap to a small count
  std::string big = "  - method: gptq\n    group: [";
  for (int i = 1; i <= 100000; ++i) big += cat(i > 1 ? ", " : "", i);
  big += "]\n    nsamples: [";
  for (int i = 1; i <= 100000; ++i) big += cat(i > 1 ? ", " : "", i);
  big += "]\n    seeds: [";
  for (int i = 1; i <= 100000; ++i) big += cat(i > 1 ? ", " : "", i);
  big += "]\n    seqlen: [";
  for (int i = 2; i <= 100001; ++i) big += cat(i > 2 ? ", " : "", i);
  big += "]\n";
  try {
    parse(big);
    ADD_FAILURE() << "accepted";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("sweeps 100000000000000000000 configurations"), std::string::npos) << e.what();
  }
}

// Validators name the field; the manifest run names its key with file:line:col (never a CLI flag),
// before any work: a group the quantizer refuses, an N:M a layer cannot hold, a diagnostics context
// longer than the model's.
namespace {
plan::Manifest real_manifest(const std::string& methods, const std::string& extra = "") {
  const std::string text = "name: t\nmodels:\n  - name: s\n    path: " + test::source("models/stories260K/stories260K.bin") +
                           "\n    tokenizer: " + test::source("models/stories260K/tok512.bin") +
                           "\ncalibration:\n  path: " + test::source("jobs/data/tinystories_sample.txt") +
                           "\n  nsamples: 2\n  seqlen: 16\nmethods:\n" + methods + extra;
  return plan::parse_manifest(text, "/tmp/m.yaml");
}
std::string config_error_of(const plan::Manifest& m, const std::vector<plan::RunConfig>& cs) {
  try {
    run::validate_configs(m, cs);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "NO ERROR";
}
}  // namespace

TEST(ManifestValidate, ABadGroupIsNamedByItsManifestKeyNotTheFlag) {
  const auto m = real_manifest("  - method: fp\n  - method: rtn\n    bits: 4\n    group: 32\n");  // group: line 14
  auto cs = plan::expand(m);
  ASSERT_EQ(cs.size(), 2u);
  EXPECT_EQ(config_error_of(m, cs), "NO ERROR");
  cs[1].group = -7;  // what the parser refuses; here to reach the quantizer's own check
  const std::string e = config_error_of(m, cs);
  EXPECT_NE(e.find("/tmp/m.yaml:14:12: methods[1].group: configuration s.rtn.b4.g32.asym.n2.s0, attn.q: group size -7"),
            std::string::npos) << e;
  EXPECT_EQ(e.find("--"), std::string::npos) << e;
}

TEST(ManifestValidate, AnNmALayerCannotHoldIsNamedByItsManifestKey) {
  const auto m = real_manifest("  - method: magnitude\n    nm: [\"2:4\", \"3:5\"]\n");  // nm: line 12
  const std::string e = config_error_of(m, plan::expand(m));
  EXPECT_NE(e.find("1 configuration problem"), std::string::npos) << e;  // 2:4 fits every layer
  EXPECT_NE(e.find("/tmp/m.yaml:12:9: methods[0].nm: configuration s.magnitude.sp0.5.nm3-5, "), std::string::npos) << e;
  EXPECT_NE(e.find("does not divide the input dimension"), std::string::npos) << e;
  EXPECT_EQ(e.find("--nm"), std::string::npos) << e;
}

TEST(ManifestValidate, DiagnosticsContextIsCheckedBeforeWorkByManifestKey) {
  const auto m = real_manifest("  - method: rtn\n    bits: 4\n", "diagnostics:\n  eval_seqlen: 100000\n");  // line 14
  const std::string e = config_error_of(m, plan::expand(m));
  EXPECT_NE(e.find("/tmp/m.yaml:14:16: diagnostics.eval_seqlen: configuration s.rtn.b4.g128.asym.n2.s0: 100000 must be in [2, "),
            std::string::npos) << e;
  EXPECT_EQ(e.find("--eval-seqlen"), std::string::npos) << e;
  const auto off = real_manifest("  - method: rtn\n    bits: 4\n", "diagnostics:\n  eval_seqlen: 100000\n  only: gptq\n");
  EXPECT_EQ(config_error_of(off, plan::expand(off)), "NO ERROR");  // no configuration is diagnosed
}

TEST(ManifestValidate, AnEvaluationContextPerplexityWouldRefuseIsNamedBeforeWork) {
  const auto m = real_manifest("  - method: fp\n", "evaluation:\n  ppl:\n    ctx: 1\n");  // ctx: line 14
  const std::string e = config_error_of(m, plan::expand(m));
  EXPECT_NE(e.find("/tmp/m.yaml:14:10: evaluation.ppl.ctx: context 1 must be at least 2"), std::string::npos) << e;
  EXPECT_EQ(e.find("--ctx"), std::string::npos) << e;
}

// The study sections are typed at parse: what the runner reads, without a second YAML parse.
TEST(ManifestSweep, StudySectionsAreParsedOnceIntoTypes) {
  const auto m = parse("  - method: fp\n",
                       "tasks:\n  names: [a/x.yaml, lama]\n  limit: 5\n  fewshot: 0\n  seed: 7\n"
                       "diagnostics:\n  eval_windows: 3\n  only: gptq\n");
  EXPECT_TRUE(m.tasks.present);
  EXPECT_EQ(m.tasks.names, "/tmp/a/x.yaml,lama");  // files of a list resolved against the manifest's folder
  EXPECT_EQ(m.tasks.options.limit, 5);
  EXPECT_EQ(m.tasks.options.fewshot, 0);
  EXPECT_EQ(m.tasks.options.seed, 7u);
  EXPECT_TRUE(m.diagnostics.enabled);
  EXPECT_EQ(m.diagnostics.eval_windows, 3);
  EXPECT_EQ(m.diagnostics.eval_seqlen, 64);  // the default
  EXPECT_EQ(m.diagnostics.only, "gptq");
  EXPECT_FALSE(parse("  - method: fp\n", "diagnostics: false\n").diagnostics.enabled);
  EXPECT_FALSE(parse("  - method: fp\n", "diagnostics: {enabled: false}\n").diagnostics.enabled);
  EXPECT_FALSE(parse("  - method: fp\n").tasks.present);
}
