// lowbit/io/llama2c.cpp — llama2.c checkpoint reader and writer. defines: see llama2c.hpp
#include "lowbit/io/llama2c.hpp"

#include <cmath>
#include <cstring>

#include "lowbit/core/error.hpp"
#include "lowbit/core/mapped_file.hpp"
#include "lowbit/model/model.hpp"

namespace lowbit {

Llama2cHeader parse_llama2c_header(std::string_view bytes, uint64_t file_size, const std::string& file) {
  LB_INPUT_CHECK(file_size >= 28 && bytes.size() >= 28, file, ": truncated llama2.c checkpoint: ", file_size,
                 " bytes, the 28-byte header is incomplete");
  int32_t h[7];
  std::memcpy(h, bytes.data(), 28);
  const char* names[7] = {"dim", "hidden_dim", "n_layers", "n_heads", "n_kv_heads", "vocab_size", "seq_len"};
  for (int i = 0; i < 7; ++i) {
    LB_INPUT_CHECK(h[i] != 0 && (i == 5 || h[i] > 0), file, ": llama2.c header field ", names[i], " = ", h[i],
                   " is invalid (not a llama2.c v0 checkpoint?)");
  }
  Llama2cHeader r;
  DecoderConfig& c = r.cfg;
  c.arch = Arch::Llama;
  c.dim = h[0];
  c.hidden_dim = h[1];
  c.n_layers = h[2];
  c.n_heads = h[3];
  c.n_kv_heads = h[4];
  r.shared_classifier = h[5] > 0;
  LB_INPUT_CHECK(h[5] != INT32_MIN, file, ": llama2.c header field vocab_size = ", h[5], " is invalid");
  c.vocab_size = h[5] > 0 ? h[5] : -h[5];
  c.max_seq_len = h[6];
  LB_INPUT_CHECK(c.max_seq_len >= kMinContext, file, ": llama2.c header field seq_len = ", c.max_seq_len,
                 " must be at least ", kMinContext, " (a window of n tokens predicts n-1)");
  LB_INPUT_CHECK(c.dim % c.n_heads == 0, file, ": llama2.c header: dim ", c.dim, " is not a multiple of n_heads ",
                 c.n_heads);
  c.head_dim = c.dim / c.n_heads;
  c.norm = NormKind::RMSNorm;
  c.norm_eps = 1e-5f;
  c.rope = RopeStyle::Interleaved;
  c.rope_theta = 10000.f;
  c.act = Activation::SiLU;
  c.gated_mlp = true;
  c.tie_embeddings = r.shared_classifier;
  c.bos_id = 1;
  c.eos_id = 2;
  c.source_format = "llama2c";
  try {
    c.validate(file);
  } catch (const ConfigError& e) {
    throw InputError(e.what(), e.src_file(), e.src_line());
  }
  const uint64_t D = uint64_t(c.dim), H = uint64_t(c.hidden_dim), L = uint64_t(c.n_layers),
                 V = uint64_t(c.vocab_size), KV = uint64_t(c.kv_dim()), S = uint64_t(c.max_seq_len),
                 hd = uint64_t(c.head_dim);
  uint64_t floats = V * D + L * D + L * D * D + 2 * L * KV * D + L * D * D + L * D + 3 * L * H * D + D +
                    S * hd;  // the two RoPE tables, each S x hd/2
  if (!r.shared_classifier) floats += V * D;
  r.expected_size = 28 + 4 * floats;
  LB_INPUT_CHECK(file_size >= r.expected_size, file, ": truncated llama2.c checkpoint: ", file_size,
                 " bytes, the header (dim ", c.dim, ", layers ", c.n_layers, ", vocab ", c.vocab_size,
                 ") needs ", r.expected_size);
  LB_INPUT_CHECK(file_size == r.expected_size, file, ": oversized llama2.c checkpoint: ", file_size,
                 " bytes, the header needs exactly ", r.expected_size, " (", file_size - r.expected_size,
                 " trailing bytes; a v1+ checkpoint or a wrong header?)");
  return r;
}

std::unique_ptr<Model> load_llama2c_model(const std::string& path) {
  auto map = MappedFile::open(path);
  std::string_view bytes(reinterpret_cast<const char*>(map->data()), map->size());
  Llama2cHeader h = parse_llama2c_header(bytes, map->size(), path);
  auto m = std::make_unique<Model>();
  m->cfg = h.cfg;
  m->path = path;
  const DecoderConfig& c = m->cfg;
  const int64_t D = c.dim, H = c.hidden_dim, L = c.n_layers, V = c.vocab_size, KV = c.kv_dim();
  size_t off = 28;
  auto add = [&](const std::string& canon, const std::string& stored, std::vector<int64_t> shape) {
    TensorRef r;
    r.name = stored;
    r.file = path;
    r.dtype = DType::F32;
    r.shape = std::move(shape);
    r.nbytes = size_t(r.numel()) * 4;
    r.data = map->data() + off;
    r.owner = map;
    off += r.nbytes;
    m->source.emplace(canon, std::move(r));
  };
  // Per-layer arrays are stored layer after layer; each layer's slice becomes one tensor.
  auto add_layers = [&](const char* canon_suffix, const char* stored, std::vector<int64_t> shape) {
    for (int64_t l = 0; l < L; ++l)
      add(block_weight_name(int(l), canon_suffix), std::string(stored) + "[" + std::to_string(l) + "]", shape);
  };
  add(kTokEmbed, "token_embedding_table", {V, D});
  add_layers("attn_norm.weight", "rms_att_weight", {D});
  add_layers("attn.q.weight", "wq", {D, D});
  add_layers("attn.k.weight", "wk", {KV, D});
  add_layers("attn.v.weight", "wv", {KV, D});
  add_layers("attn.o.weight", "wo", {D, D});
  add_layers("mlp_norm.weight", "rms_ffn_weight", {D});
  add_layers("mlp.gate.weight", "w1", {H, D});
  add_layers("mlp.down.weight", "w2", {D, H});
  add_layers("mlp.up.weight", "w3", {H, D});
  add(kFinalNormW, "rms_final_weight", {D});
  off += size_t(c.max_seq_len) * size_t(c.head_dim) * 4;  // freq_cis_real + freq_cis_imag (recomputed)
  if (!h.shared_classifier) add(kLmHead, "wcls", {V, D});
  LB_CHECK(off == h.expected_size, "layout arithmetic disagrees with header check");
  finish_model_load(*m);
  return m;
}

namespace {
void put(std::string& out, const Tensor& t) {
  out.append(reinterpret_cast<const char*>(t.ptr()), t.data.size() * 4);
}
}  // namespace

void write_llama2c_model(const Model& m, const std::string& path) {
  const DecoderConfig& c = m.cfg;
  if (c.arch != Arch::Llama || c.norm != NormKind::RMSNorm || c.act != Activation::SiLU || !c.gated_mlp ||
      c.qkv_bias || c.o_bias || c.mlp_bias || c.learned_pos || c.head_dim * c.n_heads != c.dim)
    LB_THROW(ConfigError, m.path, ": llama2.c format holds only bias-free LLaMA models with dim = heads x head_dim");
  if (c.rope != RopeStyle::Interleaved)
    LB_THROW(ConfigError, m.path, ": llama2.c format needs interleaved RoPE weights (convert with the q/k permutation)");
  std::string out;
  int32_t h[7] = {c.dim, c.hidden_dim, c.n_layers, c.n_heads, c.n_kv_heads,
                  c.tie_embeddings ? c.vocab_size : -c.vocab_size, c.max_seq_len};
  out.append(reinterpret_cast<const char*>(h), 28);
  put(out, m.tok_embed);
  std::vector<const BlockWeights*> blocks;
  for (int l = 0; l < c.n_layers; ++l) blocks.push_back(&m.block(l));
  for (auto* b : blocks) put(out, b->attn_norm_w);
  for (auto* b : blocks) put(out, b->q.w);
  for (auto* b : blocks) put(out, b->k.w);
  for (auto* b : blocks) put(out, b->v.w);
  for (auto* b : blocks) put(out, b->o.w);
  for (auto* b : blocks) put(out, b->mlp_norm_w);
  for (auto* b : blocks) put(out, b->gate.w);
  for (auto* b : blocks) put(out, b->down.w);
  for (auto* b : blocks) put(out, b->up.w);
  put(out, m.final_norm_w);
  // RoPE tables as llama2.c's export writes them (freqs = 1/theta^(2i/hd); cos then sin).
  const int half = c.head_dim / 2;
  std::vector<float> re(size_t(c.max_seq_len) * half), im(re.size());
  for (int p = 0; p < c.max_seq_len; ++p)
    for (int i = 0; i < half; ++i) {
      double f = 1.0 / std::pow(double(c.rope_theta), double(2 * i) / c.head_dim);
      re[size_t(p) * half + i] = float(std::cos(p * f));
      im[size_t(p) * half + i] = float(std::sin(p * f));
    }
  out.append(reinterpret_cast<const char*>(re.data()), re.size() * 4);
  out.append(reinterpret_cast<const char*>(im.data()), im.size() * 4);
  if (!c.tie_embeddings) put(out, m.lm_head);
  write_file_atomic(path, out);
}

}  // namespace lowbit
