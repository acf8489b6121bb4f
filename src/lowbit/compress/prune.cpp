// lowbit/compress/prune.cpp — what the pruning methods share: PruneSpec validation and naming, the
// exact k-smallest selection and score-based (magnitude / Wanda) masking.
// defines: see prune.hpp (parse_nm, PruneSpec::check/validate, PruneSpec::str) and prune_select.hpp
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#if defined(__x86_64__) && defined(__GNUC__)
#define LOWBIT_AVX2_KERNELS 1
#include <immintrin.h>
#endif

#include "lowbit/compress/prune.hpp"
#include "lowbit/compress/methods.hpp"
#include "lowbit/compress/prune_select.hpp"
#include "lowbit/core/error.hpp"

namespace lowbit {

std::optional<NmPattern> parse_nm(std::string_view s) {
  const size_t c = s.find(':');
  if (c == std::string_view::npos) return std::nullopt;
  auto number = [](std::string_view t, int& v) {
    if (t.empty() || t.size() > 9 || !std::all_of(t.begin(), t.end(), [](char ch) { return ch >= '0' && ch <= '9'; }))
      return false;  // nine digits fit an int
    v = std::stoi(std::string(t));
    return true;
  };
  NmPattern p;
  if (!number(s.substr(0, c), p.n) || !number(s.substr(c + 1), p.m)) return std::nullopt;
  if (!(p.n >= 1 && p.m >= 2 && p.n < p.m)) return std::nullopt;
  return p;
}

std::string nm_syntax_problem(std::string_view s) {
  return cat("'", s, "' is not N:M with 0 < N < M (e.g. 2:4)");
}

std::optional<OptionProblem> PruneSpec::check(int64_t in, const MethodRow& method) const {
  auto problem = [](const char* field, std::string what) { return OptionProblem{field, "", std::move(what)}; };
  if (!method.prune())
    return problem("method", cat("'", method.name, "' is not a pruning method (", method_names(MethodKind::Prune), ")"));
  if (!(std::isfinite(sparsity) && sparsity >= 0.0 && sparsity < 1.0))
    return problem("sparsity", cat("sparsity ", sparsity, " must be in [0, 1)"));
  if (in < 1) return problem("sparsity", cat("input dimension ", in, " must be positive"));
  if (m > 0 || n > 0) {
    if (!method.supports_nm)
      return problem("nm", cat("N:M sparsity (", n, ":", m, ") is not supported by ", method.name,
                               ", which prunes wavelet coefficients, not weights; use a sparsity ratio"));
    if (!(n >= 1 && m >= 2 && n < m)) return problem("nm", cat("N:M ", n, ":", m, " needs 0 < N < M"));
    if (in % m != 0)
      return problem("nm", cat("N:M ", n, ":", m, ": M = ", m, " does not divide the input dimension ", in));
  }
  if (method.has_levels) {
    if (haar_levels < 1) return problem("levels", cat("Haar levels ", haar_levels, " must be >= 1"));
    if (!(haar_levels <= 62 && (in >> haar_levels) >= 1))
      return problem("levels", cat("Haar levels ", haar_levels, " too many for the input dimension ", in,
                                   " (each level halves it; at most ",
                                   in >= 2 ? int(std::floor(std::log2(double(in)))) : 0, ")"));
  }
  return std::nullopt;
}

void PruneSpec::validate(int64_t in, const MethodRow& method, const std::string& where) const {
  if (const auto p = check(in, method)) LB_FAIL_INPUT(where, ": ", p->what);
}

std::string PruneSpec::str() const {
  if (m > 0) return std::to_string(n) + ":" + std::to_string(m);
  char buf[64];
  std::snprintf(buf, sizeof buf, "s%.2f", sparsity);
  if (std::fabs(std::strtod(buf + 1, nullptr) - sparsity) > 1e-12) std::snprintf(buf, sizeof buf, "s%.6g", sparsity);
  return buf;
}

namespace prune_detail {

Cut select_small(const uint32_t* keys, int64_t n, int64_t k, SelectScratch& scratch) {
  if (k <= 0 || n <= 0) return {};
  if (k > n) k = n;
  if (n <= 16) {
    // Tiny groups (N:M blocks): the rank of every element in the (key, index) order, O(n²)
    // branch-free comparisons; the element of rank k − 1 is the cut.
    for (int64_t i = 0; i < n; ++i) {
      int64_t rank = 0;
      for (int64_t j = 0; j < n; ++j) rank += (keys[j] < keys[i]) | ((keys[j] == keys[i]) & (j < i));
      if (rank == k - 1) return Cut{keys[i], i};
    }
    LB_FAIL_INTERNAL("select_small: no element of rank ", k - 1);
  }
  // Radix step on the top key bits (bits 30..20: exponent and 3 mantissa bits, 2048 buckets), then
  // std::nth_element on the (key, index) pairs of the bucket holding the k-th smallest.
  constexpr int kShift = 20;
  auto& hist = scratch.hist;
  hist.assign(size_t(1) << (31 - kShift), 0);
  for (int64_t i = 0; i < n; ++i) ++hist[keys[i] >> kShift];
  uint32_t bucket = 0;
  int64_t below = 0;
  while (below + hist[bucket] < k) below += hist[bucket++];
  auto& cand = scratch.cand;
  cand.clear();
  for (int64_t i = 0; i < n; ++i)
    if ((keys[i] >> kShift) == bucket) cand.push_back((uint64_t(keys[i]) << 32) | uint64_t(i));
  const int64_t need = k - below;
  std::nth_element(cand.begin(), cand.begin() + (need - 1), cand.end());
  const uint64_t c = cand[size_t(need - 1)];
  return Cut{uint32_t(c >> 32), int64_t(c & 0xffffffffu)};
}

namespace {

constexpr int64_t kParallelMin = int64_t(1) << 18;

// Histogram selection (the fallback of select_cut): the bucket of the top 15 key bits holding the
// k-th smallest, then std::nth_element on that bucket's elements.
Cut select_cut_histogram(const float* a, int64_t ld, const std::vector<Rect>& rects, const std::vector<int64_t>& base,
                         int64_t n, int64_t k) {
  constexpr int kShift = 16;  // buckets: key bits 30..16 (sign cleared)
  constexpr size_t kBuckets = size_t(1) << 15;
  const bool par = n >= kParallelMin;
  std::vector<int64_t> hist(kBuckets, 0);
#pragma omp parallel if (par)
  {
    std::vector<uint32_t> h(kBuckets, 0);  // per thread; a thread sees < 2^32 elements (n < 2^32)
    for (const Rect& r : rects) {
#pragma omp for schedule(static) nowait
      for (int64_t i = 0; i < r.rows; ++i) {
        const float* p = a + (r.r0 + i) * ld + r.c0;
        for (int64_t j = 0; j < r.cols; ++j) ++h[mag_key(p[j]) >> kShift];
      }
    }
#pragma omp critical(lowbit_select_hist)
    for (size_t b = 0; b < kBuckets; ++b) hist[b] += h[b];
  }
  uint32_t bucket = 0;
  int64_t below = 0;
  for (; bucket < kBuckets; ++bucket) {
    if (below + hist[bucket] >= k) break;
    below += hist[bucket];
  }
  LB_CHECK(bucket < kBuckets, "selection histogram does not hold k = ", k, " of ", n);
  Bracket b;
  b.lo = bucket << kShift;
  b.hi = b.lo | ((1u << kShift) - 1);
  std::vector<uint64_t> cand;
  cand.reserve(size_t(hist[bucket]));
  int64_t below2 = 0;
#pragma omp parallel if (par) reduction(+ : below2)
  {
    std::vector<uint64_t> mine;
    for (size_t ri = 0; ri < rects.size(); ++ri) {
      const Rect& r = rects[ri];
#pragma omp for schedule(static) nowait
      for (int64_t i = 0; i < r.rows; ++i)
        bracket_scan(a + (r.r0 + i) * ld + r.c0, r.cols, base[ri] + i * r.cols, b, below2, mine);
    }
#pragma omp critical(lowbit_select_cand)
    cand.insert(cand.end(), mine.begin(), mine.end());
  }
  Cut c;
  LB_CHECK(below2 == below && cut_from_candidates(cand, below2, k, c), "histogram selection of k = ", k, " of ", n);
  return c;
}

// Deterministic jitter in [0, 1) for stratified sampling (golden-ratio sequence).
inline double jitter(int64_t c) {
  const double x = double(c) * 0.6180339887498949;
  return x - std::floor(x);
}

}  // namespace

Bracket bracket_from_sample(std::vector<uint32_t>& sample, int64_t n, int64_t k) {
  Bracket b;
  const int64_t S = int64_t(sample.size());
  if (S == 0 || n <= 0) return b;
  const double q = double(k) / double(n);
  const double mean = q * double(S), delta = 4.0 * std::sqrt(double(S) * q * (1.0 - q)) + 2.0;
  const int64_t rlo = int64_t(std::floor(mean - delta)), rhi = int64_t(std::ceil(mean + delta));
  if (rlo >= 0 && rlo < S) {
    std::nth_element(sample.begin(), sample.begin() + rlo, sample.end());
    b.lo = sample[size_t(rlo)];
  }
  if (rhi >= 0 && rhi < S) {
    const auto from = sample.begin() + std::max<int64_t>(rlo + 1, 0);
    std::nth_element(rlo >= 0 && rlo < S ? from : sample.begin(), sample.begin() + rhi, sample.end());
    b.hi = sample[size_t(rhi)];
  }
  if (b.hi < b.lo) b.hi = b.lo;
  return b;
}

namespace {
std::atomic<bool> g_avx2_disabled{false};
}
void disable_avx2(bool off) { g_avx2_disabled = off; }

bool cpu_has_avx2() {
#if defined(LOWBIT_AVX2_KERNELS)
  static const bool v = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("popcnt");
  return v && !g_avx2_disabled.load(std::memory_order_relaxed);
#else
  return false;
#endif
}

#if defined(LOWBIT_AVX2_KERNELS)
namespace {
// AVX2 versions of the inner loops of bracket_scan / apply_cut: the same comparisons, 8 lanes.
// They return how many leading elements they handled; the caller finishes the tail.
// Lane indices of the set bits of every 8-bit mask, packed to the front (AVX2 has no compress).
struct CompressLut {
  uint64_t idx[256];
  CompressLut() {
    for (unsigned m = 0; m < 256; ++m) {
      uint64_t v = 0;
      int n = 0;
      for (unsigned l = 0; l < 8; ++l)
        if (m & (1u << l)) v |= uint64_t(l) << (8 * n++);
      idx[m] = v;
    }
  }
};
const CompressLut kCompress;

__attribute__((target("avx2,popcnt"))) int64_t bracket_scan_avx2(const float* v, int64_t len, int64_t idx0,
                                                                  const Bracket& b, int64_t& below,
                                                                  std::vector<uint64_t>& cand) {
  // Candidates are written branch-free (a compress through kCompress) into a per-thread buffer
  // with room for a whole run, then appended.
  thread_local std::vector<uint64_t> tmp;
  if (int64_t(tmp.size()) < len + 8) tmp.resize(size_t(len + 8));
  uint64_t* out = tmp.data();
  int64_t j = 0, cnt = 0, nc = 0;
  const __m256i absmask = _mm256_set1_epi32(0x7fffffff);
  const __m256i lo = _mm256_set1_epi32(int32_t(b.lo)), hi = _mm256_set1_epi32(int32_t(b.hi & 0x7fffffffu));
  const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  while (j + 8 <= len) {
    const int64_t stop = std::min(len, j + (int64_t(1) << 28));  // int32 lane counters
    __m256i acc = _mm256_setzero_si256();
    for (; j + 8 <= stop; j += 8) {
      const __m256i key = _mm256_and_si256(_mm256_castps_si256(_mm256_loadu_ps(v + j)), absmask);
      const __m256i lt = _mm256_cmpgt_epi32(lo, key), gt = _mm256_cmpgt_epi32(key, hi);
      acc = _mm256_sub_epi32(acc, lt);
      const unsigned in = ~unsigned(_mm256_movemask_ps(_mm256_castsi256_ps(_mm256_or_si256(lt, gt)))) & 0xffu;
      const __m256i perm = _mm256_cvtepu8_epi32(_mm_cvtsi64_si128(int64_t(kCompress.idx[in])));
      const __m256i k = _mm256_permutevar8x32_epi32(key, perm);
      const __m256i ix = _mm256_set1_epi64x(idx0 + j);
      const __m256i li = _mm256_permutevar8x32_epi32(lane, perm);
      const __m256i k0 = _mm256_slli_epi64(_mm256_cvtepu32_epi64(_mm256_castsi256_si128(k)), 32);
      const __m256i k1 = _mm256_slli_epi64(_mm256_cvtepu32_epi64(_mm256_extracti128_si256(k, 1)), 32);
      const __m256i i0 = _mm256_add_epi64(ix, _mm256_cvtepu32_epi64(_mm256_castsi256_si128(li)));
      const __m256i i1 = _mm256_add_epi64(ix, _mm256_cvtepu32_epi64(_mm256_extracti128_si256(li, 1)));
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + nc), _mm256_or_si256(k0, i0));
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + nc + 4), _mm256_or_si256(k1, i1));
      nc += __builtin_popcount(in);
    }
    alignas(32) int32_t lanes[8];
    _mm256_store_si256(reinterpret_cast<__m256i*>(lanes), acc);
    for (int l = 0; l < 8; ++l) cnt += lanes[l];
  }
  cand.insert(cand.end(), out, out + nc);
  below += cnt;
  return j;
}

