// lowbit/compress/prune.cpp — what the pruning methods share: PruneSpec validation and naming, the
// method predicates, the exact k-smallest selection and score-based (magnitude / Wanda) masking.
// defines: see prune.hpp (PruneSpec::validate, PruneSpec::str, is_prune_method,
//          prune_needs_calibration) and prune_select.hpp
#include <algorithm>
#include <cmath>
#include <cstdio>

#include "lowbit/compress/prune.hpp"
#include "lowbit/compress/prune_select.hpp"
#include "lowbit/core/error.hpp"

namespace lowbit {

bool is_prune_method(const std::string& m) {
  return m == "magnitude" || m == "wanda" || m == "sparsegpt" || m == "haar";
}
bool prune_needs_calibration(const std::string& m) { return m == "wanda" || m == "sparsegpt"; }

void PruneSpec::validate(int64_t in, const std::string& method, const std::string& where) const {
  LB_INPUT_CHECK(is_prune_method(method), where, ": '", method,
                 "' is not a pruning method (magnitude, wanda, sparsegpt, haar)");
  LB_INPUT_CHECK(std::isfinite(sparsity) && sparsity >= 0.0 && sparsity < 1.0, where, ": sparsity ", sparsity,
                 " must be in [0, 1)");
  LB_INPUT_CHECK(in >= 1, where, ": input dimension ", in, " must be positive");
  if (m > 0 || n > 0) {
    LB_INPUT_CHECK(method != "haar", where, ": N:M sparsity (", n, ":", m,
                   ") is not supported by haar, which prunes wavelet coefficients, not weights; use a sparsity ratio");
    LB_INPUT_CHECK(n >= 1 && m >= 2 && n < m, where, ": N:M ", n, ":", m, " needs 0 < N < M");
    LB_INPUT_CHECK(in % m == 0, where, ": N:M ", n, ":", m, ": M = ", m, " does not divide the input dimension ",
                   in);
  }
  if (method == "haar") {
    LB_INPUT_CHECK(haar_levels >= 1, where, ": Haar levels ", haar_levels, " must be >= 1");
    LB_INPUT_CHECK(haar_levels <= 62 && (in >> haar_levels) >= 1, where, ": Haar levels ", haar_levels,
                   " too many for the input dimension ", in, " (each level halves it; at most ",
                   in >= 2 ? int(std::floor(std::log2(double(in)))) : 0, ")");
  }
}

std::string PruneSpec::str() const {
  if (m > 0) return std::to_string(n) + ":" + std::to_string(m);
  char buf[64];
  std::snprintf(buf, sizeof buf, "s%.2f", sparsity);
  if (std::fabs(std::strtod(buf + 1, nullptr) - sparsity) > 1e-12) std::snprintf(buf, sizeof buf, "s%.6g", sparsity);
  return buf;
}

namespace prune_detail {

Cut select_small(const uint32_t* keys, int64_t n, int64_t k, std::vector<uint64_t>& scratch) {
  if (k <= 0 || n <= 0) return {};
  LB_CHECK(n < (int64_t(1) << 32), "selection group too large: ", n);
  scratch.resize(size_t(n));
  for (int64_t i = 0; i < n; ++i) scratch[size_t(i)] = (uint64_t(keys[i]) << 32) | uint64_t(i);
  if (k > n) k = n;
  std::nth_element(scratch.begin(), scratch.begin() + (k - 1), scratch.end());
  const uint64_t c = scratch[size_t(k - 1)];
  return Cut{uint32_t(c >> 32), int64_t(c & 0xffffffffu)};
}

Cut select_cut(const float* a, int64_t ld, const std::vector<Rect>& rects, int64_t k) {
  int64_t n = 0;
  for (const Rect& r : rects) n += r.size();
  if (k <= 0 || n <= 0) return {};
  if (k >= n) return Cut{0x7fffffffu, n - 1};
  LB_CHECK(n < (int64_t(1) << 32), "selection group too large: ", n);
  constexpr int kShift = 16;                 // buckets: key bits 30..16 (sign cleared)
  constexpr size_t kBuckets = size_t(1) << 15;
  const bool par = n >= (int64_t(1) << 18);
  std::vector<int64_t> base(rects.size(), 0);  // index of each rectangle's first element
  for (size_t i = 1; i < rects.size(); ++i) base[i] = base[i - 1] + rects[i - 1].size();

  // Pass 1: histogram of the top key bits.
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
  // The bucket holding the k-th smallest; `need` of its elements are pruned.
  uint32_t bucket = 0;
  int64_t below = 0;
  for (; bucket < kBuckets; ++bucket) {
    if (below + hist[bucket] >= k) break;
    below += hist[bucket];
  }
  LB_CHECK(bucket < kBuckets, "selection histogram does not hold k = ", k, " of ", n);
  const int64_t need = k - below;

  // Pass 2: the candidates of that bucket, as (key, index) pairs; then select among them only.
  std::vector<uint64_t> cand;
  cand.reserve(size_t(hist[bucket]));
#pragma omp parallel if (par)
  {
    std::vector<uint64_t> mine;
    for (size_t ri = 0; ri < rects.size(); ++ri) {
      const Rect& r = rects[ri];
#pragma omp for schedule(static) nowait
      for (int64_t i = 0; i < r.rows; ++i) {
        const float* p = a + (r.r0 + i) * ld + r.c0;
        const int64_t b0 = base[ri] + i * r.cols;
        for (int64_t j = 0; j < r.cols; ++j) {
          const uint32_t key = mag_key(p[j]);
          if ((key >> kShift) == bucket) mine.push_back((uint64_t(key) << 32) | uint64_t(b0 + j));
        }
      }
    }
#pragma omp critical(lowbit_select_cand)
    cand.insert(cand.end(), mine.begin(), mine.end());
  }
  LB_CHECK(int64_t(cand.size()) == hist[bucket], "selection candidates ", cand.size(), " vs ", hist[bucket]);
  std::nth_element(cand.begin(), cand.begin() + (need - 1), cand.end());
  const uint64_t c = cand[size_t(need - 1)];
  return Cut{uint32_t(c >> 32), int64_t(c & 0xffffffffu)};
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
      std::vector<uint64_t> scratch;
#pragma omp for schedule(static)
      for (int64_t row = 0; row < out; ++row) {
        float* wr = r.w_hat.row(row);
        for (int64_t g = 0; g < ngroups; ++g) {
          float* p = wr + g * gsize;
          for (int64_t j = 0; j < gsize; ++j) keys[size_t(j)] = score(g * gsize + j, p[j]);
          const Cut cut = select_small(keys.data(), gsize, k, scratch);
          for (int64_t j = 0; j < gsize; ++j)
            if (cut.prunes(keys[size_t(j)], j)) {
              p[j] = 0.f;
              ++pruned;
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
      for (int64_t j = 0; j < in; ++j)
        if (cut.prunes(mag_key(sr[j]), row * in + j)) {
          wr[j] = 0.f;
          ++pruned;
        }
    }
    LB_CHECK(pruned == k, "pruned ", pruned, " elements, expected ", k);
  }
  r.pruned = pruned;
  return r;
}

}  // namespace prune_detail
}  // namespace lowbit
