// bench/bench_train.cpp — training throughput of lowbit's CPU trainer for the testbed family's
// shapes (one optimizer step: forward, backward, clipping, AdamW), in tokens/s and achieved
// GFLOP/s, as a fraction of OpenBLAS SGEMM peak measured in the same run.
//   FLOPs of a step = train_flops_per_token(cfg, T) · B · T
//                   = [6·(N_non-embedding + V·D) + 6·L·T·D] · B · T   (see train/trainer.hpp)
//   SGEMM peak      = 2·n³ / time for n = 1024 (C = A·B, f32), same threads as the trainer.
// Checks first: the step's loss is finite and near log(V) at init, and the gradient is non-zero.
// Run: build/bench/bench_train [--benchmark_format=json]; numbers in docs/TESTBED.md.
#include <benchmark/benchmark.h>
#include <cblas.h>
#include <omp.h>

#include <cmath>
#include <cstdio>
#include <memory>
#include <random>

#include "bench_util.hpp"
#include "lowbit/train/trainer.hpp"

using namespace lowbit;
using namespace lowbit::bench;

namespace {

constexpr int kVocab = 475;  // the testbed corpus's vocabulary (jobs/testbed_family.yaml)
constexpr int kSeq = 64, kBatch = 16;

struct Shape {
  const char* name;
  int dim, layers, heads, hidden;
};
constexpr Shape kShapes[] = {{"xs", 32, 2, 2, 96},
                             {"s", 48, 2, 3, 128},
                             {"m", 64, 3, 4, 176},
                             {"l", 96, 3, 4, 256},
                             {"xl", 128, 3, 4, 344}};

double sgemm_gflops(int n, int reps) {
  std::vector<float> a(size_t(n) * n), b(a.size()), c(a.size());
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  for (auto& v : a) v = u(rng);
  for (auto& v : b) v = u(rng);
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.f, a.data(), n, b.data(), n, 0.f, c.data(), n);
  double best = 1e30;
  for (int r = 0; r < reps; ++r) {
    const auto t0 = Clock::now();
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.f, a.data(), n, b.data(), n, 0.f, c.data(),
                n);
    best = std::min(best, secs_since(t0));
  }
  return 2.0 * double(n) * n * n / best * 1e-9;
}

// Peak once per process (best of 5), so every benchmark's ratio uses the same number.
double sgemm_peak() {
  static const double peak = sgemm_gflops(1024, 5);
  return peak;
}

void BM_SgemmPeak(benchmark::State& st) {
  const int n = int(st.range(0));
  for (auto _ : st) benchmark::DoNotOptimize(sgemm_gflops(n, 1));
  st.counters["GFLOP/s"] = sgemm_gflops(n, 3);
  st.counters["threads"] = omp_get_max_threads();
}

void BM_TrainStep(benchmark::State& st) {
  const Shape& s = kShapes[st.range(0)];
  const DecoderConfig c = train::llama_train_config(s.dim, s.hidden, s.layers, s.heads, kVocab, kSeq);
  auto stream = std::make_shared<std::vector<int>>();
  std::mt19937_64 rng(2);
  for (int i = 0; i < 200000; ++i) stream->push_back(int(rng() % kVocab));
  train::TrainOptions o;
  o.seq_len = kSeq;
  o.batch = kBatch;
  o.steps = 1000000;
  o.warmup = 10;
  train::Trainer tr(c, o, stream);
  const double first = tr.step();  // correctness before timing
  if (!std::isfinite(first) || std::abs(first - std::log(double(kVocab))) > 0.5) {
    st.SkipWithError("initial loss is not ~log(V)");
    return;
  }
  const auto p0 = tr.params();
  tr.step();
  if (tr.params() == p0) {
    st.SkipWithError("a step did not change the parameters");
    return;
  }
  for (auto _ : st) tr.step();
  const double tokens = double(kBatch) * kSeq;
  const double flops = train::train_flops_per_token(c, kSeq) * tokens;
  st.counters["tokens/s"] = benchmark::Counter(tokens, benchmark::Counter::kIsIterationInvariantRate);
  st.counters["GFLOP/s"] = benchmark::Counter(flops * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
  st.counters["N_nonemb"] = double(c.non_embedding_params());
  st.counters["sgemm_peak"] = sgemm_peak();
  st.counters["threads"] = omp_get_max_threads();
  st.SetLabel(s.name);
}

}  // namespace

BENCHMARK(BM_SgemmPeak)->Arg(1024)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_TrainStep)->DenseRange(0, 4)->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(2.0);

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  std::fprintf(stderr, "sgemm peak (n=1024, %d threads): %.1f GFLOP/s\n", omp_get_max_threads(), sgemm_peak());
  benchmark::RunSpecifiedBenchmarks();
  // The fraction of peak, per shape, is GFLOP/s / sgemm_peak from the JSON or console output.
  benchmark::Shutdown();
  return 0;
}