__attribute__((target("avx2,popcnt"))) int64_t apply_cut_avx2(float* v, int64_t len, int64_t idx0, const Cut& c,
                                                               int64_t& pruned, double& ea, double& ek) {
  int64_t j = 0;
  const __m256i absmask = _mm256_set1_epi32(0x7fffffff);
  const __m256i ck = _mm256_set1_epi32(int32_t(c.key & 0x7fffffffu));
  while (j + 8 <= len) {
    const int64_t stop = std::min(len, j + 128);  // f32 partial sums over 128 elements (16 per lane)
    __m256 va = _mm256_setzero_ps(), vk = _mm256_setzero_ps();
    for (; j + 8 <= stop; j += 8) {
      const __m256 x = _mm256_loadu_ps(v + j);
      const __m256i key = _mm256_and_si256(_mm256_castps_si256(x), absmask);
      __m256i pm = _mm256_cmpgt_epi32(ck, key);
      const int eq = _mm256_movemask_ps(_mm256_castsi256_ps(_mm256_cmpeq_epi32(key, ck)));
      if (eq) {  // ties with the cut key: decided by index
        alignas(32) int32_t m[8];
        _mm256_store_si256(reinterpret_cast<__m256i*>(m), pm);
        for (int l = 0; l < 8; ++l)
          if (((eq >> l) & 1) && idx0 + j + l <= c.idx) m[l] = -1;
        pm = _mm256_load_si256(reinterpret_cast<const __m256i*>(m));
      }
      const __m256 kept = _mm256_andnot_ps(_mm256_castsi256_ps(pm), x);
      _mm256_storeu_ps(v + j, kept);
      pruned += __builtin_popcount(unsigned(_mm256_movemask_ps(_mm256_castsi256_ps(pm))));
      va = _mm256_add_ps(va, _mm256_mul_ps(x, x));
      vk = _mm256_add_ps(vk, _mm256_mul_ps(kept, kept));
    }
    alignas(32) float a[8], k[8];
    _mm256_store_ps(a, va);
    _mm256_store_ps(k, vk);
    for (int l = 0; l < 8; ++l) {
      ea += a[l];
      ek += k[l];
    }
  }
  return j;
}
}  // namespace
#endif

