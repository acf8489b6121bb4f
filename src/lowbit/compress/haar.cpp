// lowbit/compress/haar.cpp — Haar wavelet subband pruning (calibration-free, no weight update) and
// the transforms of haar.hpp.
// defines: lowbit::prune_haar (prune.hpp) and everything in haar.hpp
//
// prune_haar: C = 2-D Haar transform of W (haar.hpp); then
//   subband-wise (default): inside every subband b (LL<L>, LH/HL/HH/PC/PR of every level) exactly
//     k_b = ⌊s·|b|⌋ coefficients are zeroed — the smallest |c|, ties by row-major index inside the
//     subband — so each subband keeps exactly |b| − k_b of its coefficients;
//   global (haar_global, the ablation): one group, all of C; exactly ⌊s·m·n⌋ smallest |c| zeroed,
//     ties by row-major index in C; subbands keep whatever falls in them (recorded).
//   ŵ = inverse transform of the sparse C (no weight update). Selection is the linear-time
//   histogram select of prune_select.hpp. PruneResult::coeffs is the sparse C; pruned/total count
//   coefficients; subbands holds one SubbandStat per subband (size, pruned, Σc² before/after).
#include "lowbit/compress/haar.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "lowbit/compress/prune_select.hpp"
#include "lowbit/core/error.hpp"

