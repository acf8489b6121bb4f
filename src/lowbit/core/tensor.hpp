// lowbit/core/tensor.hpp — the owned f32 tensor used by compute, and the typed view of a tensor
// stored in a checkpoint.
// defines: lowbit::Tensor, lowbit::TensorRef
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "lowbit/core/dtype.hpp"

namespace lowbit {

class MappedFile;

// Row-major f32 tensor that owns its data. Compute in lowbit is f32; checkpoints may be f16/bf16.
struct Tensor {
  std::vector<int64_t> shape;
  std::vector<float> data;

  Tensor() = default;
  explicit Tensor(std::vector<int64_t> s) : shape(std::move(s)), data(size_t(numel_of(shape)), 0.f) {}
  static int64_t numel_of(const std::vector<int64_t>& s) {
    int64_t n = 1;
    for (auto d : s) n *= d;
    return n;
  }
  int64_t numel() const { return int64_t(data.size()); }
  bool empty() const { return data.empty(); }
  int64_t dim(int i) const { return shape.at(size_t(i < 0 ? int(shape.size()) + i : i)); }
  int64_t rows() const { return shape.size() >= 2 ? numel() / shape.back() : 1; }
  int64_t cols() const { return shape.empty() ? 1 : shape.back(); }
  float* ptr() { return data.data(); }
  const float* ptr() const { return data.data(); }
  float* row(int64_t r) { return data.data() + r * cols(); }
  const float* row(int64_t r) const { return data.data() + r * cols(); }
  void resize(std::vector<int64_t> s) {
    shape = std::move(s);
    data.resize(size_t(numel_of(shape)));
  }
  std::string shape_str() const;
};

// A tensor as stored in a checkpoint file: typed bytes inside a memory mapping (never copied until
// materialised with to_f32). `file` and `name` are kept so errors can name both.
struct TensorRef {
  std::string name;  // name in the file (not the canonical name)
  std::string file;
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  const uint8_t* data = nullptr;
  size_t nbytes = 0;
  std::shared_ptr<const void> owner;  // keeps the mapping (or an owned buffer) alive

  int64_t numel() const { return Tensor::numel_of(shape); }
  // Convert to f32. Throws InputError naming file and tensor if any value is NaN/Inf
  // (check_finite) or the dtype is not a float type.
  Tensor to_f32(bool check_finite = true) const;
  std::string shape_str() const;
};

std::string shape_to_string(const std::vector<int64_t>& s);

}  // namespace lowbit
