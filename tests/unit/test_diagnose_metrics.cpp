// tests/unit/test_diagnose_metrics.cpp — the diagnostics' metric functions against closed forms
// and against an independent numpy float64 reference (JS divergence, KL, SNR, cosine, kurtosis,
// top-k overlap).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <random>

#include "lowbit/diagnose/metrics.hpp"
#include "paths.hpp"
#include "tolerances.hpp"

using namespace lowbit;
using namespace lowbit::diag;

TEST(DiagMetrics, JsDivergenceClosedForms) {
  const float a[2] = {1, 0}, b[2] = {0, 1}, u[2] = {0.5f, 0.5f};
  EXPECT_NEAR(js_divergence_bits(a, b, 2), 1.0, tol::kF64ClosedForm);  // disjoint supports: exactly 1 bit
  EXPECT_NEAR(js_divergence_bits(a, a, 2), 0.0, tol::kF64ClosedForm);
  // p = (1/2, 1/2), q = (1, 0), m = (3/4, 1/4).
  const double want = 0.5 * (0.5 * std::log2(0.5 / 0.75) + 0.5 * std::log2(0.5 / 0.25)) + 0.5 * std::log2(1 / 0.75);
  EXPECT_NEAR(js_divergence_bits(u, a, 2), want, tol::kClosedFormF32Inputs);
  EXPECT_NEAR(js_divergence_bits(a, u, 2), want, tol::kClosedFormF32Inputs);  // symmetric
}

TEST(DiagMetrics, KlFromLogitsClosedForm) {
  const float uni[2] = {0, 0};
  const float b[2] = {float(std::log(3.0)), 0};  // softmax = (3/4, 1/4)
  const double want = 0.5 * std::log(0.5 / 0.75) + 0.5 * std::log(0.5 / 0.25);
  EXPECT_NEAR(kl_from_logits(uni, b, 2), want, tol::kClosedFormF32Inputs);
  EXPECT_NEAR(kl_from_logits(b, b, 2), 0.0, tol::kF64ClosedForm);
  const float shifted[2] = {b[0] + 100.f, b[1] + 100.f};  // shift invariance
  EXPECT_NEAR(kl_from_logits(uni, shifted, 2), want, tol::kKlShiftedF32);
}

TEST(DiagMetrics, FidelityClosedForms) {
  // b = 1.1·a: rel L2 = 0.1 exactly, SNR = 20 dB, cosine 1.
  std::vector<float> a = {1, 2, 3, -4, 0.5f, 6}, b(a.size()), o = {1, 0, 0, 1};
  for (size_t i = 0; i < a.size(); ++i) b[i] = 1.1f * a[i];
  Fidelity f = fidelity(a.data(), b.data(), 2, 3);
  EXPECT_NEAR(f.rel_l2, 0.1, tol::kFidelityOfRoundedScale);
  EXPECT_NEAR(f.snr_db, 20.0, tol::kSnrDbFromRel);
  EXPECT_NEAR(f.cos, 1.0, tol::kMetricClosedForm);
  // Orthogonal rows: cosine 0; rel L2 = sqrt(2).
  std::vector<float> p = {0, 1, 1, 0};
  f = fidelity(o.data(), p.data(), 2, 2);
  EXPECT_NEAR(f.cos, 0.0, tol::kF64ClosedForm);
  EXPECT_NEAR(f.rel_l2, std::sqrt(2.0), tol::kMetricClosedForm);
  EXPECT_TRUE(std::isinf(fidelity(a.data(), a.data(), 2, 3).snr_db));
}

TEST(DiagMetrics, KurtosisClosedForms) {
  const float pm[4] = {-1, 1, -1, 1};  // two-point symmetric: m4/m2² = 1
  EXPECT_NEAR(kurtosis(pm, 4), 1.0, tol::kF64ClosedForm);
  // Uniform on n equally spaced points tends to 9/5; Gaussian to 3; Laplace to 6.
  std::mt19937_64 g(7);
  std::normal_distribution<float> nd;
  std::exponential_distribution<float> ed(1.f);
  std::vector<float> gauss(400000), lap(400000), uni(100001);
  for (auto& v : gauss) v = nd(g);
  for (auto& v : lap) v = (g() & 1 ? 1.f : -1.f) * ed(g);
  for (size_t i = 0; i < uni.size(); ++i) uni[i] = float(i);
  EXPECT_NEAR(kurtosis(uni.data(), int64_t(uni.size())), 1.8, tol::kKurtosisUniformGrid);
  EXPECT_NEAR(kurtosis(gauss.data(), int64_t(gauss.size())), 3.0, tol::kKurtosisGaussMc);
  EXPECT_NEAR(kurtosis(lap.data(), int64_t(lap.size())), 6.0, tol::kKurtosisLaplaceMc);
}

