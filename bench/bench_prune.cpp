// bench/bench_prune.cpp — pruning cost (results: docs/BENCHMARKS.md, "Pruning").
//
// Requirements measured:
//   * Haar subband pruning (one level, 50%) of a 4096×4096 f32 matrix: time, and GB/s of f32
//     weights as a ratio to memcpy of the same bytes in the same run (target >= 0.25).
//   * The time of every method on the same matrix, as a ratio to Haar's: magnitude, Wanda and
//     SparseGPT (Wanda/SparseGPT with the same calibration: Σxᵀx of 2048 rows of synthetic
//     activations), at 50% unstructured (per output row) and 2:4.
//
// Order of work (bench::Harness in bench/bench_util.hpp runs the checks, times the cases and reports
// GB/s, the ratio to memcpy and JSON; SparseGPT is a one-run Google Benchmark of its own):
//   1. Correctness, before any timing (any failure: exit code 1, nothing timed), on the 4096×4096
//      matrix itself: every Haar subband (one and two levels) and the global variant prune exactly
//      ⌊s·size⌋ coefficients (SubbandStat and the zeros of C), ŵ is finite; the sparse inference
//      path Hₘᵀ·C·(Hₙ·x) equals ŵ·x (relative error < 1e-5); magnitude and Wanda zero exactly
//      ⌊s·in⌋ weights in every row (50%) and N in every M-block (2:4); the one-level transforms give
//      W back (max |inverse(forward(W)) − W| ≤ 1e-6 · max |W|).
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
  std::map<std::string, double> seconds;  // SparseGPT: seconds of its one run
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

// `into`: the result of prune_haar_into (the API the haar_into cases time), else of prune_haar.
std::string check_haar(const PruneSpec& s, bool into, const std::string& name) {
  PruneResult r;
  if (into) prune_haar_into(g.W, s, r);
  else r = prune_haar(g.W, s);
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
               name.c_str(), bands.size(), (long long)r.pruned, (long long)r.total,
               s.haar_global ? " (one global group)" : " (each subband exactly floor(s*size))", rel, ok ? "ok" : "FAIL");
  return ok ? "" : "pruned counts, finiteness or the sparse path wrong (line above)";
}

// The one-level transforms: the inverse of the forward gives W back to f32 rounding (the butterflies
// round a few times per element; a wrong index or sign moves elements by O(|w|)).
constexpr double kRoundTripRel = 1e-6;
std::string check_transforms() {
  Tensor c({kDim, kDim}), back({kDim, kDim});
  haar_forward_2d(g.W.ptr(), c.ptr(), kDim, kDim, 1);
  haar_inverse_2d(c.ptr(), back.ptr(), kDim, kDim, 1);
  double md = 0, mw = 0;
  for (size_t i = 0; i < back.data.size(); ++i) {
    md = std::max(md, double(std::fabs(back.data[i] - g.W.data[i])));
    mw = std::max(mw, double(std::fabs(g.W.data[i])));
  }
  std::fprintf(stderr, "check haar transforms L1: max |inverse(forward(W)) - W| = %.2e of max |W| %.3g\n", md, mw);
  return md <= kRoundTripRel * mw ? "" : "the inverse transform does not give W back";
}

bool check_rowwise(const PruneResult& r, const PruneSpec& s, const std::string& name) {
  bool ok = true;
  for (int64_t row = 0; row < kDim && ok; ++row) {
    if (s.m > 0) {
      for (int64_t b = 0; b < kDim / s.m; ++b) ok &= zeros_in(r.w_hat.row(row) + b * s.m, s.m) == s.n;
    } else {
      ok &= zeros_in(r.w_hat.row(row), kDim) == floor_count(s.sparsity, kDim);
    }
  }
  for (float v : r.w_hat.data) ok &= std::isfinite(v);
  std::fprintf(stderr, "check %-22s %s: %s\n", name.c_str(),
               s.m > 0 ? "exactly N zeros in every N:M block of every row" : "exactly floor(s*in) zeros in every row",
               ok ? "ok" : "FAIL");
  return ok;
}

// ---- benchmarks ----
// into == false: prune_haar as the API is used (a fresh result per call); into == true:
// prune_haar_into one result reused call after call (the layer-wise driver's steady state).
bench::Case haar_case(PruneSpec s, bool into, std::string name, double target = 0) {
  auto r = std::make_shared<PruneResult>();
  bench::Case c;
  c.name = name;
  c.bytes = double(kMatrixBytes);
  c.target = target;
  c.check = [s, into, name] { return check_haar(s, into, name); };
  c.call = [s, into, r] {
    if (into) {
      prune_haar_into(g.W, s, *r);
      benchmark::DoNotOptimize(r->w_hat.ptr());
    } else {
      PruneResult fresh = prune_haar(g.W, s);
      benchmark::DoNotOptimize(fresh.w_hat.ptr());
      benchmark::DoNotOptimize(fresh.coeffs.ptr());
    }
  };
  return c;
}

