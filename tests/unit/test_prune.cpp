// tests/unit/test_prune.cpp — magnitude, Wanda, SparseGPT and Haar subband pruning: exact counts in
// every comparison group (rounding rule k = ⌊s·n⌋, prune_select.hpp), the right elements chosen,
// SparseGPT's reconstruction beating the update-free methods, the Haar transform (perfect
// reconstruction, Parseval, layout), per-subband retention, the global ablation, and the sparse
// inference path Hₘᵀ·C·(Hₙ·x).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "lowbit/compress/methods.hpp"
#include "lowbit/compress/haar.hpp"
#include "lowbit/compress/prune.hpp"
#include "lowbit/compress/prune_select.hpp"
#include "lowbit/compress/quant.hpp"
#include "lowbit/compress/stats.hpp"
#include "lowbit/core/error.hpp"
#include "tolerances.hpp"

namespace {

using namespace lowbit;

// Max |ŵ − w| after a forward + inverse Haar transform in f32 (the bound): each level does
// ~3 roundings of values of the weights' magnitude (≤ ~4 for N(0,1) entries), ~1e-7 relative each.
constexpr double kHaarReconstruction = 1e-6;
// Parseval: |Σc² − Σw²| / Σw² with both sums in double over f32 values; the transform's f32 roundings
// perturb each coefficient by ~6e-8 relative, so the energies agree to ~1e-7.
constexpr double kParsevalRel = 1e-6;
// ‖y_sparse − ŵ·x‖ / ‖ŵ·x‖: the sparse path accumulates in f32 in another order and rounds through
// two extra f32 transforms (the bound).
constexpr double kSparsePathRel = 1e-5;
// ‖W − Ŵ‖² / (pruned energy Σc²): equal in exact arithmetic (orthonormal transform); Ŵ is rounded to
// f32 after an inverse transform, so each difference carries ~1e-7 of |w| on top of |w − ŵ| ~ |w|/√2.
constexpr double kPrunedEnergyRel = 1e-4;
// SubbandStat energies of the fused and the plain Haar paths: the same squares summed in different
// orders (f32 partial sums over 64- or 128-element runs, then double): ~1e-7 relative.
constexpr double kEnergyOrderRel = 1e-6;

Tensor randn(int64_t rows, int64_t cols, uint64_t seed, float sd = 1.f) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> n(0.f, sd);
  Tensor t({rows, cols});
  for (auto& v : t.data) v = n(rng);
  return t;
}

// Activations [rows, in]: a rank-8 shared part plus noise, with log-normal column scales (strongly
// correlated inputs of uneven size, where the Hessian matters).
LinearStats correlated_stats(int64_t in, int64_t rows, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> n(0.f, 1.f);
  std::normal_distribution<float> ls(0.f, 0.7f);
  Tensor A({8, in});
  for (auto& v : A.data) v = n(rng);
  std::vector<float> scale(static_cast<size_t>(in));
  for (auto& s : scale) s = std::exp(ls(rng));
  Tensor X({rows, in});
  for (int64_t r = 0; r < rows; ++r) {
    float z[8];
    for (auto& v : z) v = n(rng);
    for (int64_t j = 0; j < in; ++j) {
      float acc = 0.3f * n(rng);
      for (int q = 0; q < 8; ++q) acc += z[q] * A.row(q)[j];
      X.row(r)[j] = acc * scale[size_t(j)];
    }
  }
  LinearStats st;
  st.init(in, true);
  st.add(X);
  return st;
}

int64_t zeros_in(const float* p, int64_t n) {
  int64_t z = 0;
  for (int64_t i = 0; i < n; ++i) z += p[i] == 0.f;
  return z;
}

// Every pruned score ≤ every kept score inside a group (given the group's original values/scores).
bool smallest_pruned(const std::vector<double>& score, const std::vector<bool>& pruned) {
  double max_pruned = -1, min_kept = INFINITY;
  for (size_t i = 0; i < score.size(); ++i) {
    if (pruned[i])
      max_pruned = std::max(max_pruned, score[i]);
    else
      min_kept = std::min(min_kept, score[i]);
  }
  return max_pruned <= min_kept;
}

PruneSpec ratio(double s, bool per_row = true) {
  PruneSpec p;
  p.sparsity = s;
  p.per_row = per_row;
  return p;
}
PruneSpec nm(int n, int m) {
  PruneSpec p;
  p.n = n;
  p.m = m;
  return p;
}

template <class F>
std::string input_error_of(F&& f) {
  try {
    f();
  } catch (const InputError& e) {
    return e.what();
  } catch (const std::exception& e) {
    return std::string("WRONG EXCEPTION TYPE: ") + e.what();
  }
  return "NO ERROR";
}

// Checks the group structure of w_hat against w for the score |w|·colscale: exact zero counts and
// the smallest scores pruned, in every row / the matrix / every N:M block.
void expect_exact_groups(const Tensor& w, const Tensor& w_hat, const PruneSpec& s, const std::vector<double>& colscale,
                         const std::string& what) {
  const int64_t out = w.dim(0), in = w.dim(1);
  auto score = [&](int64_t r, int64_t j) { return std::fabs(double(w.row(r)[j])) * colscale[size_t(j)]; };
  if (s.m > 0) {
    for (int64_t r = 0; r < out; ++r)
      for (int64_t g = 0; g < in / s.m; ++g) {
        ASSERT_EQ(zeros_in(w_hat.row(r) + g * s.m, s.m), s.n) << what << " row " << r << " block " << g;
        std::vector<double> sc;
        std::vector<bool> pr;
        for (int64_t j = g * s.m; j < (g + 1) * s.m; ++j) {
          sc.push_back(score(r, j));
          pr.push_back(w_hat.row(r)[j] == 0.f);
        }
        ASSERT_TRUE(smallest_pruned(sc, pr)) << what << " row " << r << " block " << g;
      }
  } else if (s.per_row) {
    const int64_t k = int64_t(std::floor(s.sparsity * double(in) + 1e-6));
    for (int64_t r = 0; r < out; ++r) {
      ASSERT_EQ(zeros_in(w_hat.row(r), in), k) << what << " row " << r;
      std::vector<double> sc;
      std::vector<bool> pr;
      for (int64_t j = 0; j < in; ++j) {
        sc.push_back(score(r, j));
        pr.push_back(w_hat.row(r)[j] == 0.f);
      }
      ASSERT_TRUE(smallest_pruned(sc, pr)) << what << " row " << r;
    }
  } else {
    const int64_t k = int64_t(std::floor(s.sparsity * double(out * in) + 1e-6));
    EXPECT_EQ(zeros_in(w_hat.ptr(), out * in), k) << what;
    std::vector<double> sc;
    std::vector<bool> pr;
    for (int64_t r = 0; r < out; ++r)
      for (int64_t j = 0; j < in; ++j) {
        sc.push_back(score(r, j));
        pr.push_back(w_hat.row(r)[j] == 0.f);
      }
    EXPECT_TRUE(smallest_pruned(sc, pr)) << what;
  }
  // Kept weights are untouched (no update for magnitude / Wanda).
  for (int64_t e = 0; e < out * in; ++e)
    if (w_hat.data[size_t(e)] != 0.f) ASSERT_EQ(w_hat.data[size_t(e)], w.data[size_t(e)]) << what;
}

