// bench/bench_quant.cpp — weight quantization cost (results: docs/BENCHMARKS.md, "Quantization").
//
// Requirements measured:
//   * RTN throughput on a 4096×4096 f32 matrix, in GB/s of f32 weights, as a ratio to memcpy of the
//     same bytes measured in the same run (target >= 0.5).
//   * GPTQ time for one 4096×4096 linear layer with a Hessian from 128 × 2048 tokens of synthetic
//     activations, both cores, split into Hessian accumulation, Cholesky and the column sweep.
//
// Order of work:
//   1. Correctness, before any timing (any failure: exit code 1, nothing timed; bench::Harness in
//      bench/bench_util.hpp runs the cases' checks, times them and reports GB/s, the ratio and JSON):
//      - quantize_rtn on the 4096×4096 matrix equals, bit for bit (w_hat, codes, scales, zeros,
//        g_idx), a re-quantization by a plain loop over fit_group_grid / quant_code / dequant_code
//        (reference_rtn below), for every spec benchmarked;
//      - quantize_gptq on a 256×512 layer with correlated inputs: finite, w_hat consistent with its
//        codes, and output error below RTN's;
//      - the 4096×4096 GPTQ result of the benchmark itself: finite and consistent (checked after it
//        ran), and output error <= RTN's on its first 256 rows.
//   2. Benchmarks (wall-clock):
//      memcpy/64MiB          std::memcpy of 64 MiB (= 4096·4096·4 B) between two pre-touched buffers,
//                            one thread: the baseline.
//      memcpy_2threads/64MiB the same split in two halves over OpenMP threads (a stricter baseline
//                            on this 2-core machine; reported, not the target's denominator).
//      rtn/<spec>            quantize_rtn(W 4096×4096) as the API is used: the result (w_hat, codes)
//                            is allocated by the call. With glibc's defaults a 64 MiB block is mmapped
//                            fresh and unmapped on free, so every call page-faults its whole w_hat
//                            (counter page_faults_per_call: 16385), which on this VM costs ~40 ms.
//      rtn_into/<spec>       quantize_rtn_into(W, spec, result) with one result kept across calls:
//                            each call writes into the previous call's pages (0 faults), the steady
//                            state of the driver quantizing layer after layer of one shape.
//      hessian/<N>x2048x4096 LinearStats::add on N chunks of 2048 tokens × 4096 features (default
//                            N = 8 of the 128 chunks: the full Σxᵀx is ≈ 4.4 TFLOP of dsyrk); the time
//                            for 128 chunks is extrapolated linearly (the cost per chunk is constant:
//                            one dsyrk of fixed shape plus the column statistics). Chunk generation is
//                            not timed.
//      gptq/<spec>           quantize_gptq on W 4096×4096 with the Hessian from those N chunks (the
//                            GPTQ cost does not depend on how many tokens built H); one run.
//   3. A summary table on stderr (the harness's: time, GB/s, ratio to the memcpy baseline, target, page
//      faults per call; then the Hessian and GPTQ lines).
//
// Metric: GB/s = (4096·4096·4 bytes of f32 weights per call × calls) / wall seconds / 1e9. The bytes
// are those of the matrix, counted once (not read + write), for memcpy and RTN alike.
//
// Usage: build/bench/bench_quant [--hessian-chunks=N] [--no-act-order] [Google Benchmark flags,
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
#include "lowbit/compress/gptq.hpp"
#include "lowbit/compress/quant.hpp"
#include "lowbit/compress/stats.hpp"
#include "lowbit/core/error.hpp"

