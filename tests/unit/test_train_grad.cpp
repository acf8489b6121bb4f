// tests/unit/test_train_grad.cpp — every backward operator of the trainer against central finite
// differences, and the whole decoder's gradient likewise.
//
// Each operator y = f(x) is checked through the scalar L = Σ r⊙y with a fixed random r (so
// ∂L/∂y = r), L summed in double. The forward is f32, so a central difference with step h has
// round-off ≈ ε_f32·|y|/h; h is chosen where that and the O(h²) truncation are both ~1e-4 of the
// largest gradient, and the bound kGradFd sits a factor ~10 above what passing runs show.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <random>
#include <vector>

#include "lowbit/model/forward.hpp"
#include "lowbit/train/decoder_grad.hpp"
#include "lowbit/train/ops.hpp"
#include "tolerances.hpp"

using namespace lowbit;
using namespace lowbit::train;

namespace {

// max |analytic − finite difference| / max |analytic| over the checked entries.
constexpr double kGradFd = 2e-3;
// The whole decoder chains ~20 f32 operators: round-off in L is larger, so the bound is looser.
constexpr double kGradFdModel = 1e-2;

std::vector<float> randv(size_t n, uint64_t seed, float scale = 1.f) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> nd(0.f, scale);
  std::vector<float> v(n);
  for (auto& x : v) x = nd(rng);
  return v;
}

double dot(const std::vector<float>& r, const std::vector<float>& y) {
  double s = 0;
  for (size_t i = 0; i < y.size(); ++i) s += double(r[i]) * y[i];
  return s;
}

// Compares `analytic` (∂L/∂x) with central differences of `loss` over the entries of x (all of
// them up to 96, else 96 spread evenly with a seeded offset, to keep the suite fast).
double fd_error(std::vector<float>& x, const std::vector<float>& analytic, const std::function<double()>& loss,
                float h) {
  double max_err = 0, max_g = 0;
  for (double gv : analytic) max_g = std::max(max_g, std::abs(gv));
  std::vector<size_t> idx;
  const size_t stride = std::max<size_t>(1, x.size() / 96);
  for (size_t i = (x.size() * 7919) % stride; i < x.size(); i += stride) idx.push_back(i);
  for (size_t i : idx) {
    const float keep = x[i];
    x[i] = keep + h;
    const double lp = loss();
    x[i] = keep - h;
    const double lm = loss();
    x[i] = keep;
    const double fd = (lp - lm) / (2.0 * double(h));
    max_err = std::max(max_err, std::abs(fd - analytic[i]));
  }
  EXPECT_GT(max_g, 1e-6) << "gradient is all zero: the check would pass vacuously";
  return max_err / max_g;
}

}  // namespace

TEST(TrainGrad, Embedding) {
  const int64_t V = 7, D = 5, rows = 9;
  std::vector<int> tok = {0, 3, 3, 6, 1, 3, 0, 2, 5};  // repeated ids must accumulate
  auto E = randv(size_t(V * D), 1);
  auto r = randv(size_t(rows * D), 2);
  std::vector<float> x(size_t(rows * D));
  auto loss = [&] {
    embedding_forward(E.data(), tok.data(), rows, D, x.data());
    return dot(r, x);
  };
  std::vector<float> dE(E.size(), 0.f);
  embedding_backward(tok.data(), rows, D, r.data(), dE.data());
  EXPECT_LT(fd_error(E, dE, loss, 1e-2f), kGradFd);
  // Row 3 is used three times: its gradient is the sum of three rows of r.
  for (int i = 0; i < D; ++i) EXPECT_FLOAT_EQ(dE[3 * D + i], r[1 * D + i] + r[2 * D + i] + r[5 * D + i]);
}