// ---------------------------------------------------------------- rounding rule and specs

TEST(PruneSpec, RoundingRuleIsFloorOfTheDecimalProduct) {
  using prune_detail::prune_count;
  EXPECT_EQ(prune_count(0.5, 7), 3);
  EXPECT_EQ(prune_count(0.5, 8), 4);
  EXPECT_EQ(prune_count(0.29, 100), 29);  // 0.29·100 = 28.999999999999996 in double
  EXPECT_EQ(prune_count(0.7, 10), 7);
  EXPECT_EQ(prune_count(0.3, 10), 3);
  EXPECT_EQ(prune_count(0.999, 1000), 999);
  EXPECT_EQ(prune_count(0.0, 1000), 0);
  EXPECT_EQ(prune_count(0.5, 4096LL * 4096LL), 4096LL * 4096LL / 2);
  EXPECT_EQ(prune_count(0.1, 3), 0);
}

TEST(PruneSpec, StrNamesThePattern) {
  EXPECT_EQ(ratio(0.5).str(), "s0.50");
  EXPECT_EQ(nm(2, 4).str(), "2:4");
  EXPECT_EQ(ratio(0.125).str(), "s0.125");
}

TEST(PruneSpec, MethodPredicates) {
  for (const char* m : {"magnitude", "wanda", "sparsegpt", "haar"}) EXPECT_TRUE(is_prune_method(m)) << m;
  EXPECT_FALSE(is_prune_method("gptq"));
  EXPECT_TRUE(method_row("wanda").needs_calibration);
  EXPECT_TRUE(method_row("sparsegpt").needs_calibration);
  EXPECT_FALSE(method_row("magnitude").needs_calibration);
  EXPECT_FALSE(method_row("haar").needs_calibration);
}

TEST(PruneSpec, BadSpecsAreInputErrorsNamingTheOption) {
  const std::string where = "--sparsity/--nm for attn.q";
  auto err = [&](const PruneSpec& s, const std::string& method, int64_t in = 64) {
    return input_error_of([&] { s.validate(in, method_row(method), where); });
  };
  for (const char* m : {"magnitude", "wanda", "sparsegpt", "haar"}) {
    const std::string e1 = err(ratio(1.0), m), e2 = err(ratio(-0.1), m), e3 = err(ratio(NAN), m);
    for (const std::string& e : {e1, e2, e3}) {
      EXPECT_NE(e.find("sparsity"), std::string::npos) << m << ": " << e;
      EXPECT_NE(e.find(where), std::string::npos) << m << ": " << e;
    }
  }
  for (const char* m : {"magnitude", "wanda", "sparsegpt"}) {
    EXPECT_NE(err(nm(2, 2), m).find("2:2"), std::string::npos) << err(nm(2, 2), m);
    EXPECT_NE(err(nm(4, 2), m).find("4:2"), std::string::npos);
    EXPECT_NE(err(nm(0, 4), m).find("0:4"), std::string::npos);
    const std::string e = err(nm(2, 4), m, 10);  // 4 does not divide 10
    EXPECT_NE(e.find("2:4"), std::string::npos) << e;
    EXPECT_NE(e.find("does not divide the input dimension 10"), std::string::npos) << e;
    EXPECT_EQ(err(nm(2, 4), m), "NO ERROR");
    EXPECT_EQ(err(ratio(0.0), m), "NO ERROR");
  }
  const std::string eh = err(nm(2, 4), "haar");
  EXPECT_NE(eh.find("N:M"), std::string::npos) << eh;
  EXPECT_NE(eh.find("haar"), std::string::npos) << eh;
  PruneSpec lv = ratio(0.5);
  lv.haar_levels = 7;  // 64 → 32 → ... → 1 after 6 levels
  EXPECT_NE(err(lv, "haar").find("levels"), std::string::npos) << err(lv, "haar");
  lv.haar_levels = 0;
  EXPECT_NE(err(lv, "haar").find("levels"), std::string::npos);
  EXPECT_NE(err(ratio(0.5), "gptq").find("not a pruning method"), std::string::npos);
  EXPECT_NE(err(ratio(0.5), "lottery").find("unknown method 'lottery'"), std::string::npos);

  // The methods validate too (before any work).
  const Tensor w = randn(8, 64, 1);
  const LinearStats st = correlated_stats(64, 32, 2);
  EXPECT_NE(input_error_of([&] { prune_magnitude(w, ratio(1.0)); }).find("sparsity"), std::string::npos);
  EXPECT_NE(input_error_of([&] { prune_wanda(w, st, nm(3, 3)); }).find("3:3"), std::string::npos);
  EXPECT_NE(input_error_of([&] { prune_sparsegpt(w, st.xtx, ratio(-0.1)); }).find("sparsity"), std::string::npos);
  EXPECT_NE(input_error_of([&] { prune_haar(w, nm(2, 4)); }).find("N:M"), std::string::npos);
  PruneSpec deep = ratio(0.5);
  deep.haar_levels = 4;  // 8 rows: 8 → 4 → 2 → 1 allows 3 levels
  EXPECT_NE(input_error_of([&] { prune_haar(w, deep); }).find("levels"), std::string::npos);
  const LinearStats wrong = correlated_stats(32, 16, 3);
  EXPECT_NE(input_error_of([&] { prune_wanda(w, wrong, ratio(0.5)); }).find("features"), std::string::npos);
  EXPECT_NE(input_error_of([&] { prune_sparsegpt(w, wrong.xtx, ratio(0.5)); }).find("Hessian"), std::string::npos);
}

