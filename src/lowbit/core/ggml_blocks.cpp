// lowbit/core/ggml_blocks.cpp — ggml type table and dequantisation. defines: see ggml_blocks.hpp
//
// Bit-exactness: every value is computed with ggml's float operations in ggml's order (d * q, then
// - m or + m as a separate rounding). FP contraction (a*b+c fused into one FMA, which rounds once)
// would change results, so it is off for this file: the pragmas below, and -ffp-contract=off on the
// file in CMakeLists.txt.
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

#include "lowbit/core/ggml_blocks.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "lowbit/core/error.hpp"

namespace lowbit {

namespace {

struct TypeRow {
  uint32_t id;
  const char* name;
  int64_t elems;
  size_t bytes;
};
// gguf-py constants.py GGML_QUANT_SIZES (QK_K = 256).
constexpr TypeRow kTypes[] = {
    {0, "F32", 1, 4},          {1, "F16", 1, 2},         {2, "Q4_0", 32, 18},
    {3, "Q4_1", 32, 20},       {6, "Q5_0", 32, 22},      {7, "Q5_1", 32, 24},
    {8, "Q8_0", 32, 34},       {9, "Q8_1", 32, 40},      {10, "Q2_K", 256, 84},
    {11, "Q3_K", 256, 110},    {12, "Q4_K", 256, 144},   {13, "Q5_K", 256, 176},
    {14, "Q6_K", 256, 210},    {15, "Q8_K", 256, 292},   {16, "IQ2_XXS", 256, 66},
    {17, "IQ2_XS", 256, 74},   {18, "IQ3_XXS", 256, 98}, {19, "IQ1_S", 256, 50},
    {20, "IQ4_NL", 32, 18},    {21, "IQ3_S", 256, 110},  {22, "IQ2_S", 256, 82},
    {23, "IQ4_XS", 256, 136},  {24, "I8", 1, 1},         {25, "I16", 1, 2},
    {26, "I32", 1, 4},         {27, "I64", 1, 8},        {28, "F64", 1, 8},
    {29, "IQ1_M", 256, 56},    {30, "BF16", 1, 2},       {34, "TQ1_0", 256, 54},
    {35, "TQ2_0", 256, 66},    {39, "MXFP4", 32, 17},    {40, "NVFP4", 64, 36},
    {41, "Q1_0", 128, 18},
};

const TypeRow* find_type(uint32_t id) {
  for (const auto& r : kTypes)
    if (r.id == id) return &r;
  return nullptr;
}

constexpr std::pair<uint32_t, DType> kRead[] = {
    {0, DType::F32},   {1, DType::F16},   {30, DType::BF16}, {28, DType::F64},  {24, DType::I8},
    {25, DType::I16},  {26, DType::I32},  {27, DType::I64},  {2, DType::Q4_0},  {3, DType::Q4_1},
    {6, DType::Q5_0},  {7, DType::Q5_1},  {8, DType::Q8_0},  {10, DType::Q2_K}, {11, DType::Q3_K},
    {12, DType::Q4_K}, {13, DType::Q5_K}, {14, DType::Q6_K},
};

inline float f16_at(const uint8_t* p) {
  uint16_t h;
  std::memcpy(&h, p, 2);
  return f16_to_f32(h);
}

// ---- 32-element blocks ----
void deq_q4_0(const uint8_t* x, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, x += 18, y += 32) {
    const float d = f16_at(x);
    const uint8_t* qs = x + 2;
    for (int j = 0; j < 16; ++j) {
      const int x0 = (qs[j] & 0x0F) - 8;
      const int x1 = (qs[j] >> 4) - 8;
      y[j] = float(x0) * d;
      y[j + 16] = float(x1) * d;
    }
  }
}

void deq_q4_1(const uint8_t* x, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, x += 20, y += 32) {
    const float d = f16_at(x), m = f16_at(x + 2);
    const uint8_t* qs = x + 4;
    for (int j = 0; j < 16; ++j) {
      const int x0 = qs[j] & 0x0F;
      const int x1 = qs[j] >> 4;
      y[j] = float(x0) * d + m;
      y[j + 16] = float(x1) * d + m;
    }
  }
}

