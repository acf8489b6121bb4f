// lowbit/io/convert.cpp — llama2.c <-> HF conversion. defines: see convert.hpp
#include "lowbit/io/convert.hpp"

#include "lowbit/core/error.hpp"
#include "lowbit/io/hf.hpp"
#include "lowbit/io/llama2c.hpp"

namespace lowbit {

void convert_to_hf(const Model& m, const std::string& dir, DType dtype,
                   const std::function<void(const std::string&)>& before_config) {
  write_hf_model(m, dir, dtype, before_config);
}

void convert_to_llama2c(const Model& m, const std::string& path) {
  if (m.cfg.rope == RopeStyle::Interleaved) {
    write_llama2c_model(m, path);
    return;
  }
  if (m.cfg.arch != Arch::Llama || m.cfg.rope != RopeStyle::Half)
    LB_THROW(ConfigError, m.path, ": only LLaMA-architecture models convert to llama2.c (this is ",
             arch_name(m.cfg.arch), ")");
  Model tmp;
  tmp.cfg = m.cfg;
  tmp.cfg.rope = RopeStyle::Interleaved;
  tmp.path = m.path;
  tmp.tok_embed = m.tok_embed;
  tmp.final_norm_w = m.final_norm_w;
  tmp.lm_head = m.lm_head;
  for (int l = 0; l < m.cfg.n_layers; ++l) {
    BlockWeights b = m.load_block(l);
    b.q.w = permute_rope_rows(b.q.w, m.cfg.n_heads, false);
    b.k.w = permute_rope_rows(b.k.w, m.cfg.n_kv_heads, false);
    tmp.set_block(l, std::move(b));
  }
  write_llama2c_model(tmp, path);
}

}  // namespace lowbit
