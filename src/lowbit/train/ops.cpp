// lowbit/train/ops.cpp — forward/backward operators of decoder training. defines: see ops.hpp
#include "lowbit/train/ops.hpp"

#include "lowbit/model/forward.hpp"

#include <cblas.h>

#include <algorithm>
#include <cmath>
#include <vector>

namespace lowbit::train {

namespace {
// Below this many values a loop runs on one thread: an OpenMP fork/join costs more than it saves
// (tests call these operators on tiny tensors thousands of times).
constexpr int64_t kParallelMin = 16384;
}  // namespace

void embedding_forward(const float* E, const int* tokens, int64_t rows, int64_t D, float* x) {
#pragma omp parallel for schedule(static) if (rows * D > kParallelMin)
  for (int64_t r = 0; r < rows; ++r) std::copy(E + int64_t(tokens[r]) * D, E + int64_t(tokens[r]) * D + D, x + r * D);
}

void embedding_backward(const int* tokens, int64_t rows, int64_t D, const float* dx, float* dE) {
  for (int64_t r = 0; r < rows; ++r) {
    float* e = dE + int64_t(tokens[r]) * D;
    const float* g = dx + r * D;
    for (int64_t i = 0; i < D; ++i) e[i] += g[i];
  }
}

void rms_norm_backward(const float* x, const float* w, const float* dy, int64_t rows, int64_t d, float eps, float* dx,
                       float* dw) {
  std::vector<float> inv(static_cast<size_t>(rows));
  const bool par = rows * d > kParallelMin;
#pragma omp parallel for schedule(static) if (par)
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * d;
    const float* gr = dy + r * d;
    double ss = 0;
    for (int64_t i = 0; i < d; ++i) ss += double(xr[i]) * xr[i];
    const double s = 1.0 / std::sqrt(ss / double(d) + double(eps));
    inv[size_t(r)] = float(s);
    // dx_j = s g_j − s³ x_j (1/d) Σ_i g_i x_i, with g = dy ⊙ w
    double gx = 0;
    for (int64_t i = 0; i < d; ++i) gx += double(gr[i]) * w[i] * xr[i];
    const double c = s * s * s * gx / double(d);
    float* dr = dx + r * d;
    for (int64_t i = 0; i < d; ++i) dr[i] += float(s * double(gr[i]) * w[i] - c * xr[i]);
  }
  // Column sums in a fixed order whatever the thread count (bit-identical resumed runs).
#pragma omp parallel for schedule(static) if (par)
  for (int64_t i = 0; i < d; ++i) {
    double acc = 0;
    for (int64_t r = 0; r < rows; ++r) acc += double(dy[r * d + i]) * x[r * d + i] * inv[size_t(r)];
    dw[i] += float(acc);
  }
}

void linear_forward_raw(const float* x, const float* W, int64_t rows, int64_t in, int64_t out, float* y) {
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, int(rows), int(out), int(in), 1.f, x, int(in), W, int(in), 0.f,
              y, int(out));
}

void linear_backward(const float* x, const float* W, const float* dy, int64_t rows, int64_t in, int64_t out, float* dx,
                     float* dW, bool accumulate_dx) {
  // dW[out, in] += dyᵀ[out, rows] · x[rows, in]
  cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, int(out), int(in), int(rows), 1.f, dy, int(out), x, int(in),
              1.f, dW, int(in));
  // dx[rows, in] (+)= dy[rows, out] · W[out, in]
  if (dx)
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, int(rows), int(in), int(out), 1.f, dy, int(out), W, int(in),
                accumulate_dx ? 1.f : 0.f, dx, int(in));
}

void rope_backward(float* d, int64_t rows, int T, int n_heads, int hd, float theta) {
  const int half = hd / 2;
  std::vector<float> cs(size_t(T) * half), sn(size_t(T) * half);
  for (int t = 0; t < T; ++t)
    for (int i = 0; i < half; ++i) {  // the same angles as lowbit::apply_rope
      double f = 1.0 / std::pow(double(theta), double(2 * i) / hd);
      double a = double(t) * f;
      cs[size_t(t) * half + i] = float(std::cos(a));
      sn[size_t(t) * half + i] = float(std::sin(a));
    }
  const int64_t width = int64_t(n_heads) * hd;
#pragma omp parallel for schedule(static) if (rows * width > kParallelMin)
  for (int64_t r = 0; r < rows; ++r) {
    const int t = int(r % T);
    const float* c = &cs[size_t(t) * half];
    const float* s = &sn[size_t(t) * half];
    for (int h = 0; h < n_heads; ++h) {
      float* v = d + r * width + int64_t(h) * hd;
      for (int i = 0; i < half; ++i) {
        const float g0 = v[2 * i], g1 = v[2 * i + 1];
        v[2 * i] = g0 * c[i] + g1 * s[i];
        v[2 * i + 1] = -g0 * s[i] + g1 * c[i];
      }
    }
  }
}

