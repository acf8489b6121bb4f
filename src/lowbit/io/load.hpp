// lowbit/io/load.hpp — loading a model from any format lowbit reads, and the model/tokenizer check
// every command that takes both makes.
// defines: lowbit::load_model, check_tokenizer_fits
#pragma once

#include <memory>
#include <string>

#include "lowbit/model/model.hpp"

namespace lowbit {

// Load a model from a llama2.c .bin file, a GGUF file (.gguf) or a Hugging Face folder
// (config.json + safetensors).
// Validates shapes against the config and materialises the global tensors; blocks are mapped.
std::unique_ptr<Model> load_model(const std::string& path);

class Tokenizer;
// InputError naming both files and both sizes when the tokenizer's ids run past the model's
// vocabulary (an embedding padded beyond the tokenizer, as Qwen2's, is fine).
void check_tokenizer_fits(const Tokenizer& t, const std::string& tok_path, const Model& m);

}  // namespace lowbit
