// lowbit/compress/stats.hpp — calibration statistics of one linear layer's input, in a form that
// sums across ranks (every field is a sum or a max; merge() is associative and, in double, the
// reduction order is fixed by the caller). add() computes each chunk's Σxᵀx in f32 (ssyrk) and sums
// the chunks in f64.
// defines: lowbit::LinearStats
#pragma once

#include <cstdint>
#include <vector>

#include "lowbit/core/tensor.hpp"

namespace lowbit {

struct LinearStats {
  int64_t in = 0;
  int64_t rows = 0;               // calibration tokens seen
  std::vector<double> xtx;        // [in, in] Σ xᵀx (full symmetric; GPTQ/SparseGPT Hessian up to 2/rows)
  std::vector<double> sum_abs;    // [in] Σ |x_j|       (AWQ activation magnitude)
  std::vector<double> max_abs;    // [in] max |x_j|     (outlier statistics)
  std::vector<double> sum;        // [in] Σ x_j         (activation means, bias correction)
  bool with_hessian = true;

  void init(int64_t in_features, bool hessian = true);
  void add(const Tensor& x);      // x [rows, in]
  void merge(const LinearStats& o);
  // ‖X_j‖² per input column = diag(xtx) (Wanda's norm squared).
  double col_sq_norm(int64_t j) const { return xtx[size_t(j * in + j)]; }
};

}  // namespace lowbit
