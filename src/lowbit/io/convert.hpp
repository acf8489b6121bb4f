// lowbit/io/convert.hpp — format conversion between llama2.c and Hugging Face checkpoints.
// defines: lowbit::convert_to_hf, lowbit::convert_to_llama2c
#pragma once

#include <functional>
#include <string>

#include "lowbit/core/dtype.hpp"
#include "lowbit/model/model.hpp"

namespace lowbit {

// `before_config`: as write_hf_model's (what else goes into the folder before config.json).
void convert_to_hf(const Model& m, const std::string& dir, DType dtype,
                   const std::function<void(const std::string&)>& before_config = nullptr);
// HF LLaMA (half-split RoPE) -> llama2.c (interleaved): the q/k row permutation is undone.
void convert_to_llama2c(const Model& m, const std::string& path);

}  // namespace lowbit
