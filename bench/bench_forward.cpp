// bench/bench_forward.cpp — forward prefill throughput of lowbit::forward_logits against a naive
// per-token forward measured in the same run (results: docs/BENCHMARKS.md, "Forward prefill").
//
// Subjects: stories260K (the embedded llama2.c checkpoint, --model) and a synthetic LLaMA of about
// 100M parameters (lowbit::synthetic_llama_config(100'000'000), built in memory with a fixed seed,
// never written to disk).
//
// Order of work:
//   1. Correctness: forward_logits and the naive forward (bench/naive_forward.hpp) must agree on a
//      short batch of 2 sequences, max |Δlogit| <= 1e-3 * max(1, max |logit|) (the bound and its
//      reason are in naive_forward.hpp): first on small synthetic Qwen2-like (GQA, q/k/v bias, half
//      RoPE), OPT-like (LayerNorm, learned positions, ReLU, biases) and GELU models that exercise the
//      paths the subjects do not, and on stories260K; the ~100M model is built and checked just
//      before its first benchmark (so stories260K's RSS is its own). Any disagreement exits with
//      code 1 before that model is timed. Results: stderr, JSON context, counters check_*.
//   2. Benchmarks, each warmed up by one untimed call, timed on wall-clock (UseRealTime):
//        <model>/naive  naive_forward_logits, one thread. stories260K: 8 x 512 tokens.
//                       ~100M: 1 x 64 tokens (8 x 512 would take minutes), see "Extrapolation".
//        <model>/fast   forward_logits on 8 x 512 tokens (OpenBLAS GEMMs + OpenMP, all cores).
//      Naive runs before fast so each benchmark's RSS high-water mark is its own.
//   3. A summary on stderr: tokens/s of both, and the ratio fast/naive.
//
// Metric: tokens_per_s = (B * T * iterations) / wall seconds of the timed loop, with B * T the
// tokens of one call (prefill: every position's logits are computed). Counters also give the
// process RSS high-water mark (getrusage ru_maxrss, MiB: monotonic over the process) and
// rss_hwm_MiB (VmHWM, reset through /proc/self/clear_refs when each benchmark starts, so the peak
// of that benchmark alone; 0 where the kernel does not allow the reset).
// speedup_vs_naive (on the fast benchmark) = fast tokens_per_s / naive tokens_per_s.
//
// Extrapolation: the naive forward's cost per token grows with the sequence length because token t
// attends to t+1 keys. Its rate on the ~100M model is measured at T = 64, not 512; the summary also
// gives the rate expected at T = 512 assuming the same time per multiply-accumulate
// (naive_forward_macs: rate_512 = rate_64 * (MACs(64)/64) / (MACs(512)/512)), and the ratio against
// both. The measured figure is the one reported; the adjusted one says how much the choice of T
// matters (a few percent on this shape, since attention is a small share of the MACs at D = 640).
//
// Usage: build/bench/bench_forward [--model=PATH] [--synthetic-params=N] [--naive-tokens=N]
//                                  [--profile] [Google Benchmark flags, e.g. --benchmark_format=json]
//   --profile   before the benchmarks, print a per-part time breakdown of one fast forward on each
//               model (GEMMs per linear, RoPE + attention, norms, ...), measured through
//               ForwardHooks timestamps (so the 100M model is built before the stories260K runs:
//               its RSS figures are then not the stories260K model's own).
// Environment: LOWBIT_SOURCE_DIR (the checkout) locates the default model when --model is not given.
#include <benchmark/benchmark.h>
#include <cblas.h>
#include <omp.h>
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <fstream>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "lowbit/core/error.hpp"
#include "lowbit/io/load.hpp"
#include "lowbit/model/forward.hpp"
#include "lowbit/model/model.hpp"
#include "lowbit/model/synthetic.hpp"
#include "naive_forward.hpp"

