// lowbit/model/convert.hpp — format conversion between llama2.c and Hugging Face checkpoints.
// defines: lowbit::convert_to_hf, lowbit::convert_to_llama2c
#pragma once

#include <string>

#include "lowbit/core/dtype.hpp"
#include "lowbit/model/model.hpp"

namespace lowbit {

void convert_to_hf(const Model& m, const std::string& dir, DType dtype);
// HF LLaMA (half-split RoPE) -> llama2.c (interleaved): the q/k row permutation is undone.
void convert_to_llama2c(const Model& m, const std::string& path);

}  // namespace lowbit
