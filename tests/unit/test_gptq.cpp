// tests/unit/test_gptq.cpp — GPTQ (lowbit/compress/gptq.hpp): never worse than RTN in output error
// on correlated inputs, results consistent with their codes/scales/zeros/g_idx, act-order with static
// groups, dead columns, singular and indefinite Hessians, and agreement with an independent textbook
// O(n³) implementation (explicit inverse, column-by-column elimination, no lazy batching).
#include <gtest/gtest.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "lowbit/compress/gptq.hpp"
#include "lowbit/compress/quant.hpp"
#include "lowbit/core/dtype.hpp"
#include "lowbit/core/error.hpp"
#include "tolerances.hpp"

using namespace lowbit;

namespace {

// Agreement of quantize_gptq with the textbook reference: both run in double and differ only in
// summation order (lazy batches, Cholesky vs Gauss-Jordan), ~1e-13 relative; 1e-5 leaves room for
// f32 rounding of the weights before quantization.
constexpr double kTextbookTol = 1e-5;

Tensor random_matrix(int64_t rows, int64_t cols, uint64_t seed, double sd = 1.0) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> n(0.0, sd);
  Tensor t({rows, cols});
  for (auto& v : t.data) v = float(n(rng));
  return t;
}

// X = Z·A + 0.3·N with Z [rows, 16] and A [16, cols] (a low-rank shared part) times log-normal column
// scales: columns strongly correlated and of different magnitude, so H = XᵀX is far from diagonal and
// act-order has something to sort. The noise keeps H full rank when rows >= cols.
Tensor correlated_inputs(int64_t rows, int64_t cols, uint64_t seed) {
  constexpr int64_t k = 16;
  const Tensor Z = random_matrix(rows, k, seed);
  const Tensor A = random_matrix(k, cols, seed + 1, 1.0 / std::sqrt(double(k)));
  const Tensor N = random_matrix(rows, cols, seed + 3);
  std::mt19937_64 rng(seed + 2);
  std::normal_distribution<double> n(0.0, 0.7);
  std::vector<double> colscale(static_cast<size_t>(cols));
  for (auto& c : colscale) c = std::exp(n(rng));
  Tensor X({rows, cols});
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) {
      double acc = 0.3 * N.row(r)[c];
      for (int64_t i = 0; i < k; ++i) acc += double(Z.row(r)[i]) * A.row(i)[c];
      X.row(r)[c] = float(acc * colscale[size_t(c)]);
    }
  return X;
}

std::vector<double> hessian(const Tensor& X) {
  const int64_t rows = X.rows(), n = X.cols();
  std::vector<double> H(static_cast<size_t>(n * n), 0.0);
  for (int64_t r = 0; r < rows; ++r) {
    const float* x = X.row(r);
    for (int64_t a = 0; a < n; ++a) {
      const double xa = x[a];
      if (xa == 0.0) continue;
      for (int64_t b = 0; b < n; ++b) H[size_t(a * n + b)] += xa * double(x[b]);
    }
  }
  return H;
}

bool all_finite(const Tensor& t) {
  for (float v : t.data)
    if (!std::isfinite(v)) return false;
  return true;
}