// ---------------------------------------------------------------- magnitude

TEST(PruneMagnitude, ExactCountPerRowPerMatrixAndNM) {
  for (int64_t in : {64, 50, 37}) {
    const Tensor w = randn(23, in, 10 + uint64_t(in));
    const std::vector<double> one(static_cast<size_t>(in), 1.0);
    for (double s : {0.0, 0.1, 0.25, 0.3, 0.5, 0.7, 0.9}) {
      for (bool per_row : {true, false}) {
        const PruneResult r = prune_magnitude(w, ratio(s, per_row));
        const std::string what = "magnitude s=" + std::to_string(s) + (per_row ? " per row" : " per matrix") +
                                 " in=" + std::to_string(in);
        expect_exact_groups(w, r.w_hat, ratio(s, per_row), one, what);
        const int64_t k = per_row ? 23 * int64_t(std::floor(s * double(in) + 1e-6))
                                  : int64_t(std::floor(s * 23.0 * double(in) + 1e-6));
        EXPECT_EQ(r.pruned, k) << what;
        EXPECT_EQ(r.total, 23 * in);
      }
    }
  }
  const Tensor w = randn(19, 64, 5);
  const std::vector<double> one(64, 1.0);
  for (auto [n, m] : {std::pair{2, 4}, std::pair{4, 8}, std::pair{1, 4}, std::pair{3, 4}}) {
    const PruneResult r = prune_magnitude(w, nm(n, m));
    expect_exact_groups(w, r.w_hat, nm(n, m), one, "magnitude " + nm(n, m).str());
    EXPECT_EQ(r.pruned, 19 * (64 / m) * n);
  }
}

TEST(PruneMagnitude, TiesAreBrokenByIndexDeterministically) {
  Tensor w({2, 8});
  for (auto& v : w.data) v = 0.5f;
  w.row(1)[3] = -0.5f;  // same magnitude
  const PruneResult r = prune_magnitude(w, ratio(0.5));
  for (int64_t row = 0; row < 2; ++row)
    for (int64_t j = 0; j < 8; ++j) EXPECT_EQ(r.w_hat.row(row)[j] == 0.f, j < 4) << row << "," << j;
  const PruneResult g = prune_magnitude(w, ratio(0.25, false));  // 4 of 16: the first four
  for (int64_t e = 0; e < 16; ++e) EXPECT_EQ(g.w_hat.data[size_t(e)] == 0.f, e < 4) << e;
  // All-zero rows: exactly k "pruned" (already zero) — the count is of the mask, not of zeros.
  Tensor z({3, 10});
  EXPECT_EQ(prune_magnitude(z, ratio(0.5)).pruned, 15);
}

// ---------------------------------------------------------------- Wanda

TEST(PruneWanda, ScoresAreMagnitudeTimesInputNorm) {
  // One row, W = [1, 2, 3, 4], ‖X_j‖ = [10, 1, 1, 0.1] → scores [10, 2, 3, 0.4]: 50% prunes inputs
  // 3 and 1 (magnitude alone would prune 0 and 1).
  Tensor w({1, 4});
  w.data = {1.f, 2.f, 3.f, 4.f};
  Tensor x({1, 4});
  x.data = {10.f, 1.f, 1.f, 0.1f};
  LinearStats st;
  st.init(4, true);
  st.add(x);
  const PruneResult r = prune_wanda(w, st, ratio(0.5));
  EXPECT_EQ(r.w_hat.data, (std::vector<float>{1.f, 0.f, 3.f, 0.f}));
  EXPECT_EQ(prune_magnitude(w, ratio(0.5)).w_hat.data, (std::vector<float>{0.f, 0.f, 3.f, 4.f}));
  const PruneResult r24 = prune_wanda(w, st, nm(2, 4));
  EXPECT_EQ(r24.w_hat.data, (std::vector<float>{1.f, 0.f, 3.f, 0.f}));
  const PruneResult r14 = prune_wanda(w, st, nm(1, 4));
  EXPECT_EQ(r14.w_hat.data, (std::vector<float>{1.f, 2.f, 3.f, 0.f}));
  // Norms from several tokens: ‖X_j‖² = Σ x_j² (rows (3, 0), (4, 1) → ‖X_0‖ = 5, ‖X_1‖ = 1).
  Tensor w2({1, 2});
  w2.data = {1.f, 4.f};  // scores 5 vs 4: input 1 goes
  Tensor x2({2, 2});
  x2.data = {3.f, 0.f, 4.f, 1.f};
  LinearStats st2;
  st2.init(2, true);
  st2.add(x2);
  EXPECT_EQ(prune_wanda(w2, st2, ratio(0.5)).w_hat.data, (std::vector<float>{1.f, 0.f}));
}

TEST(PruneWanda, ExactCountPerRowPerMatrixAndNM) {
  const int64_t in = 96;
  const Tensor w = randn(21, in, 31);
  const LinearStats st = correlated_stats(in, 256, 32);
  std::vector<double> norm(static_cast<size_t>(in));
  for (int64_t j = 0; j < in; ++j) norm[size_t(j)] = std::sqrt(st.col_sq_norm(j));
  for (double s : {0.2, 0.5, 0.6}) {
    for (bool per_row : {true, false}) {
      const PruneResult r = prune_wanda(w, st, ratio(s, per_row));
      expect_exact_groups(w, r.w_hat, ratio(s, per_row), norm,
                          "wanda s=" + std::to_string(s) + (per_row ? " per row" : " per matrix"));
    }
  }
  for (auto [n, m] : {std::pair{2, 4}, std::pair{4, 8}}) {
    const PruneResult r = prune_wanda(w, st, nm(n, m));
    expect_exact_groups(w, r.w_hat, nm(n, m), norm, "wanda " + nm(n, m).str());
    EXPECT_EQ(r.pruned, 21 * (in / m) * n);
  }
  LinearStats no_h;
  no_h.init(in, false);
  EXPECT_NE(input_error_of([&] { prune_wanda(w, no_h, ratio(0.5)); }).find("Σxᵀx"), std::string::npos);
}

