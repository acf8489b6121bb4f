// lowbit/model/config.cpp — decoder description helpers. defines: see config.hpp
#include "lowbit/model/config.hpp"

#include <cmath>

#include "lowbit/core/error.hpp"

namespace lowbit {

const char* linear_name(LinearId id) {
  switch (id) {
    case LinearId::Q: return "attn.q";
    case LinearId::K: return "attn.k";
    case LinearId::V: return "attn.v";
    case LinearId::O: return "attn.o";
    case LinearId::Gate: return "mlp.gate";
    case LinearId::Up: return "mlp.up";
    case LinearId::Down: return "mlp.down";
  }
  return "?";
}

const char* arch_name(Arch a) {
  switch (a) {
    case Arch::Llama: return "llama";
    case Arch::Qwen2: return "qwen2";
    case Arch::Opt: return "opt";
    case Arch::Gemma3: return "gemma3";
  }
  return "?";
}

long long DecoderConfig::non_embedding_params() const {
  long long D = dim, H = hidden_dim;
  long long per = D * q_dim() + 2 * D * kv_dim() + q_dim() * D;  // q k v o
  if (qkv_bias) per += q_dim() + 2 * kv_dim();
  if (o_bias) per += D;
  per += (gated_mlp ? 3 : 2) * D * H;
  if (mlp_bias) per += H + D;
  long long norms = (norm == NormKind::LayerNorm ? 2 : 1) * D;
  per += 2 * norms;
  if (post_norms) per += 2 * D;
  if (qk_norm) per += 2LL * head_dim;
  return per * n_layers + norms;
}

float DecoderConfig::attention_scale() const {
  return attn_scale > 0.f ? attn_scale : 1.f / std::sqrt(float(head_dim));
}

long long DecoderConfig::total_params() const {
  long long p = non_embedding_params() + (long long)vocab_size * dim;
  if (!tie_embeddings) p += (long long)vocab_size * dim;
  if (learned_pos) p += (long long)(max_seq_len + pos_offset) * dim;
  return p;
}

void DecoderConfig::validate(const std::string& where) const {
  auto pos = [&](int v, const char* n) {
    if (v <= 0) LB_THROW(ConfigError, where, ": ", n, " must be positive, got ", v);
  };
  pos(dim, "dim/hidden_size");
  pos(hidden_dim, "hidden_dim/intermediate_size");
  pos(n_layers, "n_layers/num_hidden_layers");
  pos(n_heads, "n_heads/num_attention_heads");
  pos(n_kv_heads, "n_kv_heads/num_key_value_heads");
  pos(head_dim, "head_dim");
  pos(vocab_size, "vocab_size");
  pos(max_seq_len, "max_seq_len/max_position_embeddings");
  if (max_seq_len < kMinContext)
    LB_THROW(ConfigError, where, ": context length ", max_seq_len, " must be at least ", kMinContext,
             " (a window of n tokens predicts n-1)");
  // Bounds keep a corrupted header from asking for petabytes before any tensor is read.
  if (dim > (1 << 17) || hidden_dim > (1 << 19) || n_layers > 4096 || n_heads > 4096 || head_dim > (1 << 14) ||
      vocab_size > (1 << 24) || max_seq_len > (1 << 24) || (long long)n_heads * head_dim > (1 << 20))
    LB_THROW(ConfigError, where, ": implausibly large dimensions (dim ", dim, ", hidden ", hidden_dim,
             ", layers ", n_layers, ", heads ", n_heads, ", head_dim ", head_dim, ", vocab ", vocab_size,
             ", seq ", max_seq_len, ")");
  if (n_heads % n_kv_heads != 0)
    LB_THROW(ConfigError, where, ": n_heads ", n_heads, " is not a multiple of n_kv_heads ", n_kv_heads);
  if (rope != RopeStyle::None && head_dim % 2 != 0)
    LB_THROW(ConfigError, where, ": rotary embeddings need an even head_dim, got ", head_dim);
  if (!(norm_eps > 0.f && norm_eps < 1.f)) LB_THROW(ConfigError, where, ": norm eps ", norm_eps, " must be in (0, 1)");
  if (rope != RopeStyle::None && !(rope_theta > 0.f && rope_theta <= kMaxRopeTheta))
    LB_THROW(ConfigError, where, ": rope_theta ", rope_theta, " must be in (0, ", kMaxRopeTheta, "]");
  if (sliding_window < 0 || sliding_pattern < 0)
    LB_THROW(ConfigError, where, ": sliding window ", sliding_window, " and pattern ", sliding_pattern,
             " must not be negative");
  if (sliding_window > 0 && rope != RopeStyle::None && !(rope_theta_local > 0.f && rope_theta_local <= kMaxRopeTheta))
    LB_THROW(ConfigError, where, ": local rope_theta ", rope_theta_local, " must be in (0, ", kMaxRopeTheta, "]");
  if (!(std::isfinite(embed_scale) && embed_scale > 0.f))
    LB_THROW(ConfigError, where, ": embedding scale ", embed_scale, " must be a positive number");
  if (!(std::isfinite(attn_scale) && attn_scale >= 0.f))
    LB_THROW(ConfigError, where, ": attention scale ", attn_scale, " must be >= 0 (0 = 1/sqrt(head_dim))");
  if ((post_norms || qk_norm) && norm != NormKind::RMSNorm)
    LB_THROW(ConfigError, where, ": post-norms and q/k norms are RMSNorms; the config has LayerNorm");
}

}  // namespace lowbit