namespace {

using namespace lowbit;
using Clock = std::chrono::steady_clock;

constexpr int kBatch = 8;
constexpr int kSeqLen = 512;
constexpr uint64_t kSyntheticSeed = 20240607;
constexpr uint64_t kTokenSeed = 12345;

struct Options {
  std::string model;
  long long synthetic_params = 100'000'000;
  int naive_tokens = 64;  // tokens of the naive run on the large synthetic model (one sequence)
  bool profile = false;
};

// ---- memory ----
double maxrss_mib() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return double(ru.ru_maxrss) / 1024.0;  // Linux: KiB
}
bool reset_hwm() {
  std::ofstream f("/proc/self/clear_refs");
  if (!f) return false;
  f << "5";
  f.flush();
  return bool(f);
}
double vmhwm_mib() {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("VmHWM:", 0) == 0) return std::atof(line.c_str() + 6) / 1024.0;
  return 0;
}

std::vector<int> random_tokens(int vocab, int64_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int> d(0, vocab - 1);
  std::vector<int> t(size_t(n), 0);
  for (auto& v : t) v = d(rng);
  return t;
}

// ---- subjects and results ----
// A benchmark subject is built (and checked) on first use, so that the RSS of the models benchmarked
// earlier is not inflated by a model not yet needed (ru_maxrss never goes down).
struct Subject {
  std::string name;
  std::function<std::unique_ptr<Model>()> build;
  int check_T = 8;  // tokens per sequence of the 2-sequence agreement check
  int naive_B = kBatch, naive_T = kSeqLen;
  std::unique_ptr<Model> model;
  bench::LogitDiff check;  // result of the agreement check on this model
};
bool check_agreement(const std::string& name, const Model& m, int B, int T, bench::LogitDiff* out = nullptr);
// Build the subject's model if needed and check forward_logits against the naive forward on it;
// exit(1) before any timing when they disagree.
Model& ready(Subject& s) {
  if (!s.model) {
    try {
      const auto t0 = Clock::now();
      s.model = s.build();
      s.model->materialize_all();
      const DecoderConfig& c = s.model->cfg;
      std::fprintf(stderr, "%s: %s, dim %d, hidden %d, layers %d, heads %d/%d, vocab %d, %lld params, ready in %.1f s\n",
                   s.name.c_str(), s.model->path.c_str(), c.dim, c.hidden_dim, c.n_layers, c.n_heads, c.n_kv_heads,
                   c.vocab_size, c.total_params(), std::chrono::duration<double>(Clock::now() - t0).count());
      if (check_agreement(s.name, *s.model, 2, s.check_T, &s.check)) return *s.model;
    } catch (const std::exception& e) {
      std::fprintf(stderr, "bench_forward: %s: %s\n", s.name.c_str(), e.what());
      std::exit(1);
    }
    std::fprintf(stderr, "bench_forward: forward_logits and the naive forward disagree on %s; not timing it.\n",
                 s.name.c_str());
    std::exit(1);
  }
  return *s.model;
}

struct Measured {
  double naive_tps = 0, fast_tps = 0;
  int naive_B = 0, naive_T = 0;
  double naive_rss = 0, fast_rss = 0;  // per-benchmark VmHWM (or ru_maxrss when unavailable), MiB
};
std::map<std::string, Measured> g_results;

void set_check_counters(benchmark::State& state, const Subject& s) {
  state.counters["check_max_dlogit"] = s.check.max_abs_diff;
  state.counters["check_bound"] = s.check.bound;
}

void set_rss_counters(benchmark::State& state, bool hwm_reset, double& out) {
  const double hwm = hwm_reset ? vmhwm_mib() : 0.0;
  state.counters["maxrss_MiB"] = maxrss_mib();
  state.counters["rss_hwm_MiB"] = hwm;
  out = hwm_reset ? hwm : maxrss_mib();
}

