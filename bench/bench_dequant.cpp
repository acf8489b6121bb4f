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
// Timing, checks first, GB/s, ratio and JSON: bench::Harness (bench/bench_util.hpp).
// Usage: build/bench/bench_dequant [Google Benchmark flags, e.g. --benchmark_format=json]
#include <benchmark/benchmark.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "bench_util.hpp"
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

// Every output element finite and, to confirm the timed call does the whole job, equal bit for bit to
// dequantising the same bytes one block at a time.
std::string check(DType t, const std::vector<uint8_t>& in) {
  std::vector<float> whole(static_cast<size_t>(kElems)), per(static_cast<size_t>(kElems));
  dequantize_row(t, in.data(), whole.data(), kElems);
  const int64_t be = dtype_block_elems(t) == 1 ? 256 : dtype_block_elems(t);
  const size_t bb = dtype_nbytes(t, be);
  for (int64_t i = 0; i < kElems / be; ++i) dequantize_row(t, in.data() + size_t(i) * bb, per.data() + i * be, be);
  for (int64_t i = 0; i < kElems; ++i)
    if (!std::isfinite(whole[size_t(i)]) || std::memcmp(&whole[size_t(i)], &per[size_t(i)], 4) != 0) {
      char b[160];
      std::snprintf(b, sizeof b, "element %lld is %g (block-wise %g)", static_cast<long long>(i),
                    double(whole[size_t(i)]), double(per[size_t(i)]));
      return b;
    }
  return "";
}

// dequantize_row of one type into a pre-touched 64 MiB f32 buffer.
bench::Case dequant_case(DType t, uint64_t seed, std::shared_ptr<std::vector<float>> out) {
  auto in = std::make_shared<std::vector<uint8_t>>(make_input(t, seed));
  bench::Case c;
  c.name = std::string("dequant/") + dtype_name(t);
  c.bytes = double(kOutBytes);
  c.counters["input_MiB"] = double(in->size()) / (1 << 20);
  c.check = [t, in] { return check(t, *in); };
  c.call = [t, in, out] {
    dequantize_row(t, in->data(), out->data(), kElems);
    benchmark::DoNotOptimize(out->data());
  };
  return c;
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  bench::Harness h("bench_dequant", "GB/s = 2^24 * 4 bytes of f32 output per call / wall s / 1e9, one thread");
  h.add_memcpy("memcpy/64MiB", kOutBytes);
  auto out = std::make_shared<std::vector<float>>(size_t(kElems), 1.f);
  uint64_t seed = 1;
  for (DType t : kTypes) h.add(dequant_case(t, seed++, out));
  if (!h.check()) return 1;
  h.register_cases();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  h.print_summary();
  return 0;
}
