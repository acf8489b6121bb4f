// lowbit/core/tensor.cpp — f32 materialisation of checkpoint tensors. defines: see tensor.hpp
#include "lowbit/core/tensor.hpp"

#include <cmath>
#include <cstring>

#include "lowbit/core/error.hpp"

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
  LB_CHECK(size_t(n) * dtype_size(dtype) == nbytes, name, " in ", file);
  float* out = t.ptr();
  switch (dtype) {
    case DType::F32: std::memcpy(out, data, size_t(n) * 4); break;
    case DType::F16:
      for (int64_t i = 0; i < n; ++i) {
        uint16_t h;
        std::memcpy(&h, data + 2 * i, 2);
        out[i] = f16_to_f32(h);
      }
      break;
    case DType::BF16:
      for (int64_t i = 0; i < n; ++i) {
        uint16_t h;
        std::memcpy(&h, data + 2 * i, 2);
        out[i] = bf16_to_f32(h);
      }
      break;
    case DType::F64:
      for (int64_t i = 0; i < n; ++i) {
        double d;
        std::memcpy(&d, data + 8 * i, 8);
        out[i] = float(d);
      }
      break;
    default:
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
