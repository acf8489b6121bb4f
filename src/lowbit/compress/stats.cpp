// lowbit/compress/stats.cpp — accumulation of linear-input statistics. defines: see stats.hpp
#include "lowbit/compress/stats.hpp"

#include <cblas.h>

#include <algorithm>
#include <cmath>

#include "lowbit/core/error.hpp"

namespace lowbit {

void LinearStats::init(int64_t n, bool hessian) {
  in = n;
  rows = 0;
  with_hessian = hessian;
  xtx.assign(hessian ? size_t(n * n) : 0, 0.0);
  sum_abs.assign(size_t(n), 0.0);
  max_abs.assign(size_t(n), 0.0);
  sum.assign(size_t(n), 0.0);
}

void LinearStats::add(const Tensor& x) {
  LB_CHECK(x.cols() == in, "stats width ", x.cols(), " vs ", in);
  const int64_t r = x.rows();
  if (with_hessian && r > 0) {
    // Σ xᵀx of this chunk with f32 ssyrk (the GEMM-rate kernel; no f64 copy of the chunk), then
    // added to the f64 sum in both triangles in one tiled pass, so xtx stays symmetric without a
    // separate mirror. Each element of the chunk's sum is within γ_r·Σ|x_a·x_b| ≤ γ_r·√(H_aa·H_bb)
    // of the exact value (γ_r ≈ r·2⁻²⁴; tol::hessian_f32_bound in the tests). The chunks are the
    // calibration micro-batches, summed in f64 along the canonical tree: rank-count independent.
    std::vector<float> c(size_t(in * in));
    cblas_ssyrk(CblasRowMajor, CblasUpper, CblasTrans, int(in), int(r), 1.f, x.ptr(), int(in), 0.f, c.data(), int(in));
    constexpr int64_t kTile = 64;
    for (int64_t a0 = 0; a0 < in; a0 += kTile)
      for (int64_t b0 = a0; b0 < in; b0 += kTile) {
        const int64_t a1 = std::min(in, a0 + kTile), b1 = std::min(in, b0 + kTile);
        for (int64_t a = a0; a < a1; ++a)
          for (int64_t b = std::max(a, b0); b < b1; ++b) {
            const double v = c[size_t(a * in + b)];
            xtx[size_t(a * in + b)] += v;
            if (b != a) xtx[size_t(b * in + a)] += v;
          }
      }
  }
  for (int64_t i = 0; i < r; ++i) {
    const float* row = x.row(i);
    for (int64_t j = 0; j < in; ++j) {
      const double v = row[j];
      sum_abs[size_t(j)] += std::fabs(v);
      max_abs[size_t(j)] = std::max(max_abs[size_t(j)], std::fabs(v));
      sum[size_t(j)] += v;
    }
  }
  rows += r;
}

void LinearStats::merge(const LinearStats& o) {
  LB_CHECK(o.in == in && o.with_hessian == with_hessian, "merging stats of different layers");
  for (size_t i = 0; i < xtx.size(); ++i) xtx[i] += o.xtx[i];
  for (size_t j = 0; j < sum_abs.size(); ++j) {
    sum_abs[j] += o.sum_abs[j];
    max_abs[j] = std::max(max_abs[j], o.max_abs[j]);
    sum[j] += o.sum[j];
  }
  rows += o.rows;
}

}  // namespace lowbit