TEST(DiagMetrics, TopkOverlapAndChannelStats) {
  const float p[5] = {0.4f, 0.3f, 0.2f, 0.1f, 0.0f}, q[5] = {0.1f, 0.3f, 0.2f, 0.4f, 0.0f};
  EXPECT_DOUBLE_EQ(topk_overlap(p, q, 5, 1), 0.0);         // 0 vs 3
  EXPECT_DOUBLE_EQ(topk_overlap(p, q, 5, 3), 2.0 / 3.0);   // {0,1,2} vs {3,1,2}
  EXPECT_DOUBLE_EQ(topk_overlap(p, q, 2, 5), 1.0);         // k clipped to n = 2: both sets are {0, 1}
  Tensor x({3, 2});
  x.data = {1, -5, 2, 0.5f, -3, 1};
  ChannelStats s = channel_stats(x);
  EXPECT_EQ(s.max_abs, (std::vector<double>{3, 5}));
  EXPECT_EQ(s.argmax, 1);
  EXPECT_EQ(s.max, 5);
}

// The same metrics on random inputs against numpy in float64 (an independent implementation).
TEST(DiagMetrics, MatchNumpyReference) {
  const std::string dir = test::tmpdir("diag_metrics");
  std::mt19937_64 g(3);
  std::uniform_real_distribution<float> ud(0.f, 1.f);
  std::normal_distribution<float> nd;
  const int n = 37;
  std::vector<float> p(n), q(n), la(n), lb(n), xa(6 * n), xb(6 * n);
  double sp = 0, sq = 0;
  for (int i = 0; i < n; ++i) sp += (p[size_t(i)] = ud(g) * ud(g)), sq += (q[size_t(i)] = ud(g));
  for (int i = 0; i < n; ++i) p[size_t(i)] = float(p[size_t(i)] / sp), q[size_t(i)] = float(q[size_t(i)] / sq);
  for (int i = 0; i < n; ++i) la[size_t(i)] = 3 * nd(g), lb[size_t(i)] = 3 * nd(g);
  for (size_t i = 0; i < xa.size(); ++i) xa[i] = nd(g) * nd(g), xb[i] = xa[i] + 0.3f * nd(g);
  {
    std::ofstream f(dir + "/in.txt");
    f.precision(9);
    for (auto* v : {&p, &q, &la, &lb, &xa, &xb}) {
      for (float e : *v) f << e << " ";
      f << "\n";
    }
  }
  const std::string py = R"(
import numpy as np, sys
rows = [np.array(l.split(), dtype=np.float64) for l in open(sys.argv[1])]
p, q, la, lb, xa, xb = rows
m = (p + q) / 2
kl = lambda a, b: np.sum(np.where(a > 0, a * np.log(np.where(a > 0, a, 1) / b), 0))
js = 0.5 * kl(p, m) / np.log(2) + 0.5 * kl(q, m) / np.log(2)
lsm = lambda z: z - (z.max() + np.log(np.exp(z - z.max()).sum()))
P, Q = lsm(la), lsm(lb)
kll = np.sum(np.exp(P) * (P - Q))
rel = np.linalg.norm(xb - xa) / np.linalg.norm(xa)
A, B = xa.reshape(6, -1), xb.reshape(6, -1)
cos = np.mean(np.sum(A * B, 1) / np.linalg.norm(A, axis=1) / np.linalg.norm(B, axis=1))
d = xa - xa.mean(); kurt = np.mean(d**4) / np.mean(d**2)**2
print(repr(js), repr(kll), repr(rel), repr(10 * np.log10(1 / rel**2)), repr(cos), repr(kurt))
)";
  { std::ofstream(dir + "/ref.py") << py; }
  const std::string cmd = std::string(LOWBIT_TEST_PYTHON) + " " + dir + "/ref.py " + dir + "/in.txt > " + dir + "/out.txt";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  std::ifstream r(dir + "/out.txt");
  double js, kl, rel, snr, cos, kurt;
  ASSERT_TRUE(bool(r >> js >> kl >> rel >> snr >> cos >> kurt));
  ASSERT_GT(js, 0.01);  // guards against a trivially passing comparison
  EXPECT_NEAR(js_divergence_bits(p.data(), q.data(), n), js, tol::kMetricVsNumpy);
  EXPECT_NEAR(kl_from_logits(la.data(), lb.data(), n), kl, tol::scaled(tol::kKlVsNumpyRel, kl));
  Fidelity f = fidelity(xa.data(), xb.data(), 6, n);
  EXPECT_NEAR(f.rel_l2, rel, tol::kMetricVsNumpy);
  EXPECT_NEAR(f.snr_db, snr, tol::kSnrDbFromRel);
  EXPECT_NEAR(f.cos, cos, tol::kMetricVsNumpy);
  EXPECT_NEAR(kurtosis(xa.data(), int64_t(xa.size())), kurt, tol::kKurtosisVsNumpyRel * kurt);
}
