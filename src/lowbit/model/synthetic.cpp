// lowbit/model/synthetic.cpp — random-weight models. defines: see synthetic.hpp
#include "lowbit/model/synthetic.hpp"

#include <algorithm>
#include <cmath>
#include <random>

#include "lowbit/core/error.hpp"

namespace lowbit {

namespace {
Tensor randn(std::mt19937_64& rng, std::vector<int64_t> shape, float scale, float mean = 0.f) {
  Tensor t(std::move(shape));
  std::normal_distribution<float> nd(0.f, 1.f);
  for (auto& v : t.data) v = mean + scale * nd(rng);
  return t;
}
}  // namespace

std::unique_ptr<Model> make_synthetic_model(const DecoderConfig& c, uint64_t seed) {
  c.validate("synthetic model");
  auto m = std::make_unique<Model>();
  m->cfg = c;
  m->path = "synthetic(seed=" + std::to_string(seed) + ")";
  std::mt19937_64 rng(seed);
  const int64_t D = c.dim, H = c.hidden_dim, V = c.vocab_size;
  const bool ln = c.norm == NormKind::LayerNorm;
  m->tok_embed = randn(rng, {V, D}, 0.5f);
  if (c.learned_pos) m->pos_embed = randn(rng, {c.max_seq_len + c.pos_offset, D}, 0.1f);
  m->final_norm_w = randn(rng, {D}, 0.1f, 1.f);
  if (ln) m->final_norm_b = randn(rng, {D}, 0.05f);
  if (!c.tie_embeddings) m->lm_head = randn(rng, {V, D}, 1.f / std::sqrt(float(D)));
  auto lin = [&](int64_t out, int64_t in, bool bias) {
    Linear l;
    l.w = randn(rng, {out, in}, 1.f / std::sqrt(float(in)));
    if (bias) l.b = randn(rng, {out}, 0.02f);
    return l;
  };
  for (int i = 0; i < c.n_layers; ++i) {
    BlockWeights b;
    b.attn_norm_w = randn(rng, {D}, 0.1f, 1.f);
    b.mlp_norm_w = randn(rng, {D}, 0.1f, 1.f);
    if (ln) {
      b.attn_norm_b = randn(rng, {D}, 0.05f);
      b.mlp_norm_b = randn(rng, {D}, 0.05f);
    }
    if (c.post_norms) {
      b.post_attn_norm_w = randn(rng, {D}, 0.1f, 1.f);
      b.post_mlp_norm_w = randn(rng, {D}, 0.1f, 1.f);
    }
    if (c.qk_norm) {
      b.q_norm_w = randn(rng, {c.head_dim}, 0.1f, 1.f);
      b.k_norm_w = randn(rng, {c.head_dim}, 0.1f, 1.f);
    }
    b.q = lin(c.q_dim(), D, c.qkv_bias);
    b.k = lin(c.kv_dim(), D, c.qkv_bias);
    b.v = lin(c.kv_dim(), D, c.qkv_bias);
    b.o = lin(D, c.q_dim(), c.o_bias);
    if (c.gated_mlp) b.gate = lin(H, D, c.mlp_bias);
    b.up = lin(H, D, c.mlp_bias);
    b.down = lin(D, H, c.mlp_bias);
    m->set_block(i, std::move(b));
  }
  return m;
}

DecoderConfig synthetic_llama_config(long long params, int vocab, int seq_len) {
  LB_INPUT_CHECK(params > 0, "synthetic model size must be positive");
  DecoderConfig c;
  c.arch = Arch::Llama;
  c.rope = RopeStyle::Half;
  c.vocab_size = vocab;
  c.max_seq_len = seq_len;
  c.tie_embeddings = false;
  c.source_format = "synthetic";
  // Per layer ≈ 12 D² (4 D² attention + 3·(8/3)D² MLP); embeddings 2·V·D. Pick depth ≈ D/64.
  int best_d = 64;
  for (int d = 64; d <= 8192; d += 64) {
    long long L = std::max(1, d / 64);
    long long p = 12LL * d * d * L + 2LL * vocab * d;
    if (p > params) break;
    best_d = d;
  }
  c.dim = best_d;
  c.n_layers = std::max(1, best_d / 64);
  c.hidden_dim = ((8 * best_d / 3) + 63) / 64 * 64;
  c.head_dim = 64;
  c.n_heads = best_d / 64;
  c.n_kv_heads = c.n_heads;
  return c;
}

}  // namespace lowbit
