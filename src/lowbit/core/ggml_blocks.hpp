// lowbit/core/ggml_blocks.hpp — llama.cpp's tensor types (ggml_type): ids, names, block sizes, and
// dequantisation of the block types to f32, bit for bit as ggml-quants.c `dequantize_row_*` does.
// defines: lowbit::GgmlType, ggml_type_name, ggml_type_known, ggml_type_block, dtype_from_ggml,
//          ggml_from_dtype, dequantize_row, quantize_row_q4_0_ref, quantize_row_q4_1_ref,
//          quantize_row_q8_0_ref, pack_exact
//
// The blocks run along a row (ne0, the fastest dimension): a tensor's bytes are its rows one after
// the other, each row a whole number of blocks. Layouts (ggml-common.h, QK_K = 256):
//   Q4_0 {f16 d; u8 qs[16]}               x = (q - 8) * d           q = low nibbles, then high
//   Q4_1 {f16 d, m; u8 qs[16]}            x = q * d + m
//   Q5_0 {f16 d; u8 qh[4]; u8 qs[16]}     x = (q - 16) * d          5th bit j in bit j of qh
//   Q5_1 {f16 d, m; u8 qh[4]; u8 qs[16]}  x = q * d + m
//   Q8_0 {f16 d; i8 qs[32]}               x = q * d
//   Q2_K {u8 scales[16]; u8 qs[64]; f16 d, dmin}          16 groups of 16: (d*sc) * q - dmin*m
//   Q3_K {u8 hmask[32]; u8 qs[64]; u8 scales[12]; f16 d}  16 groups of 16, 6-bit signed scales
//   Q4_K {f16 d, dmin; u8 scales[12]; u8 qs[128]}          8 groups of 32, 6-bit scales + mins
//   Q5_K {f16 d, dmin; u8 scales[12]; u8 qh[32]; u8 qs[128]}
//   Q6_K {u8 ql[128]; u8 qh[64]; i8 scales[16]; f16 d}    16 groups of 16: (d*sc) * q
// The float operations are ggml's, in ggml's order, and ggml_blocks.cpp is compiled without FP
// contraction, so a value equals what llama.cpp's CPU dequantisation (and gguf-py's) produces.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "lowbit/core/dtype.hpp"

namespace lowbit {

// ggml_type ids as GGUF stores them (ggml.h). Ids 4, 5, 31-33 and 36-38 were removed from ggml.
enum class GgmlType : uint32_t {
  F32 = 0, F16 = 1, Q4_0 = 2, Q4_1 = 3, Q5_0 = 6, Q5_1 = 7, Q8_0 = 8, Q8_1 = 9, Q2_K = 10,
  Q3_K = 11, Q4_K = 12, Q5_K = 13, Q6_K = 14, Q8_K = 15, IQ2_XXS = 16, IQ2_XS = 17, IQ3_XXS = 18,
  IQ1_S = 19, IQ4_NL = 20, IQ3_S = 21, IQ2_S = 22, IQ4_XS = 23, I8 = 24, I16 = 25, I32 = 26,
  I64 = 27, F64 = 28, IQ1_M = 29, BF16 = 30, TQ1_0 = 34, TQ2_0 = 35, MXFP4 = 39, NVFP4 = 40,
  Q1_0 = 41
};

// "Q4_K", "IQ2_XS", ... ; "type <id>" for an id ggml does not define.
std::string ggml_type_name(uint32_t type);
// Whether ggml defines the id (so its byte size is known), whether or not lowbit reads it.
bool ggml_type_known(uint32_t type);
struct GgmlBlock {
  int64_t elems;  // elements per block (1 for F32, F16, ...)
  size_t bytes;   // bytes per block
};
// Block size of a known id (gguf-py's GGML_QUANT_SIZES); nullopt for an unknown id.
std::optional<GgmlBlock> ggml_type_block(uint32_t type);
// The DType lowbit reads a ggml type as: F32, F16, BF16, F64, I8-I64 and the block types
// Q4_0 ... Q6_K; nullopt for the types lowbit does not read (IQ*, TQ*, MXFP4, Q8_1, Q8_K, ...).
std::optional<DType> dtype_from_ggml(uint32_t type);
// The inverse; nullopt for DTypes GGUF has no type for (U8, BOOL).
std::optional<uint32_t> ggml_from_dtype(DType t);

// Dequantise n elements (a multiple of the block size) of `t` from `src` into `dst`. Element types
// F32/F16/BF16/F64 convert exactly (F64 rounds to nearest f32). InternalError for other types
// or an n that is not a whole number of blocks.
void dequantize_row(DType t, const uint8_t* src, float* dst, int64_t n);

// ggml's reference quantisers (quantize_row_*_ref in ggml-quants.c) for k values (a multiple of 32)
// into k/32 blocks at `dst`. Q4_0 rounds as gguf-py does — trunc(x·id + 8.5) with the product and sum
// in double, i.e. on the exact value — which is what ggml computes when its compiler fuses the
// multiply-add (FMA); a ggml built without FMA rounds x·id to f32 first and can pick the next code
// in rare near-ties. Q4_1 and Q8_0 are plain f32 arithmetic in ggml's order (no FMA here).
void quantize_row_q4_0_ref(const float* x, uint8_t* dst, int64_t k);
void quantize_row_q4_1_ref(const float* x, uint8_t* dst, int64_t k);
void quantize_row_q8_0_ref(const float* x, uint8_t* dst, int64_t k);

// Packs already-quantised weights — lowbit's grid, ŵ = s·(q − z) per group of 32 consecutive values
// (compress/quant.hpp) — into llama.cpp blocks without re-quantising:
//   Q4_0: 4-bit symmetric (z = 8 for every group): d = f16(s), code q stored as is.
//   Q4_1: 4-bit asymmetric (z in 0..15): d = f16(s), m = f16(−z·s), code q.
//   Q8_0: 8-bit with q − z in −128..127 (symmetric 8-bit has z = 128): d = f16(s), int8 q − z.
// n values (a multiple of 32) from codes `q`, with scales[g] and zeros[g] for group g; writes n/32
// blocks to `dst`. InternalError if a code or zero point does not fit the type.
// Returns the number of groups whose block does not dequantise (dequantize_row) to exactly
// float(q − z)·s in f32: none when s is an f16 value (lowbit's scales are) and, for Q4_1, −z·s is one
// too. −z·s needs up to 4 more mantissa bits than s, so it rounds when s's low mantissa bits are not
// zero (z = 0 or a power of two never rounds); then ŵ moves by at most half an f16 ulp of z·s. The
// caller decides whether that is acceptable or stores the fake-quantised weights as F16 instead.
int64_t pack_exact(DType t, const uint8_t* q, const float* scales, const int32_t* zeros, int64_t n,
                   uint8_t* dst);

}  // namespace lowbit
