// lowbit/core/dtype.hpp — element types of checkpoint tensors and their f32 conversions.
// defines: lowbit::DType, dtype_size, dtype_name, parse_safetensors_dtype, dtype_is_float,
//          dtype_is_block, dtype_block_elems, dtype_block_bytes, dtype_nbytes, f16_to_f32, f32_to_f16,
//          bf16_to_f32, f32_to_bf16
//
// Besides the element types, DType names the llama.cpp block types (Q4_0 ... Q6_K, as GGUF stores
// them): a block of dtype_block_elems(t) consecutive elements along a row takes dtype_block_bytes(t)
// bytes. Their layouts and dequantisation are in core/ggml_blocks.hpp.
#pragma once

#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

namespace lowbit {

enum class DType {
  F32, F16, BF16, F64, I64, I32, I16, I8, U8, BOOL,
  // llama.cpp block types (ggml-common.h): 32-element blocks, then 256-element "k-quant" blocks.
  Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K
};

// Bytes per element of an element type. A block type has no per-element size: InternalError
// (use dtype_nbytes, which handles both).
size_t dtype_size(DType t);
bool dtype_is_block(DType t);
// Elements per block (1 for an element type) and bytes per block (dtype_size for an element type).
int64_t dtype_block_elems(DType t);
size_t dtype_block_bytes(DType t);
// Bytes of n elements; InternalError if n is negative or not a multiple of the block size
// (a reader checks that first and reports it as bad input).
size_t dtype_nbytes(DType t, int64_t n);
// The safetensors spelling ("F32", "BF16", "I32", ...); llama.cpp's for block types ("Q4_K").
const char* dtype_name(DType t);
std::optional<DType> parse_safetensors_dtype(std::string_view s);
// A type that TensorRef::to_f32 turns into f32 weights: F32/F16/BF16/F64 and every block type.
bool dtype_is_float(DType t);

inline float bf16_to_f32(uint16_t h) {
  uint32_t u = uint32_t(h) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}
// Round to nearest even, as torch does; NaN stays NaN.
inline uint16_t f32_to_bf16(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  if ((u & 0x7fffffffu) > 0x7f800000u) return uint16_t((u >> 16) | 0x40);
  u += 0x7fffu + ((u >> 16) & 1u);
  return uint16_t(u >> 16);
}
inline float f16_to_f32(uint16_t h) {
  uint32_t sign = uint32_t(h & 0x8000u) << 16;
  uint32_t exp = (h >> 10) & 0x1fu;
  uint32_t man = h & 0x3ffu;
  uint32_t u;
  if (exp == 0) {
    if (man == 0) {
      u = sign;
    } else {  // subnormal: renormalise
      exp = 127 - 15 + 1;
      while ((man & 0x400u) == 0) {
        man <<= 1;
        --exp;
      }
      man &= 0x3ffu;
      u = sign | (exp << 23) | (man << 13);
    }
  } else if (exp == 31) {
    u = sign | 0x7f800000u | (man << 13);
  } else {
    u = sign | ((exp + 127 - 15) << 23) | (man << 13);
  }
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}
// Round to nearest even, with subnormals, overflow to Inf and NaN kept.
inline uint16_t f32_to_f16(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  uint32_t sign = (u >> 16) & 0x8000u;
  uint32_t absu = u & 0x7fffffffu;
  if (absu > 0x7f800000u) return uint16_t(sign | 0x7e00u);  // NaN
  if (absu >= 0x477ff000u) return uint16_t(sign | 0x7c00u);  // overflow -> Inf (incl. rounding)
  if (absu < 0x38800000u) {  // subnormal half or zero
    if (absu < 0x33000000u) return uint16_t(sign);
    uint32_t e = absu >> 23;
    uint32_t m = (absu & 0x7fffffu) | 0x800000u;
    uint32_t shift = 126 - e;  // 14 + (113 - e) - 1 ... shifts mantissa into 10 bits
    uint32_t half = m >> (shift);
    uint32_t rem = m & ((1u << shift) - 1);
    uint32_t halfway = 1u << (shift - 1);
    if (rem > halfway || (rem == halfway && (half & 1u))) ++half;
    return uint16_t(sign | half);
  }
  uint32_t h = ((absu >> 13) - ((127 - 15) << 10));
  uint32_t rem = absu & 0x1fffu;
  if (rem > 0x1000u || (rem == 0x1000u && (h & 1u))) ++h;
  return uint16_t(sign | h);
}

}  // namespace lowbit
