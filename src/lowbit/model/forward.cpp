// lowbit/model/forward.cpp — CPU f32 decoder forward (OpenBLAS GEMMs, OpenMP elsewhere).
// defines: see forward.hpp
#include "lowbit/model/forward.hpp"

#include <cblas.h>

#include <algorithm>
#include <cmath>

#include "lowbit/core/error.hpp"

namespace lowbit {

void KVCache::init(const DecoderConfig& c, int n) {
  k.assign(size_t(c.n_layers), Tensor({n, c.kv_dim()}));
  v.assign(size_t(c.n_layers), Tensor({n, c.kv_dim()}));
  len = 0;
  max_len = n;
}

void rms_norm(const float* x, const float* w, float* y, int64_t rows, int64_t d, float eps) {
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * d;
    float* yr = y + r * d;
    double ss = 0;
    for (int64_t i = 0; i < d; ++i) ss += double(xr[i]) * xr[i];
    const float inv = float(1.0 / std::sqrt(ss / double(d) + double(eps)));
    for (int64_t i = 0; i < d; ++i) yr[i] = xr[i] * inv * w[i];
  }
}

void layer_norm(const float* x, const float* w, const float* b, float* y, int64_t rows, int64_t d, float eps) {
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * d;
    float* yr = y + r * d;
    double mean = 0, var = 0;
    for (int64_t i = 0; i < d; ++i) mean += xr[i];
    mean /= double(d);
    for (int64_t i = 0; i < d; ++i) var += (xr[i] - mean) * (xr[i] - mean);
    var /= double(d);
    const float inv = float(1.0 / std::sqrt(var + double(eps)));
    const float mu = float(mean);
    for (int64_t i = 0; i < d; ++i) yr[i] = (xr[i] - mu) * inv * w[i] + (b ? b[i] : 0.f);
  }
}

void apply_rope(float* x, int64_t rows, int T, int pos0, int n_heads, int hd, RopeStyle style, float theta) {
  if (style == RopeStyle::None) return;
  const int half = hd / 2;
  // cos/sin per position and frequency, computed in double: freq_i = theta^(-2i/hd).
  std::vector<float> cs(size_t(T) * half), sn(size_t(T) * half);
  for (int t = 0; t < T; ++t)
    for (int i = 0; i < half; ++i) {
      double f = 1.0 / std::pow(double(theta), double(2 * i) / hd);
      double a = double(pos0 + t) * f;
      cs[size_t(t) * half + i] = float(std::cos(a));
      sn[size_t(t) * half + i] = float(std::sin(a));
    }
  const int64_t width = int64_t(n_heads) * hd;
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < rows; ++r) {
    const int t = int(r % T);
    const float* c = &cs[size_t(t) * half];
    const float* s = &sn[size_t(t) * half];
    for (int h = 0; h < n_heads; ++h) {
      float* v = x + r * width + int64_t(h) * hd;
      for (int i = 0; i < half; ++i) {
        const int a = style == RopeStyle::Interleaved ? 2 * i : i;
        const int b = style == RopeStyle::Interleaved ? 2 * i + 1 : i + half;
        const float x0 = v[a], x1 = v[b];
        v[a] = x0 * c[i] - x1 * s[i];
        v[b] = x0 * s[i] + x1 * c[i];
      }
    }
  }
}

void linear_forward(const Tensor& x, const Linear& l, Tensor& y) {
  const int64_t rows = x.rows(), in = x.cols(), out = l.w.dim(0);
  LB_CHECK(l.w.dim(1) == in, "linear input ", in, " vs weight ", l.w.shape_str());
  y.resize({rows, out});
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, int(rows), int(out), int(in), 1.f, x.ptr(), int(in),
              l.w.ptr(), int(in), 0.f, y.ptr(), int(out));
  if (!l.b.empty()) {
    const float* b = l.b.ptr();
#pragma omp parallel for schedule(static)
    for (int64_t r = 0; r < rows; ++r) {
      float* yr = y.row(r);
      for (int64_t j = 0; j < out; ++j) yr[j] += b[j];
    }
  }
}

