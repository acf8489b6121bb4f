// lowbit/io/gguf_model.cpp — see gguf_model.hpp.
#include "lowbit/io/gguf_model.hpp"

#include <cmath>
#include <limits>

#include "lowbit/core/error.hpp"
#include "lowbit/io/tokenizer.hpp"

namespace lowbit {

namespace {

// canonical suffix of a block tensor -> llama.cpp's
struct NamePair {
  const char* canonical;
  const char* gguf;
};
constexpr NamePair kBlockNames[] = {
    {"attn_norm.weight", "attn_norm.weight"}, {"attn.q.weight", "attn_q.weight"},
    {"attn.k.weight", "attn_k.weight"},       {"attn.v.weight", "attn_v.weight"},
    {"attn.o.weight", "attn_output.weight"},  {"mlp_norm.weight", "ffn_norm.weight"},
    {"mlp.gate.weight", "ffn_gate.weight"},   {"mlp.up.weight", "ffn_up.weight"},
    {"mlp.down.weight", "ffn_down.weight"},
};
constexpr NamePair kGlobalNames[] = {
    {"tok_embed", "token_embd.weight"}, {"final_norm.weight", "output_norm.weight"}, {"lm_head", "output.weight"}};

int64_t need_int(const GgufFile& f, const std::string& key) {
  const int64_t v = f.at(key).as_int(f.path, key);
  LB_INPUT_CHECK(v > 0 && v <= std::numeric_limits<int>::max(), f.path, ": metadata key '", key, "' = ", v,
                 " must be a positive int");
  return v;
}
int64_t opt_int(const GgufFile& f, const std::string& key, int64_t def) {
  return f.has(key) ? need_int(f, key) : def;
}

}  // namespace

std::string gguf_tensor_name(const std::string& canonical) {
  for (const auto& p : kGlobalNames)
    if (canonical == p.canonical) return p.gguf;
  if (canonical.rfind("layers.", 0) == 0) {
    const size_t dot = canonical.find('.', 7);
    if (dot == std::string::npos) return "";
    const std::string layer = canonical.substr(7, dot - 7), suffix = canonical.substr(dot + 1);
    for (const auto& p : kBlockNames)
      if (suffix == p.canonical) return "blk." + layer + "." + p.gguf;
  }
  return "";
}

DecoderConfig gguf_config(const GgufFile& f) {
  const std::string arch = f.at("general.architecture").as_string(f.path, "general.architecture");
  LB_INPUT_CHECK(arch == "llama", f.path, ": general.architecture '", arch,
                 "' is not supported by lowbit's decoder yet (supported: llama)");
  const std::string p = arch + ".";
  DecoderConfig c;
  c.arch = Arch::Llama;
  c.n_layers = int(need_int(f, p + "block_count"));
  c.dim = int(need_int(f, p + "embedding_length"));
  c.hidden_dim = int(need_int(f, p + "feed_forward_length"));
  c.n_heads = int(need_int(f, p + "attention.head_count"));
  c.n_kv_heads = int(opt_int(f, p + "attention.head_count_kv", c.n_heads));
  LB_INPUT_CHECK(c.dim % c.n_heads == 0, f.path, ": ", p, "embedding_length ", c.dim, " is not a multiple of ",
                 p, "attention.head_count ", c.n_heads);
  c.head_dim = int(opt_int(f, p + "attention.key_length", c.dim / c.n_heads));
  LB_INPUT_CHECK(opt_int(f, p + "attention.value_length", c.head_dim) == c.head_dim, f.path, ": ", p,
                 "attention.value_length differs from key_length (not supported)");
  LB_INPUT_CHECK(opt_int(f, p + "rope.dimension_count", c.head_dim) == c.head_dim, f.path, ": ", p,
                 "rope.dimension_count differs from the head size (partial RoPE is not supported)");
  c.max_seq_len = int(opt_int(f, p + "context_length", 2048));
  c.norm = NormKind::RMSNorm;
  c.norm_eps = float(f.at(p + "attention.layer_norm_rms_epsilon").as_float(f.path, p + "attention.layer_norm_rms_epsilon"));
  LB_INPUT_CHECK(std::isfinite(c.norm_eps) && c.norm_eps > 0, f.path, ": ", p,
                 "attention.layer_norm_rms_epsilon must be positive");
  c.rope = RopeStyle::Interleaved;  // the stored q/k rows are in llama.cpp's (Meta) order
  c.rope_theta = f.has(p + "rope.freq_base") ? float(f.at(p + "rope.freq_base").as_float(f.path, p + "rope.freq_base"))
                                             : 10000.f;
  LB_INPUT_CHECK(!f.has(p + "rope.scaling.type") ||
                     f.at(p + "rope.scaling.type").as_string(f.path, p + "rope.scaling.type") == "none",
                 f.path, ": ", p, "rope.scaling.type is not supported");
  c.act = Activation::SiLU;
  c.gated_mlp = true;
  const GgufTensorInfo* emb = f.find_tensor("token_embd.weight");
  LB_INPUT_CHECK(emb, f.path, ": missing tensor 'token_embd.weight'");
  LB_INPUT_CHECK(emb->shape.size() == 2, f.path, ": tensor 'token_embd.weight' must be 2-D");
  c.vocab_size = int(emb->shape[0]);
  c.tie_embeddings = f.find_tensor("output.weight") == nullptr;
  if (f.has("tokenizer.ggml.bos_token_id")) c.bos_id = int(f.at("tokenizer.ggml.bos_token_id").as_int(f.path, "tokenizer.ggml.bos_token_id"));
  if (f.has("tokenizer.ggml.eos_token_id")) c.eos_id = int(f.at("tokenizer.ggml.eos_token_id").as_int(f.path, "tokenizer.ggml.eos_token_id"));
  c.source_format = "gguf";
  std::string dts;
  for (const auto& t : f.tensors) {
    const TensorRef r = f.tensor_ref(t);  // refuses unsupported types, naming the tensor
    const std::string n = dtype_name(r.dtype);
    if (dts.find(n) == std::string::npos) dts += (dts.empty() ? "" : "+") + n;
  }
  c.source_dtype = dts;
  c.validate(f.path);
  return c;
}

std::unique_ptr<Model> load_gguf_model(const std::string& path) {
  std::shared_ptr<GgufFile> f = read_gguf(path);
  auto m = std::make_unique<Model>();
  m->cfg = gguf_config(*f);
  m->path = path;
  if (f->has("tokenizer.ggml.tokens")) check_gguf_vocab(*f);  // the vocabulary matches the embedding
  for (const auto& t : f->tensors) {
    std::string canon;
    if (t.name.rfind("blk.", 0) == 0) {
      const size_t dot = t.name.find('.', 4);
      if (dot == std::string::npos) continue;
      const std::string layer = t.name.substr(4, dot - 4), suffix = t.name.substr(dot + 1);
      for (const auto& p : kBlockNames)
        if (suffix == p.gguf) canon = "layers." + layer + "." + p.canonical;
    } else {
      for (const auto& p : kGlobalNames)
        if (t.name == p.gguf) canon = p.canonical;
    }
    if (canon.empty()) continue;  // e.g. rope_freqs: recomputed
    TensorRef r = f->tensor_ref(t);  // keeps the mapping alive
    m->source.emplace(canon, std::move(r));
  }
  finish_model_load(*m);  // every tensor the config needs, with its shape (InputError naming it)
  return m;
}

}  // namespace lowbit
