// lowbit/compress/hessian.cpp — see hessian.hpp.
#include "lowbit/compress/hessian.hpp"

#include <algorithm>
#include <cmath>
#include <cstddef>

#include "lowbit/core/error.hpp"
#include "lowbit/core/log.hpp"

extern "C" {
// Fortran LAPACK (OpenBLAS). The trailing size_t is the hidden length of the character argument.
void dpotrf_(const char* uplo, const int* n, double* a, const int* lda, int* info, size_t uplo_len);
void dtrtri_(const char* uplo, const char* diag, const int* n, double* a, const int* lda, int* info, size_t uplo_len,
             size_t diag_len);
}

namespace lowbit {
namespace {

constexpr int64_t kParallelMin = int64_t(1) << 18;

// In-place transpose of a row-major n×n matrix, in tiles.
void transpose_tiles(std::vector<double>& a, int64_t n) {
  constexpr int64_t T = 64;
  const int64_t nt = (n + T - 1) / T;
#pragma omp parallel for schedule(dynamic, 1) if (n * n >= kParallelMin)
  for (int64_t bi = 0; bi < nt; ++bi)
    for (int64_t bj = bi; bj < nt; ++bj)
      for (int64_t i = bi * T; i < std::min(n, (bi + 1) * T); ++i)
        for (int64_t j = (bi == bj ? i + 1 : bj * T); j < std::min(n, (bj + 1) * T); ++j)
          std::swap(a[size_t(i * n + j)], a[size_t(j * n + i)]);
}

}  // namespace

int hessian_inverse_upper(std::vector<double>& a, int64_t n64) {
  const int n = int(n64);
  int info = 0;
  std::reverse(a.begin(), a.end());          // J A J (row-major reversal = column-major J A J)
  dpotrf_("L", &n, a.data(), &n, &info, 1);  // J A J = L Lᵀ
  if (info != 0) return 1;
  dtrtri_("L", "N", &n, a.data(), &n, &info, 1, 1);  // L⁻¹
  if (info != 0) return 2;
  std::reverse(a.begin(), a.end());  // column-major J L⁻¹ J = U
  transpose_tiles(a, n64);           // row-major U
#pragma omp parallel for schedule(static) if (n64 * n64 >= kParallelMin)
  for (int64_t r = 0; r < n64; ++r)
    for (int64_t c = 0; c < r; ++c) a[size_t(r * n64 + c)] = 0.0;
  for (int64_t j = 0; j < n64; ++j) {
    const double d = a[size_t(j * n64 + j)];
    if (!(d > 0.0) || !std::isfinite(d)) return 3;
  }
  return 0;
}

const char* hessian_step_name(int code) {
  switch (code) {
    case 1:
      return "Cholesky of H";
    case 2:
      return "triangular inverse of H's Cholesky factor";
    case 3:
      return "non-finite Hinv";
    case 4:
      return "non-finite weights after the sweep";
    default:
      return "?";
  }
}

ObsPrologue obs_prologue(const std::vector<double>& H, int64_t in) {
  ObsPrologue p;
  p.diag.resize(size_t(in));
  p.dead.assign(size_t(in), 0);
  for (int64_t j = 0; j < in; ++j) {
    p.diag[size_t(j)] = H[size_t(j * in + j)];
    if (p.diag[size_t(j)] == 0.0) {
      p.diag[size_t(j)] = 1.0;
      p.dead[size_t(j)] = 1;
      ++p.dead_columns;
    }
  }
  for (int64_t j = 0; j < in; ++j) p.mean_diag += p.diag[size_t(j)];
  p.mean_diag /= double(in);
  return p;
}

void ObsDamping::raise(int attempt, int fail) {
  constexpr int kMaxAttempts = 40;
  LB_INPUT_CHECK(attempt + 1 < kMaxAttempts, who_, ": the Hessian is not positive definite even with damping ", damp_,
                 " (", hessian_step_name(fail), " failed); is it a Hessian of real inputs?");
  const double next = damp_ > 0 ? damp_ * 10 : 1e-8 * std::max(std::fabs(mean_diag_), 1e-300);
  log_warn(who_, ": ", hessian_step_name(fail), " failed with damping ", damp_, "; raising it to ", next);
  damp_ = next;
  ++raises_;
}

}  // namespace lowbit
