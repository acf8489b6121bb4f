// lowbit/train/decoder_grad.hpp — the LLaMA-style decoder as a trainable function: parameters in
// one flat f32 vector, forward with saved activations, backward to a flat gradient, and the
// conversion to and from lowbit::Model (so checkpoints are written by the llama2.c / HF writers).
// defines: lowbit::train::ParamEntry, ParamLayout, TrainableDecoder, check_trainable_config,
//          init_parameters, to_model, parameters_from_model
//
// Supported: the architecture the llama2.c format holds — RMSNorm, interleaved RoPE, SwiGLU, no
// biases, n_kv_heads == n_heads, tied or untied classifier. Anything else is a ConfigError.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "lowbit/core/tensor.hpp"
#include "lowbit/model/config.hpp"
#include "lowbit/model/model.hpp"

namespace lowbit::train {

// One tensor inside the flat parameter vector, under its canonical name (model.hpp).
struct ParamEntry {
  std::string name;
  std::vector<int64_t> shape;
  size_t offset = 0;
  size_t size = 0;
  bool decay = false;  // AdamW weight decay: matrices yes, norm gains no
};

struct ParamLayout {
  std::vector<ParamEntry> entries;
  size_t total = 0;
  const ParamEntry& at(const std::string& name) const;  // InternalError if absent
};

// A trainable LLaMA config (llama2.c architecture, head_dim = dim / n_heads, bos 1, eos 2).
DecoderConfig llama_train_config(int dim, int hidden_dim, int n_layers, int n_heads, int vocab_size, int seq_len,
                                 bool tie_embeddings = true);
// Throws ConfigError naming `where` if the trainer cannot train this config.
void check_trainable_config(const DecoderConfig& c, const std::string& where);
ParamLayout make_layout(const DecoderConfig& c);

// llama2.c / nanoGPT initialisation: N(0, 0.02²) for embeddings and linears, the residual
// projections (attn.o, mlp.down) scaled by 1/sqrt(2·n_layers), norm gains 1. Seeded.
std::vector<float> init_parameters(const DecoderConfig& c, const ParamLayout& layout, uint64_t seed);

// The decoder with a reusable activation workspace (one instance per thread of training).
class TrainableDecoder {
 public:
  explicit TrainableDecoder(const DecoderConfig& c);
  const DecoderConfig& config() const { return cfg_; }
  const ParamLayout& layout() const { return layout_; }

  // Mean next-token cross-entropy of `tokens` [B*T] against `targets` [B*T] (target < 0 ignored).
  // With `grad` non-null, ∂loss/∂params is ADDED into it (layout order). With `logits` non-null
  // the logits [B*T, V] are copied there (before the gradient overwrites them).
  double forward_backward(const std::vector<float>& params, const int* tokens, const int* targets, int B, int T,
                          std::vector<float>* grad, Tensor* logits = nullptr);

 private:
  DecoderConfig cfg_;
  ParamLayout layout_;
  struct Layer {
    Tensor x_in, xn1, q, k, v, probs, att, x_mid, xn2, g, u, h;
  };
  std::vector<Layer> acts_;
  Tensor x_final, xnf, logits_;
  // Scratch for the backward pass.
  Tensor dx, dxn, dq, dk, dv, datt, dg, du, dh;
};

// A lowbit::Model (all blocks materialised) holding `params`; cfg.source_format = "llama2c".
std::unique_ptr<Model> to_model(const DecoderConfig& c, const std::vector<float>& params);
// The flat parameters of a loaded model (the config must pass check_trainable_config).
std::vector<float> parameters_from_model(const Model& m);

}  // namespace lowbit::train