void attention_forward(const float* q, const float* k, const float* v, int B, int T, int H, int hd, float* out,
                       float* probs) {
  const int64_t W = int64_t(H) * hd;
  const float scale = 1.f / std::sqrt(float(hd));
#pragma omp parallel if (int64_t(B) * T * T * W > kParallelMin)
  {
    std::vector<float> s(static_cast<size_t>(T));
#pragma omp for collapse(2) schedule(static)
    for (int b = 0; b < B; ++b)
      for (int h = 0; h < H; ++h) {
        const float* kb = k + int64_t(b) * T * W + int64_t(h) * hd;
        const float* vb = v + int64_t(b) * T * W + int64_t(h) * hd;
        for (int t = 0; t < T; ++t) {
          // Same arithmetic, in the same order, as lowbit::block_forward's attention.
          const float* qr = q + (int64_t(b) * T + t) * W + int64_t(h) * hd;
          const int n = t + 1;
          const float inv = attention_scores(qr, kb, W, n, hd, scale, s.data());
          float* o = out + (int64_t(b) * T + t) * W + int64_t(h) * hd;
          std::fill(o, o + hd, 0.f);
          float* pr = probs + ((int64_t(b) * H + h) * T + t) * T;
          for (int j = 0; j < n; ++j) {
            const float p = s[size_t(j)] * inv;
            pr[j] = p;
            const float* vr = vb + int64_t(j) * W;
            for (int i = 0; i < hd; ++i) o[i] += p * vr[i];
          }
          std::fill(pr + n, pr + T, 0.f);
        }
      }
  }
}

void attention_backward(const float* q, const float* k, const float* v, const float* probs, const float* dout, int B,
                        int T, int H, int hd, float* dq, float* dk, float* dv) {
  const int64_t W = int64_t(H) * hd;
  const float scale = 1.f / std::sqrt(float(hd));
#pragma omp parallel if (int64_t(B) * T * T * W > kParallelMin)
  {
    std::vector<float> dp(static_cast<size_t>(T));
#pragma omp for collapse(2) schedule(static)
    for (int b = 0; b < B; ++b)
      for (int h = 0; h < H; ++h) {
        const int64_t base = int64_t(b) * T * W + int64_t(h) * hd;
        // (b, h) owns these slices of dq/dk/dv: zero them, then accumulate.
        for (int t = 0; t < T; ++t) {
          std::fill(dq + base + t * W, dq + base + t * W + hd, 0.f);
          std::fill(dk + base + t * W, dk + base + t * W + hd, 0.f);
          std::fill(dv + base + t * W, dv + base + t * W + hd, 0.f);
        }
        for (int t = 0; t < T; ++t) {
          const float* pr = probs + ((int64_t(b) * H + h) * T + t) * T;
          const float* go = dout + base + t * W;
          const float* qr = q + base + t * W;
          float* gq = dq + base + t * W;
          const int n = t + 1;
          // dP_j = dO·v_j ; dS_j = P_j (dP_j − Σ P dP)
          float pdp = 0.f;
          for (int j = 0; j < n; ++j) {
            const float* vr = v + base + int64_t(j) * W;
            float d = 0.f;
            for (int i = 0; i < hd; ++i) d += go[i] * vr[i];
            dp[size_t(j)] = d;
            pdp += pr[j] * d;
          }
          for (int j = 0; j < n; ++j) {
            const float p = pr[j];
            const float ds = p * (dp[size_t(j)] - pdp) * scale;
            const float* kr = k + base + int64_t(j) * W;
            float* gk = dk + base + int64_t(j) * W;
            float* gv = dv + base + int64_t(j) * W;
            for (int i = 0; i < hd; ++i) {
              gq[i] += ds * kr[i];
              gk[i] += ds * qr[i];
              gv[i] += p * go[i];
            }
          }
        }
      }
  }
}

namespace {
inline float sigmoid(float x) { return 1.f / (1.f + std::exp(-x)); }
}  // namespace

void swiglu_forward(const float* g, const float* u, int64_t n, float* h) {
#pragma omp parallel for schedule(static) if (n > kParallelMin)
  for (int64_t i = 0; i < n; ++i) h[i] = u[i] * (g[i] / (1.f + std::exp(-g[i])));  // as lowbit's act(SiLU)
}

void swiglu_backward(const float* g, const float* u, const float* dh, int64_t n, float* dg, float* du) {
#pragma omp parallel for schedule(static) if (n > kParallelMin)
  for (int64_t i = 0; i < n; ++i) {
    const float s = sigmoid(g[i]);
    const float silu = g[i] * s;
    du[i] = dh[i] * silu;
    dg[i] = dh[i] * u[i] * s * (1.f + g[i] * (1.f - s));
  }
}

double cross_entropy(float* logits, const int* targets, int64_t rows, int64_t V, bool grad, int64_t* counted) {
  int64_t n = 0;
  for (int64_t r = 0; r < rows; ++r) n += targets[r] >= 0;
  if (counted) *counted = n;
  if (n == 0) {
    if (grad) std::fill(logits, logits + rows * V, 0.f);
    return 0.0;
  }
  std::vector<double> row_loss(size_t(rows), 0.0);
  const float inv_n = 1.f / float(n);
#pragma omp parallel for schedule(static) if (rows * V > kParallelMin)
  for (int64_t r = 0; r < rows; ++r) {
    float* z = logits + r * V;
    const int tgt = targets[r];
    if (tgt < 0) {
      if (grad) std::fill(z, z + V, 0.f);
      continue;
    }
    float mx = z[0];
    for (int64_t j = 1; j < V; ++j) mx = std::max(mx, z[j]);
    double sum = 0;
    for (int64_t j = 0; j < V; ++j) sum += std::exp(double(z[j] - mx));
    const double lse = double(mx) + std::log(sum);
    row_loss[size_t(r)] = lse - double(z[tgt]);
    if (grad) {
      for (int64_t j = 0; j < V; ++j) z[j] = float(std::exp(double(z[j]) - lse)) * inv_n;
      z[tgt] -= inv_n;
    }
  }
  double total = 0;
  for (double l : row_loss) total += l;  // fixed order
  return total / double(n);
}

}  // namespace lowbit::train
