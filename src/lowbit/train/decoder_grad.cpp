// lowbit/train/decoder_grad.cpp — forward with saved activations and backward of the decoder.
// defines: see decoder_grad.hpp
#include "lowbit/train/decoder_grad.hpp"

#include <algorithm>
#include <cmath>
#include <random>

#include "lowbit/core/error.hpp"
#include "lowbit/model/forward.hpp"
#include "lowbit/train/ops.hpp"

namespace lowbit::train {

const ParamEntry& ParamLayout::at(const std::string& name) const {
  for (const auto& e : entries)
    if (e.name == name) return e;
  LB_FAIL_INTERNAL("no parameter named ", name);
}

DecoderConfig llama_train_config(int dim, int hidden_dim, int n_layers, int n_heads, int vocab_size, int seq_len,
                                 bool tie_embeddings) {
  DecoderConfig c;
  c.arch = Arch::Llama;
  c.dim = dim;
  c.hidden_dim = hidden_dim;
  c.n_layers = n_layers;
  c.n_heads = n_heads;
  c.n_kv_heads = n_heads;
  c.head_dim = n_heads > 0 ? dim / n_heads : 0;
  c.vocab_size = vocab_size;
  c.max_seq_len = seq_len;
  c.rope = RopeStyle::Interleaved;
  c.tie_embeddings = tie_embeddings;
  c.source_format = "llama2c";
  return c;
}

void check_trainable_config(const DecoderConfig& c, const std::string& where) {
  c.validate(where);
  if (c.arch != Arch::Llama || c.norm != NormKind::RMSNorm || c.rope != RopeStyle::Interleaved ||
      c.act != Activation::SiLU || !c.gated_mlp || c.qkv_bias || c.o_bias || c.mlp_bias || c.learned_pos)
    LB_THROW(ConfigError, where,
             ": the trainer supports the llama2.c architecture only (RMSNorm, interleaved RoPE, SwiGLU, no biases)");
  if (c.n_kv_heads != c.n_heads)
    LB_THROW(ConfigError, where, ": n_kv_heads (", c.n_kv_heads, ") must equal n_heads (", c.n_heads,
             ") for training (no GQA)");
  if (c.head_dim * c.n_heads != c.dim)
    LB_THROW(ConfigError, where, ": dim (", c.dim, ") must equal n_heads x head_dim (", c.n_heads, " x ", c.head_dim,
             ")");
  if (c.head_dim % 2 != 0) LB_THROW(ConfigError, where, ": head_dim (", c.head_dim, ") must be even for RoPE");
}

ParamLayout make_layout(const DecoderConfig& c) {
  ParamLayout L;
  auto add = [&](std::string name, std::vector<int64_t> shape, bool decay) {
    ParamEntry e;
    e.name = std::move(name);
    e.shape = std::move(shape);
    e.offset = L.total;
    e.size = size_t(Tensor::numel_of(e.shape));
    e.decay = decay;
    L.total += e.size;
    L.entries.push_back(std::move(e));
  };
  const int64_t D = c.dim, H = c.hidden_dim, V = c.vocab_size;
  add(kTokEmbed, {V, D}, true);
  for (int l = 0; l < c.n_layers; ++l) {
    add(block_weight_name(l, "attn_norm.weight"), {D}, false);
    add(block_weight_name(l, "attn.q.weight"), {D, D}, true);
    add(block_weight_name(l, "attn.k.weight"), {D, D}, true);
    add(block_weight_name(l, "attn.v.weight"), {D, D}, true);
    add(block_weight_name(l, "attn.o.weight"), {D, D}, true);
    add(block_weight_name(l, "mlp_norm.weight"), {D}, false);
    add(block_weight_name(l, "mlp.gate.weight"), {H, D}, true);
    add(block_weight_name(l, "mlp.up.weight"), {H, D}, true);
    add(block_weight_name(l, "mlp.down.weight"), {D, H}, true);
  }
  add(kFinalNormW, {D}, false);
  if (!c.tie_embeddings) add(kLmHead, {V, D}, true);
  return L;
}

std::vector<float> init_parameters(const DecoderConfig& c, const ParamLayout& layout, uint64_t seed) {
  std::vector<float> p(layout.total);
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> nd(0.f, 1.f);
  const float resid = 0.02f / std::sqrt(2.f * float(c.n_layers));
  for (const auto& e : layout.entries) {
    float* w = p.data() + e.offset;
    if (!e.decay) {
      std::fill(w, w + e.size, 1.f);
      continue;
    }
    const bool is_resid = e.name.ends_with("attn.o.weight") || e.name.ends_with("mlp.down.weight");
    const float s = is_resid ? resid : 0.02f;
    for (size_t i = 0; i < e.size; ++i) w[i] = s * nd(rng);
  }
  return p;
}

TrainableDecoder::TrainableDecoder(const DecoderConfig& c) : cfg_(c), layout_(make_layout(c)) {
  check_trainable_config(c, "trainer");
  acts_.resize(size_t(c.n_layers));
}

double TrainableDecoder::forward_backward(const std::vector<float>& params, const int* tokens, const int* targets,
                                          int B, int T, std::vector<float>* grad, Tensor* logits_out) {
  const DecoderConfig& c = cfg_;
  LB_CHECK(params.size() == layout_.total, "parameters ", params.size(), " vs layout ", layout_.total);
  LB_CHECK(!grad || grad->size() == layout_.total, "gradient size ", grad->size());
  const int64_t N = int64_t(B) * T, D = c.dim, Hd = c.hidden_dim, V = c.vocab_size;
  const int H = c.n_heads, hd = c.head_dim;
  for (int64_t r = 0; r < N; ++r)
    LB_INPUT_CHECK(tokens[r] >= 0 && tokens[r] < V, "token id ", tokens[r], " at position ", r,
                   " is outside the vocabulary [0, ", V, ")");
  const float* P = params.data();
  auto w = [&](const std::string& n) { return P + layout_.at(n).offset; };
  const float* E = w(kTokEmbed);
  const float* cls = c.tie_embeddings ? E : w(kLmHead);

  // ---- forward ----
  Tensor x({N, D});
  embedding_forward(E, tokens, N, D, x.ptr());
  Tensor tmp;
  for (int l = 0; l < c.n_layers; ++l) {
    Layer& A = acts_[size_t(l)];
    auto bw = [&](const char* s) { return w(block_weight_name(l, s)); };
    A.x_in = x;
    A.xn1.resize({N, D});
    rms_norm(x.ptr(), bw("attn_norm.weight"), A.xn1.ptr(), N, D, c.norm_eps);
    A.q.resize({N, D});
    A.k.resize({N, D});
    A.v.resize({N, D});
    linear_forward_raw(A.xn1.ptr(), bw("attn.q.weight"), N, D, D, A.q.ptr());
    linear_forward_raw(A.xn1.ptr(), bw("attn.k.weight"), N, D, D, A.k.ptr());
    linear_forward_raw(A.xn1.ptr(), bw("attn.v.weight"), N, D, D, A.v.ptr());
    apply_rope(A.q.ptr(), N, T, 0, H, hd, RopeStyle::Interleaved, c.rope_theta);
    apply_rope(A.k.ptr(), N, T, 0, H, hd, RopeStyle::Interleaved, c.rope_theta);
    A.att.resize({N, D});
    A.probs.resize({B, H, T, T});
    attention_forward(A.q.ptr(), A.k.ptr(), A.v.ptr(), B, T, H, hd, A.att.ptr(), A.probs.ptr());
    tmp.resize({N, D});
    linear_forward_raw(A.att.ptr(), bw("attn.o.weight"), N, D, D, tmp.ptr());
    for (int64_t i = 0; i < N * D; ++i) x.data[size_t(i)] += tmp.data[size_t(i)];
    A.x_mid = x;
    A.xn2.resize({N, D});
    rms_norm(x.ptr(), bw("mlp_norm.weight"), A.xn2.ptr(), N, D, c.norm_eps);
    A.g.resize({N, Hd});
    A.u.resize({N, Hd});
    A.h.resize({N, Hd});
    linear_forward_raw(A.xn2.ptr(), bw("mlp.up.weight"), N, D, Hd, A.u.ptr());
    linear_forward_raw(A.xn2.ptr(), bw("mlp.gate.weight"), N, D, Hd, A.g.ptr());
    swiglu_forward(A.g.ptr(), A.u.ptr(), N * Hd, A.h.ptr());
    linear_forward_raw(A.h.ptr(), bw("mlp.down.weight"), N, Hd, D, tmp.ptr());
    for (int64_t i = 0; i < N * D; ++i) x.data[size_t(i)] += tmp.data[size_t(i)];
  }
  x_final = x;
  xnf.resize({N, D});
  rms_norm(x.ptr(), w(kFinalNormW), xnf.ptr(), N, D, c.norm_eps);
  logits_.resize({N, V});
  linear_forward_raw(xnf.ptr(), cls, N, D, V, logits_.ptr());
  if (logits_out) *logits_out = logits_;
  const double loss = cross_entropy(logits_.ptr(), targets, N, V, grad != nullptr);
  if (!grad) return loss;

  // ---- backward ----
  float* G = grad->data();
  auto gw = [&](const std::string& n) { return G + layout_.at(n).offset; };
  float* dE = gw(kTokEmbed);
  float* dcls = c.tie_embeddings ? dE : gw(kLmHead);
  dxn.resize({N, D});
  linear_backward(xnf.ptr(), cls, logits_.ptr(), N, D, V, dxn.ptr(), dcls, false);
  dx.resize({N, D});
  std::fill(dx.data.begin(), dx.data.end(), 0.f);
  rms_norm_backward(x_final.ptr(), w(kFinalNormW), dxn.ptr(), N, D, c.norm_eps, dx.ptr(), gw(kFinalNormW));
  dq.resize({N, D});
  dk.resize({N, D});
  dv.resize({N, D});
  datt.resize({N, D});
  dg.resize({N, Hd});
  du.resize({N, Hd});
  dh.resize({N, Hd});
  for (int l = c.n_layers - 1; l >= 0; --l) {
    Layer& A = acts_[size_t(l)];
    auto bw = [&](const char* s) { return w(block_weight_name(l, s)); };
    auto bg = [&](const char* s) { return gw(block_weight_name(l, s)); };
    // MLP: x_out = x_mid + down(silu(gate(xn2)) * up(xn2))
    linear_backward(A.h.ptr(), bw("mlp.down.weight"), dx.ptr(), N, Hd, D, dh.ptr(), bg("mlp.down.weight"), false);
    swiglu_backward(A.g.ptr(), A.u.ptr(), dh.ptr(), N * Hd, dg.ptr(), du.ptr());
    linear_backward(A.xn2.ptr(), bw("mlp.up.weight"), du.ptr(), N, D, Hd, dxn.ptr(), bg("mlp.up.weight"), false);
    linear_backward(A.xn2.ptr(), bw("mlp.gate.weight"), dg.ptr(), N, D, Hd, dxn.ptr(), bg("mlp.gate.weight"), true);
    rms_norm_backward(A.x_mid.ptr(), bw("mlp_norm.weight"), dxn.ptr(), N, D, c.norm_eps, dx.ptr(),
                      bg("mlp_norm.weight"));
    // Attention: x_mid = x_in + o(attention(rope(q(xn1)), rope(k(xn1)), v(xn1)))
    linear_backward(A.att.ptr(), bw("attn.o.weight"), dx.ptr(), N, D, D, datt.ptr(), bg("attn.o.weight"), false);
    attention_backward(A.q.ptr(), A.k.ptr(), A.v.ptr(), A.probs.ptr(), datt.ptr(), B, T, H, hd, dq.ptr(), dk.ptr(),
                       dv.ptr());
    rope_backward(dq.ptr(), N, T, H, hd, c.rope_theta);
    rope_backward(dk.ptr(), N, T, H, hd, c.rope_theta);
    linear_backward(A.xn1.ptr(), bw("attn.q.weight"), dq.ptr(), N, D, D, dxn.ptr(), bg("attn.q.weight"), false);
    linear_backward(A.xn1.ptr(), bw("attn.k.weight"), dk.ptr(), N, D, D, dxn.ptr(), bg("attn.k.weight"), true);
    linear_backward(A.xn1.ptr(), bw("attn.v.weight"), dv.ptr(), N, D, D, dxn.ptr(), bg("attn.v.weight"), true);
    rms_norm_backward(A.x_in.ptr(), bw("attn_norm.weight"), dxn.ptr(), N, D, c.norm_eps, dx.ptr(),
                      bg("attn_norm.weight"));
  }
  embedding_backward(tokens, N, D, dx.ptr(), dE);
  return loss;
}

std::unique_ptr<Model> to_model(const DecoderConfig& c0, const std::vector<float>& params) {
  DecoderConfig c = c0;
  c.source_format = "llama2c";
  c.source_dtype = "F32";
  check_trainable_config(c, "trained model");
  const ParamLayout L = make_layout(c);
  LB_CHECK(params.size() == L.total, "parameters ", params.size(), " vs layout ", L.total);
  auto tensor = [&](const std::string& name) {
    const ParamEntry& e = L.at(name);
    Tensor t(e.shape);
    std::copy(params.begin() + long(e.offset), params.begin() + long(e.offset + e.size), t.data.begin());
    return t;
  };
  auto m = std::make_unique<Model>();
  m->cfg = c;
  m->path = "trained";
  m->tok_embed = tensor(kTokEmbed);
  m->final_norm_w = tensor(kFinalNormW);
  if (!c.tie_embeddings) m->lm_head = tensor(kLmHead);
  for (int l = 0; l < c.n_layers; ++l) {
    BlockWeights b;
    auto t = [&](const char* s) { return tensor(block_weight_name(l, s)); };
    b.attn_norm_w = t("attn_norm.weight");
    b.mlp_norm_w = t("mlp_norm.weight");
    b.q.w = t("attn.q.weight");
    b.k.w = t("attn.k.weight");
    b.v.w = t("attn.v.weight");
    b.o.w = t("attn.o.weight");
    b.gate.w = t("mlp.gate.weight");
    b.up.w = t("mlp.up.weight");
    b.down.w = t("mlp.down.weight");
    m->set_block(l, std::move(b));
  }
  return m;
}

std::vector<float> parameters_from_model(const Model& m) {
  check_trainable_config(m.cfg, m.path);
  const ParamLayout L = make_layout(m.cfg);
  std::vector<float> p(L.total);
  auto put = [&](const std::string& name, const Tensor& t) {
    const ParamEntry& e = L.at(name);
    LB_INPUT_CHECK(size_t(t.numel()) == e.size, m.path, ": tensor ", name, " has ", t.numel(), " values, expected ",
                   e.size);
    std::copy(t.data.begin(), t.data.end(), p.begin() + long(e.offset));
  };
  put(kTokEmbed, m.tok_embed);
  put(kFinalNormW, m.final_norm_w);
  if (!m.cfg.tie_embeddings) put(kLmHead, m.lm_head);
  for (int l = 0; l < m.cfg.n_layers; ++l) {
    const BlockWeights& b = m.block(l);
    auto n = [&](const char* s) { return block_weight_name(l, s); };
    put(n("attn_norm.weight"), b.attn_norm_w);
    put(n("mlp_norm.weight"), b.mlp_norm_w);
    put(n("attn.q.weight"), b.q.w);
    put(n("attn.k.weight"), b.k.w);
    put(n("attn.v.weight"), b.v.w);
    put(n("attn.o.weight"), b.o.w);
    put(n("mlp.gate.weight"), b.gate.w);
    put(n("mlp.up.weight"), b.up.w);
    put(n("mlp.down.weight"), b.down.w);
  }
  return p;
}

}  // namespace lowbit::train