// The QuantResult contract shared with RTN: shapes, f16 scales, zeros and codes in range, and
// w_hat[o][j] == dequant_code(q, scale[o][g_idx[j]], zero[o][g_idx[j]]) bit for bit.
void expect_consistent(const QuantResult& r, const Tensor& w, const QuantSpec& s, const std::string& what) {
  SCOPED_TRACE(what);
  // ceil(in / gs) groups; the last one holds what is left (a ragged last group, as GPTQ's reference).
  const int64_t out = w.dim(0), in = w.dim(1), gs = s.per_channel() ? in : s.group, ng = (in + gs - 1) / gs;
  const int maxq = s.maxq();
  ASSERT_EQ(r.w_hat.shape, w.shape);
  ASSERT_EQ(r.n_groups, ng);
  ASSERT_EQ(r.scales.shape, (std::vector<int64_t>{out, ng}));
  ASSERT_EQ(r.zeros.size(), size_t(out * ng));
  ASSERT_EQ(r.q.size(), size_t(out * in));
  ASSERT_EQ(r.g_idx.size(), size_t(in));
  EXPECT_EQ(r.spec.bits, s.bits);
  EXPECT_EQ(r.spec.group, s.group);
  EXPECT_EQ(r.spec.sym, s.sym);
  std::vector<int64_t> members(static_cast<size_t>(ng), 0);
  for (int32_t g : r.g_idx) {
    ASSERT_GE(g, 0);
    ASSERT_LT(g, ng);
    ++members[size_t(g)];
  }
  for (int64_t g = 0; g < ng; ++g) EXPECT_EQ(members[size_t(g)], std::min(gs, in - g * gs)) << "group " << g;
  int64_t bad_scale = 0, bad_zero = 0, bad_code = 0, bad_what = 0;
  for (int64_t i = 0; i < out * ng; ++i) {
    const float sc = r.scales.data[size_t(i)];
    if (!(sc > 0.f) || !std::isfinite(sc) || f16_to_f32(f32_to_f16(sc)) != sc) ++bad_scale;
    if (r.zeros[size_t(i)] < 0 || r.zeros[size_t(i)] > maxq) ++bad_zero;
  }
  for (int64_t o = 0; o < out; ++o)
    for (int64_t j = 0; j < in; ++j) {
      const int32_t q = r.q[size_t(o * in + j)];
      if (q > maxq) ++bad_code;
      const int64_t g = r.g_idx[size_t(j)];
      const float expect = dequant_code(q, r.scales.data[size_t(o * ng + g)], r.zeros[size_t(o * ng + g)]);
      if (!(r.w_hat.row(o)[j] == expect)) ++bad_what;
    }
  EXPECT_EQ(bad_scale, 0) << "scales not positive, finite and f16-representable";
  EXPECT_EQ(bad_zero, 0) << "zeros outside [0, maxq]";
  EXPECT_EQ(bad_code, 0) << "codes above maxq";
  EXPECT_EQ(bad_what, 0) << "w_hat differs from dequant(q, scale, zero)";
  EXPECT_TRUE(all_finite(r.w_hat));
}

// ---- the independent reference ----
using Mat = std::vector<std::vector<double>>;
Mat mat(int64_t rows, int64_t cols) {
  return Mat(static_cast<size_t>(rows), std::vector<double>(static_cast<size_t>(cols), 0.0));
}