void bench_naive(benchmark::State& state, Subject* s) {
  ready(*s);
  const int B = s->naive_B, T = s->naive_T;
  const auto tokens = random_tokens(s->model->cfg.vocab_size, int64_t(B) * T, kTokenSeed);
  std::vector<float> logits;
  // Warm-up: a short untimed call (the naive loops have no caches to fill beyond the weights).
  bench::naive_forward_logits(*s->model, tokens.data(), 1, std::min(T, 8), logits);
  const bool hwm = reset_hwm();
  const auto t0 = Clock::now();
  for (auto _ : state) {
    bench::naive_forward_logits(*s->model, tokens.data(), B, T, logits);
    benchmark::DoNotOptimize(logits.data());
    benchmark::ClobberMemory();
  }
  const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
  const double toks = double(B) * T * double(state.iterations());
  state.counters["tokens_per_s"] = benchmark::Counter(toks, benchmark::Counter::kIsRate);
  state.counters["tokens_per_call"] = double(B) * T;
  Measured& m = g_results[s->name];
  m.naive_tps = toks / secs;
  m.naive_B = B;
  m.naive_T = T;
  set_rss_counters(state, hwm, m.naive_rss);
  set_check_counters(state, *s);
}

void bench_fast(benchmark::State& state, Subject* s) {
  ready(*s);
  const int B = kBatch, T = kSeqLen;
  const auto tokens = random_tokens(s->model->cfg.vocab_size, int64_t(B) * T, kTokenSeed);
  Tensor logits;
  forward_logits(*s->model, tokens.data(), B, T, logits);  // warm-up: thread pools, page faults
  const bool hwm = reset_hwm();
  const auto t0 = Clock::now();
  for (auto _ : state) {
    forward_logits(*s->model, tokens.data(), B, T, logits);
    benchmark::DoNotOptimize(logits.ptr());
    benchmark::ClobberMemory();
  }
  const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
  const double toks = double(B) * T * double(state.iterations());
  state.counters["tokens_per_s"] = benchmark::Counter(toks, benchmark::Counter::kIsRate);
  state.counters["tokens_per_call"] = double(B) * T;
  Measured& m = g_results[s->name];
  m.fast_tps = toks / secs;
  if (m.naive_tps > 0) state.counters["speedup_vs_naive"] = m.fast_tps / m.naive_tps;
  set_rss_counters(state, hwm, m.fast_rss);
  set_check_counters(state, *s);
}

// ---- correctness ----
bool check_agreement(const std::string& name, const Model& m, int B, int T, bench::LogitDiff* out) {
  const auto tokens = random_tokens(m.cfg.vocab_size, int64_t(B) * T, kTokenSeed + 1);
  Tensor fast;
  forward_logits(m, tokens.data(), B, T, fast);
  std::vector<float> naive;
  bench::naive_forward_logits(m, tokens.data(), B, T, naive);
  if (fast.numel() != int64_t(naive.size())) {
    std::fprintf(stderr, "check %-22s FAIL: fast gives %lld logits, naive %zu\n", name.c_str(),
                 (long long)fast.numel(), naive.size());
    return false;
  }
  const auto d = bench::compare_logits(fast.ptr(), naive);
  if (out) *out = d;
  std::fprintf(stderr, "check %-22s B=%d T=%-3d max|dlogit| = %.3g (max|logit| %.3g, bound %.3g = %.0e * max(1, max|logit|)) %s\n",
               name.c_str(), B, T, d.max_abs_diff, d.max_abs_logit, d.bound, bench::kNaiveLogitTolerance,
               d.ok() ? "ok" : "FAIL");
  char buf[160];
  std::snprintf(buf, sizeof buf, "max|dlogit| %.3g, max|logit| %.3g, bound %.3g, %s", d.max_abs_diff,
                d.max_abs_logit, d.bound, d.ok() ? "ok" : "FAIL");
  benchmark::AddCustomContext("check." + name, buf);
  return d.ok();
}

