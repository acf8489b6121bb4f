// lowbit/compress/prune.hpp — weight pruning: magnitude, Wanda, SparseGPT and Haar wavelet subband
// pruning, one file each (magnitude.cpp, wanda.cpp, sparsegpt.cpp, haar.cpp), one result type.
// defines: lowbit::NmPattern, parse_nm, PruneSpec, PruneResult, SubbandStat, SparseGptOptions,
//          prune_magnitude, prune_wanda, prune_sparsegpt, prune_haar
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lowbit/core/option_problem.hpp"
#include "lowbit/compress/stats.hpp"
#include "lowbit/core/tensor.hpp"

namespace lowbit {

struct MethodRow;  // compress/methods.hpp

// An N:M semi-structured pattern: n zeros in every m consecutive inputs.
struct NmPattern {
  int n = 0, m = 0;
  std::string str() const { return std::to_string(n) + ":" + std::to_string(m); }
};
// The one parser of N:M text (manifest `nm:`, `--nm`, a configuration's nm): two decimal integers
// (digits only: no sign, space or other separator) joined by ':', with 0 < N < M. nullopt otherwise.
std::optional<NmPattern> parse_nm(std::string_view s);
// What every surface says when parse_nm refuses `s` (the surface adds its field name).
std::string nm_syntax_problem(std::string_view s);

struct PruneSpec {
  double sparsity = 0.5;     // fraction of elements set to zero in every comparison group, in [0, 1)
  int n = 0, m = 0;          // N:M semi-structured when m > 0: n zeros in every m consecutive inputs
  bool per_row = true;       // comparison group: each output row (true) or the whole matrix (magnitude)
  int haar_levels = 1;       // Haar: decomposition levels (1 = LL, LH, HL, HH)
  bool haar_global = false;  // Haar ablation: one global magnitude threshold over all coefficients
  void set_nm(NmPattern p) { n = p.n, m = p.m; }
  // The first problem (field sparsity, nm or levels) for sparsity outside [0,1), N ≥ M, M not
  // dividing `in`, or a pattern the method (a pruning row of the method table) does not support
  // (N:M for Haar); nullopt when the settings fit a linear with `in` inputs.
  std::optional<OptionProblem> check(int64_t in, const MethodRow& method) const;
  // check() as an InputError "<where>: <what>" (the algorithms' own guard).
  void validate(int64_t in, const MethodRow& method, const std::string& where) const;
  std::string str() const;   // "s0.50", "2:4"
};

// Per-subband retention record for Haar (LL, LH, HL, HH at each level).
struct SubbandStat {
  std::string name;          // "LL1", "LH1", ... ("LL<L>" is the coarsest approximation)
  int64_t rows = 0, cols = 0;
  int64_t total = 0, pruned = 0;
  double energy = 0, energy_kept = 0;  // Σc² before and after pruning
};

struct PruneResult {
  Tensor w_hat;              // [out, in] the pruned (and, for SparseGPT, updated) weights
  int64_t total = 0, pruned = 0;   // pruned elements (weights, or Haar coefficients)
  std::vector<SubbandStat> subbands;  // Haar only
  // Haar only: the sparse coefficient matrix C (same shape as W) whose inverse transform is w_hat.
  Tensor coeffs;
  int haar_levels = 0;       // Haar only: decomposition levels of coeffs (layout: haar.hpp)
  int dead_columns = 0;      // SparseGPT: inputs with diag(H) == 0 (weights zeroed), as GPTQ reports them
  int damp_raises = 0;       // SparseGPT: times the damping was raised ×10 (compress/hessian.hpp)
  double sparsity() const { return total ? double(pruned) / double(total) : 0.0; }
};

struct SparseGptOptions {
  double percdamp = 0.01;
  int blocksize = 128;       // columns per block; the mask is chosen adaptively per block
};

PruneResult prune_magnitude(const Tensor& w, const PruneSpec& s);
// Wanda: score |W_ij| · ‖X_j‖₂ (‖X_j‖² = diag(Σxᵀx)), per-output-row comparison groups (or N:M).
PruneResult prune_wanda(const Tensor& w, const LinearStats& st, const PruneSpec& s);
// SparseGPT (Frantar & Alistarh, 2023): OBS mask selection with weight reconstruction from H.
PruneResult prune_sparsegpt(const Tensor& w, const std::vector<double>& H, const PruneSpec& s,
                            const SparseGptOptions& o = {});
// Haar subband pruning: 2-D orthonormal Haar transform, the same sparsity inside every subband by
// coefficient magnitude (linear-time selection), no weight update, inverse transform.
PruneResult prune_haar(const Tensor& w, const PruneSpec& s);

}  // namespace lowbit