namespace {

void norm(const DecoderConfig& c, const Tensor& w, const Tensor& b, const Tensor& x, Tensor& y) {
  y.resize(x.shape);
  if (c.norm == NormKind::RMSNorm)
    rms_norm(x.ptr(), w.ptr(), y.ptr(), x.rows(), x.cols(), c.norm_eps);
  else
    layer_norm(x.ptr(), w.ptr(), b.empty() ? nullptr : b.ptr(), y.ptr(), x.rows(), x.cols(), c.norm_eps);
}

inline float act(Activation a, float v) {
  switch (a) {
    case Activation::SiLU: return v / (1.f + std::exp(-v));
    case Activation::ReLU: return v > 0.f ? v : 0.f;
    case Activation::GELU: return 0.5f * v * (1.f + std::erf(v * float(M_SQRT1_2)));
    case Activation::GELUTanh:
      return 0.5f * v * (1.f + std::tanh(0.7978845608028654f * (v + 0.044715f * v * v * v)));
  }
  return v;
}

void run_linear(const ForwardHooks* hooks, int layer, LinearId id, const Tensor& x, const Linear& l, Tensor& y) {
  if (hooks && hooks->linear_input) hooks->linear_input(layer, id, x);
  linear_forward(x, l, y);
  if (hooks && hooks->linear_output) hooks->linear_output(layer, id, y);
}

}  // namespace

void block_forward(const DecoderConfig& c, const BlockWeights& w, int layer, Tensor& x, int B, int T, int pos0,
                   const ForwardHooks* hooks, KVCache* cache) {
  const int64_t rows = int64_t(B) * T, D = c.dim;
  LB_CHECK(x.rows() == rows && x.cols() == D, "block input ", x.shape_str(), " for B=", B, " T=", T);
  LB_CHECK(!cache || B == 1, "KV cache needs batch 1");
  const int H = c.n_heads, KVH = c.n_kv_heads, hd = c.head_dim, group = H / KVH;
  const int64_t Qd = c.q_dim(), KVd = c.kv_dim();
  // ---- attention ----
  Tensor xn, q, k, v;
  norm(c, w.attn_norm_w, w.attn_norm_b, x, xn);
  run_linear(hooks, layer, LinearId::Q, xn, w.q, q);
  run_linear(hooks, layer, LinearId::K, xn, w.k, k);
  run_linear(hooks, layer, LinearId::V, xn, w.v, v);
  if (c.qk_norm) {  // Gemma 3: RMSNorm of every head's q and k (rows of head_dim), before RoPE
    rms_norm(q.ptr(), w.q_norm_w.ptr(), q.ptr(), rows * H, hd, c.norm_eps);
    rms_norm(k.ptr(), w.k_norm_w.ptr(), k.ptr(), rows * KVH, hd, c.norm_eps);
  }
  const float theta = c.layer_rope_theta(layer);
  apply_rope(q.ptr(), rows, T, pos0, H, hd, c.rope, theta);
  apply_rope(k.ptr(), rows, T, pos0, KVH, hd, c.rope, theta);
  // A local (sliding-window) layer lets the query at position p see keys p-window+1 .. p.
  const int window = c.is_local_layer(layer) ? c.sliding_window : 0;
  const int Tk = pos0 + T;  // keys visible to the last query
  const float* kbase = k.ptr();
  const float* vbase = v.ptr();
  if (cache) {
    LB_CHECK(pos0 == cache->len && Tk <= cache->max_len, "KV cache position ", pos0, " len ", cache->len,
             " max ", cache->max_len);
    std::copy(k.data.begin(), k.data.end(), cache->k[size_t(layer)].row(pos0));
    std::copy(v.data.begin(), v.data.end(), cache->v[size_t(layer)].row(pos0));
    kbase = cache->k[size_t(layer)].ptr();
    vbase = cache->v[size_t(layer)].ptr();
  } else {
    LB_CHECK(pos0 == 0, "pos0 > 0 needs a KV cache");
  }
  const bool want_probs = hooks && hooks->capture_attention && hooks->attention;
  Tensor probs;
  if (want_probs) probs.resize({B, H, T, Tk});
  Tensor att({rows, Qd});
  const float scale = c.attention_scale();
#pragma omp parallel
  {
    std::vector<float> s(static_cast<size_t>(Tk));
#pragma omp for collapse(2) schedule(dynamic)
    for (int b = 0; b < B; ++b)
      for (int h = 0; h < H; ++h) {
        const int kh = h / group;
        // Without a cache, sequence b's keys are rows b*T..; with one (B=1) they are cache rows 0..
        const float* kb = kbase + (cache ? 0 : int64_t(b) * T * KVd) + int64_t(kh) * hd;
        const float* vb = vbase + (cache ? 0 : int64_t(b) * T * KVd) + int64_t(kh) * hd;
        for (int t = 0; t < T; ++t) {
          const float* qr = q.ptr() + (int64_t(b) * T + t) * Qd + int64_t(h) * hd;
          const int n = pos0 + t + 1;
          const int lo = window > 0 ? std::max(0, n - window) : 0;  // first visible key
          const float inv = attention_scores(qr, kb + int64_t(lo) * KVd, KVd, n - lo, hd, scale, s.data());
          float* o = att.ptr() + (int64_t(b) * T + t) * Qd + int64_t(h) * hd;
          for (int j = 0; j < n - lo; ++j) {
            const float p = s[size_t(j)] * inv;
            const float* vr = vb + int64_t(lo + j) * KVd;
            for (int i = 0; i < hd; ++i) o[i] += p * vr[i];
          }
          if (want_probs) {
            float* pr = probs.ptr() + ((int64_t(b) * H + h) * T + t) * Tk;
            for (int j = 0; j < n - lo; ++j) pr[lo + j] = s[size_t(j)] * inv;
          }
        }
      }
  }
  if (cache && layer == c.n_layers - 1) cache->len = Tk;
  if (want_probs) hooks->attention(layer, probs);
  Tensor attn_out;
  run_linear(hooks, layer, LinearId::O, att, w.o, attn_out);
  if (c.post_norms) rms_norm(attn_out.ptr(), w.post_attn_norm_w.ptr(), attn_out.ptr(), rows, D, c.norm_eps);
  const int64_t n_all = rows * D;
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n_all; ++i) x.data[size_t(i)] += attn_out.data[size_t(i)];
  // ---- MLP ----
  norm(c, w.mlp_norm_w, w.mlp_norm_b, x, xn);
  Tensor up, hidden, mlp_out;
  run_linear(hooks, layer, LinearId::Up, xn, w.up, up);
  const int64_t n_h = up.numel();
  if (c.gated_mlp) {
    Tensor gate;
    run_linear(hooks, layer, LinearId::Gate, xn, w.gate, gate);
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n_h; ++i) up.data[size_t(i)] *= act(c.act, gate.data[size_t(i)]);
  } else {
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n_h; ++i) up.data[size_t(i)] = act(c.act, up.data[size_t(i)]);
  }
  run_linear(hooks, layer, LinearId::Down, up, w.down, mlp_out);
  if (c.post_norms) rms_norm(mlp_out.ptr(), w.post_mlp_norm_w.ptr(), mlp_out.ptr(), rows, D, c.norm_eps);
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n_all; ++i) x.data[size_t(i)] += mlp_out.data[size_t(i)];
  if (hooks && hooks->sublayer_output) hooks->sublayer_output(layer, attn_out, mlp_out);
  if (hooks && hooks->block_output) hooks->block_output(layer, x);
}

