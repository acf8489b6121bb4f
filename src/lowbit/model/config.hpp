// lowbit/model/config.hpp — the one decoder description. LLaMA, Qwen2 and OPT (and llama2.c
// checkpoints) are variants of it, selected by fields, never separate forward passes.
// defines: lowbit::DecoderConfig, Arch, NormKind, RopeStyle, Activation, LinearId, kLinearIds,
//          linear_name, canonical weight names (name_*)
#pragma once

#include <array>
#include <string>

namespace lowbit {

enum class Arch { Llama, Qwen2, Opt };
enum class NormKind { RMSNorm, LayerNorm };
// Interleaved: rotate pairs (x[2i], x[2i+1]) — llama2.c / Meta. Half: (x[i], x[i+hd/2]) — HF.
enum class RopeStyle { None, Interleaved, Half };
enum class Activation { SiLU, ReLU, GELU, GELUTanh };

struct DecoderConfig {
  Arch arch = Arch::Llama;
  int dim = 0;          // hidden size D
  int hidden_dim = 0;   // MLP intermediate size
  int n_layers = 0;
  int n_heads = 0;
  int n_kv_heads = 0;   // GQA: n_heads % n_kv_heads == 0
  int head_dim = 0;     // usually dim / n_heads
  int vocab_size = 0;
  int max_seq_len = 0;  // the model's context
  NormKind norm = NormKind::RMSNorm;
  float norm_eps = 1e-5f;
  RopeStyle rope = RopeStyle::Interleaved;
  float rope_theta = 10000.f;
  Activation act = Activation::SiLU;
  bool gated_mlp = true;      // SwiGLU (gate, up, down) vs plain (up=fc1, down=fc2)
  bool qkv_bias = false;      // Qwen2, OPT
  bool o_bias = false;        // OPT
  bool mlp_bias = false;      // OPT
  bool learned_pos = false;   // OPT: learned absolute positions
  int pos_offset = 0;         // OPT: position ids start at 2
  bool tie_embeddings = true; // lm_head shares the token embedding
  int bos_id = 1, eos_id = 2;
  std::string source_format;  // "llama2c" or "hf"
  std::string source_dtype = "F32";

  int kv_dim() const { return n_kv_heads * head_dim; }
  int q_dim() const { return n_heads * head_dim; }
  // Parameters excluding token/position embeddings and the classifier (the N of scaling laws).
  long long non_embedding_params() const;
  long long total_params() const;
  // Throws ConfigError naming `where` when the numbers are inconsistent.
  void validate(const std::string& where) const;
};

enum class LinearId { Q, K, V, O, Gate, Up, Down };
inline constexpr std::array<LinearId, 7> kLinearIds = {LinearId::Q,    LinearId::K,  LinearId::V,   LinearId::O,
                                                       LinearId::Gate, LinearId::Up, LinearId::Down};
// "attn.q", "attn.k", "attn.v", "attn.o", "mlp.gate", "mlp.up", "mlp.down"
const char* linear_name(LinearId id);
const char* arch_name(Arch a);

}  // namespace lowbit
