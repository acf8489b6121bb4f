// lowbit/io/gguf_export.cpp — a lowbit Model as a llama.cpp GGUF. defines: see gguf_export.hpp
//
// Metadata written, in this order:
//   general.architecture, then the source GGUF's other general.* keys (name, license, …; not
//   general.alignment, .file_type, .quantization_version, which describe the file lowbit writes and
//   are regenerated), general.name (the model file's stem) when the source has none,
//   general.quantized_by = "lowbit", general.file_type (llama_ftype of the linears' majority type),
//   general.quantization_version = 2 when any tensor is a block type;
//   <arch>.context_length, .embedding_length, .block_count, .feed_forward_length,
//   .attention.head_count, .attention.head_count_kv, .attention.key_length/.value_length (when
//   head_dim ≠ dim / heads, and always for gemma3), .rope.dimension_count (llama, qwen2),
//   .rope.freq_base, .attention.layer_norm_rms_epsilon, .vocab_size, gemma3's .attention.sliding_window;
//   tokenizer.* copied from the tokenizer GGUF in its order, or converted from llama2.c.
// llama.cpp hard-codes some Gemma 3 hyper-parameters rather than reading them (local RoPE base
// 10000, a sliding pattern of 6, the attention scale 1/sqrt(head_dim) but for the 27B model,
// embeddings times sqrt(dim)), so a config that differs is refused instead of written wrongly.
//
// Tensors: token_embd.weight, output_norm.weight, output.weight (untied only), blk.N.* in
// llama.cpp's names; shapes row-major ([out, in] = ggml ne {in, out}), as convert_hf_to_gguf.py
// writes them. Norm gains and biases are F32 (as llama.cpp's converter stores 1-D tensors).
#include "lowbit/io/gguf_export.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "lowbit/core/error.hpp"
#include "lowbit/core/ggml_blocks.hpp"
#include "lowbit/core/log.hpp"
#include "lowbit/core/mapped_file.hpp"
#include "lowbit/io/gguf.hpp"
#include "lowbit/io/gguf_model.hpp"
#include "lowbit/io/hf.hpp"
#include "lowbit/io/tokenizer.hpp"

