// lowbit/compress/gptq.hpp — GPTQ (Frantar et al., 2023): column-by-column quantization with
// error feedback through the inverse Hessian of the layer's calibration inputs.
// defines: lowbit::GptqOptions, lowbit::GptqReport, lowbit::quantize_gptq
#pragma once

#include <string>
#include <vector>

#include "lowbit/compress/quant.hpp"

namespace lowbit {

struct GptqOptions {
  double percdamp = 0.01;   // damping λ = percdamp · mean(diag H), added to the diagonal
  int blocksize = 128;      // lazy batch updates over blocks of this many columns
  bool act_order = false;   // quantize columns in order of decreasing diag(H)
  bool static_groups = true;  // with act_order: fit group grids on the original column order first,
                              // so groups stay contiguous and the result is exportable with g_idx
};

// What the solver did, for the log and the archive.
struct GptqReport {
  double damp_used = 0;     // final λ (raised until H + λI is positive definite)
  int damp_raises = 0;
  int dead_columns = 0;     // diag(H) == 0: column never active; its weight is zeroed
  double seconds_cholesky = 0, seconds_sweep = 0;
};

// W [out, in] f32; H [in, in] = Σ xᵀx in double (any positive scale). Never returns NaN: if the
// damped Hessian is not positive definite, damping is multiplied by 10 (logged) until it is.
QuantResult quantize_gptq(const Tensor& w, const std::vector<double>& H, const QuantSpec& s,
                          const GptqOptions& o = {}, GptqReport* report = nullptr);

}  // namespace lowbit