// Textbook GPTQ: explicit inverse of the damped H (Gauss-Jordan with partial pivoting), then for each
// column j in order: q = quant(w_j), w_k −= (w_j − q)·Hinv[j,k]/Hinv[j,j] for k > j, and Hinv loses
// column j by one step of Gaussian elimination (Hinv −= Hinv[:,j]·Hinv[j,:]/Hinv[j,j]). Grids as GPTQ:
// per-channel on the given W; groups fitted when their first column comes up on the current weights;
// act-order with static groups fitted on the unpermuted W. A group that does not divide n leaves a
// ragged last group: the reference's find_params(W[:, j:j+groupsize]) on a slice Python clips at n.
// Returns w_hat; g_idx through the pointer.
Tensor textbook_gptq(const Tensor& w, std::vector<double> H, const QuantSpec& s, double percdamp, bool act_order,
                     bool static_groups, std::vector<int32_t>* g_idx_out) {
  const int64_t out = w.dim(0), n = w.dim(1), gs = s.group > 0 ? s.group : n, ng = (n + gs - 1) / gs;
  const int maxq = s.maxq();
  const bool grouped = s.group > 0, stat = grouped && act_order && static_groups;
  std::vector<float> scale(static_cast<size_t>(out * ng));
  std::vector<int32_t> zero(static_cast<size_t>(out * ng));
  if (!grouped)
    for (int64_t o = 0; o < out; ++o) fit_group_grid(w.row(o), n, 1, s, scale[size_t(o)], zero[size_t(o)]);
  auto W = mat(out, n);
  for (int64_t j = 0; j < n; ++j) {
    const bool dead = H[size_t(j * n + j)] == 0.0;
    if (dead) H[size_t(j * n + j)] = 1.0;
    for (int64_t o = 0; o < out; ++o) W[size_t(o)][size_t(j)] = dead ? 0.0 : double(w.row(o)[j]);
  }
  if (stat)
    for (int64_t o = 0; o < out; ++o)
      for (int64_t g = 0; g < ng; ++g) {
        std::vector<float> v;
        for (int64_t c = g * gs; c < std::min(n, (g + 1) * gs); ++c) v.push_back(float(W[size_t(o)][size_t(c)]));
        fit_group_grid(v.data(), int64_t(v.size()), 1, s, scale[size_t(o * ng + g)], zero[size_t(o * ng + g)]);
      }
  std::vector<int64_t> perm(static_cast<size_t>(n));
  std::iota(perm.begin(), perm.end(), int64_t(0));
  if (act_order)
    std::stable_sort(perm.begin(), perm.end(),
                     [&](int64_t a, int64_t b) { return H[size_t(a * n + a)] > H[size_t(b * n + b)]; });
  // Permuted, damped H and its explicit inverse.
  auto A = mat(n, 2 * n);
  double mean = 0;
  for (int64_t j = 0; j < n; ++j) mean += H[size_t(j * n + j)] / double(n);
  for (int64_t a = 0; a < n; ++a) {
    for (int64_t b = 0; b < n; ++b) A[size_t(a)][size_t(b)] = H[size_t(perm[size_t(a)] * n + perm[size_t(b)])];
    A[size_t(a)][size_t(a)] += percdamp * mean;
    A[size_t(a)][size_t(n + a)] = 1.0;
  }
  for (int64_t c = 0; c < n; ++c) {
    int64_t piv = c;
    for (int64_t r = c + 1; r < n; ++r)
      if (std::fabs(A[size_t(r)][size_t(c)]) > std::fabs(A[size_t(piv)][size_t(c)])) piv = r;
    std::swap(A[size_t(c)], A[size_t(piv)]);
    const double d = A[size_t(c)][size_t(c)];
    for (auto& v : A[size_t(c)]) v /= d;
    for (int64_t r = 0; r < n; ++r) {
      if (r == c) continue;
      const double f = A[size_t(r)][size_t(c)];
      for (int64_t k = 0; k < 2 * n; ++k) A[size_t(r)][size_t(k)] -= f * A[size_t(c)][size_t(k)];
    }
  }
  auto Hinv = mat(n, n);
  for (int64_t a = 0; a < n; ++a)
    for (int64_t b = 0; b < n; ++b) Hinv[size_t(a)][size_t(b)] = A[size_t(a)][size_t(n + b)];

  auto Wp = mat(out, n);
  for (int64_t o = 0; o < out; ++o)
    for (int64_t p = 0; p < n; ++p) Wp[size_t(o)][size_t(p)] = W[size_t(o)][size_t(perm[size_t(p)])];
  Tensor what({out, n});
  std::vector<int32_t> g_idx(static_cast<size_t>(n));
  for (int64_t j = 0; j < n; ++j) {
    const int64_t g = !grouped ? 0 : (stat ? perm[size_t(j)] / gs : j / gs);
    g_idx[size_t(perm[size_t(j)])] = int32_t(g);
    for (int64_t o = 0; o < out; ++o) {
      auto& wr = Wp[size_t(o)];
      if (grouped && !stat && j % gs == 0) {
        std::vector<float> v;
        for (int64_t c = j; c < std::min(n, j + gs); ++c) v.push_back(float(wr[size_t(c)]));
        fit_group_grid(v.data(), int64_t(v.size()), 1, s, scale[size_t(o * ng + g)], zero[size_t(o * ng + g)]);
      }
      const float sc = scale[size_t(o * ng + g)];
      const int32_t z = zero[size_t(o * ng + g)];
      const float dq = dequant_code(quant_code(float(wr[size_t(j)]), sc, z, maxq), sc, z);
      what.row(o)[perm[size_t(j)]] = dq;
      const double err = wr[size_t(j)] - double(dq);
      for (int64_t k = j + 1; k < n; ++k)
        wr[size_t(k)] -= err * Hinv[size_t(j)][size_t(k)] / Hinv[size_t(j)][size_t(j)];
    }
    const auto hj = Hinv[size_t(j)];
    for (int64_t a = j + 1; a < n; ++a) {
      const double f = Hinv[size_t(a)][size_t(j)] / hj[size_t(j)];
      for (int64_t b = j + 1; b < n; ++b) Hinv[size_t(a)][size_t(b)] -= f * hj[size_t(b)];
    }
  }
  if (g_idx_out) *g_idx_out = g_idx;
  return what;
}