TEST(TrainGrad, RmsNorm) {
  const int64_t rows = 6, d = 10;
  const float eps = 1e-5f;
  auto x = randv(size_t(rows * d), 3);
  auto w = randv(size_t(d), 4, 0.5f);
  for (auto& v : w) v += 1.f;
  auto r = randv(size_t(rows * d), 5);
  std::vector<float> y(x.size());
  auto loss = [&] {
    rms_norm(x.data(), w.data(), y.data(), rows, d, eps);
    return dot(r, y);
  };
  std::vector<float> dx(x.size(), 0.f), dw(w.size(), 0.f);
  rms_norm_backward(x.data(), w.data(), r.data(), rows, d, eps, dx.data(), dw.data());
  EXPECT_LT(fd_error(x, dx, loss, 1e-2f), kGradFd);
  EXPECT_LT(fd_error(w, dw, loss, 1e-2f), kGradFd);
}

TEST(TrainGrad, Linear) {
  const int64_t rows = 5, in = 7, out = 4;
  auto x = randv(size_t(rows * in), 6);
  auto W = randv(size_t(out * in), 7);
  auto r = randv(size_t(rows * out), 8);
  std::vector<float> y(size_t(rows * out));
  auto loss = [&] {
    linear_forward_raw(x.data(), W.data(), rows, in, out, y.data());
    return dot(r, y);
  };
  std::vector<float> dx(x.size(), 123.f), dW(W.size(), 0.f);  // dx is set, not accumulated
  linear_backward(x.data(), W.data(), r.data(), rows, in, out, dx.data(), dW.data(), false);
  EXPECT_LT(fd_error(x, dx, loss, 1e-2f), kGradFd);
  EXPECT_LT(fd_error(W, dW, loss, 1e-2f), kGradFd);
}

TEST(TrainGrad, Rope) {
  const int T = 6, H = 2, hd = 8, B = 2;
  const int64_t rows = int64_t(B) * T, width = H * hd;
  auto x = randv(size_t(rows * width), 9);
  auto r = randv(x.size(), 10);
  std::vector<float> y(x.size());
  auto loss = [&] {
    y = x;
    apply_rope(y.data(), rows, T, 0, H, hd, RopeStyle::Interleaved, 10000.f);
    return dot(r, y);
  };
  std::vector<float> dx = r;
  rope_backward(dx.data(), rows, T, H, hd, 10000.f);
  EXPECT_LT(fd_error(x, dx, loss, 1e-2f), kGradFd);
}

TEST(TrainGrad, CausalAttention) {
  const int B = 2, T = 5, H = 2, hd = 4;
  const size_t n = size_t(B) * T * H * hd;
  auto q = randv(n, 11), k = randv(n, 12), v = randv(n, 13), r = randv(n, 14);
  std::vector<float> out(n), probs(size_t(B) * H * T * T);
  auto loss = [&] {
    attention_forward(q.data(), k.data(), v.data(), B, T, H, hd, out.data(), probs.data());
    return dot(r, out);
  };
  loss();
  // Causality: probabilities above the diagonal are exactly 0 and rows sum to 1.
  for (int bh = 0; bh < B * H; ++bh)
    for (int t = 0; t < T; ++t) {
      double s = 0;
      for (int j = 0; j < T; ++j) {
        const float p = probs[(size_t(bh) * T + t) * T + j];
        if (j > t) EXPECT_EQ(p, 0.f);
        s += p;
      }
      EXPECT_NEAR(s, 1.0, tol::kTrainSoftmaxRowSum);
    }
  std::vector<float> dq(n), dk(n), dv(n);
  attention_backward(q.data(), k.data(), v.data(), probs.data(), r.data(), B, T, H, hd, dq.data(), dk.data(),
                     dv.data());
  EXPECT_LT(fd_error(q, dq, loss, 1e-2f), kGradFd);
  EXPECT_LT(fd_error(k, dk, loss, 1e-2f), kGradFd);
  EXPECT_LT(fd_error(v, dv, loss, 1e-2f), kGradFd);
}

