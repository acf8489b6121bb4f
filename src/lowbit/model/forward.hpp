// lowbit/model/forward.hpp — the CPU f32 forward pass of the decoder, block by block, with hooks.
// defines: lowbit::ForwardHooks, KVCache, embed_tokens, block_forward, final_norm, lm_logits,
//          forward_logits, rms_norm, layer_norm, apply_rope
//
// Activations are [rows = B*T, D] row-major, sequence b occupying rows b*T .. b*T+T-1. All
// sequences of one call have the same length T and start at position `pos0` (0 unless a KV cache
// holds earlier positions). GEMMs go to OpenBLAS; attention and elementwise work use OpenMP.
#pragma once

#include <algorithm>
#include <cmath>

#include <functional>
#include <vector>

#include "lowbit/core/tensor.hpp"
#include "lowbit/model/model.hpp"

namespace lowbit {

// Observation points used by the compressors and the diagnostics. Unset callbacks cost nothing.
struct ForwardHooks {
  // Input X [rows, in] of linear `id` in block `layer`, before the GEMM. Q/K/V see the same X,
  // and so do Gate/Up; each is reported under its own id.
  std::function<void(int layer, LinearId id, const Tensor& x)> linear_input;
  // Output of linear `id` [rows, out] (bias included).
  std::function<void(int layer, LinearId id, const Tensor& y)> linear_output;
  // Residual stream after block `layer` [rows, D].
  std::function<void(int layer, const Tensor& h)> block_output;
  // Outputs of the attention and MLP sub-layers (what is added to the residual) [rows, D].
  std::function<void(int layer, const Tensor& attn_out, const Tensor& mlp_out)> sublayer_output;
  // Attention probabilities when capture_attention is set: probs[B, n_heads, T, Tk] (causal:
  // entries past the query position are 0; Tk = pos0 + T).
  bool capture_attention = false;
  std::function<void(int layer, const Tensor& probs)> attention;
};

// Keys and values of earlier positions for incremental decoding (batch of one sequence).
struct KVCache {
  std::vector<Tensor> k, v;  // per layer [max_len, kv_dim]
  int len = 0;
  int max_len = 0;
  void init(const DecoderConfig& c, int max_len);
};

// x[b*T + t] = tok_embed[token] (+ pos_embed[pos0 + t + offset] for OPT).
void embed_tokens(const Model& m, const int* tokens, int B, int T, int pos0, Tensor& x);
// One transformer block in place on x [B*T, D]. `cache` (B must be 1) supplies and receives K/V.
void block_forward(const DecoderConfig& c, const BlockWeights& w, int layer, Tensor& x, int B, int T,
                   int pos0 = 0, const ForwardHooks* hooks = nullptr, KVCache* cache = nullptr);
// Final norm (in place) then logits [rows, V] = x * classifierᵀ.
void final_norm(const Model& m, Tensor& x);
void lm_logits(const Model& m, const Tensor& normed, Tensor& logits);
// The whole model: tokens [B*T] -> logits [B*T, V].
void forward_logits(const Model& m, const int* tokens, int B, int T, Tensor& logits,
                    const ForwardHooks* hooks = nullptr, KVCache* cache = nullptr);

// Building blocks (also the references for CUDA kernels).
void rms_norm(const float* x, const float* w, float* y, int64_t rows, int64_t d, float eps);
void layer_norm(const float* x, const float* w, const float* b, float* y, int64_t rows, int64_t d, float eps);
// Rotate q or k [rows, n_heads*hd] in place; row r has position pos0 + (r % T).
void apply_rope(float* x, int64_t rows, int T, int pos0, int n_heads, int head_dim, RopeStyle style,
                float theta);
// y[rows, out] = x[rows, in] · wᵀ (+ b)
void linear_forward(const Tensor& x, const Linear& l, Tensor& y);

// One causal attention row: s[j] = exp(q·k_j·scale − max) for the n visible keys (row j of `kb` at
// stride `kstride`); returns 1/Σ s_j. The inference forward and the trainer both call it, so they
// compute the same bits.
inline float attention_scores(const float* qr, const float* kb, int64_t kstride, int n, int hd, float scale,
                              float* s) {
  float mx = -INFINITY;
  for (int j = 0; j < n; ++j) {
    const float* kr = kb + int64_t(j) * kstride;
    float d = 0.f;
    for (int i = 0; i < hd; ++i) d += qr[i] * kr[i];
    s[j] = d * scale;
    mx = std::max(mx, s[j]);
  }
  float sum = 0.f;
  for (int j = 0; j < n; ++j) {
    s[j] = std::exp(s[j] - mx);
    sum += s[j];
  }
  return 1.f / sum;
}

}  // namespace lowbit