struct Problem {
  Tensor W;
  std::vector<double> H;
};

// W [64, 256], X [512, 256] correlated.
const Problem& problem() {
  static const Problem p = [] {
    Problem q;
    q.W = random_matrix(64, 256, 101, 0.05);
    q.H = hessian(correlated_inputs(512, 256, 202));
    return q;
  }();
  return p;
}

}  // namespace

TEST(Gptq, BeatsRtnOnCorrelatedInputs) {
  const Problem& P = problem();
  int64_t offdiag_large = 0;  // sanity: H is far from diagonal
  const int64_t n = P.W.dim(1);
  for (int64_t a = 0; a < n; ++a)
    for (int64_t b = 0; b < n; ++b)
      if (a != b &&
          std::fabs(P.H[size_t(a * n + b)]) > 0.3 * std::sqrt(P.H[size_t(a * n + a)] * P.H[size_t(b * n + b)]))
        ++offdiag_large;
  EXPECT_GT(offdiag_large, n);

  for (int bits : {2, 3, 4, 8})
    for (int group : {0, 32, 128})
      for (bool sym : {false, true}) {
        QuantSpec s;
        s.bits = bits;
        s.group = group;
        s.sym = sym;
        GptqReport rep;
        const QuantResult g = quantize_gptq(P.W, P.H, s, {}, &rep);
        const QuantResult r = quantize_rtn(P.W, s);
        expect_consistent(g, P.W, s, "gptq " + s.str());
        for (int64_t j = 0; j < n; ++j) EXPECT_EQ(g.g_idx[size_t(j)], j / s.group_size(n));
        const double eg = output_error(P.W, g.w_hat, P.H), er = output_error(P.W, r.w_hat, P.H);
        EXPECT_TRUE(std::isfinite(eg)) << s.str();
        EXPECT_LE(eg, er) << s.str();
        if (bits <= 4) EXPECT_LT(eg, er) << s.str();
        EXPECT_EQ(rep.damp_raises, 0);
        EXPECT_EQ(rep.dead_columns, 0);
        EXPECT_GT(rep.damp_used, 0.0);
        if (bits == 4 && group == 128 && !sym)
          std::printf("  w4g128asym: output error gptq %.4g vs rtn %.4g\n", eg, er);
      }
}

