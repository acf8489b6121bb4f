// lowbit/compress/prune.hpp — weight pruning: magnitude, Wanda, SparseGPT and Haar wavelet subband
// pruning, one file each (magnitude.cpp, wanda.cpp, sparsegpt.cpp, haar.cpp), one result type.
// defines: lowbit::PruneSpec, PruneResult, SubbandStat, SparseGptOptions, prune_magnitude,
//          prune_wanda, prune_sparsegpt, prune_haar
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "lowbit/compress/stats.hpp"
#include "lowbit/core/tensor.hpp"

namespace lowbit {

struct MethodRow;  // compress/methods.hpp

struct PruneSpec {
  double sparsity = 0.5;     // fraction of elements set to zero in every comparison group, in [0, 1)
  int n = 0, m = 0;          // N:M semi-structured when m > 0: n zeros in every m consecutive inputs
  bool per_row = true;       // comparison group: each output row (true) or the whole matrix (magnitude)
  int haar_levels = 1;       // Haar: decomposition levels (1 = LL, LH, HL, HH)
  bool haar_global = false;  // Haar ablation: one global magnitude threshold over all coefficients
  // Throws InputError naming `where` for sparsity outside [0,1), N ≥ M, M not dividing `in`, or a
  // pattern the method (a pruning row of the method table) does not support (N:M for Haar).
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
