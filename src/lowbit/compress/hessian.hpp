// lowbit/compress/hessian.hpp — the inverse-Hessian factor that OBS-style solvers (GPTQ, SparseGPT)
// sweep with: Hinv = the upper Cholesky factor of (H + λI)⁻¹.
// defines: lowbit::hessian_inverse_upper, lowbit::hessian_step_name
//
// Shared by GPTQ and SparseGPT. With J the exchange matrix, Cholesky J A J = L Lᵀ gives A = V Vᵀ with
// V = J L J upper triangular, so A⁻¹ = V⁻ᵀ V⁻¹ and the upper factor of A⁻¹ is V⁻¹ = J L⁻¹ J: one
// dpotrf and one dtrtri (2n³/3 flops) instead of the reference's Cholesky → inverse → Cholesky.
#pragma once

#include <cstdint>
#include <vector>

namespace lowbit {

// a (row-major n×n, symmetric positive definite A, e.g. H + λI) := U, upper triangular with
// UᵀU = A⁻¹, zero below the diagonal. Returns 0, or a nonzero code naming the step that failed
// (hessian_step_name): 1 Cholesky, 2 triangular inverse, 3 a non-positive or non-finite diagonal.
int hessian_inverse_upper(std::vector<double>& a, int64_t n);
const char* hessian_step_name(int code);

}  // namespace lowbit
