// lowbit/io/gguf_model.hpp — a GGUF file (llama.cpp's format) as a lowbit Model: the DecoderConfig
// from the `<arch>.*` metadata and llama.cpp's tensor names mapped onto the canonical names.
// defines: lowbit::load_gguf_model, lowbit::gguf_tensor_name, lowbit::gguf_config
//
// Architectures: `llama` (LLaMA, SmolLM2, Mistral-style GQA). llama.cpp's converter stores the q/k
// rows of a LLaMA permuted for its interleaved ("normal") RoPE — the llama2.c/Meta order — so the
// rows are used as stored with RopeStyle::Interleaved (no un-permutation; exports write them back
// as they are). Other architectures (gemma3, qwen2, ...) are refused with one line naming the file
// and the architecture. Weights stay mapped; block types are dequantised when a block is
// materialised (TensorRef::to_f32), exactly as ggml does (core/ggml_blocks).
#pragma once

#include <memory>
#include <string>

#include "lowbit/io/gguf.hpp"
#include "lowbit/model/model.hpp"

namespace lowbit {

// llama.cpp's name for a canonical tensor name ("layers.3.attn.q.weight" -> "blk.3.attn_q.weight",
// "tok_embed" -> "token_embd.weight"); empty when GGUF has no such tensor.
std::string gguf_tensor_name(const std::string& canonical);
// The decoder described by the file's metadata (InputError naming the file and the missing or
// inconsistent key).
DecoderConfig gguf_config(const GgufFile& f);
std::unique_ptr<Model> load_gguf_model(const std::string& path);

}  // namespace lowbit