// Small random models for the paths the two benchmark subjects do not take.
std::vector<std::pair<std::string, DecoderConfig>> variant_configs() {
  std::vector<std::pair<std::string, DecoderConfig>> v;
  DecoderConfig base;
  base.dim = 96;
  base.hidden_dim = 160;
  base.n_layers = 2;
  base.n_heads = 4;
  base.n_kv_heads = 4;
  base.head_dim = 24;
  base.vocab_size = 101;
  base.max_seq_len = 64;
  base.tie_embeddings = false;
  {  // Qwen2-like: GQA, q/k/v biases, half RoPE, theta 1e6, head_dim != dim / n_heads
    DecoderConfig c = base;
    c.arch = Arch::Qwen2;
    c.n_heads = 6;
    c.n_kv_heads = 2;
    c.head_dim = 20;
    c.qkv_bias = true;
    c.rope = RopeStyle::Half;
    c.rope_theta = 1e6f;
    c.norm_eps = 1e-6f;
    v.emplace_back("synthetic-qwen2-like", c);
  }
  {  // OPT-like: LayerNorm with bias, learned positions (offset 2), no RoPE, ReLU MLP, all biases
    DecoderConfig c = base;
    c.arch = Arch::Opt;
    c.norm = NormKind::LayerNorm;
    c.rope = RopeStyle::None;
    c.act = Activation::ReLU;
    c.gated_mlp = false;
    c.qkv_bias = c.o_bias = c.mlp_bias = true;
    c.learned_pos = true;
    c.pos_offset = 2;
    c.tie_embeddings = true;
    v.emplace_back("synthetic-opt-like", c);
  }
  {  // GELU (erf) and GELU-tanh plain MLPs with interleaved RoPE
    DecoderConfig c = base;
    c.act = Activation::GELU;
    c.gated_mlp = false;
    c.rope = RopeStyle::Interleaved;
    v.emplace_back("synthetic-gelu", c);
    c.act = Activation::GELUTanh;
    c.gated_mlp = true;
    v.emplace_back("synthetic-gelutanh-gated", c);
  }
  return v;
}

// ---- optional per-part profile of one fast forward ----
void profile_fast(const Model& m) {
  const int B = kBatch, T = kSeqLen;
  const auto tokens = random_tokens(m.cfg.vocab_size, int64_t(B) * T, kTokenSeed);
  std::map<std::string, double> part;  // seconds
  Clock::time_point mark;
  std::string pending;  // what the time since `mark` belongs to
  auto close = [&](const std::string& next) {
    const auto now = Clock::now();
    part[pending] += std::chrono::duration<double>(now - mark).count();
    pending = next;
    mark = now;
  };
  ForwardHooks h;
  // Each hook closes the span that ran since the previous one and names the next.
  h.linear_input = [&](int, LinearId id, const Tensor&) { close(std::string("gemm ") + linear_name(id)); };
  h.linear_output = [&](int, LinearId id, const Tensor&) {
    switch (id) {
      case LinearId::V: close("rope + attention"); break;
      case LinearId::O: close("residual add + mlp norm"); break;
      case LinearId::Up: close(m.cfg.gated_mlp ? "(between up and gate)" : "activation"); break;
      case LinearId::Gate: close("activation * up"); break;
      case LinearId::Down: close("residual add"); break;
      default: close("(between q/k/v)"); break;
    }
  };
  h.block_output = [&](int layer, const Tensor&) {
    close(layer + 1 < m.cfg.n_layers ? "attn norm" : "final norm + lm_logits");
  };
  Tensor logits;
  forward_logits(m, tokens.data(), B, T, logits);  // warm-up
  for (int rep = 0; rep < 2; ++rep) {
    part.clear();
    const auto t0 = Clock::now();
    mark = t0;
    pending = "embed + first attn norm";
    forward_logits(m, tokens.data(), B, T, logits, &h);
    close("");
    const double total = std::chrono::duration<double>(Clock::now() - t0).count();
    std::fprintf(stderr, "\nprofile (%s, %d x %d tokens, OMP threads %d, OpenBLAS threads %d), run %d: %.3f s\n",
                 m.path.c_str(), B, T, omp_get_max_threads(), openblas_get_num_threads(), rep + 1, total);
    for (auto& [k, v] : part)
      std::fprintf(stderr, "  %-32s %8.3f s  %5.1f%%\n", k.empty() ? "(tail)" : k.c_str(), v, 100 * v / total);
  }
}

