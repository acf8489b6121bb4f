// bench/naive_forward.hpp — a deliberately plain reference forward, used by the benchmarks as the
// in-run baseline and as an independent check of lowbit::forward_logits.
// defines: lowbit::bench::naive_forward_logits, naive_forward_macs, compare_logits, LogitDiff,
//          kNaiveLogitTolerance
//
// What "naive" means here: every sequence is processed token by token, in order, the way a simple
// decoder loop would do it. Each linear is a per-token matrix-vector product written as two plain
// loops (no BLAS, no OpenMP, no SIMD intrinsics, no blocking), attention is a loop per head over the
// keys seen so far (kept in a per-sequence K/V store), and everything runs on one thread. It shares
// nothing with src/lowbit/model/forward.cpp except the Model/DecoderConfig structs it reads, so a
// disagreement points at a bug in one of the two.
//
// The math follows forward.cpp (and so llama2.c / Hugging Face): RMSNorm or LayerNorm (statistics
// in double), rotary embeddings in the interleaved (x[2i], x[2i+1]) or half (x[i], x[i+hd/2])
// pairing with cos/sin computed in double, grouped-query attention (query head h reads K/V head
// h / (n_heads / n_kv_heads)), softmax with max subtraction, SwiGLU (act(gate) * up) or a plain
// activated MLP (ReLU, GELU erf, GELU tanh, SiLU), optional biases on q/k/v, o and the MLP, learned
// absolute positions with an offset (OPT), tied or separate classifier.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "lowbit/core/error.hpp"
#include "lowbit/model/model.hpp"