TEST(Gptq, ActOrderStaticGroups) {
  const Problem& P = problem();
  const int64_t n = P.W.dim(1);
  GptqOptions o;
  o.act_order = true;
  o.static_groups = true;
  for (int bits : {2, 3, 4, 8})
    for (int group : {0, 32, 128})
      for (bool sym : {false, true}) {
        QuantSpec s;
        s.bits = bits;
        s.group = group;
        s.sym = sym;
        const QuantResult g = quantize_gptq(P.W, P.H, s, o);
        expect_consistent(g, P.W, s, "act_order static " + s.str());
        for (int64_t j = 0; j < n; ++j) EXPECT_EQ(g.g_idx[size_t(j)], j / s.group_size(n)) << s.str();
        const double eg = output_error(P.W, g.w_hat, P.H), er = output_error(P.W, quantize_rtn(P.W, s).w_hat, P.H);
        EXPECT_LE(eg, er) << s.str();
        if (bits <= 4) EXPECT_LT(eg, er) << s.str();
      }
}

TEST(Gptq, ActOrderDynamicGroupsFollowThePermutation) {
  const Problem& P = problem();
  const int64_t n = P.W.dim(1);
  GptqOptions o;
  o.act_order = true;
  o.static_groups = false;
  QuantSpec s;
  s.bits = 4;
  s.group = 32;
  const QuantResult g = quantize_gptq(P.W, P.H, s, o);
  expect_consistent(g, P.W, s, "act_order dynamic w4g32");
  // g_idx[c] = (position of c in the order of decreasing diag H) / group.
  std::vector<int64_t> perm(static_cast<size_t>(n));
  std::iota(perm.begin(), perm.end(), int64_t(0));
  std::stable_sort(perm.begin(), perm.end(),
                   [&](int64_t a, int64_t b) { return P.H[size_t(a * n + a)] > P.H[size_t(b * n + b)]; });
  for (int64_t p = 0; p < n; ++p) EXPECT_EQ(g.g_idx[size_t(perm[size_t(p)])], p / 32);
  EXPECT_LT(output_error(P.W, g.w_hat, P.H), output_error(P.W, quantize_rtn(P.W, s).w_hat, P.H));
}

TEST(Gptq, ResultDoesNotDependOnBlocksize) {
  const Problem& P = problem();
  for (int group : {0, 32}) {
    QuantSpec s;
    s.bits = 3;
    s.group = group;
    GptqOptions o;
    o.blocksize = 128;
    const QuantResult ref = quantize_gptq(P.W, P.H, s, o);
    for (int bs : {1, 7, 32, 100, 256, 1000}) {
      o.blocksize = bs;
      const QuantResult g = quantize_gptq(P.W, P.H, s, o);
      double d = 0;
      for (size_t i = 0; i < g.w_hat.data.size(); ++i)
        d = std::max(d, double(std::fabs(g.w_hat.data[i] - ref.w_hat.data[i])));
      EXPECT_LE(d, kTextbookTol) << s.str() << " blocksize " << bs;
    }
  }
}

TEST(Gptq, DeadColumnsAreQuantizedFromZero) {
  const Tensor W = random_matrix(32, 128, 303, 0.05);
  Tensor X = correlated_inputs(256, 128, 404);
  const std::vector<int64_t> dead = {0, 5, 77, 127};
  for (int64_t r = 0; r < X.rows(); ++r)
    for (int64_t c : dead) X.row(r)[c] = 0.f;
  const auto H = hessian(X);
  for (bool act : {false, true})
    for (int group : {0, 32}) {
      QuantSpec s;
      s.bits = 3;
      s.group = group;
      GptqOptions o;
      o.act_order = act;
      o.blocksize = 16;
      GptqReport rep;
      const QuantResult g = quantize_gptq(W, H, s, o, &rep);
      const std::string what = s.str() + (act ? " act_order" : "");
      expect_consistent(g, W, s, "dead columns " + what);
      EXPECT_EQ(rep.dead_columns, int(dead.size())) << what;
      EXPECT_EQ(rep.damp_raises, 0) << what;
      const int64_t ng = g.n_groups;
      for (int64_t o2 = 0; o2 < W.dim(0); ++o2)
        for (int64_t c : dead) {
          const int64_t gi = g.g_idx[size_t(c)];
          const float sc = g.scales.data[size_t(o2 * ng + gi)];
          const int32_t z = g.zeros[size_t(o2 * ng + gi)];
          EXPECT_EQ(int32_t(g.q[size_t(o2 * W.dim(1) + c)]), quant_code(0.f, sc, z, s.maxq())) << what;
          EXPECT_EQ(g.w_hat.row(o2)[c], 0.f) << what;
        }
      EXPECT_LE(output_error(W, g.w_hat, H), output_error(W, quantize_rtn(W, s).w_hat, H)) << what;
    }
}

