// lowbit/model/config.hpp — the one decoder description. LLaMA, Qwen2 and OPT (and llama2.c
// checkpoints) are variants of it, selected by fields, never separate forward passes.
// defines: lowbit::DecoderConfig, Arch, NormKind, RopeStyle, Activation, LinearId, kLinearIds,
//          linear_name, arch_name
#pragma once

#include <array>
#include <string>

namespace lowbit {

// Shortest usable context: a window of n tokens predicts n-1, so 1 position predicts nothing.
inline constexpr int kMinContext = 2;
// Largest RoPE base accepted: real models use 1e4..1e7 (Llama 3: 5e5); beyond 1e12 a header is corrupt.
inline constexpr float kMaxRopeTheta = 1e12f;

enum class Arch { Llama, Qwen2, Opt, Gemma3 };
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
  // Gemma 3 (off for the other architectures). RMSNorm gains are used as stored: GGUF files hold
  // Gemma's (1 + w) already folded (llama.cpp's converter adds the 1).
  bool post_norms = false;      // sandwich: RMSNorm of the attention and MLP outputs before each residual add
  bool qk_norm = false;         // per-head RMSNorm (gain [head_dim]) of q and k, before RoPE
  float embed_scale = 1.f;      // token embeddings times this (Gemma: sqrtf(dim) in f32, as llama.cpp)
  float attn_scale = 0.f;       // attention scores q·k · attn_scale; 0 = 1/sqrt(head_dim)
  int sliding_window = 0;       // local layers see the last `sliding_window` positions (own included); 0 = none
  int sliding_pattern = 0;      // with a window: layer l is global iff pattern > 0 and l % pattern == pattern-1
                                // (llama.cpp's set_swa_pattern; Gemma 3: 6 = five local, one global)
  float rope_theta_local = 10000.f;  // RoPE base of the local (sliding-window) layers
  int bos_id = 1, eos_id = 2;
  std::string source_format;  // "llama2c", "hf" or "gguf"
  std::string source_dtype = "F32";

  int kv_dim() const { return n_kv_heads * head_dim; }
  bool is_local_layer(int layer) const {
    return sliding_window > 0 && (sliding_pattern == 0 || layer % sliding_pattern < sliding_pattern - 1);
  }
  float layer_rope_theta(int layer) const { return is_local_layer(layer) ? rope_theta_local : rope_theta; }
  float attention_scale() const;
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
