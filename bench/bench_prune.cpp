// bench/bench_prune.cpp — pruning cost (results: docs/BENCHMARKS.md, "Pruning").
//
// Requirements measured:
//   * Haar subband pruning (one level, 50%) of a 4096×4096 f32 matrix: time, and GB/s of f32
//     weights as a ratio to memcpy of the same bytes in the same run (target >= 0.25).
//   * The time of every method on the same matrix, as a ratio to Haar's: magnitude, Wanda and
//     SparseGPT (Wanda/SparseGPT with the same calibration: Σxᵀx of 2048 rows of synthetic
//     activations), at 50% unstructured (per output row) and 2:4.
//
// Order of work:
//   1. Correctness, before any timing (any failure: exit code 1, nothing timed), on the 4096×4096
//      matrix itself: every Haar subband (one and two levels) and the global variant prune exactly
//      ⌊s·size⌋ coefficients (SubbandStat and the zeros of C), ŵ is finite; the sparse inference
//      path Hₘᵀ·C·(Hₙ·x) equals ŵ·x (relative error < 1e-5); magnitude and Wanda zero exactly
//      ⌊s·in⌋ weights in every row (50%) and N in every M-block (2:4).
//   2. Benchmarks (wall-clock):
//      memcpy/64MiB          std::memcpy of 64 MiB (= 4096·4096·4 B) between two pre-touched buffers,
//                            one thread (as bench_quant); run again (memcpy/64MiB_again) after the
//                            Haar benchmarks. The baseline of every ratio in the summary is the faster
//                            of the two (the per-benchmark JSON counter uses the ones run so far).
//      haar/s0.50            prune_haar(W) as the API is used: the result (w_hat and coeffs, 2 × 64 MiB)
//                            is allocated by the call; glibc mmaps each fresh and unmaps it on free,
//                            so every call page-faults 128 MiB (counter page_faults_per_call).
//      haar_into/<variant>   prune_haar_into(W, s, r) with one result reused call after call: no page
//                            faults, the steady state of a process pruning layer after layer of one
//                            shape. The target is read on haar_into/s0.50 (one level, subband-wise).
//      haar_forward, haar_inverse  the transforms alone (one level, into a pre-touched buffer).
//      magnitude/<spec>, wanda/<spec>   per call, with glibc malloc told to keep freed memory
//                            (M_MMAP_THRESHOLD / M_TRIM_THRESHOLD 1 GiB during these benchmarks only),
//                            so their 64 MiB results reuse the previous call's pages (no faults).
//      sparsegpt/<spec>      one run each (Iterations(1)): Cholesky + the blocked sweep.
//   3. A summary table on stderr: every method's time and its ratio to haar_into/s0.50.
//
// Metric: GB/s = (4096·4096·4 bytes of f32 weights per call × calls) / wall seconds / 1e9, the bytes
// of the matrix counted once, for memcpy and pruning alike.
//
// Usage: build/bench/bench_prune [--no-sparsegpt] [--no-sparsegpt-nm] [Google Benchmark flags,
//        e.g. --benchmark_format=json]
#include <benchmark/benchmark.h>
#include <cblas.h>
#include <malloc.h>
#include <omp.h>
#include <sys/resource.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "bench_util.hpp"
#include "lowbit/compress/haar.hpp"
#include "lowbit/compress/prune.hpp"
#include "lowbit/compress/stats.hpp"
#include "lowbit/core/error.hpp"