namespace {

using namespace lowbit;
using bench::Clock;

constexpr int64_t kDim = 4096;
constexpr int64_t kTokensPerChunk = 2048;
constexpr int kTotalChunks = 128;
constexpr size_t kMatrixBytes = size_t(kDim) * size_t(kDim) * sizeof(float);  // 64 MiB

struct Options {
  int hessian_chunks = 8;
  bool act_order = true;  // also time act_order + static groups
};

using bench::random_weights;
using bench::secs_since;


// Synthetic activations [rows, cols]: a rank-64 shared part plus noise, times log-normal column
// scales (a few large "outlier" features, as in LLM activations). Same generator for every chunk.
struct ActivationGen {
  int64_t cols;
  Tensor A;  // [64, cols]
  std::vector<float> colscale;
  explicit ActivationGen(int64_t c, uint64_t seed) : cols(c), A({64, c}), colscale(static_cast<size_t>(c)) {
    std::mt19937_64 rng(seed);
    std::normal_distribution<float> n(0.f, 1.f / 8.f);
    for (auto& v : A.data) v = n(rng);
    std::normal_distribution<float> ls(0.f, 0.8f);
    for (auto& s : colscale) s = std::exp(ls(rng));
  }
  Tensor chunk(int64_t rows, uint64_t seed) const {
    std::mt19937_64 rng(seed);
    std::normal_distribution<float> n(0.f, 1.f);
    Tensor Z({rows, 64});
    for (auto& v : Z.data) v = n(rng);
    Tensor X({rows, cols});
    for (auto& v : X.data) v = 0.5f * n(rng);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, int(rows), int(cols), 64, 1.f, Z.ptr(), 64, A.ptr(),
                int(cols), 1.f, X.ptr(), int(cols));
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t c = 0; c < cols; ++c) X.row(r)[c] *= colscale[size_t(c)];
    return X;
  }
};

// The plain re-quantization RTN must equal bit for bit.
QuantResult reference_rtn(const Tensor& w, const QuantSpec& s) {
  const int64_t out = w.dim(0), in = w.dim(1), gs = s.group_size(in), ng = in / gs;
  QuantResult r;
  r.spec = s;
  r.n_groups = ng;
  r.w_hat = Tensor({out, in});
  r.scales = Tensor({out, ng});
  r.zeros.assign(size_t(out * ng), 0);
  r.q.assign(size_t(out * in), 0);
  for (int64_t j = 0; j < in; ++j) r.g_idx.push_back(int32_t(j / gs));
  for (int64_t o = 0; o < out; ++o)
    for (int64_t g = 0; g < ng; ++g) {
      float sc;
      int32_t z;
      fit_group_grid(w.row(o) + g * gs, gs, 1, s, sc, z);
      r.scales.data[size_t(o * ng + g)] = sc;
      r.zeros[size_t(o * ng + g)] = z;
      for (int64_t j = g * gs; j < (g + 1) * gs; ++j) {
        const int32_t q = quant_code(w.row(o)[j], sc, z, s.maxq());
        r.q[size_t(o * in + j)] = uint8_t(q);
        r.w_hat.row(o)[j] = dequant_code(q, sc, z);
      }
    }
  return r;
}

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

// w_hat == dequant(q, scale[g_idx], zero[g_idx]) everywhere, and all finite.
bool consistent(const QuantResult& r) {
  const int64_t out = r.w_hat.dim(0), in = r.w_hat.dim(1), ng = r.n_groups;
  int64_t bad = 0;
#pragma omp parallel for reduction(+ : bad)
  for (int64_t o = 0; o < out; ++o)
    for (int64_t j = 0; j < in; ++j) {
      const int64_t g = r.g_idx[size_t(j)];
      const float v = r.w_hat.row(o)[j];
      if (!std::isfinite(v) ||
          v != dequant_code(r.q[size_t(o * in + j)], r.scales.data[size_t(o * ng + g)], r.zeros[size_t(o * ng + g)]))
        ++bad;
    }
  return bad == 0;
}

Tensor first_rows(const Tensor& t, int64_t rows) {
  Tensor r({rows, t.dim(1)});
  std::memcpy(r.ptr(), t.ptr(), size_t(rows * t.dim(1)) * sizeof(float));
  return r;
}

QuantSpec spec(int bits, int group, bool sym) {
  QuantSpec s;
  s.bits = bits;
  s.group = group;
  s.sym = sym;
  return s;
}