// ---------------------------------------------------------------- SparseGPT

TEST(PruneSparseGpt, ExactCountPerRowPerMatrixAndNM) {
  for (int64_t in : {256, 200}) {  // 200: the last block is partial
    const Tensor w = randn(24, in, 41, 0.05f);
    const LinearStats st = correlated_stats(in, 1024, 42);
    for (double s : {0.3, 0.5}) {
      const PruneResult r = prune_sparsegpt(w, st.xtx, ratio(s));
      const int64_t k = int64_t(std::floor(s * double(in) + 1e-6));
      for (int64_t row = 0; row < 24; ++row) ASSERT_EQ(zeros_in(r.w_hat.row(row), in), k) << "row " << row;
      EXPECT_EQ(r.pruned, 24 * k);
      const PruneResult g = prune_sparsegpt(w, st.xtx, ratio(s, false));
      EXPECT_EQ(zeros_in(g.w_hat.ptr(), 24 * in), int64_t(std::floor(s * 24.0 * double(in) + 1e-6)));
      EXPECT_EQ(g.pruned, int64_t(std::floor(s * 24.0 * double(in) + 1e-6)));
    }
    for (auto [n, m] : {std::pair{2, 4}, std::pair{4, 8}}) {
      SparseGptOptions o;
      o.blocksize = 30;  // not a multiple of M: rounded down to one
      for (const SparseGptOptions& opt : {SparseGptOptions{}, o}) {
        const PruneResult r = prune_sparsegpt(w, st.xtx, nm(n, m), opt);
        for (int64_t row = 0; row < 24; ++row)
          for (int64_t g = 0; g < in / m; ++g)
            ASSERT_EQ(zeros_in(r.w_hat.row(row) + g * m, m), n) << nm(n, m).str() << " row " << row << " block " << g;
        EXPECT_EQ(r.pruned, 24 * (in / m) * n);
      }
    }
  }
}

TEST(PruneSparseGpt, OutputErrorBelowMagnitudeAndWanda) {
  const int64_t out = 64, in = 256;
  const Tensor w = randn(out, in, 51, 0.05f);
  const LinearStats st = correlated_stats(in, 2048, 52);
  for (const PruneSpec& s : {ratio(0.5), nm(2, 4)}) {
    const double e_sgpt = output_error(w, prune_sparsegpt(w, st.xtx, s).w_hat, st.xtx);
    const double e_mag = output_error(w, prune_magnitude(w, s).w_hat, st.xtx);
    const double e_wanda = output_error(w, prune_wanda(w, st, s).w_hat, st.xtx);
    EXPECT_TRUE(std::isfinite(e_sgpt));
    EXPECT_LE(e_sgpt, e_mag) << s.str();
    EXPECT_LE(e_sgpt, e_wanda) << s.str();
    EXPECT_LE(e_wanda, e_mag) << s.str();  // inputs of uneven size: the norm matters
    RecordProperty("err_" + s.str(), std::to_string(e_sgpt / e_mag) + " (sparsegpt/magnitude), " +
                                         std::to_string(e_wanda / e_mag) + " (wanda/magnitude)");
  }
}

TEST(PruneSparseGpt, DeadColumnsStayFiniteAndZero) {
  const int64_t out = 16, in = 64;
  const Tensor w = randn(out, in, 61, 0.05f);
  LinearStats st = correlated_stats(in, 512, 62);
  for (int64_t d : {0, 5, 6, 7, 40}) {  // inputs that never fire
    for (int64_t j = 0; j < in; ++j) st.xtx[size_t(d * in + j)] = st.xtx[size_t(j * in + d)] = 0.0;
  }
  for (const PruneSpec& s : {ratio(0.5), nm(2, 4), ratio(0.5, false)}) {
    const PruneResult r = prune_sparsegpt(w, st.xtx, s);
    for (float v : r.w_hat.data) ASSERT_TRUE(std::isfinite(v));
    for (int64_t row = 0; row < out; ++row)
      for (int64_t d : {0, 5, 6, 7, 40}) EXPECT_EQ(r.w_hat.row(row)[d], 0.f);
    EXPECT_EQ(r.pruned, out * in / 2);  // 50%, 2:4 and per-matrix 50% all mask half
    EXPECT_TRUE(std::isfinite(output_error(w, r.w_hat, st.xtx)));
  }
  // A Hessian with only zeros: every column dead, still finite.
  std::vector<double> zero(static_cast<size_t>(in * in), 0.0);
  const PruneResult r = prune_sparsegpt(w, zero, ratio(0.5));
  for (float v : r.w_hat.data) ASSERT_EQ(v, 0.f);
  EXPECT_EQ(r.pruned, out * in / 2);
}

// ---------------------------------------------------------------- the Haar transform