void bracket_scan(const float* v, int64_t len, int64_t idx0, const Bracket& b, int64_t& below,
                  std::vector<uint64_t>& cand) {
  int64_t j = 0, cnt = 0;
#if defined(LOWBIT_AVX2_KERNELS)
  if (cpu_has_avx2()) j = bracket_scan_avx2(v, len, idx0, b, below, cand);
#endif
#if defined(__SSE2__)
  const __m128i absmask = _mm_set1_epi32(0x7fffffff);
  const __m128i lo = _mm_set1_epi32(int32_t(b.lo)), hi = _mm_set1_epi32(int32_t(b.hi & 0x7fffffffu));
  while (j + 4 <= len) {
    const int64_t stop = std::min(len, j + (int64_t(1) << 28));  // int32 lane counters
    __m128i acc = _mm_setzero_si128();
    for (; j + 4 <= stop; j += 4) {
      const __m128i key = _mm_and_si128(_mm_castps_si128(_mm_loadu_ps(v + j)), absmask);
      const __m128i lt = _mm_cmplt_epi32(key, lo), gt = _mm_cmpgt_epi32(key, hi);
      acc = _mm_sub_epi32(acc, lt);
      unsigned in = ~unsigned(_mm_movemask_ps(_mm_castsi128_ps(_mm_or_si128(lt, gt)))) & 0xfu;
      while (in) {  // the (few) lanes inside the bracket
        const int l = __builtin_ctz(in);
        in &= in - 1;
        cand.push_back((uint64_t(mag_key(v[j + l])) << 32) | uint64_t(idx0 + j + l));
      }
    }
    alignas(16) int32_t lanes[4];
    _mm_store_si128(reinterpret_cast<__m128i*>(lanes), acc);
    cnt += int64_t(lanes[0]) + lanes[1] + lanes[2] + lanes[3];
  }
#endif
  for (; j < len; ++j) {
    const uint32_t key = mag_key(v[j]);
    if (key < b.lo)
      ++cnt;
    else if (key <= b.hi)
      cand.push_back((uint64_t(key) << 32) | uint64_t(idx0 + j));
  }
  below += cnt;
}

