// lowbit/compress/prune_select.hpp — exact, linear-time "k smallest" selection shared by the pruning
// methods (magnitude, Wanda, SparseGPT, Haar). Internal to src/lowbit/compress.
// defines: lowbit::prune_detail::{prune_count, mag_key, Cut, Rect, select_small, select_cut,
//          prune_scored}
//
// The rounding rule (one for every method and every comparison group):
//   pruned elements in a group of n = k(s, n) = ⌊s·n⌋, the floor of the decimal product. It is
//   computed as ⌊s·n + 1e-6⌋ in double, so that a ratio written with up to five decimals hits its
//   exact integer (0.29·100 = 29, not ⌊28.999999999999996⌋ = 28); for such ratios and n < 10⁹ the
//   result is exactly ⌊s·n⌋ of the decimal value.
//   N:M: exactly N of every M consecutive inputs of a row.
//
// Ties: elements are ordered by (key, index inside the group), a total order, so "the k smallest"
// is one well-defined set: among equal keys the lower index is pruned first. Keys are the IEEE bit
// patterns of non-negative f32 scores (|w|, |w|·‖X_j‖, |w|/[H⁻¹]_jj, |c|): for non-negative floats the
// bit pattern is monotone in the value, so comparisons are integer comparisons and histogram
// buckets are bit fields.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "lowbit/compress/prune.hpp"

namespace lowbit::prune_detail {

// ⌊s·n⌋ with the decimal correction above, clamped to [0, n].
inline int64_t prune_count(double s, int64_t n) {
  if (n <= 0 || !(s > 0)) return 0;
  const double k = std::floor(s * double(n) + 1e-6);
  return k >= double(n) ? n : int64_t(k);
}

// Ordering key of a score: the bit pattern of |v| (31 bits, monotone in |v|; +0 and −0 are equal).
inline uint32_t mag_key(float v) {
  uint32_t u;
  std::memcpy(&u, &v, sizeof u);
  return u & 0x7fffffffu;
}

// The k-th smallest (key, index) pair of a group: an element is pruned iff (key, index) ≤ (key, idx)
// lexicographically. The default prunes nothing.
struct Cut {
  uint32_t key = 0;
  int64_t idx = -1;
  bool prunes(uint32_t k, int64_t i) const { return k < key || (k == key && i <= idx); }
};

// A rectangle of a row-major matrix. The elements of a list of rectangles are indexed in order:
// rectangle by rectangle, row-major inside each.
struct Rect {
  int64_t r0 = 0, c0 = 0, rows = 0, cols = 0;
  int64_t size() const { return rows * cols; }
};

// Cut for the k smallest of keys[0..n) (index = position). Average O(n) (std::nth_element on
// (key, index) pairs); `scratch` is reused across calls.
Cut select_small(const uint32_t* keys, int64_t n, int64_t k, std::vector<uint64_t>& scratch);

// Cut for the k smallest |a| over the rectangles of the row-major matrix `a` (leading dimension
// ld). Linear: one pass builds a histogram of the top 15 key bits, a second collects the elements of
// the bucket that holds the k-th, and std::nth_element runs on those candidates only. OpenMP over
// rows when the group is large.
Cut select_cut(const float* a, int64_t ld, const std::vector<Rect>& rects, int64_t k);

// Magnitude (colnorm == nullptr: score |W_ij|) and Wanda (score |W_ij|·colnorm[j], rounded to f32)
// pruning without weight update, in the comparison groups of `s`: N:M blocks of a row when s.m > 0,
// else each output row (s.per_row) or the whole matrix. w must be finite and 2-D (checked by the
// caller, which also validates s).
PruneResult prune_scored(const Tensor& w, const double* colnorm, const PruneSpec& s);

}  // namespace lowbit::prune_detail