TEST(HaarTransform, KnownValuesAndLayout) {
  const float a = 1, b = 2, c = 3, d = 5;
  std::vector<float> w = {a, b, c, d}, C(4);
  haar_forward_2d(w.data(), C.data(), 2, 2, 1);
  EXPECT_FLOAT_EQ(C[0], (a + b + c + d) / 2);  // LL
  EXPECT_FLOAT_EQ(C[1], (a - b + c - d) / 2);  // LH: high along the row (inputs)
  EXPECT_FLOAT_EQ(C[2], (a + b - c - d) / 2);  // HL: high along the column (outputs)
  EXPECT_FLOAT_EQ(C[3], (a - b - c + d) / 2);  // HH
  // 3×3: the last column skips the horizontal step, the last row the vertical one, the corner both.
  std::vector<float> m = {1, 2, 3, 4, 5, 6, 7, 8, 9}, M(9);
  haar_forward_2d(m.data(), M.data(), 3, 3, 1);
  const float r2 = std::sqrt(2.f);
  EXPECT_FLOAT_EQ(M[0], (1 + 2 + 4 + 5) / 2.f);
  EXPECT_FLOAT_EQ(M[2], (3 + 6) / r2);   // PC, low (rows 0, 1 of column 2)
  EXPECT_FLOAT_EQ(M[5], (3 - 6) / r2);   // PC, high
  EXPECT_FLOAT_EQ(M[6], (7 + 8) / r2);   // PR, low (row 2, columns 0, 1)
  EXPECT_FLOAT_EQ(M[7], (7 - 8) / r2);   // PR, high
  EXPECT_FLOAT_EQ(M[8], 9.f);            // the corner passes through
  // 1-D with an odd length and two levels.
  std::vector<float> x = {1, 3, 5, 7, 9}, y(5);
  haar_forward_1d(x.data(), y.data(), 5, 2);
  EXPECT_FLOAT_EQ(y[0], ((1 + 3) / r2 + (5 + 7) / r2) / r2);
  EXPECT_FLOAT_EQ(y[1], ((1 + 3) / r2 - (5 + 7) / r2) / r2);
  EXPECT_FLOAT_EQ(y[2], (1 - 3) / r2);
  EXPECT_FLOAT_EQ(y[3], (5 - 7) / r2);
  EXPECT_FLOAT_EQ(y[4], 9.f);
  std::vector<float> back(5);
  haar_inverse_1d(y.data(), back.data(), 5, 2);
  for (int i = 0; i < 5; ++i) EXPECT_NEAR(back[size_t(i)], x[size_t(i)], kHaarReconstruction);
}

TEST(HaarTransform, BandsTileTheMatrixAndMultiLevelRecursesOnLL) {
  for (auto [rows, cols] : {std::pair<int64_t, int64_t>{8, 8}, {7, 9}, {45, 77}, {64, 33}, {2, 3}}) {
    for (int L = 1; L <= haar_max_levels(rows, cols); ++L) {
      std::vector<int> cover(static_cast<size_t>(rows * cols), 0);
      for (const HaarBand& b : haar_bands(rows, cols, L))
        for (int64_t i = 0; i < b.rows; ++i)
          for (int64_t j = 0; j < b.cols; ++j) ++cover[size_t((b.r0 + i) * cols + b.c0 + j)];
      for (int c : cover) ASSERT_EQ(c, 1) << rows << "x" << cols << " L" << L;
    }
  }
  // Two levels = one level, then one level of the LL block, in place.
  const int64_t R = 13, Cc = 22;
  const Tensor w = randn(R, Cc, 71);
  Tensor two({R, Cc}), one({R, Cc});
  haar_forward_2d(w.ptr(), two.ptr(), R, Cc, 2);
  haar_forward_2d(w.ptr(), one.ptr(), R, Cc, 1);
  const int64_t h = R / 2, wd = Cc / 2;
  Tensor ll({h, wd}), ll2({h, wd});
  for (int64_t i = 0; i < h; ++i)
    for (int64_t j = 0; j < wd; ++j) ll.row(i)[j] = one.row(i)[j];
  haar_forward_2d(ll.ptr(), ll2.ptr(), h, wd, 1);
  for (int64_t i = 0; i < R; ++i)
    for (int64_t j = 0; j < Cc; ++j)
      ASSERT_EQ(two.row(i)[j], (i < h && j < wd) ? ll2.row(i)[j] : one.row(i)[j]) << i << "," << j;
  EXPECT_EQ(haar_max_levels(64, 33), 5);
  EXPECT_EQ(haar_max_levels(1, 100), 0);
}

TEST(HaarTransform, PerfectReconstructionOddAndEven) {
  for (auto [rows, cols] : {std::pair<int64_t, int64_t>{64, 64}, {63, 65}, {7, 9}, {128, 96}, {33, 17}, {2, 2}, {3, 2}}) {
    const Tensor w = randn(rows, cols, 80 + uint64_t(rows * cols));
    for (int L = 1; L <= std::min(4, haar_max_levels(rows, cols)); ++L) {
      Tensor c({rows, cols}), back({rows, cols});
      haar_forward_2d(w.ptr(), c.ptr(), rows, cols, L);
      haar_inverse_2d(c.ptr(), back.ptr(), rows, cols, L);
      double err = 0;
      for (int64_t e = 0; e < rows * cols; ++e)
        err = std::max(err, std::fabs(double(back.data[size_t(e)]) - double(w.data[size_t(e)])));
      EXPECT_LT(err, kHaarReconstruction) << rows << "x" << cols << " L" << L;
      // In place gives the same.
      Tensor ip = w;
      haar_forward_2d(ip.ptr(), ip.ptr(), rows, cols, L);
      EXPECT_EQ(ip.data, c.data);
      // prune_haar at 0%: nothing pruned, ŵ = W to the same bound.
      PruneSpec s = ratio(0.0);
      s.haar_levels = L;
      const PruneResult r = prune_haar(w, s);
      EXPECT_EQ(r.pruned, 0);
      double err2 = 0;
      for (int64_t e = 0; e < rows * cols; ++e)
        err2 = std::max(err2, std::fabs(double(r.w_hat.data[size_t(e)]) - double(w.data[size_t(e)])));
      EXPECT_LT(err2, kHaarReconstruction) << rows << "x" << cols << " L" << L;
    }
  }
}

