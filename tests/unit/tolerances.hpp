// tests/unit/tolerances.hpp — every numeric tolerance of the test suite, named, with its reason.
// defines: lowbit::tol::*
#pragma once

namespace lowbit::tol {

// Golden NLL per token vs the numpy fp64 reference in shared/models/SOURCES.md, which quotes
// 4 decimals; our f32 forward differs from fp64 by ~1e-6, so the bound is the quoted rounding.
inline constexpr double kGoldenNll = 1e-3;
// Normalised MSE mse(a,b)/mse(a,0) of an f32 CUDA kernel vs its CPU reference (different
// summation order only).
inline constexpr double kNmseF32Kernel = 1e-10;
// Max |logit difference| between two f32 forward paths that differ only in summation order
// (e.g. llama2.c vs the same model converted to HF with permuted q/k rows).
inline constexpr float kLogitsF32 = 1e-4f;
// Same, against an independent numpy float64 reference (tests/data/ref_forward.py).
inline constexpr float kLogitsVsNumpy = 2e-4f;

// Share of a model's own f32 bytes that must still be resident (RssAnon) after compressing it
// without streaming: the blocks are live and written, so all of it is; 0.9 leaves room for pages
// the kernel has not yet accounted and for blocks smaller than the nominal size (none here).
inline constexpr double kRetainedShare = 0.9;

// Relative difference between two float64 evaluations of one quadratic form that differ only in
// summation order (tiles and BLAS blocking vs a direct sum over tokens): ~sqrt(n)·eps with n the
// terms summed (here < 10^5), so 1e-12 leaves two orders of margin.
inline constexpr double kF64SumOrderRel = 1e-12;

// One chunk's Σxᵀx in f32 (LinearStats::add's ssyrk): any summation order of r f32 products is
// within γ_r·Σ|x_a·x_b| of the exact sum (γ_r = r·u/(1−r·u), u = 2⁻²⁴; Higham §3.1), and
// Σ|x_a·x_b| ≤ √(H_aa·H_bb) (Cauchy–Schwarz); the factor 2 covers the f64 sum of the chunks.
inline double hessian_f32_bound(long long rows) {
  const double u = 1.0 / 16777216.0;
  return 2.0 * rows * u / (1.0 - rows * u);
}

}  // namespace lowbit::tol
