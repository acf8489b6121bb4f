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
//   ŵ = inverse transform of the sparse C (no weight update). Selection is linear-time, never a
//   sort (prune_select.hpp: a sampled bracket, nth_element on the ≈2% of candidates inside it, a
//   histogram fallback). PruneResult::coeffs is the sparse C; pruned/total count coefficients;
//   subbands holds one SubbandStat per subband (size, pruned, Σc² before/after).
// Two implementations, equal bit for bit (tested): the plain one (forward transform into C,
// selection over C, masking, inverse; any number of levels) and, for one level on matrices with at
// least 2^14 LL coefficients, a fused one that reads W twice and never re-reads C
// (prune_haar_fused below). The row-pair kernels have SSE2 and AVX2 (runtime dispatch) versions
// doing the same IEEE operations.
#include "lowbit/compress/methods.hpp"
#include "lowbit/compress/haar.hpp"
#include "lowbit/compress/prune_select.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#if defined(__x86_64__) && defined(__GNUC__)
#define LOWBIT_AVX2_KERNELS 1
#include <immintrin.h>
#endif

#include "lowbit/core/error.hpp"
#include "lowbit/core/log.hpp"

namespace lowbit {
namespace {

constexpr int64_t kParallelMin = int64_t(1) << 16;
constexpr float kInvSqrt2 = 0.70710678118654752440f;

// The interior of one row pair: rows a, b (2·w values each) → the four half-rows of coefficients
// (LL, LH, HL, HH) of that pair, and back. SSE2 and scalar code do the same IEEE operations in the
// same order, so results do not depend on the path (the fused and the plain prune_haar agree bit
// for bit).
#if defined(LOWBIT_AVX2_KERNELS)
// AVX2 versions (8 lanes) of the row-pair kernels below: the same operations, so the same bits.
// They handle the leading multiple of 8 and return where they stopped.
__attribute__((target("avx2"))) int64_t fwd_rowpair_avx2(const float* a, const float* b, int64_t w, float* ll,
                                                          float* lh, float* hl, float* hh) {
  const __m256 half = _mm256_set1_ps(0.5f);
  int64_t k = 0;
  // Even/odd split of 16 consecutive values: in-lane shuffle, then the 64-bit chunks reordered.
#define LOWBIT_SPLIT(p, ev, od)                                                                       \
  do {                                                                                                \
    const __m256 x0_ = _mm256_loadu_ps(p), x1_ = _mm256_loadu_ps((p) + 8);                            \
    ev = _mm256_castpd_ps(_mm256_permute4x64_pd(                                                      \
        _mm256_castps_pd(_mm256_shuffle_ps(x0_, x1_, _MM_SHUFFLE(2, 0, 2, 0))), _MM_SHUFFLE(3, 1, 2, 0))); \
    od = _mm256_castpd_ps(_mm256_permute4x64_pd(                                                      \
        _mm256_castps_pd(_mm256_shuffle_ps(x0_, x1_, _MM_SHUFFLE(3, 1, 3, 1))), _MM_SHUFFLE(3, 1, 2, 0))); \
  } while (0)
  for (; k + 8 <= w; k += 8) {
    __m256 ae, ao, be, bo;
    LOWBIT_SPLIT(a + 2 * k, ae, ao);
    LOWBIT_SPLIT(b + 2 * k, be, bo);
    const __m256 s0 = _mm256_add_ps(ae, ao), d0 = _mm256_sub_ps(ae, ao);
    const __m256 s1 = _mm256_add_ps(be, bo), d1 = _mm256_sub_ps(be, bo);
    _mm256_storeu_ps(ll + k, _mm256_mul_ps(half, _mm256_add_ps(s0, s1)));
    _mm256_storeu_ps(lh + k, _mm256_mul_ps(half, _mm256_add_ps(d0, d1)));
    _mm256_storeu_ps(hl + k, _mm256_mul_ps(half, _mm256_sub_ps(s0, s1)));
    _mm256_storeu_ps(hh + k, _mm256_mul_ps(half, _mm256_sub_ps(d0, d1)));
  }
#undef LOWBIT_SPLIT
  return k;
}

__attribute__((target("avx2"))) int64_t inv_rowpair_avx2(const float* ll, const float* lh, const float* hl,
                                                          const float* hh, int64_t w, float* a, float* b) {
  const __m256 half = _mm256_set1_ps(0.5f);
  int64_t k = 0;
#define LOWBIT_INTERLEAVE(p, ev, od)                                \
  do {                                                              \
    const __m256 e_ = (ev), o_ = (od);                              \
    const __m256 lo_ = _mm256_unpacklo_ps(e_, o_), hi_ = _mm256_unpackhi_ps(e_, o_); \
    _mm256_storeu_ps(p, _mm256_permute2f128_ps(lo_, hi_, 0x20));    \
    _mm256_storeu_ps((p) + 8, _mm256_permute2f128_ps(lo_, hi_, 0x31)); \
  } while (0)
  for (; k + 8 <= w; k += 8) {
    const __m256 vll = _mm256_loadu_ps(ll + k), vlh = _mm256_loadu_ps(lh + k);
    const __m256 vhl = _mm256_loadu_ps(hl + k), vhh = _mm256_loadu_ps(hh + k);
    const __m256 s0 = _mm256_add_ps(vll, vhl), s1 = _mm256_sub_ps(vll, vhl);
    const __m256 d0 = _mm256_add_ps(vlh, vhh), d1 = _mm256_sub_ps(vlh, vhh);
    LOWBIT_INTERLEAVE(a + 2 * k, _mm256_mul_ps(half, _mm256_add_ps(s0, d0)), _mm256_mul_ps(half, _mm256_sub_ps(s0, d0)));
    LOWBIT_INTERLEAVE(b + 2 * k, _mm256_mul_ps(half, _mm256_add_ps(s1, d1)), _mm256_mul_ps(half, _mm256_sub_ps(s1, d1)));
  }
#undef LOWBIT_INTERLEAVE
  return k;
}

bool have_avx2() { return prune_detail::cpu_has_avx2(); }
#endif

inline void fwd_rowpair(const float* a, const float* b, int64_t w, float* ll, float* lh, float* hl, float* hh) {
  int64_t k = 0;
#if defined(LOWBIT_AVX2_KERNELS)
  if (w >= 8 && have_avx2()) k = fwd_rowpair_avx2(a, b, w, ll, lh, hl, hh);
#endif
#if defined(__SSE2__)
  const __m128 half = _mm_set1_ps(0.5f);
  for (; k + 4 <= w; k += 4) {
    const __m128 a0 = _mm_loadu_ps(a + 2 * k), a1 = _mm_loadu_ps(a + 2 * k + 4);
    const __m128 b0 = _mm_loadu_ps(b + 2 * k), b1 = _mm_loadu_ps(b + 2 * k + 4);
    const __m128 ae = _mm_shuffle_ps(a0, a1, _MM_SHUFFLE(2, 0, 2, 0)), ao = _mm_shuffle_ps(a0, a1, _MM_SHUFFLE(3, 1, 3, 1));
    const __m128 be = _mm_shuffle_ps(b0, b1, _MM_SHUFFLE(2, 0, 2, 0)), bo = _mm_shuffle_ps(b0, b1, _MM_SHUFFLE(3, 1, 3, 1));
    const __m128 s0 = _mm_add_ps(ae, ao), d0 = _mm_sub_ps(ae, ao);
    const __m128 s1 = _mm_add_ps(be, bo), d1 = _mm_sub_ps(be, bo);
    _mm_storeu_ps(ll + k, _mm_mul_ps(half, _mm_add_ps(s0, s1)));
    _mm_storeu_ps(lh + k, _mm_mul_ps(half, _mm_add_ps(d0, d1)));
    _mm_storeu_ps(hl + k, _mm_mul_ps(half, _mm_sub_ps(s0, s1)));
    _mm_storeu_ps(hh + k, _mm_mul_ps(half, _mm_sub_ps(d0, d1)));
  }
#endif
  for (; k < w; ++k) {
    const float s0 = a[2 * k] + a[2 * k + 1], d0 = a[2 * k] - a[2 * k + 1];
    const float s1 = b[2 * k] + b[2 * k + 1], d1 = b[2 * k] - b[2 * k + 1];
    ll[k] = 0.5f * (s0 + s1);
    lh[k] = 0.5f * (d0 + d1);
    hl[k] = 0.5f * (s0 - s1);
    hh[k] = 0.5f * (d0 - d1);
  }
}

inline void inv_rowpair(const float* ll, const float* lh, const float* hl, const float* hh, int64_t w, float* a,
                        float* b) {
  int64_t k = 0;
#if defined(LOWBIT_AVX2_KERNELS)
  if (w >= 8 && have_avx2()) k = inv_rowpair_avx2(ll, lh, hl, hh, w, a, b);
#endif
#if defined(__SSE2__)
  const __m128 half = _mm_set1_ps(0.5f);
  for (; k + 4 <= w; k += 4) {
    const __m128 vll = _mm_loadu_ps(ll + k), vlh = _mm_loadu_ps(lh + k);
    const __m128 vhl = _mm_loadu_ps(hl + k), vhh = _mm_loadu_ps(hh + k);
    const __m128 s0 = _mm_add_ps(vll, vhl), s1 = _mm_sub_ps(vll, vhl);
    const __m128 d0 = _mm_add_ps(vlh, vhh), d1 = _mm_sub_ps(vlh, vhh);
    const __m128 ae = _mm_mul_ps(half, _mm_add_ps(s0, d0)), ao = _mm_mul_ps(half, _mm_sub_ps(s0, d0));
    const __m128 be = _mm_mul_ps(half, _mm_add_ps(s1, d1)), bo = _mm_mul_ps(half, _mm_sub_ps(s1, d1));
    _mm_storeu_ps(a + 2 * k, _mm_unpacklo_ps(ae, ao));
    _mm_storeu_ps(a + 2 * k + 4, _mm_unpackhi_ps(ae, ao));
    _mm_storeu_ps(b + 2 * k, _mm_unpacklo_ps(be, bo));
    _mm_storeu_ps(b + 2 * k + 4, _mm_unpackhi_ps(be, bo));
  }
#endif
  for (; k < w; ++k) {
    const float s0 = ll[k] + hl[k], s1 = ll[k] - hl[k];
    const float d0 = lh[k] + hh[k], d1 = lh[k] - hh[k];
    a[2 * k] = 0.5f * (s0 + d0);
    a[2 * k + 1] = 0.5f * (s0 - d0);
    b[2 * k] = 0.5f * (s1 + d1);
    b[2 * k + 1] = 0.5f * (s1 - d1);
  }
}

// dst[0..n) = src[0..n) with non-temporal stores where dst is 16-byte aligned (results that are
// not read again soon bypass the cache and skip the read-for-ownership).
inline void stream_copy(float* dst, const float* src, int64_t n) {
  int64_t j = 0;
#if defined(__SSE2__)
  while (j < n && (reinterpret_cast<uintptr_t>(dst + j) & 15)) {
    dst[j] = src[j];
    ++j;
  }
  for (; j + 4 <= n; j += 4) _mm_stream_ps(dst + j, _mm_loadu_ps(src + j));
#endif
  for (; j < n; ++j) dst[j] = src[j];
}
inline void stream_fence() {
#if defined(__SSE2__)
  _mm_sfence();
#endif
}

// The pass-through column of a row pair and the pass-through row (odd dimensions), and back.
inline void fwd_pc(float a, float b, float& lo, float& hi) {
  lo = (a + b) * kInvSqrt2;
  hi = (a - b) * kInvSqrt2;
}
inline void inv_pc(float lo, float hi, float& a, float& b) {
  a = (lo + hi) * kInvSqrt2;
  b = (lo - hi) * kInvSqrt2;
}
// Last row (R odd): horizontal transform only; o[0..Cc).
inline void fwd_pr(const float* last, int64_t Cc, float* o) {
  const int64_t w = Cc / 2;
  for (int64_t k = 0; k < w; ++k) {
    o[k] = (last[2 * k] + last[2 * k + 1]) * kInvSqrt2;
    o[w + k] = (last[2 * k] - last[2 * k + 1]) * kInvSqrt2;
  }
  if (Cc & 1) o[Cc - 1] = last[Cc - 1];
}
inline void inv_pr(const float* last, int64_t Cc, float* o) {
  const int64_t w = Cc / 2;
  for (int64_t k = 0; k < w; ++k) {
    o[2 * k] = (last[k] + last[w + k]) * kInvSqrt2;
    o[2 * k + 1] = (last[k] - last[w + k]) * kInvSqrt2;
  }
  if (Cc & 1) o[Cc - 1] = last[Cc - 1];
}

// One 2-D level: src [R, Cc] (leading dimension lds) → dst (ldd), layout of haar.hpp. No overlap.
void fwd_level(const float* src, int64_t lds, int64_t R, int64_t Cc, float* dst, int64_t ldd) {
  const int64_t h = R / 2, w = Cc / 2;
#pragma omp parallel for schedule(static) if (R * Cc >= kParallelMin)
  for (int64_t i = 0; i < h; ++i) {
    const float* a = src + 2 * i * lds;
    const float* b = a + lds;
    float* ll = dst + i * ldd;
    float* hl = dst + (h + i) * ldd;
    fwd_rowpair(a, b, w, ll, ll + w, hl, hl + w);
    if (Cc & 1) fwd_pc(a[Cc - 1], b[Cc - 1], ll[Cc - 1], hl[Cc - 1]);
  }
  if (R & 1) fwd_pr(src + (R - 1) * lds, Cc, dst + (R - 1) * ldd);
}

// Inverse of one level: the LL quarter is read from ll (leading dimension ldl), everything else
// from src (lds); result into dst (ldd). No overlap between dst and the inputs.
void inv_level(const float* ll, int64_t ldl, const float* src, int64_t lds, int64_t R, int64_t Cc, float* dst,
               int64_t ldd) {
  const int64_t h = R / 2, w = Cc / 2;
#pragma omp parallel for schedule(static) if (R * Cc >= kParallelMin)
  for (int64_t i = 0; i < h; ++i) {
    float* a = dst + 2 * i * ldd;
    float* b = a + ldd;
    const float* top = src + i * lds;
    const float* bot = src + (h + i) * lds;
    inv_rowpair(ll + i * ldl, top + w, bot, bot + w, w, a, b);
    if (Cc & 1) inv_pc(top[Cc - 1], bot[Cc - 1], a[Cc - 1], b[Cc - 1]);
  }
  if (R & 1) inv_pr(src + (R - 1) * lds, Cc, dst + (R - 1) * ldd);
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

namespace {

using prune_detail::Cut;

// Single-level matrices with at least this many LL coefficients take the fused path.
constexpr int64_t kFusedMin = int64_t(1) << 14;

void check_haar_input(const Tensor& w, const PruneSpec& s, bool values = true) {
  LB_INPUT_CHECK(w.shape.size() == 2, "haar: weight must be 2-D, got ", w.shape_str());
  const int64_t out = w.dim(0), in = w.dim(1);
  s.validate(in, method_row("haar"), "haar");
  LB_INPUT_CHECK(s.haar_levels <= haar_max_levels(out, in), "haar: ", s.haar_levels, " Haar levels do not fit the ",
                 out, "x", in, " weight (at most ", haar_max_levels(out, in), ")");
  if (values) LB_INPUT_CHECK(prune_detail::all_finite(w.ptr(), w.numel()), "haar: weight has a non-finite value");
}

SubbandStat band_stat(const HaarBand& b) {
  SubbandStat st;
  st.name = b.name;
  st.rows = b.rows;
  st.cols = b.cols;
  st.total = b.size();
  return st;
}

// The plain three-pass implementation: forward transform into C, one selection per group over C,
// masking, inverse transform.
void prune_haar_plain(const Tensor& w, const PruneSpec& s, PruneResult& r) {
  using namespace prune_detail;
  const int64_t out = w.dim(0), in = w.dim(1);
  const int L = s.haar_levels;
  r.subbands.clear();
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
    SubbandStat st = band_stat(b);
    const int64_t k = prune_count(s.sparsity, b.size());
    const Cut cut = s.haar_global ? global : select_cut(C, in, {Rect{b.r0, b.c0, b.rows, b.cols}}, k);
    double e0 = 0, e1 = 0;
    int64_t pruned = 0;
#pragma omp parallel for schedule(static) if (b.size() >= kParallelMin) reduction(+ : e0, e1, pruned)
    for (int64_t i = 0; i < b.rows; ++i)
      pruned += apply_cut(C + (b.r0 + i) * in + b.c0, b.cols, s.haar_global ? (b.r0 + i) * in + b.c0 : i * b.cols,
                          cut, &e0, &e1);
    if (!s.haar_global) LB_CHECK(pruned == k, "haar subband ", b.name, ": pruned ", pruned, ", expected ", k);
    st.pruned = pruned;
    st.energy = e0;
    st.energy_kept = e1;
    pruned_all += pruned;
    r.subbands.push_back(st);
  }
  if (s.haar_global) LB_CHECK(pruned_all == prune_count(s.sparsity, out * in), "haar global: pruned ", pruned_all);
  r.pruned = pruned_all;
  r.w_hat.resize({out, in});
  haar_inverse_2d(C, r.w_hat.ptr(), out, in, L);
}

// The fused single-level path, two passes over W and none over a stored C:
//   0. a stratified sample of the four main subbands' coefficients, computed from W directly, gives
//      each group a bracket [lo, hi] around its k-th smallest |c| (prune_select.hpp);
//   1. pass over W: the coefficients of each row pair are computed into a small buffer and scanned:
//      keys below lo counted, keys inside the bracket collected;
//   2. the exact cut of each group from its candidates (nth_element on ≈2% of the group);
//   3. pass over W: the coefficients of each row pair are computed again (bit-identical: the same
//      kernel), masked, stored into C and inverse-transformed into ŵ (non-temporal stores).
// The pass-through column/row (odd dimensions) are O(m + n) and handled on the side. Returns false
// (nothing to keep) when a bracket missed its k-th element; the caller then runs the plain path.
bool prune_haar_fused(const Tensor& W, const PruneSpec& s, PruneResult& r) {
  using namespace prune_detail;
  const int64_t m = W.dim(0), n = W.dim(1), h = m / 2, w = n / 2, hw = h * w;
  const bool glob = s.haar_global;
  const float* src = W.ptr();
  const std::vector<HaarBand> bands = haar_bands(m, n, 1);  // LL1, LH1, HL1, HH1, [PC1], [PR1]
  const int64_t k_main = prune_count(s.sparsity, hw), k_glob = prune_count(s.sparsity, m * n);
  // Index of main-band element (i, kk) inside its group.
  auto idx0 = [&](int b, int64_t i) -> int64_t {
    return glob ? (i + (b >= 2 ? h : 0)) * n + ((b & 1) ? w : 0) : i * w;
  };

  // 0. Sample and brackets.
  // Chunks of 8 consecutive positions (two cache lines of each W row read per chunk), one chunk
  // per stratum of the flat (i, kk) index: up to 32768 samples per subband.
  const int64_t clen = std::min<int64_t>(8, w), nchunks = std::clamp<int64_t>(hw / 512, 256, 4096);
  std::vector<uint32_t> samp[4];
  for (auto& v : samp) v.resize(size_t(nchunks * clen));
  for (int64_t c = 0; c < nchunks; ++c) {
    const double x = double(c) * 0.6180339887498949;
    const int64_t p = std::min(hw - 1, int64_t((double(c) + (x - std::floor(x))) * double(hw) / double(nchunks)));
    const int64_t i = p / w, kk = std::min(p % w, w - clen);
    float q[4][8];
    fwd_rowpair(src + 2 * i * n + 2 * kk, src + (2 * i + 1) * n + 2 * kk, clen, q[0], q[1], q[2], q[3]);
    for (int b = 0; b < 4; ++b)
      for (int64_t t = 0; t < clen; ++t) samp[b][size_t(c * clen + t)] = mag_key(q[b][t]);
  }
  Bracket br[4];
  if (glob) {
    for (int b = 1; b < 4; ++b) samp[0].insert(samp[0].end(), samp[b].begin(), samp[b].end());
    br[0] = bracket_from_sample(samp[0], m * n, k_glob);
  } else {
#pragma omp parallel for schedule(static) if (hw >= kParallelMin)
    for (int b = 0; b < 4; ++b) br[b] = bracket_from_sample(samp[b], hw, k_main);
  }
  const int ngroups = glob ? 1 : 4;

  // The pass-through column (n odd: 2h values, PC index = row) and row (m odd: n values).
  std::vector<float> pc(static_cast<size_t>((n & 1) ? 2 * h : 0)), pr(static_cast<size_t>((m & 1) ? n : 0));
  for (int64_t i = 0; i < int64_t(pc.size()) / 2; ++i)
    fwd_pc(src[2 * i * n + n - 1], src[(2 * i + 1) * n + n - 1], pc[size_t(i)], pc[size_t(h + i)]);
  if (!pr.empty()) fwd_pr(src + (m - 1) * n, n, pr.data());
  auto pc_idx = [&](int64_t row) { return glob ? row * n + n - 1 : row; };
  const int64_t pr_idx0 = glob ? (m - 1) * n : 0;

  // 1. Count pass (it also checks that W is finite, on the rows it reads).
  bool finite = (m & 1) ? all_finite(src + (m - 1) * n, n) : true;
  int64_t below[4] = {0, 0, 0, 0};
  std::vector<uint64_t> cand[4];
#pragma omp parallel if (m * n >= kParallelMin)
  {
    std::vector<float> buf(static_cast<size_t>(4 * w));
    int64_t my_below[4] = {0, 0, 0, 0};
    std::vector<uint64_t> my_cand[4];
    bool my_finite = true;
#pragma omp for schedule(static) nowait
    for (int64_t i = 0; i < h; ++i) {
      fwd_rowpair(src + 2 * i * n, src + (2 * i + 1) * n, w, &buf[0], &buf[size_t(w)], &buf[size_t(2 * w)],
                  &buf[size_t(3 * w)]);
      my_finite &= all_finite(src + 2 * i * n, 2 * n);  // the rows just read (in cache)
      for (int b = 0; b < 4; ++b) {
        const int g = glob ? 0 : b;
        bracket_scan(&buf[size_t(b * w)], w, idx0(b, i), br[g], my_below[g], my_cand[g]);
      }
    }
#pragma omp critical(lowbit_haar_count)
    for (int g = 0; g < ngroups; ++g) {
      finite &= my_finite;
      below[g] += my_below[g];
      cand[g].insert(cand[g].end(), my_cand[g].begin(), my_cand[g].end());
    }
  }
  if (glob) {  // the pass-through column and row belong to the global group
    for (int64_t row = 0; row < int64_t(pc.size()); ++row)
      bracket_scan(&pc[size_t(row)], 1, pc_idx(row), br[0], below[0], cand[0]);
    if (!pr.empty()) bracket_scan(pr.data(), n, pr_idx0, br[0], below[0], cand[0]);
  }

  LB_INPUT_CHECK(finite, "haar: weight has a non-finite value");
  // 2. Cuts.
  Cut cut[4];
  bool held[4] = {true, true, true, true};
#pragma omp parallel for schedule(static) if (hw >= kParallelMin)
  for (int g = 0; g < ngroups; ++g) held[g] = cut_from_candidates(cand[g], below[g], glob ? k_glob : k_main, cut[g]);
  for (int g = 0; g < ngroups; ++g)
    if (!held[g]) return false;
  Cut cut_pc = cut[0], cut_pr = cut[0];
  if (!glob) {
    std::vector<uint32_t> keys;
    SelectScratch scratch;
    for (float v : pc) keys.push_back(mag_key(v));
    cut_pc = select_small(keys.data(), int64_t(keys.size()), prune_count(s.sparsity, int64_t(keys.size())), scratch);
    keys.clear();
    for (float v : pr) keys.push_back(mag_key(v));
    cut_pr = select_small(keys.data(), int64_t(keys.size()), prune_count(s.sparsity, int64_t(keys.size())), scratch);
  }
  // Pass-through coefficients masked now (O(m + n)), with their statistics.
  struct Acc {
    int64_t pruned = 0;
    double e0 = 0, e1 = 0;
  };
  Acc acc[6];  // LL, LH, HL, HH, PC, PR
  for (int64_t row = 0; row < int64_t(pc.size()); ++row)
    acc[4].pruned += apply_cut(&pc[size_t(row)], 1, pc_idx(row), cut_pc, &acc[4].e0, &acc[4].e1);
  if (!pr.empty()) acc[5].pruned += apply_cut(pr.data(), n, pr_idx0, cut_pr, &acc[5].e0, &acc[5].e1);

  // 3. Mask and inverse pass.
  r.haar_levels = 1;
  r.total = m * n;
  r.coeffs.resize({m, n});
  r.w_hat.resize({m, n});
  float* C = r.coeffs.ptr();
  float* Wh = r.w_hat.ptr();
#pragma omp parallel if (m * n >= kParallelMin)
  {
    std::vector<float> buf(static_cast<size_t>(4 * w)), o(static_cast<size_t>(2 * n));
    Acc my[4];
#pragma omp for schedule(static) nowait
    for (int64_t i = 0; i < h; ++i) {
      float* q[4] = {&buf[0], &buf[size_t(w)], &buf[size_t(2 * w)], &buf[size_t(3 * w)]};
      fwd_rowpair(src + 2 * i * n, src + (2 * i + 1) * n, w, q[0], q[1], q[2], q[3]);
      for (int b = 0; b < 4; ++b) my[b].pruned += apply_cut(q[b], w, idx0(b, i), cut[glob ? 0 : b], &my[b].e0, &my[b].e1);
      stream_copy(C + i * n, q[0], w);
      stream_copy(C + i * n + w, q[1], w);
      stream_copy(C + (h + i) * n, q[2], w);
      stream_copy(C + (h + i) * n + w, q[3], w);
      inv_rowpair(q[0], q[1], q[2], q[3], w, &o[0], &o[size_t(n)]);
      if (n & 1) {
        C[i * n + n - 1] = pc[size_t(i)];
        C[(h + i) * n + n - 1] = pc[size_t(h + i)];
        inv_pc(pc[size_t(i)], pc[size_t(h + i)], o[size_t(n - 1)], o[size_t(2 * n - 1)]);
      }
      stream_copy(Wh + 2 * i * n, &o[0], 2 * n);
    }
    stream_fence();
#pragma omp critical(lowbit_haar_acc)
    for (int b = 0; b < 4; ++b) {
      acc[b].pruned += my[b].pruned;
      acc[b].e0 += my[b].e0;
      acc[b].e1 += my[b].e1;
    }
  }
  if (!pr.empty()) {
    std::copy(pr.begin(), pr.end(), C + (m - 1) * n);
    inv_pr(pr.data(), n, Wh + (m - 1) * n);
  }
  int64_t pruned_all = 0;
  for (const HaarBand& b : bands) {
    SubbandStat st = band_stat(b);
    const int a = b.name == "LL1" ? 0 : b.name == "LH1" ? 1 : b.name == "HL1" ? 2 : b.name == "HH1" ? 3
                  : b.name == "PC1" ? 4 : 5;
    st.pruned = acc[a].pruned;
    st.energy = acc[a].e0;
    st.energy_kept = acc[a].e1;
    if (!glob) LB_CHECK(st.pruned == prune_count(s.sparsity, b.size()), "haar subband ", b.name, ": pruned ", st.pruned);
    pruned_all += st.pruned;
    r.subbands.push_back(st);
  }
  if (glob) LB_CHECK(pruned_all == k_glob, "haar global: pruned ", pruned_all, ", expected ", k_glob);
  r.pruned = pruned_all;
  return true;
}

}  // namespace

void prune_haar_into(const Tensor& w, const PruneSpec& s, PruneResult& r) {
  const bool fused = s.haar_levels == 1 && w.shape.size() == 2 && (w.dim(0) / 2) * (w.dim(1) / 2) >= kFusedMin;
  check_haar_input(w, s, !fused);  // the fused path checks the values in its first pass
  r.total = r.pruned = 0;
  r.subbands.clear();
  if (fused) {
    if (prune_haar_fused(w, s, r)) return;
    log_debug("haar: sampled bracket missed; plain path");
    r.subbands.clear();
  }
  prune_haar_plain(w, s, r);
}

PruneResult prune_haar(const Tensor& w, const PruneSpec& s) {
  PruneResult r;
  prune_haar_into(w, s, r);
  return r;
}

PruneResult prune_haar_unfused(const Tensor& w, const PruneSpec& s) {
  check_haar_input(w, s);
  PruneResult r;
  prune_haar_plain(w, s, r);
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