namespace lowbit {

namespace {

bool ends_with(const std::string& s, const std::string& suf) {
  return s.size() >= suf.size() && s.compare(s.size() - suf.size(), suf.size(), suf) == 0;
}

// ---- names ----------------------------------------------------------------------------------
// Tensor names come from the reader's table (io/gguf_model.cpp gguf_tensor_name): one table both ways.

// RoPE row order llama.cpp's graph for `arch` applies: LLaMA rotates adjacent pairs (the Meta /
// llama2.c order; convert_hf_to_gguf.py permutes HF's q/k rows into it), qwen2 and gemma3 NeoX
// halves (rows as HF has them).
RopeStyle gguf_rope_style(const std::string& arch) { return arch == "llama" ? RopeStyle::Interleaved : RopeStyle::Half; }

// perm[dst] = src: the rows of a model q/k projection (style `from`) in the order `to`.
std::vector<int64_t> rope_perm(int64_t rows, int heads, RopeStyle from, RopeStyle to) {
  std::vector<int64_t> p(static_cast<size_t>(rows));
  for (int64_t r = 0; r < rows; ++r) p[size_t(r)] = r;
  if (from == to || from == RopeStyle::None || to == RopeStyle::None) return p;
  Tensor idx({rows, 1});
  for (int64_t r = 0; r < rows; ++r) idx.data[size_t(r)] = float(r);
  // permute_rope_rows(·, heads, to_half) is the one definition of the two orders (io/hf.cpp).
  const Tensor o = permute_rope_rows(idx, heads, to == RopeStyle::Half);
  for (int64_t r = 0; r < rows; ++r) p[size_t(r)] = int64_t(o.data[size_t(r)]);
  return p;
}

Tensor permute_rows(const Tensor& t, const std::vector<int64_t>& perm) {
  if (t.empty()) return t;
  bool id = true;
  for (size_t i = 0; i < perm.size() && id; ++i) id = perm[i] == int64_t(i);
  if (id) return t;
  Tensor o(t.shape);
  const int64_t cols = t.shape.size() == 1 ? 1 : t.cols();
  for (size_t d = 0; d < perm.size(); ++d)
    std::copy(t.data.begin() + perm[d] * cols, t.data.begin() + (perm[d] + 1) * cols, o.data.begin() + int64_t(d) * cols);
  return o;
}

bool same_bits(const float* a, const float* b, int64_t n) { return std::memcmp(a, b, size_t(n) * sizeof(float)) == 0; }

int64_t f16_changed(const Tensor& t) {
  int64_t n = 0;
  for (float v : t.data) {
    const float r = f16_to_f32(f32_to_f16(v));
    n += std::memcmp(&r, &v, 4) != 0;
  }
  return n;
}

// ---- tokenizer -------------------------------------------------------------------------------
struct TokenizerKeys {
  std::vector<std::pair<std::string, GgufValue>> kv;
  std::string what;
  int64_t n_tokens = 0;
};

// llama2.c tokenizer .bin -> a "llama" (SentencePiece-style) vocabulary, as llama.cpp's
// examples/convert-llama2c-to-ggml does: ids 0/1/2 are <unk>/<s>/</s> (unknown/control), an empty
// text is control, "<0xXX>" is a byte token, spaces become U+2581; scores are kept.
TokenizerKeys convert_llama2c_tokenizer(const std::string& path, const DecoderConfig& c) {
  const std::string bytes = read_file(path);
  LB_INPUT_CHECK(bytes.size() >= 4, path, ": truncated llama2.c tokenizer (", bytes.size(), " bytes)");
  size_t off = 4;  // int32 max_token_length
  std::vector<GgufValue> tokens, scores, types;
  while (off < bytes.size()) {
    LB_INPUT_CHECK(bytes.size() - off >= 8, path, ": truncated llama2.c tokenizer: token ", tokens.size(),
                   " needs 8 header bytes at offset ", off);
    float score;
    int32_t len;
    std::memcpy(&score, bytes.data() + off, 4);
    std::memcpy(&len, bytes.data() + off + 4, 4);
    off += 8;
    LB_INPUT_CHECK(len >= 0 && size_t(len) <= bytes.size() - off, path, ": llama2.c tokenizer: token ", tokens.size(),
                   " has length ", len, " past the end of the file");
    std::string text(bytes.data() + off, size_t(len));
    off += size_t(len);
    const int64_t id = int64_t(tokens.size());
    int type = 1;  // normal
    unsigned b = 0;
    char tail = 0;
    if (id == 0) {
      text = "<unk>";
      type = 2;
    } else if (id == 1) {
      text = "<s>";
      type = 3;
    } else if (id == 2) {
      text = "</s>";
      type = 3;
    } else if (text.empty()) {
      type = 3;
    } else if (text.size() == 6 && std::sscanf(text.c_str(), "<0x%02X%c", &b, &tail) == 2 && tail == '>') {
      type = 6;
    }
    std::string esc;
    for (char ch : text) esc += ch == ' ' ? std::string("\xE2\x96\x81") : std::string(1, ch);
    tokens.push_back(GgufValue::make_string(esc));
    scores.push_back(GgufValue::make_float(GgufType::F32, score));
    types.push_back(GgufValue::make_int(GgufType::I32, type));
  }
  TokenizerKeys k;
  k.n_tokens = int64_t(tokens.size());
  LB_INPUT_CHECK(k.n_tokens == c.vocab_size, path, ": the llama2.c tokenizer has ", k.n_tokens,
                 " tokens but the model's embedding has ", c.vocab_size, " rows (llama.cpp needs them equal)");
  k.kv.push_back({"tokenizer.ggml.model", GgufValue::make_string("llama")});
  k.kv.push_back({"tokenizer.ggml.tokens", GgufValue::make_array(GgufType::STRING, std::move(tokens))});
  k.kv.push_back({"tokenizer.ggml.scores", GgufValue::make_array(GgufType::F32, std::move(scores))});
  k.kv.push_back({"tokenizer.ggml.token_type", GgufValue::make_array(GgufType::I32, std::move(types))});
  k.kv.push_back({"tokenizer.ggml.unknown_token_id", GgufValue::make_uint(GgufType::U32, 0)});
  k.kv.push_back({"tokenizer.ggml.bos_token_id", GgufValue::make_uint(GgufType::U32, 1)});
  k.kv.push_back({"tokenizer.ggml.eos_token_id", GgufValue::make_uint(GgufType::U32, 2)});
  // llama2.c prepends BOS and a dummy-prefix space, as llama.cpp's SentencePiece defaults do.
  k.kv.push_back({"tokenizer.ggml.add_bos_token", GgufValue::make_bool(true)});
  k.kv.push_back({"tokenizer.ggml.add_eos_token", GgufValue::make_bool(false)});
  k.kv.push_back({"tokenizer.ggml.add_space_prefix", GgufValue::make_bool(true)});
  k.what = "converted from llama2.c " + path;
  return k;
}

TokenizerKeys copy_gguf_tokenizer(const GgufFile& f, const DecoderConfig& c) {
  TokenizerKeys k;
  for (const auto& key : f.kv_order)
    if (key.rfind("tokenizer.", 0) == 0) k.kv.push_back({key, f.kv.at(key)});
  LB_INPUT_CHECK(f.has("tokenizer.ggml.model"), f.path, ": missing metadata key 'tokenizer.ggml.model' (no tokenizer to copy)");
  k.n_tokens = int64_t(f.at("tokenizer.ggml.tokens").as_array(f.path, "tokenizer.ggml.tokens").size());
  LB_INPUT_CHECK(k.n_tokens == c.vocab_size, f.path, ": key 'tokenizer.ggml.tokens' has ", k.n_tokens,
                 " tokens but the model's embedding has ", c.vocab_size, " rows (llama.cpp needs them equal)");
  k.what = "copied from " + f.path;
  return k;
}

std::string tokenizer_source(const Model& m, const GgufExportOptions& o) {
  if (!o.tokenizer.empty()) return o.tokenizer;
  if (is_gguf_path(m.path)) return m.path;
  return find_tokenizer_for(m.path);
}

TokenizerKeys tokenizer_keys(const Model& m, const GgufExportOptions& o) {
  const std::string src = tokenizer_source(m, o);
  LB_INPUT_CHECK(file_exists(src), src, ": tokenizer not found");
  if (is_gguf_path(src)) return copy_gguf_tokenizer(*read_gguf(src), m.cfg);
  if (ends_with(src, ".bin")) return convert_llama2c_tokenizer(src, m.cfg);
  LB_FAIL_INPUT(src, ": lowbit cannot put this tokenizer into GGUF metadata (it copies a .gguf file's tokenizer.* keys or "
                     "converts a llama2.c tokenizer .bin); pass --tokenizer FILE.gguf with the same vocabulary");
}

// ---- architecture ----------------------------------------------------------------------------
void put_u32(GgufWriter& w, const std::string& k, int64_t v) { w.set(k, GgufValue::make_uint(GgufType::U32, uint64_t(v))); }
void put_f32(GgufWriter& w, const std::string& k, double v) { w.set(k, GgufValue::make_float(GgufType::F32, v)); }

void put_arch_keys(GgufWriter& w, const DecoderConfig& c, const std::string& arch) {
  const std::string a = arch + ".";
  put_u32(w, a + "context_length", c.max_seq_len);
  put_u32(w, a + "embedding_length", c.dim);
  put_u32(w, a + "block_count", c.n_layers);
  put_u32(w, a + "feed_forward_length", c.hidden_dim);
  put_u32(w, a + "attention.head_count", c.n_heads);
  put_u32(w, a + "attention.head_count_kv", c.n_kv_heads);
  if (arch == "gemma3" || c.head_dim * c.n_heads != c.dim) {
    put_u32(w, a + "attention.key_length", c.head_dim);
    put_u32(w, a + "attention.value_length", c.head_dim);
  }
  if (arch != "gemma3") put_u32(w, a + "rope.dimension_count", c.head_dim);
  put_f32(w, a + "rope.freq_base", c.rope_theta);
  put_f32(w, a + "attention.layer_norm_rms_epsilon", c.norm_eps);
  put_u32(w, a + "vocab_size", c.vocab_size);
  if (arch == "gemma3") put_u32(w, a + "attention.sliding_window", c.sliding_window);
}

// llama_ftype of the type most linear elements were written in.
uint32_t file_type_of(const std::map<uint32_t, int64_t>& elems, std::string& name) {
  uint32_t best = 0;
  int64_t n = -1;
  for (auto [t, e] : elems)
    if (e > n) best = t, n = e;
  switch (GgmlType(best)) {
    case GgmlType::F16: name = "MOSTLY_F16"; return 1;
    case GgmlType::Q4_0: name = "MOSTLY_Q4_0"; return 2;
    case GgmlType::Q4_1: name = "MOSTLY_Q4_1"; return 3;
    case GgmlType::Q8_0: name = "MOSTLY_Q8_0"; return 7;
    default: name = "ALL_F32"; return 0;
  }
}

// [out, in] of linear `id` ({0, 0} when the config has none).
std::pair<int64_t, int64_t> lin_shape(const DecoderConfig& c, LinearId id) {
  const int64_t D = c.dim, H = c.hidden_dim, Q = c.q_dim(), KV = c.kv_dim();
  switch (id) {
    case LinearId::Q: return {Q, D};
    case LinearId::K: return {KV, D};
    case LinearId::V: return {KV, D};
    case LinearId::O: return {D, Q};
    case LinearId::Gate: return c.gated_mlp ? std::pair<int64_t, int64_t>{H, D} : std::pair<int64_t, int64_t>{0, 0};
    case LinearId::Up: return {H, D};
    case LinearId::Down: return {D, H};
  }
  return {0, 0};
}

// The block type whose grid holds `r` (and, through `codes`/`zeros`, what to hand pack_exact), or
// "" with the reason in `why`.
struct PackPlan {
  DType type = DType::F32;
  bool shift_to_8 = false;  // Q4_0 from a narrower symmetric grid: code q − z + 8, zero 8
};
bool plan_pack(const QuantResult& r, const Tensor& w, int64_t out, int64_t in, PackPlan& p, std::string& why) {
  const QuantSpec& s = r.spec;
  if (r.w_hat.shape != std::vector<int64_t>({out, in}) || int64_t(r.q.size()) != out * in ||
      r.scales.numel() != out * r.n_groups || int64_t(r.zeros.size()) != out * r.n_groups)
    LB_FAIL_INTERNAL("quantisation result of shape ", r.w_hat.shape_str(), " for a [", out, ", ", in, "] linear");
  const int64_t gs = s.group_size(in);
  if (gs % 32 != 0) {
    why = !s.per_channel() ? cat("group size ", gs, " is not a multiple of 32")
                      : cat("per-channel rows of ", in, " columns are not whole 32-value blocks");
    return false;
  }
  if (in % 32 != 0) {  // a ragged last group: gs % 32 == 0 no longer implies it
    why = cat("rows of ", in, " columns (a ragged last group of ", in % gs, ") are not whole 32-value blocks");
    return false;
  }
  for (size_t c = 0; c < r.g_idx.size(); ++c)
    if (r.g_idx[c] != int32_t(int64_t(c) / gs)) {
      why = "act-order column order (g_idx is not column / group)";
      return false;
    }
  if (!same_bits(r.w_hat.data.data(), w.data.data(), w.numel())) {
    why = "the block's weights are not the quantiser's dequantised codes";
    return false;
  }
  if (s.bits <= 4) {
    p.type = s.sym ? DType::Q4_0 : DType::Q4_1;
    p.shift_to_8 = s.sym;
    return true;
  }
  for (int64_t o = 0; o < out; ++o)
    for (int64_t c = 0; c < in; ++c) {
      const int d = int(r.q[size_t(o * in + c)]) - r.zeros[size_t(o * r.n_groups + c / gs)];
      if (d < -128 || d > 127) {
        why = cat(s.bits, "-bit codes with q - z outside -128..127");
        return false;
      }
    }
  p.type = DType::Q8_0;
  return true;
}

// Pack the rows perm[0..out) of `r` into `dst` (out rows of in/32 blocks); returns the number of
// 32-value groups whose dequantisation (dequantize_row, i.e. llama.cpp's) differs from the block's
// weights `w` (rows permuted alike).
int64_t pack_rows(const QuantResult& r, const Tensor& w, const PackPlan& p, const std::vector<int64_t>& perm,
                  std::vector<uint8_t>& dst) {
  const int64_t out = r.w_hat.dim(0), in = r.w_hat.dim(1), gs = r.spec.group_size(in), nb = in / 32;
  const size_t row_bytes = dtype_nbytes(p.type, in);
  dst.assign(size_t(out) * row_bytes, 0);
  int64_t inexact = 0;
#pragma omp parallel reduction(+ : inexact)
  {
    std::vector<uint8_t> q(static_cast<size_t>(in));
    std::vector<float> sc(static_cast<size_t>(nb)), back(static_cast<size_t>(in));
    std::vector<int32_t> z(static_cast<size_t>(nb));
#pragma omp for schedule(static)
    for (int64_t d = 0; d < out; ++d) {
      const int64_t o = perm[size_t(d)];
      for (int64_t b = 0; b < nb; ++b) {
        const int64_t g = (b * 32) / gs;
        sc[size_t(b)] = r.scales.data[size_t(o * r.n_groups + g)];
        z[size_t(b)] = p.shift_to_8 ? 8 : r.zeros[size_t(o * r.n_groups + g)];
      }
      for (int64_t c = 0; c < in; ++c) {
        const int32_t code = r.q[size_t(o * in + c)];
        q[size_t(c)] = uint8_t(p.shift_to_8 ? code - r.zeros[size_t(o * r.n_groups + c / gs)] + 8 : code);
      }
      uint8_t* row = dst.data() + size_t(d) * row_bytes;
      pack_exact(p.type, q.data(), sc.data(), z.data(), in, row);
      dequantize_row(p.type, row, back.data(), in);
      const float* ref = w.row(o);
      for (int64_t b = 0; b < nb; ++b) inexact += !same_bits(back.data() + b * 32, ref + b * 32, 32);
    }
  }
  return inexact;
}

}  // namespace

GgufPlainDType parse_gguf_plain_dtype(const std::string& s, const std::string& option) {
  if (s == "f16") return GgufPlainDType::F16;
  if (s == "f32") return GgufPlainDType::F32;
  if (s == "auto") return GgufPlainDType::Auto;
  LB_FAIL_INPUT(option, " '", s, "' must be f16, f32 or auto");
}

std::string gguf_export_arch(const DecoderConfig& c, const std::string& where) {
  auto refuse = [&](const std::string& what) {
    LB_FAIL_INPUT(where, ": cannot write a GGUF that llama.cpp runs: ", what);
  };
  if (c.norm != NormKind::RMSNorm) refuse("LayerNorm models (OPT) have no llama.cpp architecture lowbit writes");
  if (c.learned_pos) refuse("learned position embeddings (OPT)");
  if (c.rope == RopeStyle::None) refuse("a model without RoPE");
  if (c.mlp_bias) refuse("MLP biases");
  std::string arch;
  if (c.arch == Arch::Llama) {
    arch = "llama";
    if (c.qkv_bias || c.o_bias) refuse("a LLaMA with attention biases");
    if (!c.gated_mlp || c.act != Activation::SiLU) refuse("LLaMA needs a SwiGLU MLP");
  } else if (c.arch == Arch::Qwen2) {
    arch = "qwen2";
    if (!c.qkv_bias || c.o_bias) refuse("llama.cpp's qwen2 has q/k/v biases and no output bias");
    if (!c.gated_mlp || c.act != Activation::SiLU) refuse("Qwen2 needs a SwiGLU MLP");
  } else if (c.arch == Arch::Gemma3) {
    arch = "gemma3";
    // What llama.cpp's gemma3 graph does without asking the file (llama-model.cpp, LLM_ARCH_GEMMA3).
    if (!c.post_norms || !c.qk_norm) refuse("llama.cpp's gemma3 has sandwich norms and q/k norms");
    if (!c.gated_mlp || c.act != Activation::GELUTanh) refuse("llama.cpp's gemma3 has a GeGLU (tanh GELU) MLP");
    if (c.qkv_bias || c.o_bias) refuse("llama.cpp's gemma3 has no attention biases");
    if (!c.tie_embeddings) refuse("llama.cpp's gemma3 ties the output to the token embedding");
    if (c.rope != RopeStyle::Half) refuse("llama.cpp's gemma3 applies NeoX (half-split) RoPE");
    if (c.embed_scale != std::sqrt(float(c.dim)))
      refuse(cat("embedding scale ", c.embed_scale, " is not sqrtf(", c.dim, ") (llama.cpp's gemma3 multiplies by it)"));
    const float want = c.n_layers == 62 ? 1.f / std::sqrt(float(c.dim / c.n_heads)) : 1.f / std::sqrt(float(c.head_dim));
    if (std::fabs(c.attention_scale() - want) > 1e-6f * want)
      refuse(cat("attention scale ", c.attention_scale(), " is not llama.cpp's gemma3 ", want));
    if (c.sliding_window <= 0) refuse("llama.cpp's gemma3 has sliding-window layers");
    if (c.sliding_pattern != 6) refuse(cat("sliding pattern ", c.sliding_pattern, " (lowbit writes llama.cpp's default 6)"));
    if (c.rope_theta_local != 10000.f)
      refuse(cat("local RoPE base ", c.rope_theta_local, " (lowbit writes llama.cpp's default 10000)"));
  } else {
    refuse(cat("architecture ", arch_name(c.arch), " is not exported (llama, qwen2, gemma3)"));
  }
  if (c.arch != Arch::Gemma3 && (c.post_norms || c.qk_norm || c.sliding_window > 0 || c.embed_scale != 1.f ||
                                 c.attn_scale != 0.f))
    refuse(cat("this ", arch, " model uses Gemma 3 features (sandwich/q-k norms, sliding window, scales)"));
  return arch;
}

void check_gguf_exportable(const Model& m, const GgufExportOptions& o) {
  gguf_export_arch(m.cfg, m.path);
  tokenizer_keys(m, o);
}

nlohmann::json GgufExportReport::to_json() const {
  return {{"path", path},
          {"bytes", bytes},
          {"tensors_by_type", tensors_by_type},
          {"linears", linears},
          {"packed_linears", packed_linears},
          {"fallback_linears", fallback_linears},
          {"fallback_reasons", fallback_reasons},
          {"groups", groups},
          {"inexact_groups", inexact_groups},
          {"f16_rounded_tensors", f16_rounded_tensors},
          {"f16_rounded_values", f16_rounded_values},
          {"tokenizer", tokenizer},
          {"file_type", file_type}};
}

std::string GgufExportReport::summary() const {
  std::string s = cat(path, " (", bytes, " bytes, ", file_type, "):");
  for (const auto& [t, n] : tensors_by_type) s += cat(" ", n, " ", t);
  s += cat("; ", packed_linears, " of ", linears, " linears packed, ", inexact_groups, " of ", groups,
           " groups inexact");
  for (const auto& [why, n] : fallback_reasons) s += cat("; ", n, " stored unpacked: ", why);
  if (f16_rounded_tensors) s += cat("; ", f16_rounded_tensors, " F16 tensors rounded (", f16_rounded_values, " values)");
  return s;
}

GgufExportReport write_gguf_model(const Model& m, const std::vector<BlockQuant>* quant, const std::string& path,
                                  const GgufExportOptions& o) {
  const DecoderConfig& c = m.cfg;
  // ---- validate before any work ----
  const std::string arch = gguf_export_arch(c, m.path);
  TokenizerKeys tok = tokenizer_keys(m, o);
  if (quant && quant->empty()) quant = nullptr;
  LB_INPUT_CHECK(!quant || int(quant->size()) == c.n_layers, "GGUF export: ", quant ? quant->size() : 0,
                 " blocks of quantisation results for a model of ", c.n_layers, " layers");
  std::unique_ptr<GgufFile> src;
  if (is_gguf_path(m.path) && file_exists(m.path)) src = read_gguf(m.path);

  GgufExportReport rep;
  rep.path = path;
  rep.tokenizer = tok.what;
  GgufWriter w;
  w.set("general.architecture", GgufValue::make_string(arch));
  if (src)
    for (const auto& k : src->kv_order)
      if (k.rfind("general.", 0) == 0 && k != "general.architecture" && k != "general.alignment" &&
          k != "general.file_type" && k != "general.quantization_version" && k != "general.quantized_by")
        w.set(k, src->kv.at(k));
  if (!src || !src->has("general.name")) {
    std::string stem = m.path.substr(m.path.find_last_of('/') + 1);
    if (stem.empty()) stem = "model";
    w.set("general.name", GgufValue::make_string(stem.substr(0, stem.find_last_of('.'))));
  }
  w.set("general.quantized_by", GgufValue::make_string("lowbit"));
  if (!o.description.empty()) w.set("general.description", GgufValue::make_string(o.description));
  w.set("general.file_type", GgufValue::make_uint(GgufType::U32, 0));  // set below; keeps this position
  put_arch_keys(w, c, arch);
  for (auto& [k, v] : tok.kv) w.set(k, std::move(v));

  std::map<uint32_t, int64_t> lin_elems;
  bool any_block = false;
  auto count = [&](uint32_t type) { ++rep.tensors_by_type[ggml_type_name(type)]; };
  // A 1-D or 2-D f32 tensor in `type` (F32 or F16; Auto decided per tensor).
  auto add_plain = [&](const std::string& canon, const Tensor& t, GgufPlainDType dt) {
    if (t.empty()) return uint32_t(0);
    const std::string name = gguf_tensor_name(canon);
    LB_CHECK(!name.empty(), "no GGUF name for ", canon);
    uint32_t type = 0;
    if (dt != GgufPlainDType::F32) {
      const int64_t changed = f16_changed(t);
      if (dt == GgufPlainDType::F16 || changed == 0) {
        type = 1;
        if (changed) {
          ++rep.f16_rounded_tensors;
          rep.f16_rounded_values += changed;
        }
      }
    }
    w.add_f32(name, t, type);
    count(type);
    return type;
  };
  auto add_f32 = [&](const std::string& canon, const Tensor& t) { add_plain(canon, t, GgufPlainDType::F32); };

  add_plain(kTokEmbed, m.tok_embed, o.dtype);
  add_f32(kFinalNormW, m.final_norm_w);
  if (!c.tie_embeddings) add_plain(kLmHead, m.lm_head, o.dtype);
  const RopeStyle target = gguf_rope_style(arch);
  for (int l = 0; l < c.n_layers; ++l) {
    const bool was_cached = m.has_block(l);
    const BlockWeights& b = m.block(l);
    for (const auto& [suffix, t] : b.norm_tensors()) add_f32(block_weight_name(l, suffix), *t);
    for (auto id : kLinearIds) {
      auto [out, in] = lin_shape(c, id);
      if (out == 0) continue;
      const Linear& lin = b.linear(id);
      const std::string base = block_weight_name(l, linear_name(id));
      const bool rope_rows = id == LinearId::Q || id == LinearId::K;
      const std::vector<int64_t> perm =
          rope_perm(out, id == LinearId::Q ? c.n_heads : c.n_kv_heads, rope_rows ? c.rope : target, target);
      add_f32(base + ".bias", permute_rows(lin.b, perm));
      ++rep.linears;
      const QuantResult* r = quant ? &(*quant)[size_t(l)][size_t(id)] : nullptr;
      if (r && r->w_hat.empty()) r = nullptr;
      PackPlan plan;
      std::string why;
      if (r && plan_pack(*r, lin.w, out, in, plan, why)) {
        std::vector<uint8_t> bytes;
        const int64_t inexact = pack_rows(*r, lin.w, plan, perm, bytes);
        const uint32_t type = *ggml_from_dtype(plan.type);
        w.add_tensor(gguf_tensor_name(base + ".weight"), type, {out, in}, std::move(bytes));
        count(type);
        ++rep.packed_linears;
        rep.groups += out * (in / 32);
        rep.inexact_groups += inexact;
        lin_elems[type] += out * in;
        any_block = true;
        continue;
      }
      if (r) {
        ++rep.fallback_linears;
        ++rep.fallback_reasons[r->spec.str() + ": " + why];
      }
      lin_elems[add_plain(base + ".weight", permute_rows(lin.w, perm), o.dtype)] += out * in;
    }
    if (!was_cached) m.release_block(l);
  }
  w.set("general.file_type", GgufValue::make_uint(GgufType::U32, file_type_of(lin_elems, rep.file_type)));
  if (any_block) w.set("general.quantization_version", GgufValue::make_uint(GgufType::U32, 2));
  w.write(path);
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0) rep.bytes = uint64_t(st.st_size);
  return rep;
}

}  // namespace lowbit