namespace {

using namespace lowbit;
using bench::Clock;

constexpr int64_t kDim = 4096;
constexpr int64_t kCalibRows = 2048;
constexpr size_t kMatrixBytes = size_t(kDim) * size_t(kDim) * sizeof(float);  // 64 MiB

using bench::minor_faults;
using bench::random_weights;
using bench::secs_since;
void keep_freed_memory(bool on) {  // glibc: reuse freed 64 MiB blocks instead of unmapping them
  mallopt(M_MMAP_THRESHOLD, on ? 1 << 30 : 128 * 1024);
  mallopt(M_TRIM_THRESHOLD, on ? 1 << 30 : 128 * 1024);
}


// Synthetic activations [rows, cols] (as bench_quant): a rank-64 shared part plus noise, times
// log-normal column scales.
Tensor activations(int64_t rows, int64_t cols, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> n(0.f, 1.f), a(0.f, 1.f / 8.f), ls(0.f, 0.8f);
  Tensor A({64, cols});
  for (auto& v : A.data) v = a(rng);
  std::vector<float> colscale(static_cast<size_t>(cols));
  for (auto& s : colscale) s = std::exp(ls(rng));
  Tensor Z({rows, 64});
  for (auto& v : Z.data) v = n(rng);
  Tensor X({rows, cols});
  for (auto& v : X.data) v = 0.5f * n(rng);
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, int(rows), int(cols), 64, 1.f, Z.ptr(), 64, A.ptr(), int(cols),
              1.f, X.ptr(), int(cols));
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) X.row(r)[c] *= colscale[size_t(c)];
  return X;
}

PruneSpec spec_ratio(double s, int levels = 1, bool global = false) {
  PruneSpec p;
  p.sparsity = s;
  p.haar_levels = levels;
  p.haar_global = global;
  return p;
}
PruneSpec spec_nm(int n, int m) {
  PruneSpec p;
  p.n = n;
  p.m = m;
  return p;
}

struct Options {
  bool sparsegpt = true, sparsegpt_nm = true;
};

struct State {
  Options opt;
  Tensor W;
  LinearStats st;
  std::map<std::string, double> seconds;  // per call
  std::map<std::string, double> faults;
  double memcpy_gbps = 0;
  double calib_seconds = 0;
  bool sparsegpt_ok = true;
};
State g;

// ---- correctness ----
int64_t zeros_in(const float* p, int64_t n) {
  int64_t z = 0;
  for (int64_t i = 0; i < n; ++i) z += p[i] == 0.f;
  return z;
}
int64_t floor_count(double s, int64_t n) { return int64_t(std::floor(s * double(n) + 1e-6)); }

bool check_haar(const PruneSpec& s, const char* name) {
  const PruneResult r = prune_haar(g.W, s);
  bool ok = r.total == kDim * kDim;
  int64_t sum = 0;
  const auto bands = haar_bands(kDim, kDim, s.haar_levels);
  for (size_t b = 0; b < bands.size(); ++b) {
    const HaarBand& hb = bands[b];
    int64_t z = 0;
    for (int64_t i = 0; i < hb.rows; ++i) z += zeros_in(r.coeffs.row(hb.r0 + i) + hb.c0, hb.cols);
    ok &= r.subbands[b].pruned == z;
    if (!s.haar_global) ok &= z == floor_count(s.sparsity, hb.size());
    sum += z;
  }
  ok &= sum == r.pruned && r.pruned == (s.haar_global ? floor_count(s.sparsity, kDim * kDim) : r.pruned);
  for (float v : r.w_hat.data) ok &= std::isfinite(v);
  // The sparse inference path on one random input.
  const HaarSparseLinear a = make_haar_sparse(r);
  std::vector<float> x(static_cast<size_t>(kDim)), y(static_cast<size_t>(kDim));
  std::mt19937_64 rng(3);
  std::normal_distribution<float> n(0.f, 1.f);
  for (auto& v : x) v = n(rng);
  haar_sparse_matvec(a, x.data(), y.data());
  double num = 0, den = 0;
  for (int64_t i = 0; i < kDim; ++i) {
    double ref = 0;
    for (int64_t j = 0; j < kDim; ++j) ref += double(r.w_hat.row(i)[j]) * x[size_t(j)];
    num += (y[size_t(i)] - ref) * (y[size_t(i)] - ref);
    den += ref * ref;
  }
  const double rel = std::sqrt(num / den);
  ok &= rel < 1e-5;
  std::fprintf(stderr,
               "check %-22s %zu subbands, %lld of %lld coefficients pruned%s, sparse path rel err %.2e: %s\n",
               name, bands.size(), (long long)r.pruned, (long long)r.total,
               s.haar_global ? " (one global group)" : " (each subband exactly floor(s*size))", rel, ok ? "ok" : "FAIL");
  return ok;
}