TEST(Gptq, SingularHessianFromFewRows) {
  // 64 rows, 256 columns: H = XᵀX has rank <= 64. Damping (1% of mean diag) makes it definite.
  const Tensor W = random_matrix(48, 256, 505, 0.05);
  const Tensor X = correlated_inputs(64, 256, 606);
  const auto H = hessian(X);
  for (bool act : {false, true}) {
    QuantSpec s;
    s.bits = 4;
    s.group = 64;
    GptqOptions o;
    o.act_order = act;
    GptqReport rep;
    const QuantResult g = quantize_gptq(W, H, s, o, &rep);
    expect_consistent(g, W, s, std::string("singular H") + (act ? " act_order" : ""));
    const double eg = output_error(W, g.w_hat, H), er = output_error(W, quantize_rtn(W, s).w_hat, H);
    EXPECT_TRUE(std::isfinite(eg));
    EXPECT_LT(eg, er);
  }
  // Without damping the exactly rank-deficient H may or may not factor in floating point; the result
  // must be finite either way (damping is raised when a factorisation fails or the sweep overflows).
  QuantSpec s;
  s.bits = 4;
  GptqOptions o;
  o.percdamp = 0;
  GptqReport rep;
  const QuantResult g = quantize_gptq(W, H, s, o, &rep);
  expect_consistent(g, W, s, "singular H, percdamp 0");
}

TEST(Gptq, IndefiniteHessianRaisesDamping) {
  // Blocks [[1, 2], [2, 1]]: eigenvalues 3 and -1, diag mean 1. λ = 0.01, 0.1, 1 fail (1 leaves a zero
  // eigenvalue); 10 succeeds.
  const int64_t n = 16;
  std::vector<double> H(static_cast<size_t>(n * n), 0.0);
  for (int64_t b = 0; b < n; b += 2) {
    H[size_t(b * n + b)] = H[size_t((b + 1) * n + b + 1)] = 1.0;
    H[size_t(b * n + b + 1)] = H[size_t((b + 1) * n + b)] = 2.0;
  }
  const Tensor W = random_matrix(8, n, 707);
  QuantSpec s;
  s.bits = 4;
  GptqReport rep;
  const QuantResult g = quantize_gptq(W, H, s, {}, &rep);
  expect_consistent(g, W, s, "indefinite H");
  EXPECT_GE(rep.damp_raises, 2);
  EXPECT_GE(rep.damp_used, 1.0);
  EXPECT_LE(rep.damp_used, 10.0 + 1e-9);
}

