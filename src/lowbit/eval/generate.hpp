// lowbit/eval/generate.hpp — greedy decoding with a KV cache.
// defines: lowbit::GenerateOptions, lowbit::generate_greedy
#pragma once

#include <functional>
#include <vector>

#include "lowbit/model/model.hpp"

namespace lowbit {

struct GenerateOptions {
  int max_new_tokens = 256;
  bool stop_at_eos = true;  // stop on EOS, and on BOS as llama2.c does (BOS delimits stories)
};

// Continue `prompt` (already tokenized, BOS included if wanted) greedily. Returns the new tokens.
// `on_token` (optional) sees each token as it is produced, for streaming output.
std::vector<int> generate_greedy(const Model& m, const std::vector<int>& prompt, const GenerateOptions& o,
                                 const std::function<void(int prev, int tok)>& on_token = {});

}  // namespace lowbit
