// bench/bench_blas.cpp — the BLAS rates lowbit runs at, on its own shapes (results: docs/BENCHMARKS.md,
// "BLAS kernels").
//
// OpenBLAS picks its kernels ("core") when it loads; OPENBLAS_CORETYPE overrides the choice, and
// lowbit's select_blas_core (core/blas.hpp) re-executes lowbit with the best core for the CPU when
// OpenBLAS fell back to a weaker one. This program does not select: it runs whatever core its
// environment gives, so running it under several OPENBLAS_CORETYPE values in one go (bench/bench_blas.sh)
// measures what a mis-detection costs on this CPU, in the same minute.
//
// Order of work:
//   1. Correctness before timing: blas_self_check() (sgemm and ssyrk against a double reference)
//      must pass, else exit 1 with the problem and nothing timed.
//   2. Benchmarks (wall-clock, the threads OpenBLAS is given), with GFLOP/s counters:
//      sgemm/<m>x<n>x<k>  the forward's GEMMs: 8×512 tokens through SmolLM2-135M's q (576×576),
//                         gate (576→1536) and down (1536→576) projections, and 2048³
//      ssyrk/<n>x<k>      Σxᵀx of one micro-batch in f32 (n inputs, k tokens)
//      dsyrk/<n>x<k>      the same in f64
//      stats_add/<n>x<k>  LinearStats::add (f32 ssyrk + the f64 sum in both triangles + the
//                         per-column sums): what one calibration micro-batch costs per linear
//      old_add/<n>x<k>    LinearStats::add as it was until 2026-12-03 (f64 copy of the chunk,
//                         dsyrk, a mirror per call, the same per-column sums), kept here verbatim
//                         as the baseline
//   The context records the core, how it was chosen and the thread count.
//
// Usage: build/bench/bench_blas [Google Benchmark flags]; bench/bench_blas.sh for the comparison.
#include <benchmark/benchmark.h>
#include <cblas.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <random>
#include <string>
#include <type_traits>
#include <vector>

#include "lowbit/compress/stats.hpp"
#include "lowbit/core/blas.hpp"
#include "lowbit/core/tensor.hpp"

using namespace lowbit;

namespace {

std::vector<float> randf(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> d(0.f, 1.f);
  std::vector<float> v(n);
  for (auto& x : v) x = d(rng);
  return v;
}

void BM_sgemm(benchmark::State& st) {
  const int m = int(st.range(0)), n = int(st.range(1)), k = int(st.range(2));
  const auto a = randf(size_t(m) * k, 1), b = randf(size_t(k) * n, 2);
  std::vector<float> c(size_t(m) * n);
  for (auto _ : st) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1.f, a.data(), k, b.data(), n, 0.f, c.data(), n);
    benchmark::DoNotOptimize(c.data());
  }
  st.counters["GFLOP/s"] =
      benchmark::Counter(2.0 * m * n * k * double(st.iterations()) / 1e9, benchmark::Counter::kIsRate);
}

// Σxᵀx of k rows of n inputs, upper triangle: cblas_ssyrk (T = float) or cblas_dsyrk (T = double).
template <class T>
void BM_syrk(benchmark::State& st) {
  const int n = int(st.range(0)), k = int(st.range(1));
  const auto xf = randf(size_t(k) * n, 3);
  const std::vector<T> x(xf.begin(), xf.end());
  std::vector<T> c(size_t(n) * n);
  for (auto _ : st) {
    if constexpr (std::is_same_v<T, float>)
      cblas_ssyrk(CblasRowMajor, CblasUpper, CblasTrans, n, k, 1.f, x.data(), n, 0.f, c.data(), n);
    else
      cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, n, k, 1.0, x.data(), n, 0.0, c.data(), n);
    benchmark::DoNotOptimize(c.data());
  }
  st.counters["GFLOP/s"] =
      benchmark::Counter(double(n) * (n + 1) * k * double(st.iterations()) / 1e9, benchmark::Counter::kIsRate);
}

// LinearStats::add until 2026-12-03, verbatim but for the member names.
void old_add(LinearStats& st, const Tensor& x) {
  const int64_t r = x.rows(), in = st.in;
  std::vector<double> xd(x.data.begin(), x.data.end());
  cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, int(in), int(r), 1.0, xd.data(), int(in), 1.0, st.xtx.data(), int(in));
  for (int64_t a = 0; a < in; ++a)
    for (int64_t b = 0; b < a; ++b) st.xtx[size_t(a * in + b)] = st.xtx[size_t(b * in + a)];
  for (int64_t i = 0; i < r; ++i) {
    const float* row = x.row(i);
    for (int64_t j = 0; j < in; ++j) {
      const double v = row[j];
      st.sum_abs[size_t(j)] += std::fabs(v);
      st.max_abs[size_t(j)] = std::max(st.max_abs[size_t(j)], std::fabs(v));
      st.sum[size_t(j)] += v;
    }
  }
  st.rows += r;
}

template <bool kOld>
void BM_add(benchmark::State& st) {
  const int n = int(st.range(0)), k = int(st.range(1));
  Tensor x({k, n});
  x.data = randf(size_t(k) * n, 3);
  LinearStats s;
  s.init(n);
  for (auto _ : st) {
    if (kOld) old_add(s, x);
    else s.add(x);
    benchmark::DoNotOptimize(s.xtx.data());
  }
  st.counters["GFLOP/s"] =
      benchmark::Counter(double(n) * (n + 1) * k * double(st.iterations()) / 1e9, benchmark::Counter::kIsRate);
}

}  // namespace

BENCHMARK(BM_sgemm)->Name("sgemm")->Args({4096, 576, 576})->Args({4096, 1536, 576})->Args({4096, 576, 1536})
    ->Args({2048, 2048, 2048})->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_syrk<float>)->Name("ssyrk")->Args({576, 4096})->Args({1536, 4096})->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_syrk<double>)->Name("dsyrk")->Args({576, 4096})->Args({1536, 4096})->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_add<false>)->Name("stats_add")->Args({576, 4096})->Args({1536, 4096})->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_add<true>)->Name("old_add")->Args({576, 4096})->Args({1536, 4096})->Unit(benchmark::kMillisecond)->UseRealTime();

int main(int argc, char** argv) {
  const std::string problem = blas_self_check();
  if (!problem.empty()) {
    std::fprintf(stderr, "bench_blas: the BLAS self-check failed, nothing timed: %s\n", problem.c_str());
    return 1;
  }
  benchmark::AddCustomContext("blas", blas_summary());
  benchmark::AddCustomContext("cpu_features", CpuFeatures::detect().str());
  benchmark::AddCustomContext("openblas_config", openblas_get_config());
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 2;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
