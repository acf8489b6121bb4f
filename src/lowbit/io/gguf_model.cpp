// lowbit/io/gguf_model.cpp — GGUF metadata -> DecoderConfig, llama.cpp tensor names -> canonical.
// defines: see gguf_model.hpp
#include "lowbit/io/gguf_model.hpp"

#include <cmath>
#include <cstdio>
#include <cstring>
#include <map>

#include "lowbit/core/error.hpp"
#include "lowbit/io/gguf.hpp"
#include "lowbit/model/model.hpp"

namespace lowbit {

namespace {

// Typed metadata access; every error names the file and the key.
struct Meta {
  const GgufFile& f;
  std::string arch;  // key prefix
  std::string k(const std::string& suffix) const { return arch + "." + suffix; }
  bool has(const std::string& key) const { return f.has(key); }
  int64_t integer(const std::string& key) const {
    const int64_t v = f.at(key).as_int(f.path, key);
    LB_INPUT_CHECK(v >= INT32_MIN && v <= INT32_MAX, f.path, ": metadata key '", key, "' = ", v, " is out of range");
    return v;
  }
  int64_t integer(const std::string& key, int64_t def) const { return has(key) ? integer(key) : def; }
  double number(const std::string& key) const {
    const double v = f.at(key).as_float(f.path, key);
    LB_INPUT_CHECK(std::isfinite(v) && std::fabs(v) <= 3.0e38, f.path, ": metadata key '", key, "' = ", v,
                   " is not a finite f32 value");
    return v;
  }
  double number(const std::string& key, double def) const { return has(key) ? number(key) : def; }
  // A per-layer key may be one integer or an array of them; lowbit needs them all equal.
  int64_t uniform_int(const std::string& key, int64_t def) const {
    if (!has(key)) return def;
    const GgufValue& v = f.at(key);
    if (v.type != GgufType::ARRAY) return integer(key);
    const auto& a = v.as_array(f.path, key);
    LB_INPUT_CHECK(!a.empty(), f.path, ": metadata key '", key, "' is an empty array");
    const int64_t first = a[0].as_int(f.path, key);
    for (const auto& e : a)
      LB_INPUT_CHECK(e.as_int(f.path, key) == first, f.path, ": metadata key '", key,
                     "' differs between layers; lowbit needs one value for every layer");
    return first;
  }
};

// ggml_type ids of GGUF tensor infos, named for messages.
const char* ftype_name(int64_t ft) {
  static const std::map<int64_t, const char*> names = {
      {0, "F32"},     {1, "F16"},     {2, "Q4_0"},    {3, "Q4_1"},    {7, "Q8_0"},    {8, "Q5_0"},
      {9, "Q5_1"},    {10, "Q2_K"},   {11, "Q3_K_S"}, {12, "Q3_K_M"}, {13, "Q3_K_L"}, {14, "Q4_K_S"},
      {15, "Q4_K_M"}, {16, "Q5_K_S"}, {17, "Q5_K_M"}, {18, "Q6_K"},   {32, "BF16"}};
  auto it = names.find(ft);
  return it == names.end() ? "GGUF" : it->second;
}

// llama.cpp per-block tensor suffix -> canonical suffix.
const std::map<std::string, std::string>& block_names() {
  static const std::map<std::string, std::string> m = {
      {"attn_norm.weight", "attn_norm.weight"},
      {"ffn_norm.weight", "mlp_norm.weight"},
      {"post_attention_norm.weight", "post_attn_norm.weight"},
      {"post_ffw_norm.weight", "post_mlp_norm.weight"},
      {"attn_q_norm.weight", "attn.q_norm.weight"},
      {"attn_k_norm.weight", "attn.k_norm.weight"},
      {"attn_q.weight", "attn.q.weight"},
      {"attn_q.bias", "attn.q.bias"},
      {"attn_k.weight", "attn.k.weight"},
      {"attn_k.bias", "attn.k.bias"},
      {"attn_v.weight", "attn.v.weight"},
      {"attn_v.bias", "attn.v.bias"},
      {"attn_output.weight", "attn.o.weight"},
      {"attn_output.bias", "attn.o.bias"},
      {"ffn_gate.weight", "mlp.gate.weight"},
      {"ffn_up.weight", "mlp.up.weight"},
      {"ffn_up.bias", "mlp.up.bias"},
      {"ffn_down.weight", "mlp.down.weight"},
      {"ffn_down.bias", "mlp.down.bias"}};
  return m;
}

// GGUF tensor name -> canonical name ("" when lowbit has no use for it).
std::string canonical_of(const std::string& g) {
  if (g == "token_embd.weight") return kTokEmbed;
  if (g == "output_norm.weight") return kFinalNormW;
  if (g == "output.weight") return kLmHead;
  if (g.rfind("blk.", 0) == 0) {
    const size_t dot = g.find('.', 4);
    if (dot == std::string::npos || dot == 4) return "";
    const std::string idx = g.substr(4, dot - 4);
    for (char ch : idx)
      if (ch < '0' || ch > '9') return "";
    auto it = block_names().find(g.substr(dot + 1));
    if (it == block_names().end()) return "";
    return "layers." + idx + "." + it->second;
  }
  return "";
}

// The sliding-window pattern of `gemma3.attention.sliding_window_pattern` given as one bool per layer
// (llama.cpp reads the array form first): the period P with local(l) == (l % P < P - 1), or -1.
int pattern_period(const std::vector<bool>& local) {
  const int n = int(local.size());
  for (int p = 0; p <= n; ++p) {
    bool ok = true;
    for (int l = 0; l < n && ok; ++l) ok = local[size_t(l)] == (p == 0 || l % p < p - 1);
    if (ok) return p;
  }
  return -1;
}

}  // namespace

bool is_gguf_path(const std::string& path) {
  if (path.size() >= 5) {
    std::string ext = path.substr(path.size() - 5);
    for (auto& ch : ext) ch = char(std::tolower(static_cast<unsigned char>(ch)));
    if (ext == ".gguf") return true;
  }
  char magic[4] = {};
  FILE* fp = std::fopen(path.c_str(), "rb");
  if (!fp) return false;
  const size_t got = std::fread(magic, 1, 4, fp);
  std::fclose(fp);
  return got == 4 && std::memcmp(magic, "GGUF", 4) == 0;
}

std::string gguf_tensor_name(const std::string& canon) {
  if (canon == kTokEmbed) return "token_embd.weight";
  if (canon == kFinalNormW) return "output_norm.weight";
  if (canon == kLmHead) return "output.weight";
  if (canon.rfind("layers.", 0) == 0) {
    const size_t dot = canon.find('.', 7);
    if (dot == std::string::npos) return "";
    const std::string suffix = canon.substr(dot + 1);
    for (const auto& [g, c] : block_names())
      if (c == suffix) return "blk." + canon.substr(7, dot - 7) + "." + g;
  }
  return "";
}

DecoderConfig gguf_config(const GgufFile& f) {
  const std::string& file = f.path;
  const std::string arch = f.at("general.architecture").as_string(file, "general.architecture");
  Meta m{f, arch};
  DecoderConfig c;
  c.source_format = "gguf";
  c.source_dtype = ftype_name(m.integer("general.file_type", -1));
  if (arch == "llama") {
    c.arch = Arch::Llama;
    c.rope = RopeStyle::Interleaved;  // llama.cpp's permuted rows + LLAMA_ROPE_TYPE_NORM
    c.act = Activation::SiLU;
  } else if (arch == "gemma3") {
    c.arch = Arch::Gemma3;
    c.rope = RopeStyle::Half;  // LLAMA_ROPE_TYPE_NEOX, rows as HF stores them
    c.act = Activation::GELUTanh;
    c.post_norms = true;
    c.qk_norm = true;
  } else {
    LB_FAIL_INPUT(file, ": metadata key 'general.architecture' = '", arch,
                  "' is not supported (llama, gemma3)");
  }
  c.norm = NormKind::RMSNorm;
  c.gated_mlp = true;
  c.n_layers = int(m.integer(m.k("block_count")));
  c.dim = int(m.integer(m.k("embedding_length")));
  c.hidden_dim = int(m.uniform_int(m.k("feed_forward_length"), -1));
  LB_INPUT_CHECK(c.hidden_dim != -1, file, ": missing metadata key '", m.k("feed_forward_length"), "'");
  c.n_heads = int(m.uniform_int(m.k("attention.head_count"), -1));
  LB_INPUT_CHECK(c.n_heads != -1, file, ": missing metadata key '", m.k("attention.head_count"), "'");
  c.n_kv_heads = int(m.uniform_int(m.k("attention.head_count_kv"), c.n_heads));
  LB_INPUT_CHECK(c.n_heads > 0 && c.dim > 0, file, ": metadata keys '", m.k("attention.head_count"), "' = ",
                 c.n_heads, " and '", m.k("embedding_length"), "' = ", c.dim, " must be positive");
  c.head_dim = int(m.integer(m.k("attention.key_length"), c.dim / c.n_heads));
  const int64_t vlen = m.integer(m.k("attention.value_length"), c.head_dim);
  LB_INPUT_CHECK(vlen == c.head_dim, file, ": metadata key '", m.k("attention.value_length"), "' = ", vlen,
                 " differs from the key length ", c.head_dim, "; lowbit needs equal q/k/v head sizes");
  const int64_t n_rot = m.integer(m.k("rope.dimension_count"), c.head_dim);
  LB_INPUT_CHECK(n_rot == c.head_dim, file, ": metadata key '", m.k("rope.dimension_count"), "' = ", n_rot,
                 " rotates part of each head; lowbit implements full-head RoPE (", c.head_dim, ")");
  c.max_seq_len = int(m.integer(m.k("context_length")));
  LB_INPUT_CHECK(c.max_seq_len >= kMinContext, file, ": metadata key '", m.k("context_length"), "' = ", c.max_seq_len,
                 " must be at least ", kMinContext, " (a window of n tokens predicts n-1)");
  c.norm_eps = float(m.number(m.k("attention.layer_norm_rms_epsilon")));
  LB_INPUT_CHECK(c.norm_eps > 0.f && c.norm_eps < 1.f, file, ": metadata key '", m.k("attention.layer_norm_rms_epsilon"),
                 "' = ", c.norm_eps, " must be in (0, 1)");
  c.rope_theta = float(m.number(m.k("rope.freq_base"), 10000.0));
  if (m.has(m.k("rope.scaling.type"))) {
    const std::string t = f.at(m.k("rope.scaling.type")).as_string(file, m.k("rope.scaling.type"));
    const double factor = m.number(m.k("rope.scaling.factor"), 1.0);
    LB_INPUT_CHECK(t == "none" || factor == 1.0, file, ": metadata key '", m.k("rope.scaling.type"), "' = '", t,
                   "' (factor ", factor, "); lowbit implements plain RoPE only");
  }
  if (arch == "gemma3") {
    c.embed_scale = std::sqrt(float(c.dim));  // llama.cpp: ggml_scale(inpL, sqrtf(n_embd)) in f32
    // llama.cpp (llama_model_gemma3::load_arch_hparams): 1/sqrt(n_embd/n_head) for the 27B, whose
    // query_pre_attn_scalar is hidden/heads, else 1/sqrt(key_length).
    c.attn_scale = c.n_layers == 62 ? 1.f / std::sqrt(float(c.dim / c.n_heads)) : 1.f / std::sqrt(float(c.head_dim));
    c.sliding_window = int(m.integer(m.k("attention.sliding_window"), 0));
    LB_INPUT_CHECK(c.sliding_window >= 0, file, ": metadata key '", m.k("attention.sliding_window"), "' = ",
                   c.sliding_window, " is negative");
    c.sliding_pattern = 6;
    const std::string pk = m.k("attention.sliding_window_pattern");
    if (m.has(pk)) {
      const GgufValue& v = f.at(pk);
      if (v.type == GgufType::ARRAY) {
        std::vector<bool> local;
        for (const auto& e : v.as_array(file, pk)) local.push_back(e.as_bool(file, pk));
        LB_INPUT_CHECK(int(local.size()) == c.n_layers, file, ": metadata key '", pk, "' has ", local.size(),
                       " entries for ", c.n_layers, " layers");
        c.sliding_pattern = pattern_period(local);
        LB_INPUT_CHECK(c.sliding_pattern >= 0, file, ": metadata key '", pk,
                       "' is not a periodic local/global pattern (n-1 local layers, then one global)");
      } else {
        c.sliding_pattern = int(m.integer(pk));
      }
    }
    c.rope_theta_local = float(m.number(m.k("rope.freq_base_swa"), 10000.0));
    for (const char* cap : {"final_logit_softcapping", "attn_logit_softcapping"}) {
      const double v = m.number(m.k(cap), 0.0);
      LB_INPUT_CHECK(v == 0.0, file, ": metadata key '", m.k(cap), "' = ", v,
                     "; lowbit implements Gemma 3 without logit soft-capping");
    }
  }
  // Vocabulary: llama.cpp takes it from the tokenizer; the token embedding must agree with it.
  const GgufTensorInfo* emb = f.find_tensor("token_embd.weight");
  LB_INPUT_CHECK(emb, file, ": missing tensor 'token_embd.weight'");
  LB_INPUT_CHECK(emb->shape.size() == 2, file, ": tensor 'token_embd.weight' has ", emb->shape.size(),
                 " dimensions, expected [vocab, ", c.dim, "]");
  const int64_t rows = emb->shape[0];
  c.vocab_size = int(std::min<int64_t>(rows, INT32_MAX));
  if (f.has("tokenizer.ggml.tokens")) {
    const int64_t nt = int64_t(f.at("tokenizer.ggml.tokens").as_array(file, "tokenizer.ggml.tokens").size());
    LB_INPUT_CHECK(nt == rows, file, ": metadata key 'tokenizer.ggml.tokens' holds ", nt,
                   " tokens but tensor 'token_embd.weight' has ", rows, " rows");
  }
  if (m.has(m.k("vocab_size"))) {
    const int64_t nv = m.integer(m.k("vocab_size"));
    LB_INPUT_CHECK(nv == rows, file, ": metadata key '", m.k("vocab_size"), "' = ", nv,
                   " but tensor 'token_embd.weight' has ", rows, " rows");
  }
  c.tie_embeddings = f.find_tensor("output.weight") == nullptr;
  c.qkv_bias = f.find_tensor("blk.0.attn_q.bias") != nullptr;
  c.o_bias = f.find_tensor("blk.0.attn_output.bias") != nullptr;
  c.mlp_bias = f.find_tensor("blk.0.ffn_up.bias") != nullptr;
  c.bos_id = int(m.integer("tokenizer.ggml.bos_token_id", 1));
  c.eos_id = int(m.integer("tokenizer.ggml.eos_token_id", 2));
  try {
    c.validate(file);
  } catch (const ConfigError& e) {
    throw InputError(e.what(), e.src_file(), e.src_line());
  }
  return c;
}

std::unique_ptr<Model> load_gguf_model(const std::string& path) {
  std::shared_ptr<GgufFile> f = read_gguf(path);
  auto m = std::make_unique<Model>();
  m->path = path;
  m->cfg = gguf_config(*f);
  for (const auto& t : f->tensors) {
    const std::string canon = canonical_of(t.name);
    LB_INPUT_CHECK(!canon.empty(), path, ": tensor '", t.name, "' has no place in the ", arch_name(m->cfg.arch),
                   " decoder lowbit implements (", f->tensors.size(), " tensors in the file)");
    if (canon.rfind("layers.", 0) == 0) {
      const int layer = std::atoi(canon.c_str() + 7);
      LB_INPUT_CHECK(layer < m->cfg.n_layers, path, ": tensor '", t.name, "' is past the ", m->cfg.n_layers,
                     " layers of metadata key '", arch_name(m->cfg.arch), ".block_count'");
    }
    m->source.emplace(canon, f->tensor_ref(t));  // mapped view; the mapping lives as long as a view does
  }
  try {
    finish_model_load(*m);
  } catch (const InputError& e) {  // name a missing tensor as the file does
    std::string msg = e.what();
    const std::string key = "missing tensor for '";
    if (auto p = msg.find(key); p != std::string::npos) {
      const std::string canon = msg.substr(p + key.size(), msg.find('\'', p + key.size()) - p - key.size());
      LB_FAIL_INPUT(path, ": missing tensor '", gguf_tensor_name(canon), "' (", m->cfg.n_layers, " layers, ",
                    arch_name(m->cfg.arch), " per the metadata)");
    }
    throw;
  }
  return m;
}

}  // namespace lowbit