bool check_rowwise(const PruneResult& r, const PruneSpec& s, const char* name) {
  bool ok = true;
  for (int64_t row = 0; row < kDim && ok; ++row) {
    if (s.m > 0) {
      for (int64_t b = 0; b < kDim / s.m; ++b) ok &= zeros_in(r.w_hat.row(row) + b * s.m, s.m) == s.n;
    } else {
      ok &= zeros_in(r.w_hat.row(row), kDim) == floor_count(s.sparsity, kDim);
    }
  }
  for (float v : r.w_hat.data) ok &= std::isfinite(v);
  std::fprintf(stderr, "check %-22s %s: %s\n", name,
               s.m > 0 ? "exactly N zeros in every N:M block of every row" : "exactly floor(s*in) zeros in every row",
               ok ? "ok" : "FAIL");
  return ok;
}

// ---- benchmarks ----
void bench_memcpy(benchmark::State& state, std::string name) {
  std::vector<float> src(kMatrixBytes / sizeof(float)), dst(kMatrixBytes / sizeof(float));
  for (size_t i = 0; i < src.size(); ++i) src[i] = float(i & 1023);
  std::memcpy(dst.data(), src.data(), kMatrixBytes);
  const auto t0 = Clock::now();
  for (auto _ : state) {
    std::memcpy(dst.data(), src.data(), kMatrixBytes);
    benchmark::DoNotOptimize(dst.data());
    benchmark::ClobberMemory();
  }
  const double s = secs_since(t0);
  const double gbps = double(kMatrixBytes) * double(state.iterations()) / 1e9 / s;
  g.memcpy_gbps = std::max(g.memcpy_gbps, gbps);  // the baseline: the faster of the two memcpy runs
  state.SetBytesProcessed(int64_t(kMatrixBytes) * int64_t(state.iterations()));
  state.counters["GB_per_s"] = gbps;
  g.seconds[name] = s / double(state.iterations());
}

// Common tail: seconds per call, GB/s and ratio to memcpy.
void record(benchmark::State& state, const std::string& name, double secs, long faults0) {
  const double per = secs / double(state.iterations());
  g.seconds[name] = per;
  g.faults[name] = double(minor_faults() - faults0) / double(state.iterations());
  state.counters["page_faults_per_call"] = g.faults[name];
  state.counters["GB_per_s"] = double(kMatrixBytes) / 1e9 / per;
  if (g.memcpy_gbps > 0) state.counters["ratio_vs_memcpy"] = double(kMatrixBytes) / 1e9 / per / g.memcpy_gbps;
  state.SetBytesProcessed(int64_t(kMatrixBytes) * int64_t(state.iterations()));
}

// into == false: prune_haar as the API is used (a fresh result per call); into == true:
// prune_haar_into one result reused call after call (the layer-wise driver's steady state).
void bench_haar(benchmark::State& state, PruneSpec s, bool into, std::string name) {
  PruneResult r;
  prune_haar_into(g.W, s, r);  // warm-up (and, for `into`, the buffers)
  const long f0 = minor_faults();
  const auto t0 = Clock::now();
  for (auto _ : state) {
    if (into) {
      prune_haar_into(g.W, s, r);
      benchmark::DoNotOptimize(r.w_hat.ptr());
    } else {
      PruneResult fresh = prune_haar(g.W, s);
      benchmark::DoNotOptimize(fresh.w_hat.ptr());
      benchmark::DoNotOptimize(fresh.coeffs.ptr());
    }
    benchmark::ClobberMemory();
  }
  record(state, name, secs_since(t0), f0);
}