TEST(HaarTransform, ParsevalEnergyPreserved) {
  for (auto [rows, cols] : {std::pair<int64_t, int64_t>{64, 64}, {63, 65}, {31, 40}}) {
    const Tensor w = randn(rows, cols, 90 + uint64_t(rows));
    for (int L : {1, 2, 3}) {
      Tensor c({rows, cols});
      haar_forward_2d(w.ptr(), c.ptr(), rows, cols, L);
      double ew = 0, ec = 0;
      for (int64_t e = 0; e < rows * cols; ++e) {
        ew += double(w.data[size_t(e)]) * w.data[size_t(e)];
        ec += double(c.data[size_t(e)]) * c.data[size_t(e)];
      }
      EXPECT_NEAR(ec / ew, 1.0, kParsevalRel) << rows << "x" << cols << " L" << L;
      // After pruning: the subbands' energies add up to ‖W‖², the kept energies to ‖Ŵ‖².
      PruneSpec s = ratio(0.5);
      s.haar_levels = L;
      const PruneResult r = prune_haar(w, s);
      double sb = 0, kept = 0, ew_hat = 0;
      for (const SubbandStat& b : r.subbands) {
        sb += b.energy;
        kept += b.energy_kept;
        EXPECT_LE(b.energy_kept, b.energy);
      }
      for (float v : r.w_hat.data) ew_hat += double(v) * v;
      EXPECT_NEAR(sb / ew, 1.0, kParsevalRel);
      EXPECT_NEAR(kept / ew_hat, 1.0, kParsevalRel);
      // Orthonormal: ‖W − Ŵ‖² = the pruned energy.
      double diff = 0;
      for (int64_t e = 0; e < rows * cols; ++e) {
        const double dd = double(w.data[size_t(e)]) - r.w_hat.data[size_t(e)];
        diff += dd * dd;
      }
      EXPECT_NEAR(diff / (sb - kept), 1.0, kPrunedEnergyRel);
    }
  }
}

// ---------------------------------------------------------------- Haar subband pruning

TEST(HaarPrune, EverySubbandKeepsExactlyItsShare) {
  for (auto [rows, cols] : {std::pair<int64_t, int64_t>{64, 64}, {45, 77}, {63, 65}, {128, 96}}) {
    const Tensor w = randn(rows, cols, 100 + uint64_t(cols));
    for (int L : {1, 2, 3}) {
      for (double sp : {0.1, 0.3, 0.5, 0.75}) {
        PruneSpec s = ratio(sp);
        s.haar_levels = L;
        const PruneResult r = prune_haar(w, s);
        const std::string what = std::to_string(rows) + "x" + std::to_string(cols) + " L" + std::to_string(L) +
                                 " s" + std::to_string(sp);
        Tensor c0({rows, cols});
        haar_forward_2d(w.ptr(), c0.ptr(), rows, cols, L);
        const auto bands = haar_bands(rows, cols, L);
        ASSERT_EQ(r.subbands.size(), bands.size()) << what;
        int64_t sum = 0;
        for (size_t bi = 0; bi < bands.size(); ++bi) {
          const HaarBand& b = bands[bi];
          const SubbandStat& st = r.subbands[bi];
          EXPECT_EQ(st.name, b.name);
          EXPECT_EQ(st.total, b.size());
          const int64_t k = int64_t(std::floor(sp * double(b.size()) + 1e-6));
          EXPECT_EQ(st.pruned, k) << what << " " << b.name;
          // The zeros of C inside the band are exactly the pruned ones, and the smallest |c|.
          std::vector<double> sc;
          std::vector<bool> pr;
          int64_t z = 0;
          for (int64_t i = 0; i < b.rows; ++i)
            for (int64_t j = 0; j < b.cols; ++j) {
              const float cv = r.coeffs.row(b.r0 + i)[b.c0 + j], orig = c0.row(b.r0 + i)[b.c0 + j];
              z += cv == 0.f;
              if (cv != 0.f) ASSERT_EQ(cv, orig);
              sc.push_back(std::fabs(double(orig)));
              pr.push_back(cv == 0.f);
            }
          EXPECT_EQ(z, k) << what << " " << b.name;
          EXPECT_TRUE(smallest_pruned(sc, pr)) << what << " " << b.name;
          sum += st.pruned;
        }
        EXPECT_EQ(r.pruned, sum);
        EXPECT_EQ(r.total, rows * cols);
        EXPECT_EQ(r.haar_levels, L);
        // ŵ is the inverse transform of the sparse C.
        Tensor back({rows, cols});
        haar_inverse_2d(r.coeffs.ptr(), back.ptr(), rows, cols, L);
        EXPECT_EQ(back.data, r.w_hat.data);
      }
    }
  }
}

TEST(HaarPrune, GlobalVariantKeepsTheGlobalCountAndDiffers) {
  // Smooth rows plus noise: most energy sits in LL, so one global threshold prunes the detail
  // subbands far more than their share, unlike the subband-wise rule.
  const int64_t rows = 64, cols = 96;
  Tensor w = randn(rows, cols, 111, 0.05f);
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < cols; ++j) w.row(i)[j] += std::sin(0.05f * float(i + 2 * j));
  for (int L : {1, 2}) {
    PruneSpec s = ratio(0.5);
    s.haar_levels = L;
    PruneSpec g = s;
    g.haar_global = true;
    const PruneResult rs = prune_haar(w, s), rg = prune_haar(w, g);
    EXPECT_EQ(rg.pruned, rows * cols / 2);
    EXPECT_EQ(zeros_in(rg.coeffs.ptr(), rows * cols), rows * cols / 2);
    EXPECT_NE(rg.w_hat.data, rs.w_hat.data);
    int64_t differ = 0, sum = 0;
    for (size_t b = 0; b < rg.subbands.size(); ++b) {
      differ += rg.subbands[b].pruned != rs.subbands[b].pruned;
      sum += rg.subbands[b].pruned;
    }
    EXPECT_EQ(sum, rg.pruned);
    EXPECT_GT(differ, 0);
    EXPECT_EQ(rg.subbands[0].name, "LL" + std::to_string(L));
    EXPECT_LT(rg.subbands[0].pruned, rs.subbands[0].pruned);  // LL keeps more under a global threshold
    // One threshold: every pruned |c| ≤ every kept |c| over the whole matrix.
    Tensor c0({rows, cols});
    haar_forward_2d(w.ptr(), c0.ptr(), rows, cols, L);
    std::vector<double> sc;
    std::vector<bool> pr;
    for (int64_t e = 0; e < rows * cols; ++e) {
      sc.push_back(std::fabs(double(c0.data[size_t(e)])));
      pr.push_back(rg.coeffs.data[size_t(e)] == 0.f);
    }
    EXPECT_TRUE(smallest_pruned(sc, pr));
    // Both rules keep the same number of coefficients; the global one keeps more energy (it is the
    // best L2 approximation with that many coefficients).
    double ks = 0, kg = 0;
    for (auto& b : rs.subbands) ks += b.energy_kept;
    for (auto& b : rg.subbands) kg += b.energy_kept;
    EXPECT_GE(kg, ks);
  }
}