bool cut_from_candidates(std::vector<uint64_t>& cand, int64_t below, int64_t k, Cut& out) {
  if (k <= 0) {
    out = Cut{};
    return true;
  }
  if (!(below < k && k <= below + int64_t(cand.size()))) return false;
  const int64_t need = k - below;
  std::nth_element(cand.begin(), cand.begin() + (need - 1), cand.end());
  const uint64_t c = cand[size_t(need - 1)];
  out = Cut{uint32_t(c >> 32), int64_t(c & 0xffffffffu)};
  return true;
}

int64_t apply_cut(float* v, int64_t len, int64_t idx0, const Cut& c, double* e_all, double* e_kept) {
  int64_t j = 0, pruned = 0;
  double ea = 0, ek = 0;
#if defined(LOWBIT_AVX2_KERNELS)
  if (cpu_has_avx2()) j = apply_cut_avx2(v, len, idx0, c, pruned, ea, ek);
#endif
#if defined(__SSE2__)
  static constexpr int8_t kPop[16] = {0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4};
  const __m128i absmask = _mm_set1_epi32(0x7fffffff);
  const __m128i ck = _mm_set1_epi32(int32_t(c.key & 0x7fffffffu));
  // Energies: f32 partial sums over chunks of 64 elements (16 per lane), then double.
  while (j + 4 <= len) {
    const int64_t stop = std::min(len, j + 64);
    __m128 va = _mm_setzero_ps(), vk = _mm_setzero_ps();
    for (; j + 4 <= stop; j += 4) {
      const __m128 x = _mm_loadu_ps(v + j);
      const __m128i key = _mm_and_si128(_mm_castps_si128(x), absmask);
      __m128i pm = _mm_cmplt_epi32(key, ck);
      const int eq = _mm_movemask_ps(_mm_castsi128_ps(_mm_cmpeq_epi32(key, ck)));
      if (eq) {  // ties with the cut key: decided by index
        alignas(16) int32_t m[4];
        _mm_store_si128(reinterpret_cast<__m128i*>(m), pm);
        for (int l = 0; l < 4; ++l)
          if (((eq >> l) & 1) && idx0 + j + l <= c.idx) m[l] = -1;
        pm = _mm_load_si128(reinterpret_cast<const __m128i*>(m));
      }
      const __m128 kept = _mm_andnot_ps(_mm_castsi128_ps(pm), x);
      _mm_storeu_ps(v + j, kept);
      pruned += kPop[_mm_movemask_ps(_mm_castsi128_ps(pm))];
      va = _mm_add_ps(va, _mm_mul_ps(x, x));
      vk = _mm_add_ps(vk, _mm_mul_ps(kept, kept));
    }
    if (e_all) {
      alignas(16) float a[4], k[4];
      _mm_store_ps(a, va);
      _mm_store_ps(k, vk);
      ea += (double(a[0]) + a[1]) + (double(a[2]) + a[3]);
      ek += (double(k[0]) + k[1]) + (double(k[2]) + k[3]);
    }
  }
#endif
  for (; j < len; ++j) {
    const double x = v[j];
    ea += x * x;
    if (c.prunes(mag_key(v[j]), idx0 + j)) {
      v[j] = 0.f;
      ++pruned;
    } else {
      ek += x * x;
    }
  }
  if (e_all) *e_all += ea;
  if (e_kept) *e_kept += ek;
  return pruned;
}