TEST(TrainGrad, SwiGLU) {
  const int64_t n = 40;
  auto g = randv(size_t(n), 15, 2.f), u = randv(size_t(n), 16), r = randv(size_t(n), 17);
  std::vector<float> h(static_cast<size_t>(n));
  auto loss = [&] {
    swiglu_forward(g.data(), u.data(), n, h.data());
    return dot(r, h);
  };
  std::vector<float> dg(static_cast<size_t>(n)), du(static_cast<size_t>(n));
  swiglu_backward(g.data(), u.data(), r.data(), n, dg.data(), du.data());
  EXPECT_LT(fd_error(g, dg, loss, 1e-2f), kGradFd);
  EXPECT_LT(fd_error(u, du, loss, 1e-2f), kGradFd);
}

TEST(TrainGrad, CrossEntropy) {
  const int64_t rows = 6, V = 9;
  auto z = randv(size_t(rows * V), 18, 2.f);
  std::vector<int> tgt = {3, -1, 0, 8, 8, 2};  // one ignored row
  auto loss = [&] {
    std::vector<float> tmp = z;
    return cross_entropy(tmp.data(), tgt.data(), rows, V, false);
  };
  // Closed form for one row: lse(z) − z_target.
  {
    double mx = z[0], s = 0;
    for (int j = 0; j < V; ++j) mx = std::max(mx, double(z[size_t(j)]));
    for (int j = 0; j < V; ++j) s += std::exp(double(z[size_t(j)]) - mx);
    std::vector<float> one(z.begin(), z.begin() + V);
    int t0 = 3;
    EXPECT_NEAR(cross_entropy(one.data(), &t0, 1, V, false), mx + std::log(s) - z[3], tol::kFewF32Ops);
  }
  std::vector<float> g = z;
  int64_t counted = 0;
  cross_entropy(g.data(), tgt.data(), rows, V, true, &counted);
  EXPECT_EQ(counted, 5);
  for (int j = 0; j < V; ++j) EXPECT_EQ(g[size_t(V + j)], 0.f);  // the ignored row
  EXPECT_LT(fd_error(z, g, loss, 1e-2f), kGradFd);
}

TEST(TrainGrad, WholeDecoder) {
  DecoderConfig c = llama_train_config(8, 12, 2, 2, 11, 16, /*tie=*/true);
  TrainableDecoder dec(c);
  auto p = init_parameters(c, dec.layout(), 7);
  // Larger weights than the N(0, 0.02²) init, so every path carries a visible gradient.
  auto noise = randv(p.size(), 19, 0.3f);
  for (size_t i = 0; i < p.size(); ++i) p[i] += noise[i];
  const int B = 2, T = 5;
  std::vector<int> tok = {1, 4, 7, 2, 9, 1, 3, 3, 10, 0};
  std::vector<int> tgt = {4, 7, 2, 9, 5, 3, 3, 10, 0, -1};
  std::vector<float> grad(p.size(), 0.f);
  dec.forward_backward(p, tok.data(), tgt.data(), B, T, &grad);
  auto loss = [&] { return dec.forward_backward(p, tok.data(), tgt.data(), B, T, nullptr); };
  EXPECT_LT(fd_error(p, grad, loss, 5e-3f), kGradFdModel);
  // Untied classifier too.
  DecoderConfig cu = llama_train_config(8, 12, 1, 2, 11, 16, /*tie=*/false);
  TrainableDecoder decu(cu);
  auto pu = init_parameters(cu, decu.layout(), 8);
  auto nu = randv(pu.size(), 20, 0.3f);
  for (size_t i = 0; i < pu.size(); ++i) pu[i] += nu[i];
  std::vector<float> gu(pu.size(), 0.f);
  decu.forward_backward(pu, tok.data(), tgt.data(), B, T, &gu);
  auto lossu = [&] { return decu.forward_backward(pu, tok.data(), tgt.data(), B, T, nullptr); };
  EXPECT_LT(fd_error(pu, gu, lossu, 5e-3f), kGradFdModel);
}
