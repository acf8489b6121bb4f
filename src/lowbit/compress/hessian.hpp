// lowbit/compress/hessian.hpp — the inverse-Hessian factor that OBS-style solvers (GPTQ, SparseGPT)
// sweep with: Hinv = the upper Cholesky factor of (H + λI)⁻¹.
// defines: lowbit::hessian_inverse_upper, lowbit::hessian_step_name, lowbit::ObsPrologue,
//          lowbit::obs_prologue, lowbit::ObsDamping
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
// Codes 1..3 as above; 4: the sweep produced a non-finite weight.
const char* hessian_step_name(int code);

// The OBS prologue GPTQ and SparseGPT share (the reference implementations' "dead = H.diag == 0;
// H[dead, dead] = 1; W[:, dead] = 0"): the diagonal used from here on, the dead columns, and the mean
// diagonal that damping is relative to.
struct ObsPrologue {
  std::vector<double> diag;  // diag(H), 1 where the column is dead
  std::vector<char> dead;    // diag(H) == 0: the input never saw a nonzero value; its weights are zeroed
  int dead_columns = 0;
  double mean_diag = 0;      // mean of `diag`
};
ObsPrologue obs_prologue(const std::vector<double>& H, int64_t in);

// Damping λ = percdamp · mean(diag), raised ×10 (from 1e-8·|mean| when it was 0) after every failed
// attempt, with a warning; after 40 attempts an InputError names the method and the failing step.
class ObsDamping {
 public:
  ObsDamping(const char* who, double percdamp, double mean_diag)
      : who_(who), mean_diag_(mean_diag), damp_(percdamp * mean_diag) {}
  double value() const { return damp_; }
  int raises() const { return raises_; }
  // After attempt `attempt` (0-based) failed at step `fail` (hessian_step_name).
  void raise(int attempt, int fail);

 private:
  const char* who_;
  double mean_diag_, damp_;
  int raises_ = 0;
};

}  // namespace lowbit
