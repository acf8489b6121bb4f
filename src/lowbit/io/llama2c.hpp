// lowbit/io/llama2c.hpp — llama2.c checkpoints (legacy version-0 format).
// defines: lowbit::Llama2cHeader, parse_llama2c_header, load_llama2c_model, write_llama2c_model
//
// Layout: 7 int32 (dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size, seq_len; a negative
// vocab_size means the classifier is stored separately), then f32 arrays token_embedding[V,D],
// rms_att[L,D], wq[L,D,D], wk[L,KV,D], wv[L,KV,D], wo[L,D,D], rms_ffn[L,D], w1[L,H,D], w2[L,D,H],
// w3[L,H,D], rms_final[D], freq_cis_real[S,hd/2], freq_cis_imag[S,hd/2], wcls[V,D] if unshared.
// RoPE is interleaved, theta 10000, RMSNorm eps 1e-5, SwiGLU (w1 = gate, w3 = up, w2 = down).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "lowbit/model/config.hpp"

namespace lowbit {

class Model;

struct Llama2cHeader {
  DecoderConfig cfg;
  bool shared_classifier = true;
  uint64_t expected_size = 0;  // bytes the file must have
};

// Validate the 28-byte header of a file of `file_size` bytes. Throws InputError naming `file`.
Llama2cHeader parse_llama2c_header(std::string_view bytes, uint64_t file_size, const std::string& file);
std::unique_ptr<Model> load_llama2c_model(const std::string& path);
// Write a model in llama2.c format (LLaMA architecture with interleaved RoPE, RMSNorm, SwiGLU and
// no biases only; anything else is refused with a ConfigError). Atomic (temp file + rename).
void write_llama2c_model(const Model& m, const std::string& path);

}  // namespace lowbit