void bench_transform(benchmark::State& state, bool forward) {
  Tensor c({kDim, kDim});
  haar_forward_2d(g.W.ptr(), c.ptr(), kDim, kDim, 1);
  Tensor back({kDim, kDim});
  haar_inverse_2d(c.ptr(), back.ptr(), kDim, kDim, 1);
  const long f0 = minor_faults();
  const auto t0 = Clock::now();
  for (auto _ : state) {
    if (forward)
      haar_forward_2d(g.W.ptr(), c.ptr(), kDim, kDim, 1);
    else
      haar_inverse_2d(c.ptr(), back.ptr(), kDim, kDim, 1);
    benchmark::ClobberMemory();
  }
  record(state, forward ? "haar_forward/L1" : "haar_inverse/L1", secs_since(t0), f0);
}

void bench_scored(benchmark::State& state, std::string method, PruneSpec s) {
  keep_freed_memory(true);
  auto run = [&] { return method == "magnitude" ? prune_magnitude(g.W, s) : prune_wanda(g.W, g.st, s); };
  {
    PruneResult warm = run();
    benchmark::DoNotOptimize(warm.w_hat.ptr());
  }
  const long f0 = minor_faults();
  const auto t0 = Clock::now();
  for (auto _ : state) {
    PruneResult r = run();
    benchmark::DoNotOptimize(r.w_hat.ptr());
    benchmark::ClobberMemory();
  }
  record(state, method + "/" + s.str(), secs_since(t0), f0);
  keep_freed_memory(false);
}

void bench_sparsegpt(benchmark::State& state, PruneSpec s) {
  const std::string name = "sparsegpt/" + s.str();
  for (auto _ : state) {
    const auto t0 = Clock::now();
    PruneResult r = prune_sparsegpt(g.W, g.st.xtx, s);
    const double secs = secs_since(t0);
    state.SetIterationTime(secs);
    g.seconds[name] = secs;
    // Correctness of the timed result (checked after the timing).
    const bool ok = check_rowwise(r, s, name.c_str());
    g.sparsegpt_ok &= ok;
    if (!ok) state.SkipWithError("SparseGPT result not exact/finite");
  }
  state.counters["seconds"] = g.seconds[name];
}

Options parse_own_flags(int& argc, char** argv) {
  Options o;
  int w = 1;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--no-sparsegpt")
      o.sparsegpt = false;
    else if (a == "--no-sparsegpt-nm")
      o.sparsegpt_nm = false;
    else
      argv[w++] = argv[i];
  }
  argc = w;
  return o;
}

void print_summary() {
  std::fprintf(stderr,
               "\nsummary: 4096x4096 f32 (OMP threads %d, OpenBLAS threads %d; GB = 1e9 B of f32 weights, counted "
               "once; calibration Σxᵀx of %lld rows: %.2f s, not in any method's time)\n",
               omp_get_max_threads(), openblas_get_num_threads(), (long long)kCalibRows, g.calib_seconds);
  const std::string ref = "haar_into/s0.50";
  const double href = g.seconds.count(ref) ? g.seconds[ref] : 0;
  std::fprintf(stderr, "  baseline: the faster memcpy, %.2f GB/s\n", g.memcpy_gbps);
  std::fprintf(stderr, "  %-30s %12s %10s %12s %14s\n", "benchmark", "time/call", "GB/s", "vs memcpy", "time vs haar");
  for (auto& [k, v] : g.seconds) {
    const double gbps = double(kMatrixBytes) / 1e9 / v;
    char ratio[64] = "";
    if (k.rfind("haar_into/s0.50", 0) == 0 && g.memcpy_gbps > 0)
      std::snprintf(ratio, sizeof ratio, "%.3f (%s)", gbps / g.memcpy_gbps,
                    gbps / g.memcpy_gbps >= 0.25 ? "target >= 0.25 met" : "target >= 0.25 NOT met");
    else if (g.memcpy_gbps > 0)
      std::snprintf(ratio, sizeof ratio, "%.3f", gbps / g.memcpy_gbps);
    std::fprintf(stderr, "  %-30s %9.1f ms %10.2f %12s %13.2fx%s\n", k.c_str(), v * 1e3, gbps, ratio,
                 href > 0 ? v / href : 0.0,
                 g.faults.count(k) ? ("   " + std::to_string(long(g.faults[k])) + " page faults/call").c_str() : "");
  }
}

}  // namespace