namespace lowbit::bench {

// Agreement bound between forward_logits and the naive forward, relative to the logit scale:
//   max |Δlogit| <= kNaiveLogitTolerance * max(1, max |logit|).
// Why 1e-3: both paths compute in f32 and differ only in summation order (OpenBLAS blocks and
// fuses its dot products, the naive loops add left to right) and in where the softmax sum is
// formed. Each f32 dot product of n terms then differs by about sqrt(n) * 6e-8 relative (≈ 3e-6
// for n = 1728), and these differences pass through a few to a few tens of layers, norms and
// softmaxes; measured: max |Δ| ≈ 1e-5 absolute (≤ 2e-6 of the logit scale) on stories260K, on the
// ~100M synthetic model and on small OPT-/Qwen2-like synthetic models. A real bug (wrong RoPE pairing, causal mask, GQA head mapping, missing bias,
// wrong norm) moves logits by O(0.1 .. 1) of their scale, far above 1e-3, so the bound separates
// the two cases with two orders of magnitude of margin on each side.
inline constexpr double kNaiveLogitTolerance = 1e-3;

namespace naive_detail {

// y[out] = W[out, in] · x[in] (+ b)
inline void matvec(const Linear& l, const float* x, float* y) {
  const int64_t out = l.w.dim(0), in = l.w.dim(1);
  const float* W = l.w.ptr();
  for (int64_t o = 0; o < out; ++o) {
    const float* wr = W + o * in;
    float acc = 0.f;
    for (int64_t i = 0; i < in; ++i) acc += wr[i] * x[i];
    y[o] = acc + (l.b.empty() ? 0.f : l.b.data[size_t(o)]);
  }
}

inline void normalize(const DecoderConfig& c, const Tensor& w, const Tensor& b, const float* x, float* y) {
  const int64_t d = c.dim;
  if (c.norm == NormKind::RMSNorm) {
    double ss = 0;
    for (int64_t i = 0; i < d; ++i) ss += double(x[i]) * double(x[i]);
    const float inv = float(1.0 / std::sqrt(ss / double(d) + double(c.norm_eps)));
    for (int64_t i = 0; i < d; ++i) y[i] = x[i] * inv * w.data[size_t(i)];
  } else {
    double mean = 0, var = 0;
    for (int64_t i = 0; i < d; ++i) mean += x[i];
    mean /= double(d);
    for (int64_t i = 0; i < d; ++i) var += (x[i] - mean) * (x[i] - mean);
    var /= double(d);
    const float inv = float(1.0 / std::sqrt(var + double(c.norm_eps)));
    const float mu = float(mean);
    for (int64_t i = 0; i < d; ++i) y[i] = (x[i] - mu) * inv * w.data[size_t(i)] + (b.empty() ? 0.f : b.data[size_t(i)]);
  }
}

// Rotate the n_heads heads of one token's q or k vector at absolute position `pos`.
inline void rope(const DecoderConfig& c, float* v, int n_heads, int pos) {
  if (c.rope == RopeStyle::None) return;
  const int hd = c.head_dim, half = hd / 2;
  for (int i = 0; i < half; ++i) {
    const double f = 1.0 / std::pow(double(c.rope_theta), double(2 * i) / hd);
    const double a = double(pos) * f;
    const float cs = float(std::cos(a)), sn = float(std::sin(a));
    for (int h = 0; h < n_heads; ++h) {
      float* x = v + int64_t(h) * hd;
      const int p0 = c.rope == RopeStyle::Interleaved ? 2 * i : i;
      const int p1 = c.rope == RopeStyle::Interleaved ? 2 * i + 1 : i + half;
      const float x0 = x[p0], x1 = x[p1];
      x[p0] = x0 * cs - x1 * sn;
      x[p1] = x0 * sn + x1 * cs;
    }
  }
}

inline float activation(Activation a, float v) {
  switch (a) {
    case Activation::SiLU: return v / (1.f + std::exp(-v));
    case Activation::ReLU: return v > 0.f ? v : 0.f;
    case Activation::GELU: return 0.5f * v * (1.f + std::erf(v / std::sqrt(2.f)));
    case Activation::GELUTanh:
      return 0.5f * v * (1.f + std::tanh(0.7978845608028654f * (v + 0.044715f * v * v * v)));
  }
  return v;
}

}  // namespace naive_detail

// tokens [B*T] (sequence b = tokens[b*T .. b*T+T-1], positions 0..T-1) -> logits [B*T, V].
inline void naive_forward_logits(const Model& m, const int* tokens, int B, int T, std::vector<float>& logits) {
  using namespace naive_detail;
  const DecoderConfig& c = m.cfg;
  const int D = c.dim, Hd = c.hidden_dim, H = c.n_heads, KVH = c.n_kv_heads, hd = c.head_dim;
  const int Qd = c.q_dim(), KVd = c.kv_dim(), V = c.vocab_size, L = c.n_layers;
  const int group = H / KVH;
  const float scale = 1.f / std::sqrt(float(hd));
  const auto n = [](int64_t v) { return static_cast<size_t>(v); };
  std::vector<const BlockWeights*> blocks(n(L));
  for (int l = 0; l < L; ++l) blocks[size_t(l)] = &m.block(l);
  const Tensor& cls = m.classifier();

  logits.assign(size_t(B) * T * V, 0.f);
  std::vector<float> x(n(D)), xn(n(D)), q(n(Qd)), att(n(Qd)), proj(n(D));
  std::vector<float> up(n(Hd)), gate(n(Hd)), s(n(T));
  // Keys and values of the positions seen so far in the current sequence, per layer.
  std::vector<float> kstore(n(int64_t(L) * T * KVd)), vstore(n(int64_t(L) * T * KVd));

  for (int b = 0; b < B; ++b) {
    for (int t = 0; t < T; ++t) {
      const int tok = tokens[int64_t(b) * T + t];
      LB_CHECK(tok >= 0 && tok < V, "naive forward: token ", tok, " outside the vocabulary");
      for (int i = 0; i < D; ++i) x[size_t(i)] = m.tok_embed.data[size_t(tok) * D + size_t(i)];
      if (c.learned_pos) {
        const int64_t p = t + c.pos_offset;
        for (int i = 0; i < D; ++i) x[size_t(i)] += m.pos_embed.data[size_t(p) * D + size_t(i)];
      }
      for (int l = 0; l < L; ++l) {
        const BlockWeights& w = *blocks[size_t(l)];
        float* kl = &kstore[(size_t(l) * T) * KVd];
        float* vl = &vstore[(size_t(l) * T) * KVd];
        // attention
        normalize(c, w.attn_norm_w, w.attn_norm_b, x.data(), xn.data());
        matvec(w.q, xn.data(), q.data());
        matvec(w.k, xn.data(), kl + size_t(t) * KVd);
        matvec(w.v, xn.data(), vl + size_t(t) * KVd);
        rope(c, q.data(), H, t);
        rope(c, kl + size_t(t) * KVd, KVH, t);
        for (int h = 0; h < H; ++h) {
          const float* qh = q.data() + size_t(h) * hd;
          const int kh = h / group;
          float mx = -INFINITY;
          for (int j = 0; j <= t; ++j) {
            const float* kj = kl + size_t(j) * KVd + size_t(kh) * hd;
            float d = 0.f;
            for (int i = 0; i < hd; ++i) d += qh[i] * kj[i];
            s[size_t(j)] = d * scale;
            mx = std::max(mx, s[size_t(j)]);
          }
          float sum = 0.f;
          for (int j = 0; j <= t; ++j) {
            s[size_t(j)] = std::exp(s[size_t(j)] - mx);
            sum += s[size_t(j)];
          }
          float* oh = att.data() + size_t(h) * hd;
          for (int i = 0; i < hd; ++i) oh[i] = 0.f;
          for (int j = 0; j <= t; ++j) {
            const float p = s[size_t(j)] / sum;
            const float* vj = vl + size_t(j) * KVd + size_t(kh) * hd;
            for (int i = 0; i < hd; ++i) oh[i] += p * vj[i];
          }
        }
        matvec(w.o, att.data(), proj.data());
        for (int i = 0; i < D; ++i) x[size_t(i)] += proj[size_t(i)];
        // MLP
        normalize(c, w.mlp_norm_w, w.mlp_norm_b, x.data(), xn.data());
        matvec(w.up, xn.data(), up.data());
        if (c.gated_mlp) {
          matvec(w.gate, xn.data(), gate.data());
          for (int i = 0; i < Hd; ++i) up[size_t(i)] *= activation(c.act, gate[size_t(i)]);
        } else {
          for (int i = 0; i < Hd; ++i) up[size_t(i)] = activation(c.act, up[size_t(i)]);
        }
        matvec(w.down, up.data(), proj.data());
        for (int i = 0; i < D; ++i) x[size_t(i)] += proj[size_t(i)];
      }
      normalize(c, m.final_norm_w, m.final_norm_b, x.data(), xn.data());
      float* out = &logits[(size_t(b) * T + size_t(t)) * V];
      for (int vtok = 0; vtok < V; ++vtok) {
        const float* wr = cls.ptr() + size_t(vtok) * D;
        float acc = 0.f;
        for (int i = 0; i < D; ++i) acc += wr[i] * xn[size_t(i)];
        out[vtok] = acc;
      }
    }
  }
}

// Multiply-accumulates of one sequence of T tokens (linears, classifier and attention scores +
// weighted values; norms, RoPE, softmax and activations are O(D) per token and left out). Used to
// state how per-token cost changes with sequence length when extrapolating a rate measured at one
// T to another.
inline double naive_forward_macs(const DecoderConfig& c, int T) {
  const double D = c.dim, Hd = c.hidden_dim, Qd = c.q_dim(), KVd = c.kv_dim(), V = c.vocab_size;
  const double per_token_linear = D * Qd + 2 * D * KVd + Qd * D + (c.gated_mlp ? 3 : 2) * D * Hd;
  const double keys = double(T) * (T + 1) / 2;  // sum over t of (t + 1) keys
  const double attention = 2.0 * Qd * keys;      // q·k and p·v, per head hd each, summed over heads
  return double(c.n_layers) * (per_token_linear * T + attention) + V * D * T;
}

struct LogitDiff {
  double max_abs_diff = 0;   // max |fast - naive|
  double max_abs_logit = 0;  // max |naive|
  double bound = 0;          // kNaiveLogitTolerance * max(1, max_abs_logit)
  int64_t worst_index = -1;
  bool ok() const { return std::isfinite(max_abs_diff) && max_abs_diff <= bound; }
};

inline LogitDiff compare_logits(const float* fast, const std::vector<float>& naive) {
  LogitDiff r;
  for (size_t i = 0; i < naive.size(); ++i) {
    const double d = std::fabs(double(fast[i]) - double(naive[i]));
    if (std::isnan(r.max_abs_diff)) break;  // a NaN already fails the check
    if (!(d <= r.max_abs_diff)) {           // also takes a NaN
      r.max_abs_diff = d;
      r.worst_index = int64_t(i);
    }
    r.max_abs_logit = std::max(r.max_abs_logit, std::fabs(double(naive[i])));
  }
  r.bound = kNaiveLogitTolerance * std::max(1.0, r.max_abs_logit);
  return r;
}

}  // namespace lowbit::bench
