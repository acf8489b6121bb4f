// lowbit/eval/generate.cpp — greedy decoding. defines: see generate.hpp
#include "lowbit/eval/generate.hpp"

#include <algorithm>

#include "lowbit/core/error.hpp"
#include "lowbit/model/forward.hpp"

namespace lowbit {

std::vector<int> generate_greedy(const Model& m, const std::vector<int>& prompt, const GenerateOptions& o,
                                 const std::function<void(int, int)>& on_token) {
  LB_INPUT_CHECK(!prompt.empty(), "generate: the prompt is empty (give text or keep BOS)");
  const int max_len = m.cfg.max_seq_len;
  LB_INPUT_CHECK(int(prompt.size()) < max_len, "generate: the prompt has ", prompt.size(),
                 " tokens, the model's context is ", max_len);
  KVCache cache;
  cache.init(m.cfg, max_len);
  Tensor logits;
  forward_logits(m, prompt.data(), 1, int(prompt.size()), logits, nullptr, &cache);
  std::vector<int> out;
  int prev = prompt.back();
  const int V = m.cfg.vocab_size;
  while (int(out.size()) < o.max_new_tokens) {
    const float* last = logits.row(logits.rows() - 1);
    const int next = int(std::max_element(last, last + V) - last);
    if (o.stop_at_eos && (next == m.cfg.eos_id || next == m.cfg.bos_id)) break;
    out.push_back(next);
    if (on_token) on_token(prev, next);
    prev = next;
    if (cache.len >= max_len) break;
    forward_logits(m, &next, 1, 1, logits, nullptr, &cache);
  }
  return out;
}

}  // namespace lowbit
