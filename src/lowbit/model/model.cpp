// lowbit/model/model.cpp — block materialisation and shape validation (the loaders: io/load.hpp).
// defines: see model.hpp
#include "lowbit/model/model.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <cmath>
#include <set>

#include "lowbit/core/error.hpp"
#include "lowbit/core/mapped_file.hpp"

namespace lowbit {

std::string block_weight_name(int layer, const std::string& suffix) {
  return "layers." + std::to_string(layer) + "." + suffix;
}

Linear& BlockWeights::linear(LinearId id) {
  switch (id) {
    case LinearId::Q: return q;
    case LinearId::K: return k;
    case LinearId::V: return v;
    case LinearId::O: return o;
    case LinearId::Gate: return gate;
    case LinearId::Up: return up;
    case LinearId::Down: return down;
  }
  LB_FAIL_INTERNAL("bad LinearId");
}
const Linear& BlockWeights::linear(LinearId id) const { return const_cast<BlockWeights*>(this)->linear(id); }

std::array<std::pair<const char*, Tensor*>, 8> BlockWeights::norm_tensors() {
  Tensor* t[8] = {&attn_norm_w, &attn_norm_b, &mlp_norm_w, &mlp_norm_b, &post_attn_norm_w, &post_mlp_norm_w,
                  &q_norm_w,    &k_norm_w};
  std::array<std::pair<const char*, Tensor*>, 8> r;
  for (size_t i = 0; i < r.size(); ++i) r[i] = {kBlockNormSuffixes[i], t[i]};
  return r;
}
std::array<std::pair<const char*, const Tensor*>, 8> BlockWeights::norm_tensors() const {
  auto m = const_cast<BlockWeights*>(this)->norm_tensors();
  std::array<std::pair<const char*, const Tensor*>, 8> r;
  for (size_t i = 0; i < r.size(); ++i) r[i] = {m[i].first, m[i].second};
  return r;
}

size_t BlockWeights::bytes() const {
  size_t n = 0;
  for (const auto& [suffix, t] : norm_tensors()) n += t->data.size();
  for (auto id : kLinearIds) n += linear(id).w.data.size() + linear(id).b.data.size();
  return n * sizeof(float);
}

namespace {

// Every tensor the config requires: canonical name -> expected shape.
std::vector<std::pair<std::string, std::vector<int64_t>>> expected_tensors(const DecoderConfig& c) {
  std::vector<std::pair<std::string, std::vector<int64_t>>> e;
  const int64_t D = c.dim, H = c.hidden_dim, Q = c.q_dim(), KV = c.kv_dim(), V = c.vocab_size;
  const bool ln = c.norm == NormKind::LayerNorm;
  e.push_back({kTokEmbed, {V, D}});
  if (c.learned_pos) e.push_back({kPosEmbed, {c.max_seq_len + c.pos_offset, D}});
  e.push_back({kFinalNormW, {D}});
  if (ln) e.push_back({kFinalNormB, {D}});
  if (!c.tie_embeddings) e.push_back({kLmHead, {V, D}});
  for (int i = 0; i < c.n_layers; ++i) {
    auto n = [&](const char* s) { return block_weight_name(i, s); };
    e.push_back({n("attn_norm.weight"), {D}});
    e.push_back({n("mlp_norm.weight"), {D}});
    if (ln) {
      e.push_back({n("attn_norm.bias"), {D}});
      e.push_back({n("mlp_norm.bias"), {D}});
    }
    if (c.post_norms) {
      e.push_back({n("post_attn_norm.weight"), {D}});
      e.push_back({n("post_mlp_norm.weight"), {D}});
    }
    if (c.qk_norm) {
      e.push_back({n("attn.q_norm.weight"), {c.head_dim}});
      e.push_back({n("attn.k_norm.weight"), {c.head_dim}});
    }
    e.push_back({n("attn.q.weight"), {Q, D}});
    e.push_back({n("attn.k.weight"), {KV, D}});
    e.push_back({n("attn.v.weight"), {KV, D}});
    e.push_back({n("attn.o.weight"), {D, Q}});
    if (c.qkv_bias) {
      e.push_back({n("attn.q.bias"), {Q}});
      e.push_back({n("attn.k.bias"), {KV}});
      e.push_back({n("attn.v.bias"), {KV}});
    }
    if (c.o_bias) e.push_back({n("attn.o.bias"), {D}});
    if (c.gated_mlp) e.push_back({n("mlp.gate.weight"), {H, D}});
    e.push_back({n("mlp.up.weight"), {H, D}});
    e.push_back({n("mlp.down.weight"), {D, H}});
    if (c.mlp_bias) {
      e.push_back({n("mlp.up.bias"), {H}});
      e.push_back({n("mlp.down.bias"), {D}});
    }
  }
  return e;
}

// Finite but absurd values (see kMaxWeightMagnitude) are refused with the stored tensor named.
void check_magnitude(const TensorRef& ref, const Tensor& t) {
  for (size_t i = 0; i < t.data.size(); ++i)
    LB_INPUT_CHECK(std::fabs(t.data[i]) <= kMaxWeightMagnitude, ref.file, ": tensor '", ref.name, "' ",
                   ref.shape_str(), ": value ", t.data[i], " at flat index ", i, " exceeds ", kMaxWeightMagnitude,
                   " in magnitude (no trained model holds such weights; the forward would overflow)");
}

Tensor get(const Model& m, const std::string& name) {
  auto it = m.source.find(name);
  if (it == m.source.end()) return Tensor();
  Tensor t = it->second.to_f32();
  check_magnitude(it->second, t);
  return t;
}

void check_finite(const std::string& what, const std::string& name, const Tensor& t) {
  for (size_t i = 0; i < t.data.size(); ++i)
    LB_INPUT_CHECK(std::isfinite(t.data[i]), what, ": tensor '", name, "' ", t.shape_str(), " has the non-finite value ",
                   t.data[i], " at flat index ", i);
}

// Source entries the config does not use, by their names in the file.
std::vector<std::string> unused_source_tensors(const Model& m) {
  const std::vector<std::string> names = expected_tensor_names(m.cfg);
  const std::set<std::string> want(names.begin(), names.end());
  std::vector<std::string> unused;
  for (const auto& [canon, ref] : m.source)
    if (!want.count(canon)) unused.push_back(ref.name);
  return unused;
}

}  // namespace

std::vector<std::string> expected_tensor_names(const DecoderConfig& c) {
  std::vector<std::string> n;
  for (const auto& e : expected_tensors(c)) n.push_back(e.first);
  return n;
}

void check_no_unused_tensors(const std::string& where, const std::vector<std::string>& unused, const std::string& by) {
  if (unused.empty()) return;
  std::string list;
  for (size_t i = 0; i < unused.size() && i < kUnusedNamesShown; ++i) list += (i ? ", " : "") + unused[i];
  if (unused.size() > kUnusedNamesShown) list += ", ...";
  LB_FAIL_INPUT(where, ": ", unused.size(), " tensor", unused.size() == 1 ? " is" : "s are", " not used by ", by,
                " (", list, "): the checkpoint and its config disagree");
}

void check_weights_finite(const Model& m, const std::string& what) {
  check_finite(what, kTokEmbed, m.tok_embed);
  check_finite(what, kPosEmbed, m.pos_embed);
  check_finite(what, kFinalNormW, m.final_norm_w);
  check_finite(what, kFinalNormB, m.final_norm_b);
  check_finite(what, kLmHead, m.lm_head);
  for (int i = 0; i < m.cfg.n_layers; ++i) {
    if (!m.has_block(i)) continue;  // backed by the checkpoint, which was checked when it was read
    const BlockWeights& b = m.block(i);
    for (const auto& [suffix, t] : b.norm_tensors()) check_finite(what, block_weight_name(i, suffix), *t);
    for (auto id : kLinearIds) {
      check_finite(what, block_weight_name(i, std::string(linear_name(id)) + ".weight"), b.linear(id).w);
      check_finite(what, block_weight_name(i, std::string(linear_name(id)) + ".bias"), b.linear(id).b);
    }
  }
}

void finish_model_load(Model& m) {
  m.cfg.validate(m.path);
  check_no_unused_tensors(m.path, unused_source_tensors(m),
                          cat("the ", m.cfg.n_layers, "-layer ", arch_name(m.cfg.arch), " config"));
  for (const auto& [name, shape] : expected_tensors(m.cfg)) {
    auto it = m.source.find(name);
    LB_INPUT_CHECK(it != m.source.end(), m.path, ": missing tensor for '", name, "'");
    LB_INPUT_CHECK(it->second.shape == shape, it->second.file, ": tensor '", it->second.name, "' has shape ",
                   it->second.shape_str(), " but the config needs ", shape_to_string(shape));
    LB_INPUT_CHECK(dtype_is_float(it->second.dtype), it->second.file, ": tensor '", it->second.name,
                   "' has dtype ", dtype_name(it->second.dtype), ", expected F32/F16/BF16");
  }
  m.tok_embed = get(m, kTokEmbed);
  m.pos_embed = get(m, kPosEmbed);
  m.final_norm_w = get(m, kFinalNormW);
  m.final_norm_b = get(m, kFinalNormB);
  if (!m.cfg.tie_embeddings) m.lm_head = get(m, kLmHead);
}

void Model::ensure_slots() const {
  if (blocks_.size() != size_t(cfg.n_layers)) blocks_.resize(size_t(cfg.n_layers));
  if (dirty_.size() != size_t(cfg.n_layers)) dirty_.resize(size_t(cfg.n_layers), 0);
}

BlockWeights Model::load_block(int i) const {
  LB_CHECK(i >= 0 && i < cfg.n_layers, "block ", i);
  BlockWeights b;
  for (auto [suffix, t] : b.norm_tensors()) *t = get(*this, block_weight_name(i, suffix));
  for (auto id : kLinearIds) {
    std::string base = linear_name(id);
    b.linear(id).w = get(*this, block_weight_name(i, base + ".weight"));
    b.linear(id).b = get(*this, block_weight_name(i, base + ".bias"));
  }
  return b;
}

const BlockWeights& Model::block(int i) const {
  ensure_slots();
  LB_CHECK(i >= 0 && i < cfg.n_layers, "block ", i);
  if (!blocks_[size_t(i)]) blocks_[size_t(i)] = load_block(i);
  return *blocks_[size_t(i)];
}

void Model::set_block(int i, BlockWeights b) {
  ensure_slots();
  LB_CHECK(i >= 0 && i < cfg.n_layers, "block ", i);
  blocks_[size_t(i)] = std::move(b);
  dirty_[size_t(i)] = 1;
}

void Model::adopt_block_source(int i, const std::map<std::string, TensorRef>& refs) {
  ensure_slots();
  LB_CHECK(i >= 0 && i < cfg.n_layers, "block ", i);
  for (const auto& [name, ref] : refs) source[name] = ref;  // refs keep the mapping alive
  blocks_[size_t(i)].reset();
  dirty_[size_t(i)] = 0;
  drop_source_pages(i);
}

void Model::drop_source_pages(int i) const {
  const std::string prefix = block_weight_name(i, "");
  const uintptr_t page = uintptr_t(::sysconf(_SC_PAGESIZE));
  for (auto it = source.lower_bound(prefix); it != source.end() && it->first.rfind(prefix, 0) == 0; ++it) {
    const auto a = reinterpret_cast<uintptr_t>(it->second.data);
    const uintptr_t lo = (a + page - 1) & ~(page - 1), hi = (a + it->second.nbytes) & ~(page - 1);
    if (hi > lo) ::madvise(reinterpret_cast<void*>(lo), hi - lo, MADV_DONTNEED);  // advice: errors ignored
  }
}

void Model::release_block(int i) const {
  ensure_slots();
  LB_CHECK(!dirty_.at(size_t(i)), "block ", i, " was replaced and not spilled: releasing it would lose it");
  blocks_.at(size_t(i)).reset();
  drop_source_pages(i);
}

bool Model::has_block(int i) const {
  ensure_slots();
  return blocks_.at(size_t(i)).has_value();
}

void Model::materialize_all() const {
  for (int i = 0; i < cfg.n_layers; ++i) block(i);
}

}  // namespace lowbit