TEST(Gptq, MatchesTextbookReference) {
  // The tiny case of the specification (W 3×8, H from 16 rows), and 5×100 (H from 200 rows), where
  // Hinv spans several 64-column tiles of the transposes in cholesky_inverse_upper. Groups: per
  // channel, one that divides `in`, one that leaves a ragged last group (8 = 3+3+2, 100 = 4·24+4:
  // a last group shorter than a block and one cut by a block edge) and one longer than the row.
  struct Case {
    int64_t out, in, rows;
    int group, ragged, wide;
  };
  for (const Case& c : {Case{3, 8, 16, 4, 3, 16}, Case{5, 100, 200, 20, 24, 128}})
    for (int group : {0, c.group, c.ragged, c.wide})
      for (bool act : {false, true})
        for (bool stat : {true, false}) {
          if (!act && !stat) continue;
          const Tensor W = random_matrix(c.out, c.in, 808);
          const auto H = hessian(correlated_inputs(c.rows, c.in, 909));
          QuantSpec s;
          s.bits = 3;
          s.group = group;
          std::vector<int32_t> ref_gidx;
          const Tensor ref = textbook_gptq(W, H, s, 0.01, act, stat, &ref_gidx);
          for (int bs : {1, 2, 3, 128}) {
            GptqOptions o;
            o.blocksize = bs;
            o.act_order = act;
            o.static_groups = stat;
            const QuantResult g = quantize_gptq(W, H, s, o);
            const std::string what = s.str() + " " + std::to_string(c.out) + "x" + std::to_string(c.in) +
                                     " blocksize " + std::to_string(bs) + (act ? " act_order" : "") +
                                     (act && stat ? " static" : "");
            expect_consistent(g, W, s, what);
            EXPECT_EQ(g.g_idx, ref_gidx) << what;
            for (size_t i = 0; i < ref.data.size(); ++i)
              EXPECT_NEAR(g.w_hat.data[i], ref.data[i], kTextbookTol) << what << " element " << i;
          }
        }
  // The reference itself must differ from RTN here (otherwise the comparison proves little).
  const Tensor W = random_matrix(3, 8, 808);
  const auto H = hessian(correlated_inputs(16, 8, 909));
  QuantSpec s;
  s.bits = 3;
  const Tensor ref = textbook_gptq(W, H, s, 0.01, false, true, nullptr);
  EXPECT_NE(ref.data, quantize_rtn(W, s).w_hat.data);
}

TEST(Gptq, ParallelPathsMatchOneThread) {
  // 512×512 is above the size where the row loops, the block sweep and the transposes go parallel
  // (the other tests are below it). Rows are independent, so codes must agree with a one-thread run
  // up to the rare f32 rounding tie that a different dgemm summation order could flip.
  const Tensor W = random_matrix(512, 512, 1111, 0.05);
  const auto H = hessian(correlated_inputs(1024, 512, 2222));
  QuantSpec s;
  s.bits = 4;
  s.group = 64;
  for (bool act : {false, true}) {
    GptqOptions o;
    o.act_order = act;
    const int threads = omp_get_max_threads();
    omp_set_num_threads(1);
    const QuantResult one = quantize_gptq(W, H, s, o);
    omp_set_num_threads(std::max(threads, 2));
    const QuantResult many = quantize_gptq(W, H, s, o);
    omp_set_num_threads(threads);
    expect_consistent(many, W, s, act ? "parallel, act_order" : "parallel");
    int64_t same = 0;
    for (size_t i = 0; i < one.q.size(); ++i) same += one.q[i] == many.q[i];
    EXPECT_GE(double(same), 0.999 * double(one.q.size()));
    const double e1 = output_error(W, one.w_hat, H), e2 = output_error(W, many.w_hat, H);
    EXPECT_NEAR(e2, e1, tol::kGptqThreadsOutputErrRel * e1);
    EXPECT_LT(e2, output_error(W, quantize_rtn(W, s).w_hat, H));
  }
}

TEST(Gptq, RejectsBadInput) {
  const Tensor W = random_matrix(4, 8, 1);
  std::vector<double> H(64, 0.0);
  for (int j = 0; j < 8; ++j) H[size_t(j * 8 + j)] = 1.0;
  QuantSpec s;
  EXPECT_THROW(quantize_gptq(W, std::vector<double>(63, 1.0), s), InputError);
  s.group = -2;
  EXPECT_THROW(quantize_gptq(W, H, s), InputError);
  s.group = 0;
  GptqOptions o;
  o.blocksize = 0;
  EXPECT_THROW(quantize_gptq(W, H, s, o), InputError);
  std::vector<double> Hn = H;
  Hn[3] = std::nan("");
  EXPECT_THROW(quantize_gptq(W, Hn, s), InputError);
  // All columns dead: every weight quantizes from 0.
  GptqReport rep;
  const QuantResult g = quantize_gptq(W, std::vector<double>(64, 0.0), s, {}, &rep);
  EXPECT_EQ(rep.dead_columns, 8);
  for (float v : g.w_hat.data) EXPECT_EQ(v, 0.f);
}