namespace lowbit {
namespace {

constexpr int64_t kParallelMin = int64_t(1) << 16;
constexpr float kInvSqrt2 = 0.70710678118654752440f;

// One 2-D level: src [R, Cc] (leading dimension lds) → dst (ldd), layout of haar.hpp. No overlap.
void fwd_level(const float* src, int64_t lds, int64_t R, int64_t Cc, float* dst, int64_t ldd) {
  const int64_t h = R / 2, w = Cc / 2;
#pragma omp parallel for schedule(static) if (R * Cc >= kParallelMin)
  for (int64_t i = 0; i < h; ++i) {
    const float* a = src + 2 * i * lds;
    const float* b = a + lds;
    float* ll = dst + i * ldd;
    float* lh = ll + w;
    float* hl = dst + (h + i) * ldd;
    float* hh = hl + w;
    for (int64_t k = 0; k < w; ++k) {
      const float s0 = a[2 * k] + a[2 * k + 1], d0 = a[2 * k] - a[2 * k + 1];
      const float s1 = b[2 * k] + b[2 * k + 1], d1 = b[2 * k] - b[2 * k + 1];
      ll[k] = 0.5f * (s0 + s1);
      lh[k] = 0.5f * (d0 + d1);
      hl[k] = 0.5f * (s0 - s1);
      hh[k] = 0.5f * (d0 - d1);
    }
    if (Cc & 1) {
      dst[i * ldd + Cc - 1] = (a[Cc - 1] + b[Cc - 1]) * kInvSqrt2;
      dst[(h + i) * ldd + Cc - 1] = (a[Cc - 1] - b[Cc - 1]) * kInvSqrt2;
    }
  }
  if (R & 1) {
    const float* last = src + (R - 1) * lds;
    float* o = dst + (R - 1) * ldd;
    for (int64_t k = 0; k < w; ++k) {
      o[k] = (last[2 * k] + last[2 * k + 1]) * kInvSqrt2;
      o[w + k] = (last[2 * k] - last[2 * k + 1]) * kInvSqrt2;
    }
    if (Cc & 1) o[Cc - 1] = last[Cc - 1];
  }
}

// Inverse of one level: the LL quarter is read from ll (leading dimension ldl), everything else
// from src (lds); result into dst (ldd). No overlap between dst and the inputs.
void inv_level(const float* ll, int64_t ldl, const float* src, int64_t lds, int64_t R, int64_t Cc, float* dst,
               int64_t ldd) {
  const int64_t h = R / 2, w = Cc / 2;
#pragma omp parallel for schedule(static) if (R * Cc >= kParallelMin)
  for (int64_t i = 0; i < h; ++i) {
    const float* pll = ll + i * ldl;
    const float* plh = src + i * lds + w;
    const float* phl = src + (h + i) * lds;
    const float* phh = phl + w;
    float* a = dst + 2 * i * ldd;
    float* b = a + ldd;
    for (int64_t k = 0; k < w; ++k) {
      const float s0 = pll[k] + phl[k], s1 = pll[k] - phl[k];
      const float d0 = plh[k] + phh[k], d1 = plh[k] - phh[k];
      a[2 * k] = 0.5f * (s0 + d0);
      a[2 * k + 1] = 0.5f * (s0 - d0);
      b[2 * k] = 0.5f * (s1 + d1);
      b[2 * k + 1] = 0.5f * (s1 - d1);
    }
    if (Cc & 1) {
      const float lo = src[i * lds + Cc - 1], hi = src[(h + i) * lds + Cc - 1];
      a[Cc - 1] = (lo + hi) * kInvSqrt2;
      b[Cc - 1] = (lo - hi) * kInvSqrt2;
    }
  }
  if (R & 1) {
    const float* last = src + (R - 1) * lds;
    float* o = dst + (R - 1) * ldd;
    for (int64_t k = 0; k < w; ++k) {
      o[2 * k] = (last[k] + last[w + k]) * kInvSqrt2;
      o[2 * k + 1] = (last[k] - last[w + k]) * kInvSqrt2;
    }
    if (Cc & 1) o[Cc - 1] = last[Cc - 1];
  }
}

// Forward, `levels` levels: src [R, Cc] (lds) → dst (ldd), no overlap.
void fwd_rec(const float* src, int64_t lds, int64_t R, int64_t Cc, int levels, float* dst, int64_t ldd) {
  fwd_level(src, lds, R, Cc, dst, ldd);
  if (levels <= 1) return;
  const int64_t h = R / 2, w = Cc / 2;
  std::vector<float> ll(static_cast<size_t>(h * w));
  for (int64_t i = 0; i < h; ++i) std::memcpy(&ll[size_t(i * w)], dst + i * ldd, size_t(w) * sizeof(float));
  fwd_rec(ll.data(), w, h, w, levels - 1, dst, ldd);
}

// Inverse, `levels` levels: src [R, Cc] (lds) → dst (ldd), no overlap.
void inv_rec(const float* src, int64_t lds, int64_t R, int64_t Cc, int levels, float* dst, int64_t ldd) {
  if (levels <= 1) {
    inv_level(src, lds, src, lds, R, Cc, dst, ldd);
    return;
  }
  const int64_t h = R / 2, w = Cc / 2;
  std::vector<float> ll(static_cast<size_t>(h * w));
  inv_rec(src, lds, h, w, levels - 1, ll.data(), w);
  inv_level(ll.data(), w, src, lds, R, Cc, dst, ldd);
}

void fwd1_level(const float* x, float* y, int64_t n) {  // no overlap
  const int64_t h = n / 2;
  for (int64_t k = 0; k < h; ++k) {
    y[k] = (x[2 * k] + x[2 * k + 1]) * kInvSqrt2;
    y[h + k] = (x[2 * k] - x[2 * k + 1]) * kInvSqrt2;
  }
  if (n & 1) y[n - 1] = x[n - 1];
}
void inv1_level(const float* y, float* x, int64_t n) {  // no overlap
  const int64_t h = n / 2;
  for (int64_t k = 0; k < h; ++k) {
    x[2 * k] = (y[k] + y[h + k]) * kInvSqrt2;
    x[2 * k + 1] = (y[k] - y[h + k]) * kInvSqrt2;
  }
  if (n & 1) x[n - 1] = y[n - 1];
}

void check_levels(int64_t rows, int64_t cols, int levels, const char* who) {
  LB_INPUT_CHECK(rows >= 0 && cols >= 0, who, ": negative shape ", rows, "x", cols);
  LB_INPUT_CHECK(levels >= 1 && levels <= haar_max_levels(rows, cols), who, ": ", levels,
                 " Haar levels do not fit a ", rows, "x", cols, " matrix (each level needs a block of at least 2x2; at most ",
                 haar_max_levels(rows, cols), ")");
}

// Level of coefficient position p along a dimension with sizes d[0] > d[1] > ... > d[L]: the
// smallest l ≥ 1 with p ≥ d[l], else L.
std::vector<int> level_of_positions(int64_t n, int levels) {
  std::vector<int> lv(static_cast<size_t>(n), levels);
  int64_t d = n;
  for (int l = 1; l <= levels; ++l) {
    const int64_t next = d / 2;
    for (int64_t p = next; p < d; ++p) lv[size_t(p)] = l;
    d = next;
  }
  return lv;
}

}  // namespace

int haar_max_levels(int64_t rows, int64_t cols) {
  int l = 0;
  while (rows >= 2 && cols >= 2) {
    ++l;
    rows /= 2;
    cols /= 2;
  }
  return l;
}

void haar_forward_1d(const float* x, float* y, int64_t n, int levels) {
  LB_INPUT_CHECK(levels >= 1 && (n >> levels) >= 1, "haar_forward_1d: ", levels, " levels do not fit length ", n);
  std::vector<float> t(x, x + n);
  int64_t len = n;
  for (int l = 0; l < levels; ++l) {
    fwd1_level(t.data(), y, len);
    std::copy(y, y + len / 2, t.begin());  // the low half feeds the next level
    len /= 2;
  }
}

void haar_inverse_1d(const float* y, float* x, int64_t n, int levels) {
  LB_INPUT_CHECK(levels >= 1 && (n >> levels) >= 1, "haar_inverse_1d: ", levels, " levels do not fit length ", n);
  std::vector<int64_t> len(static_cast<size_t>(levels) + 1);
  len[0] = n;
  for (int l = 1; l <= levels; ++l) len[size_t(l)] = len[size_t(l - 1)] / 2;
  std::vector<float> cur(y, y + n), nxt(static_cast<size_t>(n));
  for (int l = levels; l >= 1; --l) {
    const int64_t m = len[size_t(l - 1)];
    inv1_level(cur.data(), nxt.data(), m);
    std::copy(nxt.begin(), nxt.begin() + m, cur.begin());
  }
  std::copy(cur.begin(), cur.end(), x);
}

void haar_forward_2d(const float* w, float* c, int64_t rows, int64_t cols, int levels) {
  check_levels(rows, cols, levels, "haar_forward_2d");
  if (w == c) {
    std::vector<float> t(w, w + rows * cols);
    fwd_rec(t.data(), cols, rows, cols, levels, c, cols);
  } else {
    fwd_rec(w, cols, rows, cols, levels, c, cols);
  }
}

void haar_inverse_2d(const float* c, float* w, int64_t rows, int64_t cols, int levels) {
  check_levels(rows, cols, levels, "haar_inverse_2d");
  if (w == c) {
    std::vector<float> t(c, c + rows * cols);
    inv_rec(t.data(), cols, rows, cols, levels, w, cols);
  } else {
    inv_rec(c, cols, rows, cols, levels, w, cols);
  }
}

std::vector<HaarBand> haar_bands(int64_t rows, int64_t cols, int levels) {
  check_levels(rows, cols, levels, "haar_bands");
  std::vector<int64_t> r(static_cast<size_t>(levels) + 1), c(static_cast<size_t>(levels) + 1);
  r[0] = rows;
  c[0] = cols;
  for (int l = 1; l <= levels; ++l) {
    r[size_t(l)] = r[size_t(l - 1)] / 2;
    c[size_t(l)] = c[size_t(l - 1)] / 2;
  }
  std::vector<HaarBand> b;
  b.push_back({"LL" + std::to_string(levels), levels, 0, 0, r[size_t(levels)], c[size_t(levels)]});
  for (int l = levels; l >= 1; --l) {
    const int64_t R = r[size_t(l - 1)], Cc = c[size_t(l - 1)], h = r[size_t(l)], w = c[size_t(l)];
    const std::string s = std::to_string(l);
    b.push_back({"LH" + s, l, 0, w, h, w});
    b.push_back({"HL" + s, l, h, 0, h, w});
    b.push_back({"HH" + s, l, h, w, h, w});
    if (Cc & 1) b.push_back({"PC" + s, l, 0, Cc - 1, 2 * h, 1});
    if (R & 1) b.push_back({"PR" + s, l, R - 1, 0, 1, Cc});
  }
  return b;
}

PruneResult prune_haar(const Tensor& w, const PruneSpec& s) {
  using namespace prune_detail;
  LB_INPUT_CHECK(w.shape.size() == 2, "haar: weight must be 2-D, got ", w.shape_str());
  const int64_t out = w.dim(0), in = w.dim(1);
  s.validate(in, "haar", "haar");
  LB_INPUT_CHECK(s.haar_levels <= haar_max_levels(out, in), "haar: ", s.haar_levels,
                 " Haar levels do not fit the ", out, "x", in, " weight (at most ", haar_max_levels(out, in), ")");
  for (float v : w.data) LB_INPUT_CHECK(std::isfinite(v), "haar: weight has a non-finite value");
  const int L = s.haar_levels;
  PruneResult r;
  r.haar_levels = L;
  r.total = out * in;
  r.coeffs.resize({out, in});
  haar_forward_2d(w.ptr(), r.coeffs.ptr(), out, in, L);
  float* C = r.coeffs.ptr();
  const std::vector<HaarBand> bands = haar_bands(out, in, L);

  Cut global;
  if (s.haar_global) global = select_cut(C, in, {Rect{0, 0, out, in}}, prune_count(s.sparsity, out * in));
  int64_t pruned_all = 0;
  for (const HaarBand& b : bands) {
    SubbandStat st;
    st.name = b.name;
    st.rows = b.rows;
    st.cols = b.cols;
    st.total = b.size();
    const int64_t k = prune_count(s.sparsity, b.size());
    const Cut cut = s.haar_global ? global : select_cut(C, in, {Rect{b.r0, b.c0, b.rows, b.cols}}, k);
    double e0 = 0, e1 = 0;
    int64_t pruned = 0;
#pragma omp parallel for schedule(static) if (b.size() >= kParallelMin) reduction(+ : e0, e1, pruned)
    for (int64_t i = 0; i < b.rows; ++i) {
      float* p = C + (b.r0 + i) * in + b.c0;
      const int64_t base = s.haar_global ? (b.r0 + i) * in + b.c0 : i * b.cols;
      for (int64_t j = 0; j < b.cols; ++j) {
        const double v = p[j];
        e0 += v * v;
        if (cut.prunes(mag_key(p[j]), base + j)) {
          p[j] = 0.f;
          ++pruned;
        } else {
          e1 += v * v;
        }
      }
    }
    if (!s.haar_global) LB_CHECK(pruned == k, "haar subband ", b.name, ": pruned ", pruned, ", expected ", k);
    st.pruned = pruned;
    st.energy = e0;
    st.energy_kept = e1;
    pruned_all += pruned;
    r.subbands.push_back(st);
  }
  if (s.haar_global)
    LB_CHECK(pruned_all == prune_count(s.sparsity, out * in), "haar global: pruned ", pruned_all);
  r.pruned = pruned_all;
  r.w_hat.resize({out, in});
  haar_inverse_2d(C, r.w_hat.ptr(), out, in, L);
  return r;
}

// ---- the sparse inference path ----

int64_t HaarSparseLinear::nnz() const {
  int64_t n = 0;
  for (const auto& l : lv) n += int64_t(l.val.size());
  return n;
}

int64_t HaarSparseLinear::coo_bytes(int index_bytes, int value_bytes) const {
  return 24 + nnz() * int64_t(index_bytes + value_bytes);
}

HaarSparseLinear make_haar_sparse(const PruneResult& r) {
  LB_INPUT_CHECK(r.coeffs.shape.size() == 2 && r.haar_levels >= 1,
                 "make_haar_sparse: the result holds no Haar coefficients (not from prune_haar)");
  HaarSparseLinear a;
  a.out = r.coeffs.dim(0);
  a.in = r.coeffs.dim(1);
  a.levels = r.haar_levels;
  check_levels(a.out, a.in, a.levels, "make_haar_sparse");
  LB_INPUT_CHECK(a.in <= int64_t(INT32_MAX), "make_haar_sparse: ", a.in, " columns exceed 32-bit indices");
  const std::vector<int> rl = level_of_positions(a.out, a.levels), cl = level_of_positions(a.in, a.levels);
  a.lv.resize(size_t(a.levels));
  int64_t R = a.out, Cc = a.in;
  for (auto& l : a.lv) {
    l.rows = R;
    l.cols = Cc;
    l.row_ptr.assign(size_t(R) + 1, 0);
    R /= 2;
    Cc /= 2;
  }
  // Count per (level, row), then fill.
  for (int64_t i = 0; i < a.out; ++i) {
    const float* p = r.coeffs.row(i);
    for (int64_t j = 0; j < a.in; ++j)
      if (p[j] != 0.f) ++a.lv[size_t(std::min(rl[size_t(i)], cl[size_t(j)]) - 1)].row_ptr[size_t(i) + 1];
  }
  for (auto& l : a.lv) {
    for (int64_t i = 0; i < l.rows; ++i) l.row_ptr[size_t(i) + 1] += l.row_ptr[size_t(i)];
    l.col.resize(size_t(l.row_ptr.back()));
    l.val.resize(size_t(l.row_ptr.back()));
  }
  std::vector<std::vector<int64_t>> fill(a.lv.size());
  for (size_t l = 0; l < a.lv.size(); ++l) fill[l].assign(a.lv[l].row_ptr.begin(), a.lv[l].row_ptr.end() - 1);
  for (int64_t i = 0; i < a.out; ++i) {
    const float* p = r.coeffs.row(i);
    for (int64_t j = 0; j < a.in; ++j)
      if (p[j] != 0.f) {
        const size_t l = size_t(std::min(rl[size_t(i)], cl[size_t(j)]) - 1);
        const int64_t at = fill[l][size_t(i)]++;
        a.lv[l].col[size_t(at)] = int32_t(j);
        a.lv[l].val[size_t(at)] = p[j];
      }
  }
  return a;
}

void haar_sparse_matvec(const HaarSparseLinear& a, const float* x, float* y) {
  const int L = a.levels;
  LB_CHECK(int(a.lv.size()) == L && L >= 1, "HaarSparseLinear levels");
  // z_l = B_l v_{l−1} (length c_{l−1}), v_0 = x, v_l = z_l[0, c_l).
  std::vector<std::vector<float>> z(static_cast<size_t>(L)), u(static_cast<size_t>(L));
  const float* v = x;
  for (int l = 0; l < L; ++l) {
    const auto& lv = a.lv[size_t(l)];
    z[size_t(l)].resize(size_t(lv.cols));
    fwd1_level(v, z[size_t(l)].data(), lv.cols);
    v = z[size_t(l)].data();
  }
  // u_l = C_l z_l (length r_{l−1}).
  for (int l = 0; l < L; ++l) {
    const auto& lv = a.lv[size_t(l)];
    auto& ul = u[size_t(l)];
    ul.assign(size_t(lv.rows), 0.f);
    const float* zl = z[size_t(l)].data();
    for (int64_t i = 0; i < lv.rows; ++i) {
      float acc = 0.f;
      for (int64_t e = lv.row_ptr[size_t(i)]; e < lv.row_ptr[size_t(i) + 1]; ++e)
        acc += lv.val[size_t(e)] * zl[lv.col[size_t(e)]];
      ul[size_t(i)] = acc;
    }
  }
  // Coarse to fine: u_l[0, r_l) += A_{l+1}ᵀ u_{l+1}; y = A_1ᵀ u_1.
  std::vector<float> t;
  for (int l = L - 1; l >= 1; --l) {
    const auto& next = u[size_t(l)];
    t.resize(next.size());
    inv1_level(next.data(), t.data(), int64_t(next.size()));
    auto& ul = u[size_t(l - 1)];
    for (size_t i = 0; i < t.size(); ++i) ul[i] += t[i];
  }
  inv1_level(u[0].data(), y, a.out);
}

}  // namespace lowbit
