// lowbit/compress/haar.hpp — the orthonormal 2-D Haar transform of a weight matrix, its subband
// layout, and the sparse inference path of a Haar-pruned linear layer (docs/HAAR.md).
// defines: lowbit::haar_forward_1d, haar_inverse_1d, haar_forward_2d, haar_inverse_2d,
//          haar_max_levels, HaarBand, haar_bands, HaarSparseLinear, make_haar_sparse,
//          haar_sparse_matvec, prune_haar_into, prune_haar_unfused
//
// 1-D, one level, length n (h = ⌊n/2⌋), orthonormal:
//   y[k]     = (x[2k] + x[2k+1]) / √2      k < h   (low-pass, "L")
//   y[h + k] = (x[2k] − x[2k+1]) / √2      k < h   (high-pass, "H")
//   y[n − 1] = x[n − 1]                    n odd: the last element passes through untransformed.
// As a matrix y = Hₙ x with Hₙ orthogonal (Hₙᵀ Hₙ = I).
//
// 2-D, one level, of W [m, n] (rows = outputs, columns = inputs): C = Hₘ · W · Hₙᵀ, i.e. the 1-D
// transform along every row (pairs of adjacent columns), then along every column (pairs of adjacent
// rows); the result is separable and orthonormal, so ‖C‖_F = ‖W‖_F (Parseval) and
//   W·x = Hₘᵀ · C · (Hₙ · x)                                         (the inference path below).
// With h = ⌊m/2⌋, w = ⌊n/2⌋ the coefficient matrix C [m, n] is laid out as
//   rows [0, h)  × cols [0, w)   LL  low  along rows (vertical) · low  along columns (horizontal)
//   rows [0, h)  × cols [w, 2w)  LH  low  vertical · high horizontal
//   rows [h, 2h) × cols [0, w)   HL  high vertical · low  horizontal
//   rows [h, 2h) × cols [w, 2w)  HH  high vertical · high horizontal
//   odd n: column n−1, rows [0, 2h)  "PC" — the pass-through column: input n−1 skips the horizontal
//          transform; it still gets the vertical one (rows [0,h) low, [h,2h) high);
//   odd m: row m−1, all columns       "PR" — the pass-through row: output m−1 skips the vertical
//          transform (its columns [0,w) are horizontal low, [w,2w) high); with n odd too, its last
//          element C[m−1, n−1] = W[m−1, n−1] is untransformed in both directions.
// PC and PR are subbands of their own for pruning (the same ratio inside each, like LL/LH/HL/HH).
//
// Multi-level (levels = L): level l transforms the LL block of level l−1 (Mallat's pyramid: only LL
// recurses), of size r_{l−1} × c_{l−1} with r_0 = m, r_l = ⌊r_{l−1}/2⌋ (c likewise), in place at
// the top-left of C. Subbands: LL<L>, and for each level l: LH<l>, HL<l>, HH<l>, PC<l> (c_{l−1}
// odd), PR<l> (r_{l−1} odd). Every level needs r_{l−1} ≥ 2 and c_{l−1} ≥ 2 (haar_max_levels).
// The multi-level 2-D transform is not the tensor product of two 1-D multi-level transforms, so the
// inference path keeps one sparse block per level (HaarSparseLinear).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "lowbit/compress/prune.hpp"

namespace lowbit {

// 1-D transform of x[0..n) into y (out of place; x == y allowed), `levels` levels recursing on the
// low half: level l transforms y[0, n_{l−1}) with n_l = ⌊n_{l−1}/2⌋.
void haar_forward_1d(const float* x, float* y, int64_t n, int levels = 1);
void haar_inverse_1d(const float* y, float* x, int64_t n, int levels = 1);

// 2-D transform of the row-major [rows, cols] matrix w into c (layout above); src == dst allowed
// (a temporary is used), other overlaps are not. OpenMP over row pairs for large matrices.
void haar_forward_2d(const float* w, float* c, int64_t rows, int64_t cols, int levels = 1);
void haar_inverse_2d(const float* c, float* w, int64_t rows, int64_t cols, int levels = 1);

// Largest L such that every level's block is at least 2×2 (0 if the matrix is smaller than 2×2).
int haar_max_levels(int64_t rows, int64_t cols);

// One subband: a rectangle of C.
struct HaarBand {
  std::string name;  // "LL2", "LH1", "PC1", ...
  int level = 0;     // 1 = finest
  int64_t r0 = 0, c0 = 0, rows = 0, cols = 0;
  int64_t size() const { return rows * cols; }
};
// All subbands of a [rows, cols] matrix at `levels` levels, in the order LL<L>, then for
// l = L..1: LH<l>, HL<l>, HH<l>, PC<l>, PR<l> (the last two only where the dimension is odd). They
// tile C exactly.
std::vector<HaarBand> haar_bands(int64_t rows, int64_t cols, int levels);

// A Haar-pruned linear layer stored as its sparse coefficients plus shape: y = W·x computed as
// Hₘᵀ · C · (Hₙ · x) without ever forming W. One CSR block per level: block l−1 holds the nonzero
// coefficients of level l's region (LH<l>, HL<l>, HH<l>, PC<l>, PR<l>, and at the last level LL<L>)
// in the coordinates of level l's r_{l−1} × c_{l−1} block (for one level: all of C).
struct HaarSparseLinear {
  int64_t out = 0, in = 0;
  int levels = 1;
  struct Level {
    int64_t rows = 0, cols = 0;        // r_{l−1}, c_{l−1}
    std::vector<int64_t> row_ptr;      // [rows + 1]
    std::vector<int32_t> col;          // [nnz] column inside the level block
    std::vector<float> val;            // [nnz]
  };
  std::vector<Level> lv;               // [levels]
  int64_t nnz() const;
  // Bytes of the coefficients in a flat (COO-like) store: per nonzero an index of `index_bytes`
  // (position in C) and a value of `value_bytes`, plus a 24-byte header (out, in, levels, nnz);
  // see docs/HAAR.md for the bitmap alternative.
  int64_t coo_bytes(int index_bytes = 4, int value_bytes = 4) const;
};

// prune_haar into an existing result, reusing its buffers (w_hat and coeffs: no page faults when a
// caller prunes layer after layer of the same shape, the steady state of the layer-wise driver).
void prune_haar_into(const Tensor& w, const PruneSpec& s, PruneResult& r);

// prune_haar without its fused single-level fast path (forward transform into C, selection over
// C, masking, inverse): the reference the fast path is tested against, bit for bit.
PruneResult prune_haar_unfused(const Tensor& w, const PruneSpec& s);

// From prune_haar's result (its coeffs and haar_levels); zero coefficients are dropped.
HaarSparseLinear make_haar_sparse(const PruneResult& r);
// y[out] = Hₘᵀ · C · (Hₙ · x[in]): O(nnz + m + n) work, O(m + n) scratch (allocated per call).
void haar_sparse_matvec(const HaarSparseLinear& a, const float* x, float* y);

}  // namespace lowbit