void deq_q5_0(const uint8_t* x, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, x += 22, y += 32) {
    const float d = f16_at(x);
    uint32_t qh;
    std::memcpy(&qh, x + 2, 4);
    const uint8_t* qs = x + 6;
    for (int j = 0; j < 16; ++j) {
      const int h0 = int(((qh >> j) << 4) & 0x10);
      const int h1 = int((qh >> (j + 12)) & 0x10);
      const int x0 = ((qs[j] & 0x0F) | h0) - 16;
      const int x1 = ((qs[j] >> 4) | h1) - 16;
      y[j] = float(x0) * d;
      y[j + 16] = float(x1) * d;
    }
  }
}

void deq_q5_1(const uint8_t* x, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, x += 24, y += 32) {
    const float d = f16_at(x), m = f16_at(x + 2);
    uint32_t qh;
    std::memcpy(&qh, x + 4, 4);
    const uint8_t* qs = x + 8;
    for (int j = 0; j < 16; ++j) {
      const int h0 = int(((qh >> j) << 4) & 0x10);
      const int h1 = int((qh >> (j + 12)) & 0x10);
      const int x0 = (qs[j] & 0x0F) | h0;
      const int x1 = (qs[j] >> 4) | h1;
      y[j] = float(x0) * d + m;
      y[j + 16] = float(x1) * d + m;
    }
  }
}

void deq_q8_0(const uint8_t* x, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, x += 34, y += 32) {
    const float d = f16_at(x);
    for (int j = 0; j < 32; ++j) y[j] = float(int8_t(x[2 + j])) * d;
  }
}

// ---- 256-element k-quant blocks ----
void deq_q2_k(const uint8_t* x, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, x += 84) {
    const uint8_t* scales = x;
    const uint8_t* q = x + 16;
    const float d = f16_at(x + 80), dmin = f16_at(x + 82);
    int is = 0;
    for (int n = 0; n < 256; n += 128) {
      int shift = 0;
      for (int j = 0; j < 4; ++j) {
        for (int half = 0; half < 2; ++half) {
          const uint8_t sc = scales[is++];
          const float dl = d * float(sc & 0xF), ml = dmin * float(sc >> 4);
          const uint8_t* qq = q + 16 * half;
          for (int l = 0; l < 16; ++l) *y++ = dl * float((qq[l] >> shift) & 3) - ml;
        }
        shift += 2;
      }
      q += 32;
    }
  }
}

void deq_q3_k(const uint8_t* x, float* y, int64_t nb) {
  constexpr uint32_t kmask1 = 0x03030303u, kmask2 = 0x0f0f0f0fu;
  for (int64_t i = 0; i < nb; ++i, x += 110) {
    const uint8_t* hm = x;
    const uint8_t* q = x + 32;
    const float d_all = f16_at(x + 108);
    // The 16 6-bit scales: low nibbles in bytes 0-7 (two per byte), high 2 bits in bytes 8-11.
    uint32_t aux[4];
    std::memcpy(aux, x + 96, 12);
    const uint32_t tmp = aux[2];
    aux[2] = ((aux[0] >> 4) & kmask2) | (((tmp >> 4) & kmask1) << 4);
    aux[3] = ((aux[1] >> 4) & kmask2) | (((tmp >> 6) & kmask1) << 4);
    aux[0] = (aux[0] & kmask2) | (((tmp >> 0) & kmask1) << 4);
    aux[1] = (aux[1] & kmask2) | (((tmp >> 2) & kmask1) << 4);
    int8_t scales[16];
    std::memcpy(scales, aux, 16);
    int is = 0;
    uint8_t m = 1;
    for (int n = 0; n < 256; n += 128) {
      int shift = 0;
      for (int j = 0; j < 4; ++j) {
        for (int half = 0; half < 2; ++half) {
          const float dl = d_all * float(scales[is++] - 32);
          const int o = 16 * half;
          for (int l = 0; l < 16; ++l) {
            const int v = int((q[o + l] >> shift) & 3) - ((hm[o + l] & m) ? 0 : 4);
            *y++ = dl * float(v);
          }
        }
        shift += 2;
        m = uint8_t(m << 1);
      }
      q += 32;
    }
  }
}

