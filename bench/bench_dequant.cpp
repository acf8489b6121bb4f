// bench/bench_dequant.cpp — dequantisation throughput of the llama.cpp tensor types (results:
// docs/BENCHMARKS.md, "Dequantisation").
//
// What is measured: dequantize_row (core/ggml_blocks.cpp, the ggml-exact scalar code that
// TensorRef::to_f32 runs when a GGUF block is materialised) over 2^24 elements of each type into a
// pre-touched 64 MiB f32 buffer, one thread; and, in the same run, std::memcpy of the same 64 MiB
// of f32 output between two pre-touched buffers: the baseline. Metric: GB/s of f32 output
// (2^24 · 4 bytes per call / wall seconds / 1e9) and the ratio to memcpy's GB/s.
//
// Inputs: random block bytes with finite f16 scales (|d| ~ N(0, 0.05)), the same construction as
// tests/data/gguf_ref.py; F32/F16/BF16 random finite values. Before timing, every type's output is
// checked to be finite and — to confirm the timed call does the whole job — equal, bit for bit, to
// dequantising the same bytes one block at a time (exit code 1 and nothing timed otherwise).
//
// Usage: build/bench/bench_dequant [Google Benchmark flags, e.g. --benchmark_format=json]
#include <benchmark/benchmark.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "lowbit/core/dtype.hpp"
#include "lowbit/core/ggml_blocks.hpp"

namespace {

using namespace lowbit;

constexpr int64_t kElems = int64_t(1) << 24;  // 16 Mi elements = 64 MiB of f32 output
constexpr size_t kOutBytes = size_t(kElems) * 4;

const DType kTypes[] = {DType::F32,  DType::F16,  DType::BF16, DType::Q4_0, DType::Q4_1,
                        DType::Q5_0, DType::Q5_1, DType::Q8_0, DType::Q2_K, DType::Q3_K,
                        DType::Q4_K, DType::Q5_K, DType::Q6_K};

// Byte offsets of the f16 scale fields in one block (ggml-common.h).
std::vector<size_t> f16_fields(DType t) {
  switch (t) {
    case DType::Q4_0: case DType::Q5_0: case DType::Q8_0: return {0};
    case DType::Q4_1: case DType::Q5_1: case DType::Q4_K: case DType::Q5_K: return {0, 2};
    case DType::Q2_K: return {80, 82};
    case DType::Q3_K: return {108};
    case DType::Q6_K: return {208};
    default: return {};
  }
}

std::vector<uint8_t> make_input(DType t, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> nd(0.f, 1.f);
  std::vector<uint8_t> b(dtype_nbytes(t, kElems));
  if (t == DType::F32) {
    for (int64_t i = 0; i < kElems; ++i) {
      const float v = nd(rng);
      std::memcpy(b.data() + 4 * i, &v, 4);
    }
    return b;
  }
  if (t == DType::F16 || t == DType::BF16) {
    for (int64_t i = 0; i < kElems; ++i) {
      const float v = nd(rng);
      const uint16_t h = t == DType::F16 ? f32_to_f16(v) : f32_to_bf16(v);
      std::memcpy(b.data() + 2 * i, &h, 2);
    }
    return b;
  }
  for (auto& x : b) x = uint8_t(rng());
  const size_t bb = dtype_block_bytes(t);
  for (size_t blk = 0; blk < b.size() / bb; ++blk)
    for (size_t off : f16_fields(t)) {
      const uint16_t h = f32_to_f16(nd(rng) * 0.05f);
      std::memcpy(b.data() + blk * bb + off, &h, 2);
    }
  return b;
}

struct State {
  std::map<DType, std::vector<uint8_t>> in;
  std::vector<float> out, src;
  std::map<std::string, double> gbps;
} g;

void touch(std::vector<float>& v) {
  v.assign(size_t(kElems), 1.f);
}

bool check() {
  std::vector<float> whole(static_cast<size_t>(kElems)), per(static_cast<size_t>(kElems));
  for (DType t : kTypes) {
    const auto& in = g.in[t];
    dequantize_row(t, in.data(), whole.data(), kElems);
    const int64_t be = dtype_block_elems(t) == 1 ? 256 : dtype_block_elems(t);
    const size_t bb = dtype_nbytes(t, be);
    for (int64_t i = 0; i < kElems / be; ++i) dequantize_row(t, in.data() + size_t(i) * bb, per.data() + i * be, be);
    for (int64_t i = 0; i < kElems; ++i) {
      if (!std::isfinite(whole[size_t(i)]) || std::memcmp(&whole[size_t(i)], &per[size_t(i)], 4) != 0) {
        std::fprintf(stderr, "bench_dequant: %s: element %lld is %g (block-wise %g)\n", dtype_name(t),
                     static_cast<long long>(i), double(whole[size_t(i)]), double(per[size_t(i)]));
        return false;
      }
    }
  }
  return true;
}

void bench_memcpy(benchmark::State& st) {
  for (auto _ : st) {
    std::memcpy(g.out.data(), g.src.data(), kOutBytes);
    benchmark::DoNotOptimize(g.out.data());
    benchmark::ClobberMemory();
  }
  st.SetBytesProcessed(int64_t(st.iterations()) * int64_t(kOutBytes));
}

void bench_dequant(benchmark::State& st, DType t) {
  const auto& in = g.in[t];
  for (auto _ : st) {
    dequantize_row(t, in.data(), g.out.data(), kElems);
    benchmark::DoNotOptimize(g.out.data());
    benchmark::ClobberMemory();
  }
  st.SetBytesProcessed(int64_t(st.iterations()) * int64_t(kOutBytes));
  st.counters["input_MiB"] = double(in.size()) / (1 << 20);
}

// Collects GB/s per benchmark for the summary.
class Summary : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    for (const auto& r : runs) {
      if (r.run_type != Run::RT_Iteration || r.error_occurred) continue;
      const double secs = r.real_accumulated_time / double(r.iterations);
      g.gbps[r.benchmark_name()] = double(kOutBytes) / secs / 1e9;
    }
    ConsoleReporter::ReportRuns(runs);
  }
};

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  uint64_t seed = 1;
  for (DType t : kTypes) g.in[t] = make_input(t, seed++);
  touch(g.out);
  touch(g.src);
  if (!check()) {
    std::fprintf(stderr, "bench_dequant: correctness checks failed; not timing anything.\n");
    return 1;
  }
  benchmark::AddCustomContext("metric", "GB/s = 2^24 * 4 bytes of f32 output per call / wall s / 1e9, one thread");
  benchmark::RegisterBenchmark("memcpy/64MiB", bench_memcpy)->UseRealTime()->Unit(benchmark::kMillisecond);
  for (DType t : kTypes)
    benchmark::RegisterBenchmark((std::string("dequant/") + dtype_name(t)).c_str(), bench_dequant, t)
        ->UseRealTime()
        ->Unit(benchmark::kMillisecond);
  Summary rep;
  benchmark::RunSpecifiedBenchmarks(&rep);
  benchmark::Shutdown();
  const double base = g.gbps.count("memcpy/64MiB/real_time") ? g.gbps["memcpy/64MiB/real_time"] : 0;
  std::fprintf(stderr, "\n%-22s %10s %10s\n", "benchmark", "GB/s out", "x memcpy");
  for (const auto& [name, v] : g.gbps)
    std::fprintf(stderr, "%-22s %10.2f %10.2f\n", name.c_str(), v, base > 0 ? v / base : 0.0);
  return 0;
}