// GPTQ's promise is measured against quantize_rtn, whose vectorised loop must stay bit-identical to
// the scalar definition (fit_group_grid + quant_code + dequant_code), including ties (w/scale = k + ½,
// rounded to even), signed zeros, values far outside the grid and row lengths that leave a scalar tail.
TEST(Gptq, RtnBaselineIsTheScalarDefinition) {
  std::mt19937_64 rng(4242);
  std::normal_distribution<float> n(0.f, 1.f);
  for (int64_t in : {37, 48, 256})
    for (int bits : {2, 3, 4, 8})
      for (int group : {0, 16, 4})
        for (bool sym : {false, true}) {
          QuantSpec s;
          s.bits = bits;
          s.group = group;
          s.sym = sym;
          const int64_t out = 24, gs = s.group_size(in);
          Tensor w({out, in});
          for (auto& v : w.data) v = n(rng) * (rng() % 7 == 0 ? 50.f : 1.f);
          // Interior values on exact ties of each group's grid (the group's min and max are kept, so
          // the grid is unchanged), plus signed zeros.
          for (int64_t o = 0; o < out; ++o)
            for (int64_t g = 0; g * gs < in; ++g) {
              float* wg = w.row(o) + g * gs;
              const int64_t len = std::min(gs, in - g * gs);  // the last group may be ragged
              float sc;
              int32_t z;
              fit_group_grid(wg, len, 1, s, sc, z);
              const int64_t imin = std::min_element(wg, wg + len) - wg, imax = std::max_element(wg, wg + len) - wg;
              const float lo = std::min(wg[imin], 0.f), hi = std::max(wg[imax], 0.f);
              for (int64_t j = 0; j < len; ++j) {
                if (j == imin || j == imax) continue;
                const uint64_t kind = rng() % 3;
                const float k = float(int64_t(rng() % uint64_t(s.maxq() + 1)) - z);
                const float tie = sc * (k + (rng() % 2 ? 0.5f : -0.5f));
                if (kind == 0 && tie >= lo && tie <= hi) wg[j] = tie;
                if (kind == 1) wg[j] = (rng() % 2) ? -0.f : 0.f;
              }
              float sc2;
              int32_t z2;
              fit_group_grid(wg, len, 1, s, sc2, z2);
              ASSERT_EQ(sc, sc2);
              ASSERT_EQ(z, z2);
            }
          const QuantResult r = quantize_rtn(w, s);
          const std::string what = s.str() + " in " + std::to_string(in);
          int64_t bad = 0, ties = 0;
          for (int64_t o = 0; o < out; ++o)
            for (int64_t g = 0; g * gs < in; ++g) {
              const int64_t len = std::min(gs, in - g * gs), ng = (in + gs - 1) / gs;
              float sc;
              int32_t z;
              fit_group_grid(w.row(o) + g * gs, len, 1, s, sc, z);
              bad += r.scales.data[size_t(o * ng + g)] != sc || r.zeros[size_t(o * ng + g)] != z;
              for (int64_t j = g * gs; j < g * gs + len; ++j) {
                const float x = w.row(o)[j] / sc;
                ties += x - std::floor(x) == 0.5f;
                const int32_t q = quant_code(w.row(o)[j], sc, z, s.maxq());
                const float h = dequant_code(q, sc, z);
                bad += int32_t(r.q[size_t(o * in + j)]) != q || std::memcmp(&h, &r.w_hat.row(o)[j], sizeof h) != 0;
              }
            }
          EXPECT_EQ(bad, 0) << what;
          EXPECT_GT(ties, 0) << what << ": no tie exercised";
          expect_consistent(r, w, s, "rtn " + what);
        }
}