// The 6-bit scale and min of group j (0-7) of a Q4_K/Q5_K block.
inline void scale_min_k4(int j, const uint8_t* q, uint8_t& d, uint8_t& m) {
  if (j < 4) {
    d = q[j] & 63;
    m = q[j + 4] & 63;
  } else {
    d = uint8_t((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4));
    m = uint8_t((q[j + 4] >> 4) | ((q[j - 0] >> 6) << 4));
  }
}

void deq_q4_k(const uint8_t* x, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, x += 144) {
    const float d = f16_at(x), dmin = f16_at(x + 2);
    const uint8_t* scales = x + 4;
    const uint8_t* q = x + 16;
    int is = 0;
    for (int j = 0; j < 256; j += 64) {
      uint8_t sc, mm;
      scale_min_k4(is + 0, scales, sc, mm);
      const float d1 = d * float(sc), m1 = dmin * float(mm);
      scale_min_k4(is + 1, scales, sc, mm);
      const float d2 = d * float(sc), m2 = dmin * float(mm);
      for (int l = 0; l < 32; ++l) *y++ = d1 * float(q[l] & 0xF) - m1;
      for (int l = 0; l < 32; ++l) *y++ = d2 * float(q[l] >> 4) - m2;
      q += 32;
      is += 2;
    }
  }
}

void deq_q5_k(const uint8_t* x, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, x += 176) {
    const float d = f16_at(x), dmin = f16_at(x + 2);
    const uint8_t* scales = x + 4;
    const uint8_t* qh = x + 16;
    const uint8_t* ql = x + 48;
    int is = 0;
    uint8_t u1 = 1, u2 = 2;
    for (int j = 0; j < 256; j += 64) {
      uint8_t sc, mm;
      scale_min_k4(is + 0, scales, sc, mm);
      const float d1 = d * float(sc), m1 = dmin * float(mm);
      scale_min_k4(is + 1, scales, sc, mm);
      const float d2 = d * float(sc), m2 = dmin * float(mm);
      for (int l = 0; l < 32; ++l) *y++ = d1 * float((ql[l] & 0xF) + ((qh[l] & u1) ? 16 : 0)) - m1;
      for (int l = 0; l < 32; ++l) *y++ = d2 * float((ql[l] >> 4) + ((qh[l] & u2) ? 16 : 0)) - m2;
      ql += 32;
      is += 2;
      u1 = uint8_t(u1 << 2);
      u2 = uint8_t(u2 << 2);
    }
  }
}

