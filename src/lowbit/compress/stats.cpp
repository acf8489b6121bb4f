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
  if (with_hessian) {
    // Σ xᵀx in double: the products of f32 activations are exact in double, so sums over rows
    // differ across rank counts only by the (fixed-order) reduction.
    std::vector<double> xd(x.data.begin(), x.data.end());
    cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, int(in), int(r), 1.0, xd.data(), int(in), 1.0, xtx.data(), int(in));
    for (int64_t a = 0; a < in; ++a)
      for (int64_t b = 0; b < a; ++b) xtx[size_t(a * in + b)] = xtx[size_t(b * in + a)];
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