TEST(HaarPrune, FusedSingleLevelPathEqualsThePlainOneBitForBit) {
  // Shapes with at least 2^14 LL coefficients take the fused path (two passes over W, sampled
  // brackets); it must give exactly the plain path's coefficients, weights and counts.
  for (auto [rows, cols] : {std::pair<int64_t, int64_t>{256, 260}, {301, 300}, {300, 301}, {257, 515}}) {
    Tensor w = randn(rows, cols, 130 + uint64_t(rows * cols), 0.05f);
    for (int variant = 0; variant < 2; ++variant) {
      if (variant == 1)  // many exact ties: a coarse grid of values (and zeros)
        for (auto& v : w.data) v = std::round(v * 40.f) / 40.f;
      for (bool global : {false, true}) {
        for (double sp : {0.0, 0.3, 0.5, 0.9}) {
          PruneSpec s = ratio(sp);
          s.haar_global = global;
          const PruneResult a = prune_haar(w, s), b = prune_haar_unfused(w, s);
          const std::string what = std::to_string(rows) + "x" + std::to_string(cols) + (global ? " global" : "") +
                                   " s" + std::to_string(sp) + (variant ? " ties" : "");
          ASSERT_EQ(a.coeffs.data, b.coeffs.data) << what;
          ASSERT_EQ(a.w_hat.data, b.w_hat.data) << what;
          EXPECT_EQ(a.pruned, b.pruned) << what;
          ASSERT_EQ(a.subbands.size(), b.subbands.size());
          for (size_t i = 0; i < a.subbands.size(); ++i) {
            EXPECT_EQ(a.subbands[i].name, b.subbands[i].name);
            EXPECT_EQ(a.subbands[i].pruned, b.subbands[i].pruned) << what << " " << a.subbands[i].name;
            EXPECT_NEAR(a.subbands[i].energy, b.subbands[i].energy, tol::kEnergyAbsFloor + kEnergyOrderRel * b.subbands[i].energy);
            EXPECT_NEAR(a.subbands[i].energy_kept, b.subbands[i].energy_kept,
                        tol::kEnergyAbsFloor + kEnergyOrderRel * b.subbands[i].energy);
          }
          if (!global)
            for (const SubbandStat& st : a.subbands)
              EXPECT_EQ(st.pruned, int64_t(std::floor(sp * double(st.total) + 1e-6))) << what << " " << st.name;
        }
      }
    }
  }
  Tensor bad = randn(256, 256, 1);
  bad.row(100)[7] = NAN;
  EXPECT_NE(input_error_of([&] { prune_haar(bad, ratio(0.5)); }).find("non-finite"), std::string::npos);
  bad.row(100)[7] = 0.f;
  bad.row(255)[255] = INFINITY;
  EXPECT_NE(input_error_of([&] { prune_haar(bad, ratio(0.5)); }).find("non-finite"), std::string::npos);
}

TEST(HaarPrune, IntoReusesTheResultAndEqualsAFreshOne) {
  PruneResult r;
  const Tensor a = randn(300, 260, 160), b = randn(64, 48, 161);
  for (int round = 0; round < 2; ++round) {
    for (const Tensor* w : {&a, &b, &a}) {
      for (int L : {1, 2}) {
        for (bool global : {false, true}) {
          PruneSpec s = ratio(0.4);
          s.haar_levels = L;
          s.haar_global = global;
          prune_haar_into(*w, s, r);
          const PruneResult f = prune_haar(*w, s);
          ASSERT_EQ(r.w_hat.shape, f.w_hat.shape);
          ASSERT_EQ(r.w_hat.data, f.w_hat.data);
          ASSERT_EQ(r.coeffs.data, f.coeffs.data);
          ASSERT_EQ(r.pruned, f.pruned);
          ASSERT_EQ(r.total, f.total);
          ASSERT_EQ(r.haar_levels, L);
          ASSERT_EQ(r.subbands.size(), f.subbands.size());
        }
      }
    }
  }
}

TEST(PruneSelect, SampledBracketSelectionIsExact) {
  using namespace prune_detail;
  // Groups larger than the small-group cutoff go through the sampled bracket (and, for a
  // degenerate distribution, the histogram fallback): the cut must prune exactly k, the smallest.
  for (int dist = 0; dist < 3; ++dist) {
    Tensor a = randn(300, 700, 140 + uint64_t(dist));
    if (dist == 1)
      for (auto& v : a.data) v = std::round(v * 4.f);  // few distinct values: ties everywhere
    if (dist == 2)
      for (size_t i = 0; i < a.data.size(); ++i) a.data[i] = (i % 97 == 0) ? 1e30f : 1e-30f;  // two far modes
    for (double q : {0.001, 0.25, 0.5, 0.99}) {
      const std::vector<Rect> rects = {Rect{10, 20, 250, 600}, Rect{0, 0, 5, 700}};
      int64_t n = 0;
      for (auto& r : rects) n += r.size();
      const int64_t k = prune_count(q, n);
      const Cut c = select_cut(a.ptr(), 700, rects, k);
      int64_t cnt = 0, idx = 0;
      std::vector<double> sc;
      std::vector<bool> pr;
      for (auto& r : rects)
        for (int64_t i = 0; i < r.rows; ++i)
          for (int64_t j = 0; j < r.cols; ++j, ++idx) {
            const float v = a.row(r.r0 + i)[r.c0 + j];
            const bool p = c.prunes(mag_key(v), idx);
            cnt += p;
            sc.push_back(std::fabs(double(v)));
            pr.push_back(p);
          }
      EXPECT_EQ(cnt, k) << "dist " << dist << " q " << q;
      EXPECT_TRUE(smallest_pruned(sc, pr)) << "dist " << dist << " q " << q;
      // The histogram fallback and the small-group path find the same cut.
      const Cut h = select_cut_histogram(a.ptr(), 700, rects, k);
      EXPECT_EQ(h.key, c.key);
      EXPECT_EQ(h.idx, c.idx);
    }
  }
}