void embed_tokens(const Model& m, const int* tokens, int B, int T, int pos0, Tensor& x) {
  const DecoderConfig& c = m.cfg;
  const int64_t rows = int64_t(B) * T, D = c.dim;
  x.resize({rows, D});
  for (int64_t r = 0; r < rows; ++r) {
    const int tok = tokens[r];
    if (tok < 0 || tok >= c.vocab_size) LB_FAIL_INPUT("token id ", tok, " at position ", r, " is outside the vocabulary [0, ", c.vocab_size, ")");
    std::copy(m.tok_embed.row(tok), m.tok_embed.row(tok) + D, x.row(r));
    if (c.embed_scale != 1.f) {  // Gemma: e * sqrtf(D) in f32, as llama.cpp's ggml_scale
      float* xr = x.row(r);
      for (int64_t i = 0; i < D; ++i) xr[i] *= c.embed_scale;
    }
    if (c.learned_pos) {
      const int64_t p = pos0 + r % T + c.pos_offset;
      LB_INPUT_CHECK(p < m.pos_embed.dim(0), "position ", pos0 + r % T, " exceeds the model's ", c.max_seq_len,
                     " learned positions");
      const float* pe = m.pos_embed.row(p);
      float* xr = x.row(r);
      for (int64_t i = 0; i < D; ++i) xr[i] += pe[i];
    }
  }
}

void final_norm(const Model& m, Tensor& x) {
  Tensor y;
  norm(m.cfg, m.final_norm_w, m.final_norm_b, x, y);
  x = std::move(y);
}

void lm_logits(const Model& m, const Tensor& normed, Tensor& logits) {
  const Tensor& W = m.classifier();
  const int64_t rows = normed.rows(), D = normed.cols(), V = W.dim(0);
  logits.resize({rows, V});
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, int(rows), int(V), int(D), 1.f, normed.ptr(), int(D),
              W.ptr(), int(D), 0.f, logits.ptr(), int(V));
}

void forward_logits(const Model& m, const int* tokens, int B, int T, Tensor& logits, const ForwardHooks* hooks,
                    KVCache* cache) {
  const int pos0 = cache ? cache->len : 0;
  Tensor x;
  embed_tokens(m, tokens, B, T, pos0, x);
  for (int l = 0; l < m.cfg.n_layers; ++l) {
    block_forward(m.cfg, m.block(l), l, x, B, T, pos0, hooks, cache);
    if (m.stream_blocks) m.release_block(l);
  }
  final_norm(m, x);
  lm_logits(m, x, logits);
}

}  // namespace lowbit
