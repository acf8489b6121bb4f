// lowbit/io/hf.hpp — Hugging Face checkpoints: config.json + model.safetensors (or a sharded
// model.safetensors.index.json) for the LLaMA, Qwen2, Gemma 3 (gemma3_text) and OPT architectures,
// f32/f16/bf16.
// defines: lowbit::parse_hf_config, load_hf_model, write_hf_model, hf_tensor_name, hf_norm_shift,
//          hf_stored_norm, permute_rope_rows (llama2.c interleaved <-> HF half-split)
//
// Gemma 3: HF's Gemma3RMSNorm computes x̂·(1 + w) and stores w; lowbit holds the gain 1 + w (as GGUF
// does), so loading adds 1 to every Gemma norm (in f32, as HF does) and writing subtracts it.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "lowbit/core/dtype.hpp"
#include "lowbit/core/tensor.hpp"
#include "lowbit/model/config.hpp"

namespace lowbit {

class Model;

// Parse config.json text. Unknown architectures and features lowbit does not implement
// (rope_scaling other than rope_type "default", post-LN OPT, OPT projection dims) are refused with a ConfigError naming the key.
DecoderConfig parse_hf_config(const std::string& json_text, const std::string& file);
std::unique_ptr<Model> load_hf_model(const std::string& dir);

// The HF tensor name of a canonical name for the given architecture ("" if it has none).
std::string hf_tensor_name(Arch arch, const std::string& canonical);

// 1 for the canonical names of Gemma 3 norm gains (stored by HF as gain - 1), else 0.
float hf_norm_shift(Arch arch, const std::string& canonical);
// The tensor as HF stores it: `t - hf_norm_shift(arch, canonical)`.
Tensor hf_stored_norm(Arch arch, const std::string& canonical, const Tensor& t);

// Reorder the rows of a q or k projection [n_heads*hd, in] so that interleaved-pair RoPE becomes
// half-split RoPE (to_half=true, as HF's convert_llama_weights_to_hf does) or back.
Tensor permute_rope_rows(const Tensor& w, int n_heads, bool to_half);

// Write `m` as an HF folder (config.json + model.safetensors) in `dtype`. A llama2.c model with
// interleaved RoPE is written with permuted q/k rows so HF's half-split RoPE gives the same logits.
// `before_config(dir)`, when given, writes what else belongs in the folder (the tokenizer) after the
// weights and before config.json, which comes last.
void write_hf_model(const Model& m, const std::string& dir, DType dtype = DType::F32,
                    const std::function<void(const std::string&)>& before_config = nullptr);

}  // namespace lowbit
