// lowbit/compress/magnitude.cpp — magnitude pruning: zero the smallest |W_ij| of every comparison
// group (each output row, the whole matrix, or N of every M consecutive inputs), no weight update.
// defines: lowbit::prune_magnitude (see prune.hpp; the rounding rule and tie order: prune_select.hpp)
#include <cmath>

#include "lowbit/compress/methods.hpp"
#include "lowbit/compress/prune.hpp"
#include "lowbit/compress/prune_select.hpp"
#include "lowbit/core/error.hpp"

namespace lowbit {

PruneResult prune_magnitude(const Tensor& w, const PruneSpec& s) {
  LB_INPUT_CHECK(w.shape.size() == 2, "magnitude: weight must be 2-D, got ", w.shape_str());
  s.validate(w.dim(1), method_row("magnitude"), "magnitude");
  LB_INPUT_CHECK(prune_detail::all_finite(w.ptr(), w.numel()), "magnitude: weight has a non-finite value");
  return prune_detail::prune_scored(w, nullptr, s);
}

}  // namespace lowbit