bool all_finite(const float* v, int64_t n) {
  uint32_t bad = 0;
  for (int64_t i = 0; i < n; ++i) {
    uint32_t u;
    std::memcpy(&u, v + i, sizeof u);
    bad |= uint32_t((u & 0x7f800000u) == 0x7f800000u);
  }
  return bad == 0;
}

Cut select_cut_histogram(const float* a, int64_t ld, const std::vector<Rect>& rects, int64_t k) {
  int64_t n = 0;
  for (const Rect& r : rects) n += r.size();
  if (k <= 0 || n <= 0) return {};
  if (k >= n) return Cut{0x7fffffffu, n - 1};
  LB_CHECK(n < (int64_t(1) << 32), "selection group too large: ", n);
  std::vector<int64_t> base(rects.size(), 0);
  for (size_t i = 1; i < rects.size(); ++i) base[i] = base[i - 1] + rects[i - 1].size();
  return select_cut_histogram(a, ld, rects, base, n, k);
}

Cut select_cut(const float* a, int64_t ld, const std::vector<Rect>& rects, int64_t k) {
  int64_t n = 0;
  for (const Rect& r : rects) n += r.size();
  if (k <= 0 || n <= 0) return {};
  if (k >= n) return Cut{0x7fffffffu, n - 1};
  LB_CHECK(n < (int64_t(1) << 32), "selection group too large: ", n);
  std::vector<int64_t> base(rects.size(), 0);  // index of each rectangle's first element
  for (size_t i = 1; i < rects.size(); ++i) base[i] = base[i - 1] + rects[i - 1].size();
  auto at = [&](int64_t p) {  // element of flat index p
    size_t ri = 0;
    while (ri + 1 < rects.size() && base[ri + 1] <= p) ++ri;
    const Rect& r = rects[ri];
    const int64_t q = p - base[ri];
    return a[(r.r0 + q / r.cols) * ld + r.c0 + q % r.cols];
  };
  if (n <= 65536) {
    std::vector<uint32_t> keys(static_cast<size_t>(n));
    int64_t p = 0;
    for (const Rect& r : rects)
      for (int64_t i = 0; i < r.rows; ++i)
        for (int64_t j = 0; j < r.cols; ++j) keys[size_t(p++)] = mag_key(a[(r.r0 + i) * ld + r.c0 + j]);
    SelectScratch scratch;
    return select_small(keys.data(), n, k, scratch);
  }
  // Stratified sample: one element in each of S equal strata of the flat index.
  const int64_t S = std::clamp<int64_t>(n / 64, 4096, 65536);
  std::vector<uint32_t> sample(static_cast<size_t>(S));
  for (int64_t c = 0; c < S; ++c) {
    const int64_t p = std::min(n - 1, int64_t((double(c) + jitter(c)) * double(n) / double(S)));
    sample[size_t(c)] = mag_key(at(p));
  }
  const Bracket b = bracket_from_sample(sample, n, k);
  std::vector<uint64_t> cand;
  int64_t below = 0;
  const bool par = n >= kParallelMin;
#pragma omp parallel if (par) reduction(+ : below)
  {
    std::vector<uint64_t> mine;
    for (size_t ri = 0; ri < rects.size(); ++ri) {
      const Rect& r = rects[ri];
#pragma omp for schedule(static) nowait
      for (int64_t i = 0; i < r.rows; ++i)
        bracket_scan(a + (r.r0 + i) * ld + r.c0, r.cols, base[ri] + i * r.cols, b, below, mine);
    }
#pragma omp critical(lowbit_select_cand)
    cand.insert(cand.end(), mine.begin(), mine.end());
  }
  Cut c;
  if (cut_from_candidates(cand, below, k, c)) return c;
  return select_cut_histogram(a, ld, rects, base, n, k);
}

