// lowbit/model/model.hpp — a loaded decoder: its config, its weight source (memory-mapped
// checkpoint tensors under canonical names) and f32 blocks materialised on demand.
// defines: lowbit::Linear, lowbit::BlockWeights, lowbit::Model, finish_model_load (every loader
//          ends with it; load_model itself: io/load.hpp), canonical weight names (block_weight_name,
//          kTokEmbed, ...)
//
// Canonical names (independent of the file format; the adapters in llama2c.cpp / hf.cpp map to them):
//   tok_embed [V,D]   pos_embed [P,D] (OPT)   final_norm.weight/.bias   lm_head [V,D] (untied only)
//   layers.{i}.attn_norm.weight/.bias   layers.{i}.mlp_norm.weight/.bias
//   layers.{i}.attn.{q,k,v,o}.weight/.bias   layers.{i}.mlp.{gate,up,down}.weight/.bias
//   Gemma 3: layers.{i}.post_attn_norm.weight  layers.{i}.post_mlp_norm.weight  [D]
//            layers.{i}.attn.q_norm.weight  layers.{i}.attn.k_norm.weight  [head_dim]
#pragma once

#include <array>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "lowbit/core/tensor.hpp"
#include "lowbit/model/config.hpp"

namespace lowbit {

inline constexpr const char* kTokEmbed = "tok_embed";
inline constexpr const char* kPosEmbed = "pos_embed";
inline constexpr const char* kFinalNormW = "final_norm.weight";
inline constexpr const char* kFinalNormB = "final_norm.bias";
inline constexpr const char* kLmHead = "lm_head";
// "layers.{i}.{suffix}"
std::string block_weight_name(int layer, const std::string& suffix);

// Largest |weight| a checkpoint may hold. Real LLM weights and norm gains stay well below 1e3; 1e6
// leaves three orders of magnitude of margin, while values near f32's 3.4e38 (finite, so the
// NaN/Inf check passes) make the forward overflow: such a tensor is corrupt, not a model.
inline constexpr float kMaxWeightMagnitude = 1e6f;
// How many names an "unused tensors" error lists before "...": enough to see the pattern.
inline constexpr size_t kUnusedNamesShown = 4;

struct Linear {
  Tensor w;  // [out, in], row-major (PyTorch nn.Linear layout)
  Tensor b;  // [out] or empty
  int64_t out() const { return w.dim(0); }
  int64_t in() const { return w.dim(1); }
};

// Canonical suffixes of every per-block norm tensor, in BlockWeights::norm_tensors() order.
inline constexpr std::array<const char*, 8> kBlockNormSuffixes = {
    "attn_norm.weight",      "attn_norm.bias",        "mlp_norm.weight",    "mlp_norm.bias",
    "post_attn_norm.weight", "post_mlp_norm.weight",  "attn.q_norm.weight", "attn.k_norm.weight"};

struct BlockWeights {
  Tensor attn_norm_w, attn_norm_b, mlp_norm_w, mlp_norm_b;
  Tensor post_attn_norm_w, post_mlp_norm_w;  // Gemma 3 sandwich norms (empty otherwise)
  Tensor q_norm_w, k_norm_w;                 // Gemma 3 per-head q/k RMSNorm gains [head_dim]
  Linear q, k, v, o, gate, up, down;  // gate empty for non-gated MLPs
  Linear& linear(LinearId id);
  const Linear& linear(LinearId id) const;
  // Every norm tensor with its canonical suffix (kBlockNormSuffixes), empty ones included: code that
  // copies, writes or reads a block's norms iterates this, so no norm is forgotten.
  std::array<std::pair<const char*, Tensor*>, 8> norm_tensors();
  std::array<std::pair<const char*, const Tensor*>, 8> norm_tensors() const;
  size_t bytes() const;
};

class Model {
 public:
  DecoderConfig cfg;
  std::string path;  // where it was loaded from
  // Canonical name -> stored tensor (mapped, not copied).
  std::map<std::string, TensorRef> source;

  // Global (non-block) weights, materialised at load.
  Tensor tok_embed, pos_embed, final_norm_w, final_norm_b, lm_head;  // lm_head empty when tied
  const Tensor& classifier() const { return cfg.tie_embeddings ? tok_embed : lm_head; }

  // Block i in f32: from the cache, or materialised from `source` (and cached when keep=true).
  const BlockWeights& block(int i) const;
  // Materialise block i from the checkpoint without caching it.
  BlockWeights load_block(int i) const;
  // Replace block i (e.g. by its compressed version); the forward pass uses it from then on.
  void set_block(int i, BlockWeights b);
  // Drop the cached f32 copy of block i (streaming: one block resident at a time). A block
  // replaced by set_block and not spilled cannot be released (it exists nowhere else).
  void release_block(int i) const;
  // Point block i's source at `refs` (a file holding its current weights: io/block_spill.hpp's
  // spill_block writes it) and drop the f32 copy: the block leaves memory and is read back
  // (mapped) on use.
  void adopt_block_source(int i, const std::map<std::string, TensorRef>& refs);
  // Tell the kernel that block i's pages of the mapped checkpoint are not needed now (they stay
  // in the page cache): after materialising a block, the process keeps only its f32 copy.
  void drop_source_pages(int i) const;
  // When true, forward_logits releases each block after using it, so one block is resident.
  bool stream_blocks = false;
  void materialize_all() const;
  bool has_block(int i) const;

 private:
  mutable std::vector<std::optional<BlockWeights>> blocks_;
  mutable std::vector<char> dirty_;  // block set by set_block and not backed by `source`
  void ensure_slots() const;
};

// Check that `source` has every tensor the config needs, with the right shape, and no tensor the
// config does not use (InputError naming the file and tensor otherwise), and fill the global tensors.
void finish_model_load(Model& m);
// The canonical names of every tensor the config uses (what finish_model_load requires).
std::vector<std::string> expected_tensor_names(const DecoderConfig& c);
// InputError "<where>: N tensors are not used by <by>: a, b, ... " when `unused` is not empty: a
// checkpoint holding more than its config describes (e.g. more layers) would otherwise load silently.
void check_no_unused_tensors(const std::string& where, const std::vector<std::string>& unused, const std::string& by);
// InputError naming `what`, the canonical tensor and the value when a global tensor or a block held
// in memory (a compressed block) has a non-finite value: run before a result is written or evaluated.
void check_weights_finite(const Model& m, const std::string& what);

}  // namespace lowbit