// ---- arguments ----
std::string default_model_path() {
  std::vector<std::string> c;
  if (const char* e = std::getenv("LOWBIT_SOURCE_DIR")) c.push_back(std::string(e) + "/models/stories260K/stories260K.bin");
#ifdef LOWBIT_SOURCE_DIR
  c.push_back(std::string(LOWBIT_SOURCE_DIR) + "/models/stories260K/stories260K.bin");
#endif
  std::error_code ec;
  const auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) c.push_back((exe.parent_path() / "../../models/stories260K/stories260K.bin").lexically_normal().string());
  c.push_back("/work/main/models/stories260K/stories260K.bin");
  for (auto& p : c)
    if (std::filesystem::exists(p, ec)) return p;
  return c.back();
}

// Take our flags out of argv (Google Benchmark rejects flags it does not know).
Options parse_own_flags(int& argc, char** argv) {
  Options o;
  int w = 1;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto val = [&](const char* flag) -> const char* {
      const size_t n = std::strlen(flag);
      return a.compare(0, n, flag) == 0 && a.size() > n && a[n] == '=' ? argv[i] + n + 1 : nullptr;
    };
    if (const char* v = val("--model")) o.model = v;
    else if (const char* v2 = val("--synthetic-params")) o.synthetic_params = std::atoll(v2);
    else if (const char* v3 = val("--naive-tokens")) o.naive_tokens = std::atoi(v3);
    else if (a == "--profile") o.profile = true;
    else argv[w++] = argv[i];
  }
  argc = w;
  if (o.model.empty()) o.model = default_model_path();
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  Options opt = parse_own_flags(argc, argv);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;

  std::vector<std::unique_ptr<Subject>> subjects;
  {
    auto s = std::make_unique<Subject>();
    s->name = "stories260K";
    s->build = [path = opt.model] { return load_model(path); };
    s->check_T = 32;
    subjects.push_back(std::move(s));
  }
  {
    const DecoderConfig c = synthetic_llama_config(opt.synthetic_params);
    auto s = std::make_unique<Subject>();
    char name[64];
    std::snprintf(name, sizeof name, "synthetic-llama-%lldM", (c.total_params() + 500'000) / 1'000'000);
    s->name = name;
    s->build = [c] { return make_synthetic_model(c, kSyntheticSeed); };
    s->check_T = 8;
    s->naive_B = 1;
    s->naive_T = std::max(1, std::min(opt.naive_tokens, kSeqLen));
    subjects.push_back(std::move(s));
  }

  benchmark::AddCustomContext("model_path", opt.model);
  benchmark::AddCustomContext("omp_max_threads", std::to_string(omp_get_max_threads()));
  benchmark::AddCustomContext("openblas_threads", std::to_string(openblas_get_num_threads()));
  benchmark::AddCustomContext("openblas_config", openblas_get_config());
  benchmark::AddCustomContext("metric", "tokens_per_s = B*T*iterations / wall seconds; speedup_vs_naive = fast / naive tokens_per_s");
  benchmark::AddCustomContext("check_bound", "max|dlogit| <= 1e-3 * max(1, max|logit|) on 2 sequences, else exit 1 before timing");

  // 1. correctness first: the small architecture variants now, each subject when it is built
  //    (before its first timed loop), stories260K right away so a bad --model fails early.
  bool ok = true;
  try {
    uint64_t seed = 7;
    for (auto& [n, c] : variant_configs()) {
      auto m = make_synthetic_model(c, seed++);
      ok &= check_agreement(n, *m, 2, 19);
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_forward: correctness check threw: %s\n", e.what());
    ok = false;
  }
  if (!ok) {
    std::fprintf(stderr, "bench_forward: forward_logits and the naive forward disagree; not timing anything.\n");
    return 1;
  }
  ready(*subjects[0]);

  if (opt.profile)
    for (auto& sub : subjects) profile_fast(ready(*sub));

  // 2. benchmarks (registration order = run order: naive before fast for each model)
  for (auto& up : subjects) {
    Subject* s = up.get();
    const bool small = s->name == "stories260K";
    benchmark::RegisterBenchmark((s->name + "/naive").c_str(), bench_naive, s)
        ->UseRealTime()
        ->Unit(benchmark::kMillisecond)
        ->Iterations(small ? 2 : 1);
    auto* f = benchmark::RegisterBenchmark((s->name + "/fast").c_str(), bench_fast, s)
                  ->UseRealTime()
                  ->Unit(benchmark::kMillisecond);
    if (small)
      f->MinTime(2.0);
    else
      f->Iterations(2);
  }
  benchmark::RunSpecifiedBenchmarks();

  // 3. summary
  std::fprintf(stderr, "\nForward prefill summary (tokens/s = B*T*iterations / wall s; ratio = fast / naive, same run)\n");
  std::fprintf(stderr, "%-24s %14s %22s %9s %14s %14s\n", "model", "fast tok/s", "naive tok/s (BxT)", "ratio",
               "fast RSS MiB", "naive RSS MiB");
  for (auto& up : subjects) {
    auto it = g_results.find(up->name);
    if (it == g_results.end()) continue;
    const Measured& m = it->second;
    char ft[32] = "-", nt[64] = "-", ratio[32] = "-", frss[32] = "-", nrss[32] = "-";
    if (m.fast_tps > 0) {
      std::snprintf(ft, sizeof ft, "%.1f", m.fast_tps);
      std::snprintf(frss, sizeof frss, "%.0f", m.fast_rss);
    }
    if (m.naive_tps > 0) {
      std::snprintf(nt, sizeof nt, "%.1f (%dx%d)", m.naive_tps, m.naive_B, m.naive_T);
      std::snprintf(nrss, sizeof nrss, "%.0f", m.naive_rss);
    }
    if (m.fast_tps > 0 && m.naive_tps > 0) std::snprintf(ratio, sizeof ratio, "%.1f", m.fast_tps / m.naive_tps);
    std::fprintf(stderr, "%-24s %14s %22s %9s %14s %14s\n", up->name.c_str(), ft, nt, ratio, frss, nrss);
    if (m.fast_tps > 0 && m.naive_tps > 0 && m.naive_T != kSeqLen) {
      const DecoderConfig& c = up->model->cfg;
      const double per_tok_meas = bench::naive_forward_macs(c, m.naive_T) / m.naive_T;
      const double per_tok_512 = bench::naive_forward_macs(c, kSeqLen) / kSeqLen;
      const double est = m.naive_tps * per_tok_meas / per_tok_512;
      std::fprintf(stderr,
                   "  naive measured at T=%d: %.3g MAC/token there vs %.3g at T=%d (+%.1f%%, attention grows with T);\n"
                   "  at equal time per MAC the naive rate at T=%d would be %.1f tok/s, ratio %.1f\n",
                   m.naive_T, per_tok_meas, per_tok_512, kSeqLen, 100 * (per_tok_512 / per_tok_meas - 1), kSeqLen, est,
                   m.fast_tps / est);
    }
  }
  std::fprintf(stderr, "(fast: OpenMP %d threads + OpenBLAS %d threads; naive: 1 thread)\n", omp_get_max_threads(),
               openblas_get_num_threads());
  benchmark::Shutdown();
  return 0;
}
