// lowbit/compress/prune_select.hpp — exact, linear-time "k smallest" selection shared by the pruning
// methods (magnitude, Wanda, SparseGPT, Haar). Internal to src/lowbit/compress.
// defines: lowbit::prune_detail::{prune_count, mag_key, Cut, Rect, SelectScratch, select_small, select_cut, Bracket,
//          bracket_from_sample, bracket_scan, cut_from_candidates, apply_cut, all_finite, cpu_has_avx2,
//          disable_avx2, select_cut_histogram, prune_scored}
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

// Cut for the k smallest of keys[0..n) (index = position), linear time: n ≤ 16 (N:M blocks) by
// ranks; otherwise a 2048-bucket histogram of the top key bits, then std::nth_element on the
// bucket holding the k-th. `scratch` is reused across calls.
struct SelectScratch {
  std::vector<uint32_t> hist;
  std::vector<uint64_t> cand;
};
Cut select_small(const uint32_t* keys, int64_t n, int64_t k, SelectScratch& scratch);

// Cut for the k smallest |a| over the rectangles of the row-major matrix `a` (leading dimension
// ld). Linear time, never a sort of the group:
//   small groups (≤ 65536): std::nth_element on all (key, index) pairs;
//   otherwise a sampled bracket (Floyd–Rivest): a stratified sample of the keys gives an interval
//   [lo, hi] that holds the k-th smallest with overwhelming probability; one pass counts the keys
//   below lo and collects the few inside (≈2%), and std::nth_element runs on those only. If the
//   interval missed (a bad sample: the result never depends on it), a histogram of the top 15 key
//   bits finds the bucket of the k-th and a second pass collects that bucket.
// OpenMP over rows when the group is large.
Cut select_cut(const float* a, int64_t ld, const std::vector<Rect>& rects, int64_t k);

// ---- the pieces of the sampled bracket, shared with Haar's fused single-level path ----
struct Bracket {
  uint32_t lo = 0, hi = 0x7fffffffu;  // candidate keys: lo ≤ key ≤ hi
};
// From a sample of the group's keys (reordered), the interval around rank k of n: the sample
// quantile k/n ± 4 standard deviations (+2 ranks): a miss (probability ≈ 6e-5) only costs time.
Bracket bracket_from_sample(std::vector<uint32_t>& sample, int64_t n, int64_t k);
// A run v[0..len) with indices idx0, idx0+1, ...: adds the number of keys < lo to `below` and
// appends (key << 32 | index) of the keys inside the bracket to `cand`. SSE2 where available.
void bracket_scan(const float* v, int64_t len, int64_t idx0, const Bracket& b, int64_t& below,
                  std::vector<uint64_t>& cand);
// The cut, if the bracket held the k-th smallest (below < k ≤ below + |cand|); reorders cand.
bool cut_from_candidates(std::vector<uint64_t>& cand, int64_t below, int64_t k, Cut& out);
// Zero the elements of v[0..len) (indices idx0, ...) that c prunes; returns how many. When e_all /
// e_kept are given, adds Σv² over the run before / after pruning (f32 partial sums over 64
// elements, accumulated in double). SSE2 where available.
int64_t apply_cut(float* v, int64_t len, int64_t idx0, const Cut& c, double* e_all = nullptr,
                  double* e_kept = nullptr);
// Whether the AVX2 kernels (runtime dispatch; same results as SSE2/scalar) run: the CPU has AVX2
// and they are not disabled (disable_avx2(true): tests compare the two paths).
bool cpu_has_avx2();
void disable_avx2(bool off);
// select_cut's fallback on its own (tests).
Cut select_cut_histogram(const float* a, int64_t ld, const std::vector<Rect>& rects, int64_t k);
// true iff no value is NaN or ±Inf (exponent-bit test; vectorizes).
bool all_finite(const float* v, int64_t n);

// Magnitude (colnorm == nullptr: score |W_ij|) and Wanda (score |W_ij|·colnorm[j], rounded to f32)
// pruning without weight update, in the comparison groups of `s`: N:M blocks of a row when s.m > 0,
// else each output row (s.per_row) or the whole matrix. w must be finite and 2-D (checked by the
// caller, which also validates s).
PruneResult prune_scored(const Tensor& w, const double* colnorm, const PruneSpec& s);

}  // namespace lowbit::prune_detail
