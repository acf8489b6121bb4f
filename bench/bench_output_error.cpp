// bench/bench_output_error.cpp — the recorded output error tr((W−Ŵ) H (W−Ŵ)ᵀ) of a compressed
// linear (results: docs/BENCHMARKS.md, "Output error").
//
// The driver records this for every linear of every configuration that has calibration data, RTN
// and pruning included. Until 2026-12-03 it was a row-by-row loop (reference_output_error below,
// kept verbatim as the baseline): for each output row it streamed the whole in × in Hessian once,
// a sequential f64 dot product per Hessian row that the compiler may not vectorise. On SmolLM2 that
// loop was most of an RTN configuration. output_error now tiles the rows and does one dgemm per tile.
//
// Order of work:
//   1. Correctness, before any timing (a failure: exit code 1, nothing timed): on every shape,
//      output_error equals the reference loop within kRel (two f64 summation orders).
//   2. Benchmarks (wall-clock, the threads OpenMP/OpenBLAS are given):
//      reference/<out>x<in>     the old row loop (OpenMP over rows, as it was)
//      output_error/<out>x<in>  the tiled dgemm version
//      dgemm/<out>x<in>         one dgemm of the same (out × in)·(in × in) product: the BLAS rate
//                               bound (output_error = this + the D and Σ D∘P passes)
//   Shapes: SmolLM2-135M's q/o (576×576), gate/up (1536×576) and down (576×1536) projections, and
//   2048×2048 (the reference loop takes about a minute per call at 4096×4096).
//
// Usage: build/bench/bench_output_error [Google Benchmark flags, e.g. --benchmark_format=json]
#include <benchmark/benchmark.h>
#include <cblas.h>
#include <omp.h>

#include <cmath>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "bench_util.hpp"
#include "lowbit/compress/quant.hpp"

using namespace lowbit;

namespace {

// Two f64 evaluations of one quadratic form in different summation orders agree to ~sqrt(n)·eps.
constexpr double kRel = 1e-10;

// The pre-2026-12-03 implementation, unchanged.
double reference_output_error(const Tensor& w, const Tensor& w_hat, const std::vector<double>& H) {
  const int64_t out = w.dim(0), in = w.dim(1);
  double total = 0;
#pragma omp parallel for reduction(+ : total) schedule(static)
  for (int64_t o = 0; o < out; ++o) {
    std::vector<double> d(static_cast<size_t>(in));
    for (int64_t j = 0; j < in; ++j) d[size_t(j)] = double(w.row(o)[j]) - double(w_hat.row(o)[j]);
    double acc = 0;
    for (int64_t a = 0; a < in; ++a) {
      if (d[size_t(a)] == 0.0) continue;
      const double* h = &H[size_t(a * in)];
      double s = 0;
      for (int64_t b = 0; b < in; ++b) s += h[b] * d[size_t(b)];
      acc += d[size_t(a)] * s;
    }
    total += acc;
  }
  return total;
}

struct Case {
  int64_t out, in;
  Tensor w, w_hat;
  std::vector<double> H;
  std::string name() const { return std::to_string(out) + "x" + std::to_string(in); }
};

Case make_case(int64_t out, int64_t in) {
  Case c{out, in, bench::random_weights(out, in, 1), {}, {}};
  c.w_hat = c.w;
  std::mt19937_64 rng(2);
  std::normal_distribution<float> nd(0.f, 0.002f);
  for (auto& v : c.w_hat.data) v += nd(rng);
  // H = XᵀX of 64 random tokens plus a ridge: symmetric positive definite, like a calibration Hessian.
  const int64_t T = 64;
  std::vector<double> x(size_t(T * in));
  std::normal_distribution<double> xd;
  for (auto& v : x) v = xd(rng);
  c.H.assign(size_t(in * in), 0.0);
  cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, int(in), int(in), int(T), 1.0, x.data(), int(in), x.data(),
              int(in), 0.0, c.H.data(), int(in));
  for (int64_t i = 0; i < in; ++i) c.H[size_t(i * in + i)] += 1e-2;
  return c;
}

std::vector<Case>& cases() {
  static std::vector<Case> cs = [] {
    std::vector<Case> v;
    for (auto [o, i] : {std::pair<int64_t, int64_t>{576, 576}, {1536, 576}, {576, 1536}, {2048, 2048}})
      v.push_back(make_case(o, i));
    return v;
  }();
  return cs;
}

void bench_reference(benchmark::State& st, const Case* c) {
  for (auto _ : st) benchmark::DoNotOptimize(reference_output_error(c->w, c->w_hat, c->H));
}
void bench_new(benchmark::State& st, const Case* c) {
  for (auto _ : st) benchmark::DoNotOptimize(output_error(c->w, c->w_hat, c->H));
}
void bench_dgemm(benchmark::State& st, const Case* c) {
  std::vector<double> d(size_t(c->out * c->in), 1.0), p(d.size());
  for (auto _ : st) {
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, int(c->out), int(c->in), int(c->in), 1.0, d.data(),
                int(c->in), c->H.data(), int(c->in), 0.0, p.data(), int(c->in));
    benchmark::DoNotOptimize(p.data());
  }
  st.counters["GFLOP/s"] =
      benchmark::Counter(2.0 * double(c->out) * double(c->in) * double(c->in), benchmark::Counter::kIsIterationInvariantRate,
                         benchmark::Counter::kIs1000);
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::AddCustomContext("omp_max_threads", std::to_string(omp_get_max_threads()));
  benchmark::AddCustomContext("openblas_config", openblas_get_config());
  bool ok = true;
  for (const Case& c : cases()) {
    const double want = reference_output_error(c.w, c.w_hat, c.H), got = output_error(c.w, c.w_hat, c.H);
    const bool good = std::isfinite(got) && std::fabs(got - want) <= kRel * std::fabs(want);
    std::fprintf(stderr, "check %s: reference %.17g, output_error %.17g, rel %.2e: %s\n", c.name().c_str(), want, got,
                 std::fabs(got - want) / std::fabs(want), good ? "ok" : "FAILED");
    ok &= good;
  }
  if (!ok) {
    std::fprintf(stderr, "bench_output_error: correctness check failed; not timing anything.\n");
    return 1;
  }
  for (const Case& c : cases()) {
    benchmark::RegisterBenchmark(("reference/" + c.name()).c_str(), bench_reference, &c)->UseRealTime()->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark(("output_error/" + c.name()).c_str(), bench_new, &c)->UseRealTime()->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark(("dgemm/" + c.name()).c_str(), bench_dgemm, &c)->UseRealTime()->Unit(benchmark::kMillisecond);
  }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
