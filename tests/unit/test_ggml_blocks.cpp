// tests/unit/test_ggml_blocks.cpp — llama.cpp block types: sizes, hand-computed blocks, and
// bit-exact dequantisation against gguf-py on synthetic files of every supported type.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <nlohmann/json.hpp>

#include "lowbit/core/dtype.hpp"
#include "lowbit/core/error.hpp"
#include "lowbit/core/ggml_blocks.hpp"
#include "lowbit/io/gguf.hpp"
#include "test_gguf_util.hpp"

namespace lowbit {
namespace {

using json = nlohmann::json;

uint16_t h(float f) { return f32_to_f16(f); }
void put16(std::vector<uint8_t>& b, size_t at, uint16_t v) { std::memcpy(b.data() + at, &v, 2); }

TEST(GgmlBlocks, SizesAndNames) {
  EXPECT_TRUE(dtype_is_block(DType::Q4_K));
  EXPECT_FALSE(dtype_is_block(DType::F16));
  EXPECT_EQ(dtype_block_elems(DType::Q4_0), 32);
  EXPECT_EQ(dtype_block_elems(DType::Q6_K), 256);
  EXPECT_EQ(dtype_block_elems(DType::F32), 1);
  EXPECT_EQ(dtype_block_bytes(DType::F16), 2u);
  EXPECT_EQ(dtype_nbytes(DType::Q4_1, 64), 40u);
  EXPECT_EQ(dtype_nbytes(DType::BF16, 3), 6u);
  EXPECT_THROW(dtype_size(DType::Q8_0), InternalError);
  EXPECT_THROW(dtype_nbytes(DType::Q8_0, 33), InternalError);
  EXPECT_TRUE(dtype_is_float(DType::Q3_K)) << "block types materialise to f32 weights";
  EXPECT_STREQ(dtype_name(DType::Q5_K), "Q5_K");
  EXPECT_EQ(ggml_type_name(39), "MXFP4");
  EXPECT_EQ(ggml_type_name(4), "type 4");  // removed from ggml
  EXPECT_FALSE(ggml_type_known(4));
  EXPECT_FALSE(dtype_from_ggml(39).has_value());
  EXPECT_FALSE(dtype_from_ggml(16).has_value());  // IQ2_XXS
  EXPECT_EQ(dtype_from_ggml(12), DType::Q4_K);
  for (uint32_t id = 0; id < 64; ++id) {
    if (auto d = dtype_from_ggml(id)) {
      EXPECT_EQ(ggml_from_dtype(*d), id);
      auto b = ggml_type_block(id);
      ASSERT_TRUE(b.has_value());
      EXPECT_EQ(b->elems, dtype_block_elems(*d)) << id;
      EXPECT_EQ(b->bytes, dtype_block_bytes(*d)) << id;
    }
  }
}

// Empty tensors (found by fuzz_gguf: memcpy to a null destination was undefined behaviour).
TEST(GgmlBlocks, EmptyTensors) {
  for (DType t : {DType::F32, DType::F16, DType::Q4_0, DType::Q6_K}) {
    dequantize_row(t, nullptr, nullptr, 0);
    TensorRef r;
    r.dtype = t;
    r.shape = {0, dtype_block_elems(t)};
    EXPECT_EQ(r.to_f32().numel(), 0);
  }
}

// Blocks written by hand from the documented layout, values worked out by hand (exact in f32).
TEST(GgmlBlocks, HandBuiltLegacyBlocks) {
  {  // Q8_0: d = 0.5, q = j - 16
    std::vector<uint8_t> b(34);
    put16(b, 0, h(0.5f));
    for (int j = 0; j < 32; ++j) b[2 + j] = uint8_t(int8_t(j - 16));
    float y[32];
    dequantize_row(DType::Q8_0, b.data(), y, 32);
    for (int j = 0; j < 32; ++j) EXPECT_EQ(y[j], 0.5f * float(j - 16)) << j;
  }
  {  // Q4_0: d = 2, byte j = low nibble j%16, high nibble 15 - j%16 -> y[j] = 2*(lo-8), y[j+16] = 2*(hi-8)
    std::vector<uint8_t> b(18);
    put16(b, 0, h(2.f));
    for (int j = 0; j < 16; ++j) b[2 + j] = uint8_t(j | ((15 - j) << 4));
    float y[32];
    dequantize_row(DType::Q4_0, b.data(), y, 32);
    for (int j = 0; j < 16; ++j) {
      EXPECT_EQ(y[j], 2.f * float(j - 8));
      EXPECT_EQ(y[j + 16], 2.f * float(7 - j));
    }
  }
  {  // Q4_1: d = 0.25, m = -1 -> q*0.25 - 1
    std::vector<uint8_t> b(20);
    put16(b, 0, h(0.25f));
    put16(b, 2, h(-1.f));
    for (int j = 0; j < 16; ++j) b[4 + j] = uint8_t(j | (j << 4));
    float y[32];
    dequantize_row(DType::Q4_1, b.data(), y, 32);
    for (int j = 0; j < 16; ++j) {
      EXPECT_EQ(y[j], 0.25f * float(j) - 1.f);
      EXPECT_EQ(y[j + 16], 0.25f * float(j) - 1.f);
    }
  }
  {  // Q5_0: all 5th bits set for elements 0 and 31 only; nibbles 0 -> (16-16)*d = 0, others -16*d
    std::vector<uint8_t> b(22);
    put16(b, 0, h(1.f));
    const uint32_t qh = 1u | (1u << 31);
    std::memcpy(b.data() + 2, &qh, 4);
    float y[32];
    dequantize_row(DType::Q5_0, b.data(), y, 32);
    for (int j = 0; j < 32; ++j) EXPECT_EQ(y[j], (j == 0 || j == 31) ? 0.f : -16.f) << j;
  }
}

TEST(GgmlBlocks, HandBuiltQ4K) {
  // Q4_K, d = 1, dmin = 0.5, group g (0..7) has scale g+1 and min 2g; every nibble = 3.
  std::vector<uint8_t> b(144, 0);
  put16(b, 0, h(1.f));
  put16(b, 2, h(0.5f));
  uint8_t* sc = b.data() + 4;
  for (int g = 0; g < 8; ++g) {
    const int s = g + 1, m = 2 * g;
    if (g < 4) {
      sc[g] = uint8_t(s);
      sc[g + 4] = uint8_t(m);
    } else {  // low 4 bits in byte g+4, high 2 bits in the top of bytes g-4 (scale) and g (min)
      sc[g + 4] = uint8_t((s & 0xF) | ((m & 0xF) << 4));
      sc[g - 4] |= uint8_t((s >> 4) << 6);
      sc[g] |= uint8_t((m >> 4) << 6);
    }
  }
  std::memset(b.data() + 16, 0x33, 128);
  float y[256];
  dequantize_row(DType::Q4_K, b.data(), y, 256);
  for (int i = 0; i < 256; ++i) {
    const int g = i / 32;
    EXPECT_EQ(y[i], float(g + 1) * 3.f - 0.5f * float(2 * g)) << i;
  }
}

// Every tensor of gguf-py's synthetic files (tests/data/gguf_ref.py): lowbit's f32 values have the
// same bits as gguf.quants.dequantize's.
TEST(GgmlBlocks, BitExactVsGgufPy) {
  test::require_venv();
  const std::string dir = test::gguf_synth_dir();
  ASSERT_FALSE(dir.empty());
  const json e = json::parse(read_file(dir + "/expect.json"));
  std::map<std::string, int> checked;
  for (const std::string fname : {"synth.gguf", "aligned64.gguf", "synth_v2.gguf"}) {
    auto f = read_gguf(dir + "/" + fname);
    for (const auto& te : e["files"][fname]["tensors"]) {
      const std::string name = te["name"];
      const GgufTensorInfo* ti = f->find_tensor(name);
      ASSERT_NE(ti, nullptr) << name;
      if (!dtype_from_ggml(ti->ggml_type)) continue;  // MXFP4, TQ2_0: GgufSynth.UnsupportedTypes
      const Tensor t = f->tensor_ref(*ti).to_f32(/*check_finite=*/false);
      const std::vector<float> ref = test::read_f32_file(dir + "/" + te["ref"].get<std::string>());
      ASSERT_EQ(size_t(t.numel()), ref.size()) << name;
      size_t bad = 0, first = 0;
      for (size_t i = 0; i < ref.size(); ++i) {
        if (std::memcmp(&ref[i], &t.data[i], 4) != 0 && bad++ == 0) first = i;
      }
      EXPECT_EQ(bad, 0u) << fname << " " << name << ": first differing element " << first << ": lowbit "
                         << t.data[first] << " gguf-py " << ref[first];
      ++checked[te["type_name"].get<std::string>()];
    }
  }
  for (const char* ty : {"F32", "F16", "BF16", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0", "Q2_K", "Q3_K", "Q4_K",
                         "Q5_K", "Q6_K"}) {
    EXPECT_GT(checked[ty], 0) << ty << " not covered by the synthetic files";
  }
}

}  // namespace
}  // namespace lowbit
