// lowbit/core/tensor.cpp — f32 materialisation of checkpoint tensors (incl. llama.cpp block types). defines: see tensor.hpp
#include "lowbit/core/tensor.hpp"

#include <cmath>
#include <cstring>

#include "lowbit/core/error.hpp"
#include "lowbit/core/ggml_blocks.hpp"

namespace lowbit {

std::string shape_to_string(const std::vector<int64_t>& s) {
  std::string r = "[";
  for (size_t i = 0; i < s.size(); ++i) r += (i ? ", " : "") + std::to_string(s[i]);
  return r + "]";
}
std::string Tensor::shape_str() const { return shape_to_string(shape); }
std::string TensorRef::shape_str() const { return shape_to_string(shape); }

Tensor TensorRef::to_f32(bool check_finite) const {
  Tensor t(shape);
  const int64_t n = numel();
  float* out = t.ptr();
  // Float element types and the llama.cpp block types (Q4_0 ... Q6_K): dequantise_row is exact
  // for F32/F16/BF16 and bit-identical to ggml for blocks. A reader validates byte sizes and that
  // rows are whole blocks; these checks only guard the invariant.
  if (dtype_is_float(dtype)) {
    LB_CHECK(n % dtype_block_elems(dtype) == 0 && dtype_nbytes(dtype, n) == nbytes, name, " in ", file);
    dequantize_row(dtype, data, out, n);
  } else {
    LB_FAIL_INPUT(file, ": tensor '", name, "': dtype ", dtype_name(dtype),
                  " cannot be used as a float weight");
  }
  if (check_finite) {
    for (int64_t i = 0; i < n; ++i) {
      if (!std::isfinite(out[i])) {
        LB_FAIL_INPUT(file, ": tensor '", name, "' ", shape_str(), ": non-finite value ", out[i],
                      " at flat index ", i);
      }
    }
  }
  return t;
}

}  // namespace lowbit