int main(int argc, char** argv) {
  g.opt = parse_own_flags(argc, argv);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;

  g.W = random_weights(kDim, kDim, 12345);
  {
    const Tensor X = activations(kCalibRows, kDim, 4242);
    const auto t0 = Clock::now();
    g.st.init(kDim, true);
    g.st.add(X);
    g.calib_seconds = secs_since(t0);
  }
  benchmark::AddCustomContext("omp_max_threads", std::to_string(omp_get_max_threads()));
  benchmark::AddCustomContext("openblas_threads", std::to_string(openblas_get_num_threads()));
  benchmark::AddCustomContext("metric",
                              "GB/s = 4096*4096*4 bytes of f32 weights per call (counted once) / wall s / 1e9");
  benchmark::AddCustomContext("calibration", "Sigma x^T x of 2048 rows x 4096 synthetic activations");

  bool ok = true;
  try {
    ok &= check_haar(spec_ratio(0.5), "haar/s0.50");
    ok &= check_haar(spec_ratio(0.5, 2), "haar/s0.50 L2");
    ok &= check_haar(spec_ratio(0.5, 1, true), "haar/s0.50 global");
    for (const PruneSpec& s : {spec_ratio(0.5), spec_nm(2, 4)}) {
      ok &= check_rowwise(prune_magnitude(g.W, s), s, ("magnitude/" + s.str()).c_str());
      ok &= check_rowwise(prune_wanda(g.W, g.st, s), s, ("wanda/" + s.str()).c_str());
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_prune: correctness check threw: %s\n", e.what());
    ok = false;
  }
  if (!ok) {
    std::fprintf(stderr, "bench_prune: correctness checks failed; not timing anything.\n");
    return 1;
  }

  auto ms = [](benchmark::internal::Benchmark* b) { b->UseRealTime()->Unit(benchmark::kMillisecond); };
  ms(benchmark::RegisterBenchmark("memcpy/64MiB", bench_memcpy, std::string("memcpy/64MiB")));
  ms(benchmark::RegisterBenchmark("haar/s0.50", bench_haar, spec_ratio(0.5), false, "haar/s0.50"));
  ms(benchmark::RegisterBenchmark("haar_into/s0.50", bench_haar, spec_ratio(0.5), true, "haar_into/s0.50"));
  ms(benchmark::RegisterBenchmark("haar_into/s0.50_L2", bench_haar, spec_ratio(0.5, 2), true, "haar_into/s0.50_L2"));
  ms(benchmark::RegisterBenchmark("haar_into/s0.50_global", bench_haar, spec_ratio(0.5, 1, true), true,
                                  "haar_into/s0.50_global"));
  ms(benchmark::RegisterBenchmark("memcpy/64MiB_again", bench_memcpy, std::string("memcpy/64MiB_again")));
  ms(benchmark::RegisterBenchmark("haar_forward/L1", bench_transform, true));
  ms(benchmark::RegisterBenchmark("haar_inverse/L1", bench_transform, false));
  for (const PruneSpec& s : {spec_ratio(0.5), spec_nm(2, 4)}) {
    ms(benchmark::RegisterBenchmark(("magnitude/" + s.str()).c_str(), bench_scored, std::string("magnitude"), s));
    ms(benchmark::RegisterBenchmark(("wanda/" + s.str()).c_str(), bench_scored, std::string("wanda"), s));
  }
  if (g.opt.sparsegpt) {
    std::vector<PruneSpec> specs = {spec_ratio(0.5)};
    if (g.opt.sparsegpt_nm) specs.push_back(spec_nm(2, 4));
    for (const PruneSpec& s : specs)
      benchmark::RegisterBenchmark(("sparsegpt/" + s.str()).c_str(), bench_sparsegpt, s)
          ->UseManualTime()
          ->Iterations(1)
          ->Unit(benchmark::kSecond);
  }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  print_summary();
  return g.sparsegpt_ok ? 0 : 1;
}