// One transform alone (one level, into a pre-touched buffer).
bench::Case transform_case(bool forward) {
  auto c = std::make_shared<Tensor>(std::vector<int64_t>{kDim, kDim});
  auto back = std::make_shared<Tensor>(std::vector<int64_t>{kDim, kDim});
  bench::Case k;
  k.name = forward ? "haar_forward/L1" : "haar_inverse/L1";
  k.bytes = double(kMatrixBytes);
  k.check = check_transforms;
  k.setup = [c, back] { haar_forward_2d(g.W.ptr(), c->ptr(), kDim, kDim, 1); };
  k.call = [forward, c, back] {
    if (forward) haar_forward_2d(g.W.ptr(), c->ptr(), kDim, kDim, 1);
    else haar_inverse_2d(c->ptr(), back->ptr(), kDim, kDim, 1);
  };
  return k;
}

// magnitude / Wanda per call, with glibc malloc told to keep freed memory during the timed loop, so
// their 64 MiB results reuse the previous call's pages (no faults).
bench::Case scored_case(std::string method, PruneSpec s) {
  auto run = [method, s] { return method == "magnitude" ? prune_magnitude(g.W, s) : prune_wanda(g.W, g.st, s); };
  bench::Case c;
  c.name = method + "/" + s.str();
  c.bytes = double(kMatrixBytes);
  c.check = [run, s, name = c.name] { return check_rowwise(run(), s, name) ? "" : "zeros per row or block wrong"; };
  c.setup = [] { keep_freed_memory(true); };
  c.teardown = [] { keep_freed_memory(false); };
  c.call = [run] {
    PruneResult r = run();
    benchmark::DoNotOptimize(r.w_hat.ptr());
  };
  return c;
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

// The harness's table, then every case's time as a ratio to haar_into/s0.50 and SparseGPT's seconds.
void print_summary(const bench::Harness& h, const std::vector<std::string>& names) {
  h.print_summary();
  std::fprintf(stderr,
               "  4096x4096 f32 (OMP threads %d, OpenBLAS threads %d); calibration Σxᵀx of %lld rows: %.2f s, not in "
               "any method's time\n",
               omp_get_max_threads(), openblas_get_num_threads(), (long long)kCalibRows, g.calib_seconds);
  const bench::Measured* ref = h.measured("haar_into/s0.50");
  if (!ref) return;
  for (const std::string& n : names)
    if (const bench::Measured* m = h.measured(n))
      std::fprintf(stderr, "  %-34s %9.2fx the time of haar_into/s0.50\n", n.c_str(), m->seconds_per_call / ref->seconds_per_call);
  for (const auto& [n, secs] : g.seconds)
    std::fprintf(stderr, "  %-34s %9.2f s, %.2fx the time of haar_into/s0.50\n", n.c_str(), secs, secs / ref->seconds_per_call);
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
  benchmark::AddCustomContext("calibration", "Sigma x^T x of 2048 rows x 4096 synthetic activations");

  // memcpy is run twice (before and after the Haar cases); the baseline is the faster of the two.
  bench::Harness h("bench_prune", "GB/s = 4096*4096*4 bytes of f32 weights per call (counted once) / wall s / 1e9");
  h.add_memcpy("memcpy/64MiB", kMatrixBytes);
  h.add(haar_case(spec_ratio(0.5), false, "haar/s0.50"));
  h.add(haar_case(spec_ratio(0.5), true, "haar_into/s0.50", 0.25));
  h.add(haar_case(spec_ratio(0.5, 2), true, "haar_into/s0.50_L2"));
  h.add(haar_case(spec_ratio(0.5, 1, true), true, "haar_into/s0.50_global"));
  h.add_memcpy("memcpy/64MiB_again", kMatrixBytes);
  h.add(transform_case(true));
  h.add(transform_case(false));
  std::vector<std::string> names = {"haar/s0.50", "haar_into/s0.50_L2", "haar_into/s0.50_global", "haar_forward/L1",
                                    "haar_inverse/L1"};
  for (const PruneSpec& s : {spec_ratio(0.5), spec_nm(2, 4)})
    for (const char* m : {"magnitude", "wanda"}) {
      h.add(scored_case(m, s));
      names.push_back(std::string(m) + "/" + s.str());
    }
  if (!h.check()) return 1;
  h.register_cases();
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
  print_summary(h, names);
  return g.sparsegpt_ok ? 0 : 1;
}
