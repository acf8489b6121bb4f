// lowbit/compress/awq.hpp — AWQ (Lin et al., 2024): activation-aware per-input-channel scales,
// searched on a grid and folded into the previous operator, then RTN.
// defines: lowbit::AwqOptions, lowbit::AwqGroupReport, awq_search_scales, awq_scale_block
#pragma once

#include <string>
#include <vector>

#include "lowbit/compress/quant.hpp"
#include "lowbit/compress/stats.hpp"
#include "lowbit/model/model.hpp"

namespace lowbit {

struct AwqOptions {
  int grid = 20;  // α ∈ {0, 1/grid, …, (grid-1)/grid}
};

struct AwqGroupReport {
  std::string group;        // "attn_norm->qkv", "v->o", "mlp_norm->gate_up", "up->down"
  double alpha = 0;         // chosen exponent (0 = no scaling)
  double loss = 0, loss_unscaled = 0;  // Σ tr(ΔW H ΔWᵀ) over the group's linears
  bool applied = false;     // false where the architecture allows no exact fold (e.g. v->o with GQA)
};

// s_j = (mean|x_j|)^α normalised by sqrt(max·min), α chosen to minimise the group's output error
// Σ tr(ΔW H ΔWᵀ) with ΔW = W − Q(W·diag(s))·diag(s)⁻¹. Returns s (all ones when α = 0 wins).
std::vector<float> awq_search_scales(const std::vector<const Tensor*>& ws, const LinearStats& st,
                                     const QuantSpec& spec, const AwqOptions& o, AwqGroupReport& rep);

// Search and fold the scales of every group of one block in place (function-preserving in exact
// arithmetic): the previous operator's output is divided by s and the linears' columns multiplied.
// stats are indexed by LinearId (Q for the attention input, O, Up for the MLP input, Down).
std::vector<AwqGroupReport> awq_scale_block(const DecoderConfig& c, BlockWeights& w,
                                            const std::vector<const LinearStats*>& stats, const QuantSpec& spec,
                                            const AwqOptions& o);

}  // namespace lowbit
