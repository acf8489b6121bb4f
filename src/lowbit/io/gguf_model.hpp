// lowbit/io/gguf_model.hpp — a llama.cpp GGUF file as a lowbit Model: the decoder description from
// the metadata, llama.cpp's tensor names mapped to canonical names, tensors left mapped (block
// types are dequantised to f32 when a block is materialised).
// defines: lowbit::is_gguf_path, gguf_config, gguf_tensor_name, load_gguf_model
//
// Architectures: `general.architecture` = llama (SmolLM2, LLaMA 2/3 shapes) and gemma3.
//   llama : RMSNorm, SwiGLU, GQA. llama.cpp's converter permutes HF's q/k rows to Meta's
//           interleaved-pair order and llama.cpp runs LLAMA_ROPE_TYPE_NORM (interleaved) RoPE on them;
//           lowbit keeps the stored rows and uses RopeStyle::Interleaved, i.e. exactly llama.cpp's
//           function (write_hf_model permutes them back to HF's half-split order).
//   gemma3: NEOX (half-split) RoPE on unpermuted rows, norm gains as stored (the converter folded
//           Gemma's 1+w), sandwich norms, per-head q/k norms, GeGLU (tanh GELU), embeddings times
//           sqrtf(dim), sliding-window layers in llama.cpp's pattern (5 local : 1 global unless
//           `gemma3.attention.sliding_window_pattern` says otherwise) with RoPE base
//           `gemma3.rope.freq_base_swa` (default 10000), global layers with `gemma3.rope.freq_base`;
//           attention scale 1/sqrt(key_length) (1/sqrt(dim/heads) for the 62-layer 27B, as llama.cpp).
#pragma once

#include <memory>
#include <string>

#include "lowbit/io/gguf.hpp"
#include "lowbit/model/model.hpp"

namespace lowbit {

// True for a path ending in ".gguf" or a file that starts with the GGUF magic.
bool is_gguf_path(const std::string& path);
// The decoder description of a GGUF file's metadata (and the token embedding's shape for the
// vocabulary). InputError naming the file and the key for a missing/ill-typed key or an
// architecture or feature lowbit does not implement.
DecoderConfig gguf_config(const GgufFile& f);
// llama.cpp's tensor name for a canonical name ("" when GGUF has none): tok_embed -> token_embd.weight,
// layers.3.attn.q.weight -> blk.3.attn_q.weight, ...
std::string gguf_tensor_name(const std::string& canonical);
std::unique_ptr<Model> load_gguf_model(const std::string& path);

}  // namespace lowbit
