// lowbit/compress/wanda.cpp — Wanda (Sun et al., 2024, "A Simple and Effective Pruning Approach for
// Large Language Models"): score S_ij = |W_ij| · ‖X_j‖₂, where ‖X_j‖₂² = Σ_tokens x_j² is the
// diagonal of the layer's calibration Σxᵀx; the smallest scores of every comparison group are zeroed,
// no weight update. Groups: each output row (the paper's choice and the default), N of every M
// consecutive inputs of a row, or (per_row = false, the paper's per-layer ablation) the whole matrix.
// The score is computed in double and rounded to f32 for the comparison; ties are broken by index
// (prune_select.hpp).
// defines: lowbit::prune_wanda
#include <cmath>

#include "lowbit/compress/methods.hpp"
#include "lowbit/compress/prune.hpp"
#include "lowbit/compress/prune_select.hpp"
#include "lowbit/core/error.hpp"

namespace lowbit {

PruneResult prune_wanda(const Tensor& w, const LinearStats& st, const PruneSpec& s) {
  LB_INPUT_CHECK(w.shape.size() == 2, "wanda: weight must be 2-D, got ", w.shape_str());
  const int64_t in = w.dim(1);
  s.validate(in, method_row("wanda"), "wanda");
  LB_INPUT_CHECK(st.in == in, "wanda: calibration statistics have ", st.in, " features, the weight has ", in,
                 " inputs");
  LB_INPUT_CHECK(st.with_hessian && int64_t(st.xtx.size()) == in * in,
                 "wanda: calibration statistics lack Σxᵀx (collect them with the Hessian on; ‖X_j‖² is its diagonal)");
  LB_INPUT_CHECK(prune_detail::all_finite(w.ptr(), w.numel()), "wanda: weight has a non-finite value");
  std::vector<double> norm(static_cast<size_t>(in));
  for (int64_t j = 0; j < in; ++j) {
    const double sq = st.col_sq_norm(j);
    LB_INPUT_CHECK(std::isfinite(sq) && sq >= 0, "wanda: ‖X_", j, "‖² = ", sq, " is not a finite non-negative value");
    norm[size_t(j)] = std::sqrt(sq);
  }
  return prune_detail::prune_scored(w, norm.data(), s);
}

}  // namespace lowbit