void deq_q6_k(const uint8_t* x, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, x += 210) {
    const uint8_t* ql = x;
    const uint8_t* qh = x + 128;
    const int8_t* sc = reinterpret_cast<const int8_t*>(x + 192);
    const float d = f16_at(x + 208);
    for (int n = 0; n < 256; n += 128) {
      for (int l = 0; l < 32; ++l) {
        const int is = l / 16;
        const int q1 = int((ql[l + 0] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32;
        const int q2 = int((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
        const int q3 = int((ql[l + 0] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
        const int q4 = int((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
        // ggml: d * sc[is] * q, i.e. (d * sc) * q.
        y[l + 0] = d * float(sc[is + 0]) * float(q1);
        y[l + 32] = d * float(sc[is + 2]) * float(q2);
        y[l + 64] = d * float(sc[is + 4]) * float(q3);
        y[l + 96] = d * float(sc[is + 6]) * float(q4);
      }
      y += 128;
      ql += 64;
      qh += 32;
      sc += 8;
    }
  }
}

}  // namespace

std::string ggml_type_name(uint32_t type) {
  if (const TypeRow* r = find_type(type)) return r->name;
  return "type " + std::to_string(type);
}

bool ggml_type_known(uint32_t type) { return find_type(type) != nullptr; }

std::optional<GgmlBlock> ggml_type_block(uint32_t type) {
  if (const TypeRow* r = find_type(type)) return GgmlBlock{r->elems, r->bytes};
  return std::nullopt;
}

std::optional<DType> dtype_from_ggml(uint32_t type) {
  for (const auto& [id, t] : kRead)
    if (id == type) return t;
  return std::nullopt;
}

std::optional<uint32_t> ggml_from_dtype(DType t) {
  for (const auto& [id, d] : kRead)
    if (d == t) return id;
  return std::nullopt;
}

void dequantize_row(DType t, const uint8_t* src, float* dst, int64_t n) {
  const int64_t be = dtype_block_elems(t);
  LB_CHECK(n >= 0 && n % be == 0, "dequantize_row: ", n, " elements of ", dtype_name(t));
  if (n == 0) return;  // an empty tensor: dst may be null (memcpy of 0 bytes from/to null is UB)
  const int64_t nb = n / be;
  switch (t) {
    case DType::F32: std::memcpy(dst, src, size_t(n) * 4); return;
    case DType::F16:
      for (int64_t i = 0; i < n; ++i) dst[i] = f16_at(src + 2 * i);
      return;
    case DType::BF16:
      for (int64_t i = 0; i < n; ++i) {
        uint16_t h;
        std::memcpy(&h, src + 2 * i, 2);
        dst[i] = bf16_to_f32(h);
      }
      return;
    case DType::F64:
      for (int64_t i = 0; i < n; ++i) {
        double v;
        std::memcpy(&v, src + 8 * i, 8);
        dst[i] = float(v);
      }
      return;
    case DType::Q4_0: deq_q4_0(src, dst, nb); return;
    case DType::Q4_1: deq_q4_1(src, dst, nb); return;
    case DType::Q5_0: deq_q5_0(src, dst, nb); return;
    case DType::Q5_1: deq_q5_1(src, dst, nb); return;
    case DType::Q8_0: deq_q8_0(src, dst, nb); return;
    case DType::Q2_K: deq_q2_k(src, dst, nb); return;
    case DType::Q3_K: deq_q3_k(src, dst, nb); return;
    case DType::Q4_K: deq_q4_k(src, dst, nb); return;
    case DType::Q5_K: deq_q5_k(src, dst, nb); return;
    case DType::Q6_K: deq_q6_k(src, dst, nb); return;
    default: break;
  }
  LB_FAIL_INTERNAL("dequantize_row: ", dtype_name(t), " is not a float or block type");
}

// ---- reference quantisers (ggml-quants.c quantize_row_*_ref) ----

namespace {
inline void put_f16(uint8_t* p, float f) {
  const uint16_t h = f32_to_f16(f);
  std::memcpy(p, &h, 2);
}
}  // namespace

void quantize_row_q4_0_ref(const float* x, uint8_t* y, int64_t k) {
  LB_CHECK(k >= 0 && k % 32 == 0, "quantize_row_q4_0_ref: k = ", k);
  for (int64_t i = 0; i < k / 32; ++i, x += 32, y += 18) {
    float amax = 0.f, max = 0.f;  // the value of largest magnitude, first one on ties
    for (int j = 0; j < 32; ++j) {
      if (amax < std::fabs(x[j])) {
        amax = std::fabs(x[j]);
        max = x[j];
      }
    }
    const float d = max / -8;
    const float id = d != 0.f ? 1.0f / d : 0.0f;
    put_f16(y, d);
    for (int j = 0; j < 16; ++j) {
      // gguf-py: trunc(float32(float64(x) * float64(id) + 8.5)). The double product is exact and
      // the sum exact wherever the code can change, so this is the single rounding an FMA makes.
      const float v0 = std::trunc(float(double(x[j]) * double(id) + 8.5));
      const float v1 = std::trunc(float(double(x[j + 16]) * double(id) + 8.5));
      const int xi0 = std::min(15, int(v0)), xi1 = std::min(15, int(v1));
      y[2 + j] = uint8_t(xi0 | (xi1 << 4));
    }
  }
}

void quantize_row_q4_1_ref(const float* x, uint8_t* y, int64_t k) {
  LB_CHECK(k >= 0 && k % 32 == 0, "quantize_row_q4_1_ref: k = ", k);
  for (int64_t i = 0; i < k / 32; ++i, x += 32, y += 20) {
    float min = std::numeric_limits<float>::max(), max = -std::numeric_limits<float>::max();
    for (int j = 0; j < 32; ++j) {
      if (x[j] < min) min = x[j];
      if (x[j] > max) max = x[j];
    }
    const float d = (max - min) / 15;
    const float id = d != 0.f ? 1.0f / d : 0.0f;
    put_f16(y, d);
    put_f16(y + 2, min);
    for (int j = 0; j < 16; ++j) {
      const float x0 = (x[j] - min) * id;
      const float x1 = (x[j + 16] - min) * id;
      const int xi0 = std::min(15, int(int8_t(x0 + 0.5f)));
      const int xi1 = std::min(15, int(int8_t(x1 + 0.5f)));
      y[4 + j] = uint8_t(xi0 | (xi1 << 4));
    }
  }
}

void quantize_row_q8_0_ref(const float* x, uint8_t* y, int64_t k) {
  LB_CHECK(k >= 0 && k % 32 == 0, "quantize_row_q8_0_ref: k = ", k);
  for (int64_t i = 0; i < k / 32; ++i, x += 32, y += 34) {
    float amax = 0.f;
    for (int j = 0; j < 32; ++j) amax = std::max(amax, std::fabs(x[j]));
    const float d = amax / 127;
    const float id = d != 0.f ? 1.0f / d : 0.0f;
    put_f16(y, d);
    for (int j = 0; j < 32; ++j) y[2 + j] = uint8_t(int8_t(std::round(x[j] * id)));
  }
}

int64_t pack_exact(DType t, const uint8_t* q, const float* scales, const int32_t* zeros, int64_t n,
                   uint8_t* dst) {
  LB_CHECK(t == DType::Q4_0 || t == DType::Q4_1 || t == DType::Q8_0, "pack_exact: ", dtype_name(t));
  LB_CHECK(n >= 0 && n % 32 == 0, "pack_exact: n = ", n);
  const size_t bb = dtype_block_bytes(t);
  int64_t inexact = 0;
  float got[32];
  for (int64_t g = 0; g < n / 32; ++g, q += 32, dst += bb) {
    const float s = scales[g];
    const int32_t z = zeros[g];
    put_f16(dst, s);
    if (t == DType::Q4_0) {
      LB_CHECK(z == 8, "pack_exact: Q4_0 needs the symmetric zero point 8, group ", g, " has ", z);
      for (int j = 0; j < 16; ++j) {
        LB_CHECK(q[j] <= 15 && q[j + 16] <= 15, "pack_exact: 4-bit code out of range in group ", g);
        dst[2 + j] = uint8_t(q[j] | (q[j + 16] << 4));
      }
    } else if (t == DType::Q4_1) {
      LB_CHECK(z >= 0 && z <= 15, "pack_exact: Q4_1 zero point ", z, " in group ", g);
      put_f16(dst + 2, -float(z) * s);
      for (int j = 0; j < 16; ++j) {
        LB_CHECK(q[j] <= 15 && q[j + 16] <= 15, "pack_exact: 4-bit code out of range in group ", g);
        dst[4 + j] = uint8_t(q[j] | (q[j + 16] << 4));
      }
    } else {
      for (int j = 0; j < 32; ++j) {
        const int v = int(q[j]) - z;
        LB_CHECK(v >= -128 && v <= 127, "pack_exact: Q8_0 code ", v, " out of range in group ", g);
        dst[2 + j] = uint8_t(int8_t(v));
      }
    }
    dequantize_row(t, dst, got, 32);
    for (int j = 0; j < 32; ++j) {
      const float want = float(int(q[j]) - z) * s;
      if (std::memcmp(&want, &got[j], 4) != 0 && !(want == 0.f && got[j] == 0.f)) {
        ++inexact;
        break;
      }
    }
  }
  return inexact;
}

}  // namespace lowbit