TEST(PruneSelect, Avx2AndSse2KernelsAgreeBitForBit) {
  if (!prune_detail::cpu_has_avx2()) GTEST_SKIP() << "no AVX2 on this CPU";
  const Tensor w = randn(301, 517, 150, 0.05f);
  for (int L : {1, 2}) {
    for (bool global : {false, true}) {
      PruneSpec s = ratio(0.5);
      s.haar_levels = L;
      s.haar_global = global;
      const PruneResult a = prune_haar(w, s);
      prune_detail::disable_avx2(true);
      const PruneResult b = prune_haar(w, s);
      const PruneResult m = prune_magnitude(w, ratio(0.4, false));
      prune_detail::disable_avx2(false);
      EXPECT_EQ(a.coeffs.data, b.coeffs.data);
      EXPECT_EQ(a.w_hat.data, b.w_hat.data);
      EXPECT_EQ(m.w_hat.data, prune_magnitude(w, ratio(0.4, false)).w_hat.data);
    }
  }
}

TEST(HaarSparse, InferencePathEqualsDenseReconstruction) {
  for (auto [rows, cols] : {std::pair<int64_t, int64_t>{64, 64}, {63, 65}, {45, 77}, {128, 96}, {3, 2}}) {
    const Tensor w = randn(rows, cols, 120 + uint64_t(rows + cols));
    for (int L = 1; L <= std::min(3, haar_max_levels(rows, cols)); ++L) {
      for (bool global : {false, true}) {
        PruneSpec s = ratio(0.5);
        s.haar_levels = L;
        s.haar_global = global;
        const PruneResult r = prune_haar(w, s);
        const HaarSparseLinear a = make_haar_sparse(r);
        EXPECT_EQ(a.out, rows);
        EXPECT_EQ(a.in, cols);
        EXPECT_EQ(a.nnz(), rows * cols - r.pruned);  // random data: no coefficient is zero by chance
        EXPECT_EQ(a.coo_bytes(4, 4), 24 + 8 * a.nnz());
        std::mt19937_64 rng(7);
        std::normal_distribution<float> n(0.f, 1.f);
        for (int t = 0; t < 3; ++t) {
          std::vector<float> x(static_cast<size_t>(cols)), y(static_cast<size_t>(rows));
          for (auto& v : x) v = n(rng);
          haar_sparse_matvec(a, x.data(), y.data());
          double num = 0, den = 0;
          for (int64_t i = 0; i < rows; ++i) {
            double ref = 0;
            for (int64_t j = 0; j < cols; ++j) ref += double(r.w_hat.row(i)[j]) * x[size_t(j)];
            num += (y[size_t(i)] - ref) * (y[size_t(i)] - ref);
            den += ref * ref;
          }
          EXPECT_LT(std::sqrt(num / den), kSparsePathRel) << rows << "x" << cols << " L" << L << " global " << global;
        }
      }
    }
  }
  PruneResult not_haar = prune_magnitude(randn(4, 4, 1), ratio(0.5));
  EXPECT_NE(input_error_of([&] { make_haar_sparse(not_haar); }).find("prune_haar"), std::string::npos);
}

}  // namespace

// The on-disk form: sparse coefficients + shape; reading it back and inverting the transform gives
// the pruned weights exactly, and the file holds ⌈N/8⌉ + 4·nnz bytes of payload per layer.
#include "lowbit/compress/haar.hpp"
#include "lowbit/core/mapped_file.hpp"
#include "lowbit/io/haar_store.hpp"
#include "paths.hpp"

namespace {
TEST(HaarStore, RoundTripReconstructsThePrunedWeights) {
  std::mt19937_64 rng(77);
  std::normal_distribution<float> nd;
  std::map<std::string, lowbit::HaarLayer> layers;
  std::map<std::string, lowbit::Tensor> w_hat;
  for (auto [name, rows, cols, levels] : {std::tuple<const char*, int64_t, int64_t, int>{"a", 33, 64, 1}, {"b", 40, 27, 2}}) {
    lowbit::Tensor w({rows, cols});
    for (auto& v : w.data) v = nd(rng);
    lowbit::PruneSpec s;
    s.sparsity = 0.6;
    s.haar_levels = levels;
    lowbit::PruneResult r = lowbit::prune_haar(w, s);
    layers[name] = lowbit::HaarLayer{r.coeffs, levels};
    w_hat[name] = r.w_hat;
  }
  const std::string path = lowbit::test::tmpdir("haar_store") + "/c.safetensors";
  lowbit::write_haar_coeffs(layers, path);
  auto back = lowbit::read_haar_coeffs(path);
  ASSERT_EQ(back.size(), 2u);
  size_t payload = 0;
  for (const auto& [name, l] : back) {
    EXPECT_EQ(l.coeffs.data, layers[name].coeffs.data);
    lowbit::Tensor w(l.coeffs.shape);
    lowbit::haar_inverse_2d(l.coeffs.ptr(), w.ptr(), l.coeffs.dim(0), l.coeffs.dim(1), l.levels);
    float md = 0;
    for (size_t i = 0; i < w.data.size(); ++i) md = std::max(md, std::fabs(w.data[i] - w_hat[name].data[i]));
    EXPECT_LT(md, 1e-6f) << name;
    int64_t nnz = 0;
    for (float v : l.coeffs.data) nnz += v != 0.f;
    EXPECT_GT(nnz, 0);
    payload += size_t((l.coeffs.numel() + 7) / 8 + 4 * nnz + 24);
  }
  const size_t file = lowbit::read_file(path).size();
  EXPECT_GE(file, payload);
  EXPECT_LT(file, payload + 1024);  // + the JSON header
}
}  // namespace