// ---- shared state and results ----
struct State {
  Options opt;
  Tensor W;               // 4096×4096 weights
  std::vector<double> H;  // from opt.hessian_chunks chunks
  double hessian_seconds = 0;
  std::vector<QuantSpec> rtn_specs;
  std::map<std::string, QuantResult> refs;  // plain re-quantizations of W, dropped after the checks
  struct Gptq {
    std::string name;
    double total = 0;
    GptqReport rep;
    double err_gptq = 0, err_rtn = 0;
    bool ok = false;
  };
  std::vector<Gptq> gptq;
};
State g;

// ---- benchmarks ----
bool same_result(const QuantResult& a, const QuantResult& b) {
  return same_bits(a.w_hat.data, b.w_hat.data) && a.q == b.q && same_bits(a.scales.data, b.scales.data) &&
         a.zeros == b.zeros && a.g_idx == b.g_idx && a.n_groups == b.n_groups;
}

// The plain re-quantization of W for `s`, computed once for the cases that share it.
const QuantResult& reference_of(const QuantSpec& s) {
  auto it = g.refs.find(s.str());
  return it != g.refs.end() ? it->second : g.refs.emplace(s.str(), reference_rtn(g.W, s)).first->second;
}

// reuse: quantize_rtn_into with one result object kept across calls, so each call writes into the
// previous call's pages: the steady state of the layer-wise driver quantizing layer after layer of
// one shape. Without it (quantize_rtn returning a fresh result), glibc mmaps every block over 32 MiB
// and unmaps it on free, so each call first-touches (page-faults) its whole 80 MB result; on this VM
// that alone costs several times the whole memcpy. Checked: the result of the timed call's API on W
// equals the plain re-quantization bit for bit.
bench::Case rtn_case(QuantSpec s, bool reuse) {
  auto keep = std::make_shared<QuantResult>();
  bench::Case c;
  c.name = (reuse ? "rtn_into/" : "rtn/") + s.str();
  c.bytes = double(kMatrixBytes);
  c.target = 0.5;
  c.check = [s, reuse] {
    QuantResult r;
    if (reuse) quantize_rtn_into(g.W, s, r);
    else r = quantize_rtn(g.W, s);
    return same_result(r, reference_of(s)) ? "" : "differs from the plain re-quantization";
  };
  c.call = [s, reuse, keep] {
    if (reuse) {
      quantize_rtn_into(g.W, s, *keep);
      benchmark::DoNotOptimize(keep->w_hat.ptr());
      benchmark::DoNotOptimize(keep->q.data());
    } else {
      QuantResult r = quantize_rtn(g.W, s);
      benchmark::DoNotOptimize(r.w_hat.ptr());
      benchmark::DoNotOptimize(r.q.data());
    }
  };
  return c;
}

void bench_hessian(benchmark::State& state) {
  const ActivationGen gen(kDim, 4242);
  for (auto _ : state) {
    LinearStats st;
    st.init(kDim, true);
    double timed = 0;
    for (int c = 0; c < g.opt.hessian_chunks; ++c) {
      const Tensor X = gen.chunk(kTokensPerChunk, 1000 + uint64_t(c));  // not timed
      const auto t0 = Clock::now();
      st.add(X);
      timed += secs_since(t0);
    }
    state.SetIterationTime(timed);
    g.hessian_seconds = timed;
    g.H = std::move(st.xtx);
  }
  state.counters["chunks_measured"] = g.opt.hessian_chunks;
  state.counters["seconds_per_chunk"] = g.hessian_seconds / g.opt.hessian_chunks;
  state.counters["seconds_128_chunks_extrapolated"] = g.hessian_seconds / g.opt.hessian_chunks * kTotalChunks;
  const double flop = double(g.opt.hessian_chunks) * kTokensPerChunk * double(kDim) * double(kDim + 1);
  state.counters["dsyrk_GFLOP_per_s"] = flop / g.hessian_seconds / 1e9;
}

