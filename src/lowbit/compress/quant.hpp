// lowbit/compress/quant.hpp — the uniform quantization grid shared by RTN, GPTQ and AWQ (the
// types it fills, QuantSpec and QuantResult, and the code <-> value maps are model/compressed.hpp's).
// defines: lowbit::fit_group_grid, quantize_rtn, quantize_rtn_into, output_error
//
// Grid (as GPTQ's Quantizer, min-max): per output row and per group of `group` consecutive input
// columns (group QuantSpec::kPerChannel = the whole row, "per-channel"). Asymmetric: scale = (max-min)/maxq,
// zero = round(-min/scale). Symmetric: scale = 2·max|w|/maxq, zero = (maxq+1)/2. The range always
// includes 0. Scales are rounded to f16, the precision packed GPTQ checkpoints store, so the
// fake-quantized weights equal what a packed-checkpoint loader reconstructs, bit for bit.
// q = clamp(round(w/scale) + zero, 0, maxq); ŵ = scale·(q − zero).
#pragma once

#include <cstdint>
#include <vector>

#include "lowbit/core/tensor.hpp"
#include "lowbit/model/compressed.hpp"  // QuantSpec, QuantResult

namespace lowbit {

// Grid for one group of values.
void fit_group_grid(const float* w, int64_t n, int64_t stride, const QuantSpec& s, float& scale, int32_t& zero);

// Round-to-nearest on the grid. Linear-time, one pass per group. OpenMP over rows.
QuantResult quantize_rtn(const Tensor& w, const QuantSpec& s);
// The same into an existing result, reusing its buffers (no page faults when a caller quantizes
// layer after layer of the same shape: the steady state of the layer-wise driver).
void quantize_rtn_into(const Tensor& w, const QuantSpec& s, QuantResult& r);

// ‖W X − Ŵ X‖²_F summed over calibration rows, from H = Σ xᵀx (double, [in, in]): tr(ΔW H ΔWᵀ).
double output_error(const Tensor& w, const Tensor& w_hat, const std::vector<double>& H);

}  // namespace lowbit
