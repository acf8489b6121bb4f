// lowbit/core/dtype.cpp — dtype names and sizes. defines: see dtype.hpp
#include "lowbit/core/dtype.hpp"

#include "lowbit/core/error.hpp"

namespace lowbit {

namespace {
struct BlockInfo {
  int64_t elems;
  size_t bytes;
};
// ggml-common.h: block_q4_0 {f16 d; u8 qs[16]}, block_q4_1 {f16 d, m; u8 qs[16]},
// block_q5_0 {f16 d; u8 qh[4]; u8 qs[16]}, block_q5_1 {f16 d, m; u8 qh[4]; u8 qs[16]},
// block_q8_0 {f16 d; i8 qs[32]}, block_q2_K {u8 scales[16]; u8 qs[64]; f16 d, dmin},
// block_q3_K {u8 hmask[32]; u8 qs[64]; u8 scales[12]; f16 d},
// block_q4_K {f16 d, dmin; u8 scales[12]; u8 qs[128]},
// block_q5_K {f16 d, dmin; u8 scales[12]; u8 qh[32]; u8 qs[128]},
// block_q6_K {u8 ql[128]; u8 qh[64]; i8 scales[16]; f16 d}.
BlockInfo block_info(DType t) {
  switch (t) {
    case DType::Q4_0: return {32, 18};
    case DType::Q4_1: return {32, 20};
    case DType::Q5_0: return {32, 22};
    case DType::Q5_1: return {32, 24};
    case DType::Q8_0: return {32, 34};
    case DType::Q2_K: return {256, 84};
    case DType::Q3_K: return {256, 110};
    case DType::Q4_K: return {256, 144};
    case DType::Q5_K: return {256, 176};
    case DType::Q6_K: return {256, 210};
    default: return {0, 0};
  }
}
}  // namespace

bool dtype_is_block(DType t) { return block_info(t).elems != 0; }

size_t dtype_size(DType t) {
  switch (t) {
    case DType::F64: case DType::I64: return 8;
    case DType::F32: case DType::I32: return 4;
    case DType::F16: case DType::BF16: case DType::I16: return 2;
    case DType::I8: case DType::U8: case DType::BOOL: return 1;
    default: break;
  }
  LB_FAIL_INTERNAL("dtype_size: ", dtype_name(t), " is a block type (use dtype_nbytes)");
}

int64_t dtype_block_elems(DType t) { return dtype_is_block(t) ? block_info(t).elems : 1; }
size_t dtype_block_bytes(DType t) { return dtype_is_block(t) ? block_info(t).bytes : dtype_size(t); }

size_t dtype_nbytes(DType t, int64_t n) {
  const int64_t be = dtype_block_elems(t);
  LB_CHECK(n >= 0 && n % be == 0, dtype_name(t), ": ", n, " elements is not a whole number of blocks of ", be);
  return size_t(n / be) * dtype_block_bytes(t);
}

const char* dtype_name(DType t) {
  switch (t) {
    case DType::F32: return "F32";
    case DType::F16: return "F16";
    case DType::BF16: return "BF16";
    case DType::F64: return "F64";
    case DType::I64: return "I64";
    case DType::I32: return "I32";
    case DType::I16: return "I16";
    case DType::I8: return "I8";
    case DType::U8: return "U8";
    case DType::BOOL: return "BOOL";
    case DType::Q4_0: return "Q4_0";
    case DType::Q4_1: return "Q4_1";
    case DType::Q5_0: return "Q5_0";
    case DType::Q5_1: return "Q5_1";
    case DType::Q8_0: return "Q8_0";
    case DType::Q2_K: return "Q2_K";
    case DType::Q3_K: return "Q3_K";
    case DType::Q4_K: return "Q4_K";
    case DType::Q5_K: return "Q5_K";
    case DType::Q6_K: return "Q6_K";
  }
  return "?";
}

std::optional<DType> parse_safetensors_dtype(std::string_view s) {
  static const std::pair<const char*, DType> table[] = {
      {"F32", DType::F32}, {"F16", DType::F16}, {"BF16", DType::BF16}, {"F64", DType::F64},
      {"I64", DType::I64}, {"I32", DType::I32}, {"I16", DType::I16},   {"I8", DType::I8},
      {"U8", DType::U8},   {"BOOL", DType::BOOL}};
  for (auto& [n, t] : table)
    if (s == n) return t;
  return std::nullopt;
}

bool dtype_is_float(DType t) {
  return t == DType::F32 || t == DType::F16 || t == DType::BF16 || t == DType::F64 || dtype_is_block(t);
}

}  // namespace lowbit