void bench_gptq(benchmark::State& state, QuantSpec s, GptqOptions o, std::string name) {
  State::Gptq res;
  res.name = name;
  for (auto _ : state) {
    if (g.H.empty()) {
      state.SkipWithError("no Hessian (the hessian benchmark did not run)");
      return;
    }
    const auto t0 = Clock::now();
    QuantResult r = quantize_gptq(g.W, g.H, s, o, &res.rep);
    res.total = secs_since(t0);
    state.SetIterationTime(res.total);
    // Checks after the timed call: finite, consistent, and not worse than RTN on the first rows.
    res.ok = consistent(r);
    const Tensor w = first_rows(g.W, 256);
    res.err_gptq = output_error(w, first_rows(r.w_hat, 256), g.H);
    res.err_rtn = output_error(w, first_rows(quantize_rtn(g.W, s).w_hat, 256), g.H);
    res.ok = res.ok && std::isfinite(res.err_gptq) && res.err_gptq <= res.err_rtn;
  }
  state.counters["seconds_total"] = res.total;
  state.counters["seconds_cholesky"] = res.rep.seconds_cholesky;
  state.counters["seconds_sweep"] = res.rep.seconds_sweep;
  state.counters["seconds_other"] = res.total - res.rep.seconds_cholesky - res.rep.seconds_sweep;
  state.counters["damp_raises"] = res.rep.damp_raises;
  state.counters["err_ratio_vs_rtn_256rows"] = res.err_gptq / res.err_rtn;
  if (!res.ok) state.SkipWithError("GPTQ result not finite/consistent or worse than RTN");
  g.gptq.push_back(res);
}

// ---- correctness before timing ----
// The other specs on the first 256 rows (the benchmarked specs on all of W are the cases' checks).
bool check_rtn_slice() {
  const Tensor slice = first_rows(g.W, 256);
  int n = 0;
  bool ok = true;
  for (int bits : {2, 3, 4, 8})
    for (int group : {0, 32, 128})
      for (bool sym : {false, true}) {
        const QuantSpec s = spec(bits, group, sym);
        const bool same = same_result(quantize_rtn(slice, s), reference_rtn(slice, s));
        if (!same) std::fprintf(stderr, "check rtn/%-14s 256x4096 equals the plain re-quantization: FAIL\n", s.str().c_str());
        ok &= same;
        ++n;
      }
  std::fprintf(stderr, "check rtn: %d specs on the first 256 rows equal the plain re-quantization: %s\n", n,
               ok ? "ok" : "FAIL");
  return ok;
}

bool check_gptq_small() {
  const int64_t out = 256, in = 512;
  const Tensor W = random_weights(out, in, 77);
  const ActivationGen gen(in, 78);
  LinearStats st;
  st.init(in, true);
  st.add(gen.chunk(2048, 79));
  const QuantSpec s = spec(4, 128, false);
  GptqReport rep;
  const QuantResult r = quantize_gptq(W, st.xtx, s, {}, &rep);
  const double eg = output_error(W, r.w_hat, st.xtx), er = output_error(W, quantize_rtn(W, s).w_hat, st.xtx);
  const bool ok = consistent(r) && std::isfinite(eg) && eg < er;
  std::fprintf(stderr, "check gptq %lldx%lld %s: finite, consistent, output error %.4g < rtn %.4g: %s\n",
               (long long)out, (long long)in, s.str().c_str(), eg, er, ok ? "ok" : "FAIL");
  return ok;
}

Options parse_own_flags(int& argc, char** argv) {
  Options o;
  int w = 1;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a.rfind("--hessian-chunks=", 0) == 0)
      o.hessian_chunks = std::max(1, std::atoi(a.c_str() + 17));
    else if (a == "--no-act-order")
      o.act_order = false;
    else
      argv[w++] = argv[i];
  }
  argc = w;
  return o;
}

