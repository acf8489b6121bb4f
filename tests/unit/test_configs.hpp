// tests/unit/test_configs.hpp — small decoder configurations of each architecture for tests that
// build synthetic models (LLaMA with GQA and an untied head, Qwen2 with q/k/v biases and a tied
// head, OPT with LayerNorm, ReLU, biases and learned positions).
// defines: lowbit::test::small_config
#pragma once

#include "lowbit/model/config.hpp"

namespace lowbit::test {

inline DecoderConfig small_config(Arch arch, int dim, int hidden_dim, int head_dim) {
  DecoderConfig c;
  c.arch = arch;
  c.dim = dim;
  c.hidden_dim = hidden_dim;
  c.n_layers = 2;
  c.n_heads = 4;
  c.n_kv_heads = arch == Arch::Opt ? 4 : 2;  // GQA for LLaMA/Qwen2
  c.head_dim = head_dim;
  c.vocab_size = 97;
  c.max_seq_len = 64;
  c.rope = arch == Arch::Opt ? RopeStyle::None : RopeStyle::Half;
  c.norm_eps = 1e-6f;
  c.source_format = "synthetic";
  if (arch == Arch::Qwen2) {
    c.qkv_bias = true;
    c.tie_embeddings = true;
    c.rope_theta = 1e6f;
  } else if (arch == Arch::Llama) {
    c.tie_embeddings = false;
  } else {
    c.norm = NormKind::LayerNorm;
    c.norm_eps = 1e-5f;
    c.act = Activation::ReLU;
    c.gated_mlp = false;
    c.qkv_bias = c.o_bias = c.mlp_bias = true;
    c.learned_pos = true;
    c.pos_offset = 2;
    c.tie_embeddings = true;
  }
  return c;
}

}  // namespace lowbit::test