PruneResult prune_scored(const Tensor& w, const double* colnorm, const PruneSpec& s) {
  const int64_t out = w.dim(0), in = w.dim(1);
  PruneResult r;
  r.w_hat = w;
  r.total = out * in;
  auto score = [&](int64_t j, float v) -> uint32_t {
    return colnorm ? mag_key(float(std::fabs(double(v)) * colnorm[j])) : mag_key(v);
  };
  const bool par = out * in >= (int64_t(1) << 16);
  int64_t pruned = 0;
  if (s.m > 0 || s.per_row) {
    // Groups inside one row: N:M blocks, or the whole row.
    const int64_t gsize = s.m > 0 ? s.m : in, ngroups = in / gsize;
    const int64_t k = s.m > 0 ? s.n : prune_detail::prune_count(s.sparsity, in);
#pragma omp parallel if (par) reduction(+ : pruned)
    {
      std::vector<uint32_t> keys(static_cast<size_t>(gsize));
      SelectScratch scratch;
#pragma omp for schedule(static)
      for (int64_t row = 0; row < out; ++row) {
        float* wr = r.w_hat.row(row);
        for (int64_t g = 0; g < ngroups; ++g) {
          float* p = wr + g * gsize;
          const uint32_t* kk = keys.data();
          for (int64_t j = 0; j < gsize; ++j) keys[size_t(j)] = score(g * gsize + j, p[j]);
          if (gsize <= 16) {  // N:M: prune the elements of rank < N in the (key, index) order
            for (int64_t i = 0; i < gsize; ++i) {
              int64_t rank = 0;
              for (int64_t j = 0; j < gsize; ++j) rank += (kk[j] < kk[i]) | ((kk[j] == kk[i]) & (j < i));
              const bool pr = rank < k;
              p[i] = pr ? 0.f : p[i];
              pruned += pr;
            }
            continue;
          }
          const Cut cut = select_small(kk, gsize, k, scratch);
          for (int64_t j = 0; j < gsize; ++j) {  // branch-free: half the elements go, at random
            const bool pr = cut.prunes(kk[j], j);
            p[j] = pr ? 0.f : p[j];
            pruned += pr;
          }
        }
      }
    }
    LB_CHECK(pruned == k * ngroups * out, "pruned ", pruned, " elements, expected ", k * ngroups * out);
  } else {
    // One group: the whole matrix, index = row·in + column.
    const int64_t k = prune_count(s.sparsity, out * in);
    Tensor scores;
    const float* src = w.ptr();
    if (colnorm) {
      scores.resize({out, in});
#pragma omp parallel for schedule(static) if (par)
      for (int64_t row = 0; row < out; ++row)
        for (int64_t j = 0; j < in; ++j)
          scores.row(row)[j] = float(std::fabs(double(w.row(row)[j])) * colnorm[j]);
      src = scores.ptr();
    }
    const Cut cut = select_cut(src, in, {Rect{0, 0, out, in}}, k);
#pragma omp parallel for schedule(static) if (par) reduction(+ : pruned)
    for (int64_t row = 0; row < out; ++row) {
      float* wr = r.w_hat.row(row);
      const float* sr = src + row * in;
      for (int64_t j = 0; j < in; ++j) {
        const bool pr = cut.prunes(mag_key(sr[j]), row * in + j);
        wr[j] = pr ? 0.f : wr[j];
        pruned += pr;
      }
    }
    LB_CHECK(pruned == k, "pruned ", pruned, " elements, expected ", k);
  }
  r.pruned = pruned;
  return r;
}

}  // namespace prune_detail
}  // namespace lowbit