void print_summary(const bench::Harness& h) {
  h.print_summary();
  std::fprintf(stderr, "  (OMP threads %d, OpenBLAS threads %d)\n", omp_get_max_threads(), openblas_get_num_threads());
  if (g.hessian_seconds > 0) {
    const double per = g.hessian_seconds / g.opt.hessian_chunks;
    std::fprintf(stderr, "  %-44s %7.2f s  (%d chunks measured, %.3f s/chunk)\n",
                 "Hessian, 128 x 2048 tokens (extrapolated)", per * kTotalChunks, g.opt.hessian_chunks, per);
    for (auto& r : g.gptq) {
      const double hs = per * kTotalChunks;
      const double other = r.total - r.rep.seconds_cholesky - r.rep.seconds_sweep;
      const double all = hs + r.total;
      std::fprintf(stderr, "  %-44s %7.2f s  = Cholesky %.2f + sweep %.2f + other %.2f; err/rtn %.3f%s\n",
                   ("GPTQ " + r.name).c_str(), r.total, r.rep.seconds_cholesky, r.rep.seconds_sweep, other,
                   r.err_gptq / r.err_rtn, r.ok ? "" : "  (CHECK FAILED)");
      std::fprintf(stderr, "  %-44s %7.2f s  (Hessian %.0f%%, Cholesky %.0f%%, sweep %.0f%%, other %.0f%%)\n",
                   ("layer total, " + r.name).c_str(), all, 100 * hs / all, 100 * r.rep.seconds_cholesky / all,
                   100 * r.rep.seconds_sweep / all, 100 * other / all);
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  g.opt = parse_own_flags(argc, argv);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;

  g.W = random_weights(kDim, kDim, 12345);
  g.rtn_specs = {spec(4, 128, false), spec(4, 0, false), spec(3, 128, true)};
  benchmark::AddCustomContext("omp_max_threads", std::to_string(omp_get_max_threads()));
  benchmark::AddCustomContext("openblas_threads", std::to_string(openblas_get_num_threads()));
  benchmark::AddCustomContext("openblas_config", openblas_get_config());
  benchmark::AddCustomContext("hessian_chunks_measured",
                              std::to_string(g.opt.hessian_chunks) + " of 128 x 2048 tokens");

  bench::Harness h("bench_quant", "GB/s = 4096*4096*4 bytes of f32 weights per call (counted once) / wall s / 1e9");
  h.add_memcpy("memcpy/64MiB", kMatrixBytes);
  h.add_memcpy("memcpy_2threads/64MiB", kMatrixBytes, 2);  // a stricter baseline, reported only
  for (bool reuse : {false, true})
    for (const QuantSpec& s : g.rtn_specs) h.add(rtn_case(s, reuse));
  bool ok = true;
  try {
    ok &= check_rtn_slice();
    ok &= check_gptq_small();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_quant: correctness check threw: %s\n", e.what());
    ok = false;
  }
  if (!h.check(ok)) return 1;
  g.refs.clear();
  h.register_cases();
  benchmark::RegisterBenchmark(("hessian/" + std::to_string(g.opt.hessian_chunks) + "x2048x4096").c_str(),
                               bench_hessian)
      ->UseManualTime()
      ->Iterations(1)
      ->Unit(benchmark::kSecond);
  {
    GptqOptions o;
    benchmark::RegisterBenchmark("gptq/4096x4096/w4g128asym", bench_gptq, spec(4, 128, false), o, "w4g128asym")
        ->UseManualTime()
        ->Iterations(1)
        ->Unit(benchmark::kSecond);
    if (g.opt.act_order) {
      o.act_order = true;
      o.static_groups = true;
      benchmark::RegisterBenchmark("gptq/4096x4096/w4g128asym_act_order_static", bench_gptq, spec(4, 128, false), o,
                                   "w4g128asym act_order+static")
          ->UseManualTime()
          ->Iterations(1)
          ->Unit(benchmark::kSecond);
    }
  }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  print_summary(h);
  for (auto& r : g.gptq)
    if (!r.ok) return 1;
  return 0;
}
