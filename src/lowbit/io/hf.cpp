// lowbit/io/hf.cpp — Hugging Face config.json and safetensors adapters for LLaMA, Qwen2, OPT.
// defines: see hf.hpp
#include "lowbit/io/hf.hpp"

#include <sys/stat.h>

#include <cmath>
#include <nlohmann/json.hpp>
#include <set>

#include "lowbit/core/error.hpp"
#include "lowbit/core/mapped_file.hpp"
#include "lowbit/io/gptq_pack.hpp"
#include "lowbit/io/safetensors.hpp"
#include "lowbit/model/model.hpp"

namespace lowbit {

using nlohmann::json;

namespace {

// Typed access to config.json keys: errors name the file and the key.
struct ConfigReader {
  const json& j;
  const std::string& file;
  bool has(const char* k) const { return j.contains(k) && !j[k].is_null(); }
  int get_int(const char* k) const {
    if (!has(k)) LB_THROW(ConfigError, file, ": missing key '", k, "'");
    if (!j[k].is_number_integer()) LB_THROW(ConfigError, file, ": key '", k, "' must be an integer, got ", j[k].dump());
    long long v = j[k].get<long long>();
    if (v < INT32_MIN || v > INT32_MAX) LB_THROW(ConfigError, file, ": key '", k, "' = ", v, " is out of range");
    return int(v);
  }
  int get_int(const char* k, int def) const { return has(k) ? get_int(k) : def; }
  // A count or size: at least `lo`, named by its key when it is not.
  int get_count(const char* k, int lo = 1) const { return at_least(k, get_int(k), lo); }
  int get_count(const char* k, int def, int lo) const { return has(k) ? get_count(k, lo) : def; }
  int at_least(const char* k, int v, int lo) const {
    if (v < lo) LB_THROW(ConfigError, file, ": key '", k, "' = ", v, " must be at least ", lo);
    return v;
  }
  // A norm epsilon: in (0, 1), named by its key.
  float get_eps(const char* k, float def) const {
    const float v = get_float(k, def);
    if (!(v > 0.f && v < 1.f)) LB_THROW(ConfigError, file, ": key '", k, "' = ", j[k].dump(), " must be in (0, 1)");
    return v;
  }
  float get_float(const char* k, float def) const {
    if (!has(k)) return def;
    if (!j[k].is_number()) LB_THROW(ConfigError, file, ": key '", k, "' must be a number, got ", j[k].dump());
    const double v = j[k].get<double>();
    if (!std::isfinite(v) || std::fabs(v) > 3.0e38)
      LB_THROW(ConfigError, file, ": key '", k, "' = ", j[k].dump(), " is not a finite f32 value");
    return float(v);
  }
  // transformers' `rope_scaling`: absent, null or of rope_type "default" (plain RoPE, what lowbit
  // computes) is accepted; any other type (llama3, linear, dynamic, yarn, ...) is refused naming it.
  void check_rope_scaling() const {
    if (!has("rope_scaling")) return;
    const json& rs = j["rope_scaling"];
    if (!rs.is_object()) LB_THROW(ConfigError, file, ": key 'rope_scaling' must be an object or null, got ", rs.dump());
    const char* tk = rs.contains("rope_type") ? "rope_type" : "type";  // older configs spell it "type"
    const std::string type = rs.contains(tk) && rs[tk].is_string() ? rs[tk].get<std::string>() : std::string();
    if (type == "default") return;
    LB_THROW(ConfigError, file, ": key 'rope_scaling' has ", tk, " ", type.empty() ? rs.dump() : "'" + type + "'",
             "; lowbit implements plain RoPE only (rope_scaling null or of rope_type 'default')");
  }
  bool get_bool(const char* k, bool def) const {
    if (!has(k)) return def;
    if (!j[k].is_boolean()) LB_THROW(ConfigError, file, ": key '", k, "' must be true/false, got ", j[k].dump());
    return j[k].get<bool>();
  }
  std::string get_str(const char* k, const std::string& def) const {
    if (!has(k)) return def;
    if (!j[k].is_string()) LB_THROW(ConfigError, file, ": key '", k, "' must be a string, got ", j[k].dump());
    return j[k].get<std::string>();
  }
  int token_id(const char* k, int def) const {
    if (!has(k)) return def;
    if (j[k].is_array() && !j[k].empty() && j[k][0].is_number_integer()) return j[k][0].get<int>();  // list of eos ids
    return get_int(k);
  }
};

// The activation under key `k` (hidden_act, hidden_activation or activation_function).
Activation parse_act(const ConfigReader& r, const char* k, const std::string& def) {
  const std::string s = r.get_str(k, def);
  if (s == "silu" || s == "swish") return Activation::SiLU;
  if (s == "relu") return Activation::ReLU;
  if (s == "gelu") return Activation::GELU;
  if (s == "gelu_new" || s == "gelu_pytorch_tanh" || s == "gelu_fast") return Activation::GELUTanh;
  LB_THROW(ConfigError, r.file, ": key '", k, "' = '", s,
           "' is not a supported activation (silu, relu, gelu, gelu_new, gelu_pytorch_tanh)");
}

}  // namespace

DecoderConfig parse_hf_config(const std::string& text, const std::string& file) {
  json j;
  try {
    j = json::parse(text);
  } catch (const json::exception& e) {
    LB_THROW(ConfigError, file, ": not valid JSON: ", e.what());
  }
  if (!j.is_object()) LB_THROW(ConfigError, file, ": config.json must be a JSON object");
  ConfigReader r{j, file};
  std::string mt = r.get_str("model_type", "");
  DecoderConfig c;
  c.source_format = "hf";
  c.source_dtype = r.get_str("torch_dtype", "float32");
  if (mt == "llama" || mt == "mistral" || mt == "qwen2") {
    c.arch = mt == "qwen2" ? Arch::Qwen2 : Arch::Llama;
    c.dim = r.get_count("hidden_size");
    c.hidden_dim = r.get_count("intermediate_size");
    c.n_layers = r.get_count("num_hidden_layers");
    c.n_heads = r.get_count("num_attention_heads");
    c.n_kv_heads = r.get_count("num_key_value_heads", c.n_heads, 1);
    c.vocab_size = r.get_count("vocab_size");
    c.max_seq_len = r.get_count("max_position_embeddings", kMinContext);
    c.head_dim = r.get_count("head_dim", c.dim / c.n_heads, 1);
    c.norm = NormKind::RMSNorm;
    c.norm_eps = r.get_eps("rms_norm_eps", 1e-6f);
    c.rope = RopeStyle::Half;
    c.rope_theta = r.get_float("rope_theta", 10000.f);
    c.act = parse_act(r, "hidden_act", "silu");
    c.gated_mlp = true;
    bool attn_bias = r.get_bool("attention_bias", false);
    c.qkv_bias = c.arch == Arch::Qwen2 ? true : attn_bias;
    c.o_bias = c.arch == Arch::Qwen2 ? false : attn_bias;
    c.mlp_bias = r.get_bool("mlp_bias", false);
    c.tie_embeddings = r.get_bool("tie_word_embeddings", false);
    r.check_rope_scaling();
    if (r.has("sliding_window") && r.get_bool("use_sliding_window", false))
      LB_THROW(ConfigError, file, ": key 'use_sliding_window' is true; lowbit implements full attention only");
  } else if (mt == "gemma3_text") {
    c.arch = Arch::Gemma3;
    c.dim = r.get_count("hidden_size");
    c.hidden_dim = r.get_count("intermediate_size");
    c.n_layers = r.get_count("num_hidden_layers");
    c.n_heads = r.get_count("num_attention_heads");
    c.n_kv_heads = r.get_count("num_key_value_heads", c.n_heads, 1);
    c.head_dim = r.get_count("head_dim", 256, 1);
    c.vocab_size = r.get_count("vocab_size");
    c.max_seq_len = r.get_count("max_position_embeddings", kMinContext);
    c.norm = NormKind::RMSNorm;
    c.norm_eps = r.get_eps("rms_norm_eps", 1e-6f);
    c.rope = RopeStyle::Half;
    c.rope_theta = r.get_float("rope_theta", 1e6f);
    c.rope_theta_local = r.get_float("rope_local_base_freq", 10000.f);
    c.act = parse_act(r, "hidden_activation", "gelu_pytorch_tanh");
    c.gated_mlp = true;
    c.post_norms = c.qk_norm = true;
    c.qkv_bias = c.o_bias = r.get_bool("attention_bias", false);
    c.tie_embeddings = r.get_bool("tie_word_embeddings", true);
    const float qpas = r.get_float("query_pre_attn_scalar", float(c.head_dim));
    if (!(qpas > 0.f)) LB_THROW(ConfigError, file, ": key 'query_pre_attn_scalar' must be positive");
    c.attn_scale = float(1.0 / std::sqrt(double(qpas)));
    // HF multiplies the embeddings by sqrt(hidden) cast to the weights' dtype (Gemma3TextScaledWordEmbedding).
    const float sq = std::sqrt(float(std::max(c.dim, 0)));
    c.embed_scale = c.source_dtype == "bfloat16" ? bf16_to_f32(f32_to_bf16(sq))
                    : c.source_dtype == "float16" ? f16_to_f32(f32_to_f16(sq)) : sq;
    c.sliding_window = r.has("sliding_window") ? r.get_int("sliding_window") : 0;
    c.sliding_pattern = r.get_int("sliding_window_pattern", 6);
    if (r.has("layer_types")) {
      const json& lt = j["layer_types"];
      if (!lt.is_array() || int(lt.size()) != c.n_layers)
        LB_THROW(ConfigError, file, ": key 'layer_types' must list one type per layer (", c.n_layers, ")");
      std::vector<bool> local;
      for (const auto& e : lt) {
        if (!e.is_string() || (e != "sliding_attention" && e != "full_attention"))
          LB_THROW(ConfigError, file, ": key 'layer_types' holds ", e.dump(),
                   " (sliding_attention or full_attention expected)");
        local.push_back(e == "sliding_attention");
      }
      c.sliding_pattern = -1;
      for (int p = 0; p <= c.n_layers && c.sliding_pattern < 0; ++p) {
        bool ok = true;
        for (int l = 0; l < c.n_layers && ok; ++l) ok = local[size_t(l)] == (p == 0 || l % p < p - 1);
        if (ok) c.sliding_pattern = p;
      }
      if (c.sliding_pattern < 0)
        LB_THROW(ConfigError, file, ": key 'layer_types' is not a periodic pattern (n-1 sliding layers, then one full)");
    }
    r.check_rope_scaling();
    for (const char* cap : {"final_logit_softcapping", "attn_logit_softcapping"})
      if (r.has(cap)) LB_THROW(ConfigError, file, ": key '", cap, "' is set; lowbit implements Gemma 3 without soft-capping");
    if (r.get_bool("use_bidirectional_attention", false))
      LB_THROW(ConfigError, file, ": key 'use_bidirectional_attention' is true; lowbit implements causal attention");
  } else if (mt == "opt") {
    c.arch = Arch::Opt;
    c.dim = r.get_count("hidden_size");
    c.hidden_dim = r.get_count("ffn_dim");
    c.n_layers = r.get_count("num_hidden_layers");
    c.n_heads = r.get_count("num_attention_heads");
    c.n_kv_heads = c.n_heads;
    c.head_dim = c.n_heads > 0 ? c.dim / c.n_heads : 0;
    c.vocab_size = r.get_count("vocab_size");
    c.max_seq_len = r.get_count("max_position_embeddings", kMinContext);
    c.norm = NormKind::LayerNorm;
    c.norm_eps = 1e-5f;
    c.rope = RopeStyle::None;
    c.act = parse_act(r, "activation_function", "relu");
    c.gated_mlp = false;
    bool bias = r.get_bool("enable_bias", true);
    c.qkv_bias = c.o_bias = c.mlp_bias = bias;
    c.learned_pos = true;
    c.pos_offset = 2;
    c.tie_embeddings = r.get_bool("tie_word_embeddings", true);
    if (!r.get_bool("do_layer_norm_before", true))
      LB_THROW(ConfigError, file, ": key 'do_layer_norm_before' is false (post-LN OPT-350m); not supported");
    if (r.get_int("word_embed_proj_dim", c.dim) != c.dim)
      LB_THROW(ConfigError, file, ": key 'word_embed_proj_dim' differs from hidden_size (projected OPT); not supported");
    if (!r.get_bool("layer_norm_elementwise_affine", true))
      LB_THROW(ConfigError, file, ": key 'layer_norm_elementwise_affine' is false; not supported");
  } else {
    LB_THROW(ConfigError, file, ": key 'model_type' = '", mt,
             "' is not supported (llama, mistral, qwen2, gemma3_text, opt)");
  }
  c.bos_id = r.token_id("bos_token_id", c.arch == Arch::Opt ? 2 : 1);
  c.eos_id = r.token_id("eos_token_id", 2);
  if (c.head_dim > 0 && c.n_heads > 0 && c.arch == Arch::Opt && c.head_dim * c.n_heads != c.dim)
    LB_THROW(ConfigError, file, ": hidden_size ", c.dim, " is not a multiple of num_attention_heads ", c.n_heads);
  // The decoder's own checks (c.validate) name fields generically; name the keys of this file first.
  if (c.n_heads % c.n_kv_heads != 0)
    LB_THROW(ConfigError, file, ": key 'num_attention_heads' = ", c.n_heads, " is not a multiple of 'num_key_value_heads' = ",
             c.n_kv_heads);
  if (c.rope != RopeStyle::None && !(c.rope_theta > 0.f && c.rope_theta <= kMaxRopeTheta))
    LB_THROW(ConfigError, file, ": key 'rope_theta' = ", c.rope_theta, " must be in (0, ", kMaxRopeTheta, "]");
  c.validate(file);
  return c;
}

std::string hf_tensor_name(Arch arch, const std::string& canon) {
  if (arch == Arch::Opt) {
    static const std::map<std::string, std::string> g = {{kTokEmbed, "model.decoder.embed_tokens.weight"},
                                                         {kPosEmbed, "model.decoder.embed_positions.weight"},
                                                         {kFinalNormW, "model.decoder.final_layer_norm.weight"},
                                                         {kFinalNormB, "model.decoder.final_layer_norm.bias"},
                                                         {kLmHead, "lm_head.weight"}};
    if (auto it = g.find(canon); it != g.end()) return it->second;
    static const std::map<std::string, std::string> blk = {
        {"attn_norm.weight", "self_attn_layer_norm.weight"}, {"attn_norm.bias", "self_attn_layer_norm.bias"},
        {"mlp_norm.weight", "final_layer_norm.weight"},      {"mlp_norm.bias", "final_layer_norm.bias"},
        {"attn.q.weight", "self_attn.q_proj.weight"},        {"attn.q.bias", "self_attn.q_proj.bias"},
        {"attn.k.weight", "self_attn.k_proj.weight"},        {"attn.k.bias", "self_attn.k_proj.bias"},
        {"attn.v.weight", "self_attn.v_proj.weight"},        {"attn.v.bias", "self_attn.v_proj.bias"},
        {"attn.o.weight", "self_attn.out_proj.weight"},      {"attn.o.bias", "self_attn.out_proj.bias"},
        {"mlp.up.weight", "fc1.weight"},                     {"mlp.up.bias", "fc1.bias"},
        {"mlp.down.weight", "fc2.weight"},                   {"mlp.down.bias", "fc2.bias"}};
    if (canon.rfind("layers.", 0) == 0) {
      size_t dot = canon.find('.', 7);
      auto it = blk.find(canon.substr(dot + 1));
      if (it == blk.end()) return "";
      return "model.decoder.layers." + canon.substr(7, dot - 7) + "." + it->second;
    }
    return "";
  }
  if (arch == Arch::Gemma3) {
    static const std::map<std::string, std::string> gem = {
        {"attn_norm.weight", "input_layernorm.weight"},
        {"post_attn_norm.weight", "post_attention_layernorm.weight"},
        {"mlp_norm.weight", "pre_feedforward_layernorm.weight"},
        {"post_mlp_norm.weight", "post_feedforward_layernorm.weight"},
        {"attn.q_norm.weight", "self_attn.q_norm.weight"},
        {"attn.k_norm.weight", "self_attn.k_norm.weight"}};
    if (canon.rfind("layers.", 0) == 0) {
      size_t dot = canon.find('.', 7);
      if (auto it = gem.find(canon.substr(dot + 1)); it != gem.end())
        return "model.layers." + canon.substr(7, dot - 7) + "." + it->second;
    }
  }
  static const std::map<std::string, std::string> g = {{kTokEmbed, "model.embed_tokens.weight"},
                                                       {kFinalNormW, "model.norm.weight"},
                                                       {kLmHead, "lm_head.weight"}};
  if (auto it = g.find(canon); it != g.end()) return it->second;
  static const std::map<std::string, std::string> blk = {
      {"attn_norm.weight", "input_layernorm.weight"}, {"mlp_norm.weight", "post_attention_layernorm.weight"},
      {"attn.q.weight", "self_attn.q_proj.weight"},   {"attn.q.bias", "self_attn.q_proj.bias"},
      {"attn.k.weight", "self_attn.k_proj.weight"},   {"attn.k.bias", "self_attn.k_proj.bias"},
      {"attn.v.weight", "self_attn.v_proj.weight"},   {"attn.v.bias", "self_attn.v_proj.bias"},
      {"attn.o.weight", "self_attn.o_proj.weight"},   {"attn.o.bias", "self_attn.o_proj.bias"},
      {"mlp.gate.weight", "mlp.gate_proj.weight"},    {"mlp.gate.bias", "mlp.gate_proj.bias"},
      {"mlp.up.weight", "mlp.up_proj.weight"},        {"mlp.up.bias", "mlp.up_proj.bias"},
      {"mlp.down.weight", "mlp.down_proj.weight"},    {"mlp.down.bias", "mlp.down_proj.bias"}};
  if (canon.rfind("layers.", 0) == 0) {
    size_t dot = canon.find('.', 7);
    auto it = blk.find(canon.substr(dot + 1));
    if (it == blk.end()) return "";
    return "model.layers." + canon.substr(7, dot - 7) + "." + it->second;
  }
  return "";
}

float hf_norm_shift(Arch arch, const std::string& canon) {
  if (arch != Arch::Gemma3) return 0.f;
  if (canon == kFinalNormW) return 1.f;
  if (canon.rfind("layers.", 0) != 0) return 0.f;
  const std::string suffix = canon.substr(canon.find('.', 7) + 1);
  for (const char* n : {"attn_norm.weight", "post_attn_norm.weight", "mlp_norm.weight", "post_mlp_norm.weight",
                        "attn.q_norm.weight", "attn.k_norm.weight"})
    if (suffix == n) return 1.f;
  return 0.f;
}

Tensor hf_stored_norm(Arch arch, const std::string& canon, const Tensor& t) {
  const float shift = hf_norm_shift(arch, canon);
  if (shift == 0.f || t.empty()) return t;
  Tensor o = t;
  for (auto& v : o.data) v -= shift;
  return o;
}

namespace {
// Suffixes of tensors transformers itself skips on load (buffers some exports still carry).
constexpr const char* kIgnoredHfSuffixes[] = {"rotary_emb.inv_freq"};
// Parts of a packed GPTQ linear (io/gptq_pack.cpp), beside its HF name without ".weight".
constexpr const char* kGptqParts[] = {".qweight", ".qzeros", ".scales", ".g_idx"};

bool ends_with(const std::string& s, const std::string& e) {
  return s.size() >= e.size() && s.compare(s.size() - e.size(), e.size(), e) == 0;
}

// A stored tensor no expected tensor was read from: more layers than config.json says, biases the
// architecture has none of, ... A tied classifier's copy (lm_head.weight) and skipped buffers are fine.
bool hf_tensor_tolerated(const DecoderConfig& c, const std::string& name) {
  for (const char* s : kIgnoredHfSuffixes)
    if (ends_with(name, s)) return true;
  return c.tie_embeddings && (name == "lm_head.weight" || name == "model.lm_head.weight");
}

std::vector<std::string> unused_hf_tensors(const DecoderConfig& c, const std::map<std::string, TensorRef>& stored,
                                           std::set<std::string> used, bool gptq) {
  if (gptq)
    for (const auto& canon : expected_tensor_names(c)) {
      const std::string hf = hf_tensor_name(c.arch, canon);
      if (!ends_with(hf, ".weight")) continue;
      const std::string base = hf.substr(0, hf.size() - 7);
      for (const std::string& b : {base, base.rfind("model.", 0) == 0 ? base.substr(6) : base})
        for (const char* part : kGptqParts) used.insert(b + part);
    }
  std::vector<std::string> unused;
  for (const auto& [name, ref] : stored)
    if (!used.count(name) && !hf_tensor_tolerated(c, name)) unused.push_back(name);
  return unused;
}
}  // namespace

std::unique_ptr<Model> load_hf_model(const std::string& dir) {
  const std::string cfg_path = dir + "/config.json";
  LB_INPUT_CHECK(file_exists(cfg_path), dir, ": not a model folder (no config.json)");
  auto m = std::make_unique<Model>();
  m->path = dir;
  try {
    m->cfg = parse_hf_config(read_file(cfg_path), cfg_path);
  } catch (const ConfigError& e) {
    throw InputError(e.what(), e.src_file(), e.src_line());
  }
  auto stored = open_safetensors_set(dir);
  // Some OPT exports omit the leading "model." prefix.
  auto lookup = [&](const std::string& hf) -> const TensorRef* {
    if (auto it = stored.find(hf); it != stored.end()) return &it->second;
    if (hf.rfind("model.", 0) == 0)
      if (auto it = stored.find(hf.substr(6)); it != stored.end()) return &it->second;
    return nullptr;
  };
  std::set<std::string> used;
  for (const auto& canon : expected_tensor_names(m->cfg)) {
    std::string hf = hf_tensor_name(m->cfg.arch, canon);
    if (hf.empty()) continue;
    if (const TensorRef* r = lookup(hf)) {
      m->source.emplace(canon, *r);
      used.insert(r->name);
    }
  }
  // A packed GPTQ checkpoint stores linears as qweight/qzeros/scales/g_idx: dequantize them to f32.
  const bool gptq = is_gptq_checkpoint(dir);
  if (gptq) attach_gptq_linears(*m, stored, dir);
  check_no_unused_tensors(dir, unused_hf_tensors(m->cfg, stored, used, gptq),
                          cat("the ", m->cfg.n_layers, " layers of config.json (num_hidden_layers)"));
  // Gemma's HF norms hold w of x̂·(1 + w); lowbit holds the gain 1 + w (as GGUF does): fold the 1 in
  // now, into small owned f32 copies (f32 addition, as HF's `1.0 + self.weight.float()`).
  for (auto& [canon, ref] : m->source) {
    const float shift = hf_norm_shift(m->cfg.arch, canon);
    if (shift == 0.f) continue;
    Tensor t = ref.to_f32();
    auto buf = std::make_shared<std::vector<float>>(t.data);
    for (auto& v : *buf) v += shift;
    ref.dtype = DType::F32;
    ref.data = reinterpret_cast<const uint8_t*>(buf->data());
    ref.nbytes = buf->size() * sizeof(float);
    ref.owner = buf;
  }
  // A tied checkpoint may still carry lm_head.weight; an untied one must have it (checked later).
  if (m->cfg.tie_embeddings) m->source.erase(kLmHead);
  // Surface a missing tensor under its HF name, which is what the user sees in the file.
  try {
    finish_model_load(*m);
  } catch (const InputError& e) {
    std::string msg = e.what();
    const std::string key = "missing tensor for '";
    if (auto p = msg.find(key); p != std::string::npos) {
      std::string canon = msg.substr(p + key.size(), msg.find('\'', p + key.size()) - p - key.size());
      LB_FAIL_INPUT(dir, ": missing tensor '", hf_tensor_name(m->cfg.arch, canon), "' (", m->cfg.n_layers,
                    " layers per config.json)");
    }
    throw;
  }
  // If the checkpoint came from llama2.c it stores interleaved RoPE; HF checkpoints are half-split.
  return m;
}

Tensor permute_rope_rows(const Tensor& w, int n_heads, bool to_half) {
  const int64_t rows = w.dim(0), cols = w.dim(1);
  LB_CHECK(rows % (2 * n_heads) == 0, "rows ", rows, " heads ", n_heads);
  const int64_t hd = rows / n_heads, half = hd / 2;
  Tensor out(w.shape);
  for (int64_t h = 0; h < n_heads; ++h)
    for (int64_t i = 0; i < half; ++i)
      for (int64_t p = 0; p < 2; ++p) {
        int64_t inter = h * hd + 2 * i + p;      // interleaved row (x[2i], x[2i+1])
        int64_t halfr = h * hd + p * half + i;   // half-split row (x[i], x[i+hd/2])
        int64_t src = to_half ? inter : halfr, dst = to_half ? halfr : inter;
        std::copy(w.row(src), w.row(src) + cols, out.row(dst));
      }
  return out;
}

void write_hf_model(const Model& m, const std::string& dir, DType dtype,
                    const std::function<void(const std::string&)>& before_config) {
  const DecoderConfig& c = m.cfg;
  json cfg;
  const char* dt = dtype == DType::F32 ? "float32" : dtype == DType::F16 ? "float16" : "bfloat16";
  if (c.arch == Arch::Opt) {
    cfg = {{"model_type", "opt"}, {"architectures", {"OPTForCausalLM"}}, {"hidden_size", c.dim},
           {"ffn_dim", c.hidden_dim}, {"num_hidden_layers", c.n_layers}, {"num_attention_heads", c.n_heads},
           {"vocab_size", c.vocab_size}, {"max_position_embeddings", c.max_seq_len},
           {"activation_function", c.act == Activation::ReLU ? "relu" : "gelu"},
           {"do_layer_norm_before", true}, {"word_embed_proj_dim", c.dim}, {"enable_bias", c.qkv_bias},
           {"tie_word_embeddings", c.tie_embeddings}};
  } else if (c.arch == Arch::Gemma3) {
    const float sq = std::sqrt(float(c.dim));
    if (c.embed_scale != sq && c.embed_scale != bf16_to_f32(f32_to_bf16(sq)) && c.embed_scale != f16_to_f32(f32_to_f16(sq)))
      LB_THROW(ConfigError, m.path, ": embedding scale ", c.embed_scale, " is not sqrt(hidden_size); HF Gemma 3 cannot hold it");
    if (!c.post_norms || !c.qk_norm || !c.gated_mlp || c.act != Activation::GELUTanh || c.rope != RopeStyle::Half ||
        c.mlp_bias || c.qkv_bias != c.o_bias)
      LB_THROW(ConfigError, m.path, ": this Gemma 3 variant has no HF gemma3_text equivalent");
    const double s = c.attention_scale();
    const double qpas = 1.0 / (s * s);
    json layer_types = json::array();
    for (int l = 0; l < c.n_layers; ++l) layer_types.push_back(c.is_local_layer(l) ? "sliding_attention" : "full_attention");
    cfg = {{"model_type", "gemma3_text"}, {"architectures", {"Gemma3ForCausalLM"}},
           {"hidden_size", c.dim}, {"intermediate_size", c.hidden_dim}, {"num_hidden_layers", c.n_layers},
           {"num_attention_heads", c.n_heads}, {"num_key_value_heads", c.n_kv_heads}, {"head_dim", c.head_dim},
           {"vocab_size", c.vocab_size}, {"max_position_embeddings", c.max_seq_len},
           {"rms_norm_eps", c.norm_eps}, {"rope_theta", c.rope_theta}, {"rope_local_base_freq", c.rope_theta_local},
           {"query_pre_attn_scalar", std::fabs(qpas - std::round(qpas)) < 1e-3 * qpas ? json(std::llround(qpas)) : json(qpas)},
           {"sliding_window", c.sliding_window > 0 ? json(c.sliding_window) : json(nullptr)},
           {"sliding_window_pattern", c.sliding_pattern}, {"layer_types", layer_types},
           {"hidden_activation", "gelu_pytorch_tanh"}, {"attention_bias", c.qkv_bias},
           {"final_logit_softcapping", nullptr}, {"attn_logit_softcapping", nullptr}, {"rope_scaling", nullptr},
           {"tie_word_embeddings", c.tie_embeddings}};
  } else {
    if (c.post_norms || c.qk_norm || c.sliding_window > 0 || c.embed_scale != 1.f || c.attn_scale != 0.f)
      LB_THROW(ConfigError, m.path, ": this ", arch_name(c.arch),
               " model uses Gemma 3 features (sandwich/q-k norms, sliding window, scales) HF's ", arch_name(c.arch),
               " lacks");
    const bool qwen = c.arch == Arch::Qwen2;
    cfg = {{"model_type", qwen ? "qwen2" : "llama"},
           {"architectures", {qwen ? "Qwen2ForCausalLM" : "LlamaForCausalLM"}},
           {"hidden_size", c.dim}, {"intermediate_size", c.hidden_dim}, {"num_hidden_layers", c.n_layers},
           {"num_attention_heads", c.n_heads}, {"num_key_value_heads", c.n_kv_heads}, {"head_dim", c.head_dim},
           {"vocab_size", c.vocab_size}, {"max_position_embeddings", c.max_seq_len},
           {"rms_norm_eps", c.norm_eps}, {"rope_theta", c.rope_theta},
           {"hidden_act", c.act == Activation::SiLU ? "silu" : c.act == Activation::ReLU ? "relu" : "gelu"},
           {"tie_word_embeddings", c.tie_embeddings}};
    if (!qwen) {
      cfg["attention_bias"] = c.qkv_bias;
      cfg["mlp_bias"] = c.mlp_bias;
    }
  }
  cfg["bos_token_id"] = c.bos_id;
  cfg["eos_token_id"] = c.eos_id;
  cfg["torch_dtype"] = dt;
  SafetensorsWriter w;
  w.set_metadata("format", "pt");
  w.set_metadata("producer", "lowbit " LOWBIT_VERSION);
  const bool permute = c.rope == RopeStyle::Interleaved;
  // resident: a tensor of the Model itself (not a block, which may be evicted), alive until w.write.
  auto add = [&](const std::string& canon, const Tensor& t, bool resident = false) {
    if (t.empty()) return;
    std::string hf = hf_tensor_name(c.arch, canon);
    LB_CHECK(!hf.empty(), "no HF name for ", canon);
    if (hf_norm_shift(c.arch, canon) != 0.f)
      w.add_f32(hf, hf_stored_norm(c.arch, canon, t), dtype);
    else if (resident && dtype == DType::F32)  // no copy of a 262K-row embedding
      w.add_view(hf, DType::F32, t.shape, t.ptr(), size_t(t.numel()) * 4);
    else
      w.add_f32(hf, t, dtype);
  };
  add(kTokEmbed, m.tok_embed, true);
  add(kPosEmbed, m.pos_embed, true);
  add(kFinalNormW, m.final_norm_w);
  add(kFinalNormB, m.final_norm_b);
  if (!c.tie_embeddings) add(kLmHead, m.lm_head, true);
  for (int l = 0; l < c.n_layers; ++l) {
    const BlockWeights& b = m.block(l);
    for (const auto& [suffix, t] : b.norm_tensors()) add(block_weight_name(l, suffix), *t);
    for (auto id : kLinearIds) {
      const Linear& lin = b.linear(id);
      Tensor wt = lin.w, bt = lin.b;
      if (permute && (id == LinearId::Q || id == LinearId::K)) {
        int heads = id == LinearId::Q ? c.n_heads : c.n_kv_heads;
        wt = permute_rope_rows(lin.w, heads, true);
        if (!bt.empty()) {
          Tensor b2({bt.numel(), 1});
          b2.data = bt.data;
          bt.data = permute_rope_rows(b2, heads, true).data;
        }
      }
      add(block_weight_name(l, std::string(linear_name(id)) + ".weight"), wt);
      add(block_weight_name(l, std::string(linear_name(id)) + ".bias"), bt);
    }
  }
  // The folder appears only once every weight has been read (a bad source leaves nothing behind);
  // weights first, config last: a folder with a config.json is a complete checkpoint.
  ::mkdir(dir.c_str(), 0755);
  LB_INPUT_CHECK(is_directory(dir), dir, ": cannot create output folder");
  w.write(dir + "/model.safetensors");
  if (before_config) before_config(dir);
  write_file_atomic(dir + "/config.json", cfg.dump(2) + "\n");
}

}  // namespace lowbit
