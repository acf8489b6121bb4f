// lowbit/compress/quant.hpp — the uniform quantization grid shared by RTN, GPTQ and AWQ, and the
// result every weight quantizer returns.
// defines: lowbit::QuantSpec, QuantResult, fit_group_grid, quant_code, dequant_code, output_error
//
// Grid (as GPTQ's Quantizer, min-max): per output row and per group of `group` consecutive input
// columns (group QuantSpec::kPerChannel = the whole row, "per-channel"). Asymmetric: scale = (max-min)/maxq,
// zero = round(-min/scale). Symmetric: scale = 2·max|w|/maxq, zero = (maxq+1)/2. The range always
// includes 0. Scales are rounded to f16, the precision packed GPTQ checkpoints store, so the
// fake-quantized weights equal what a packed-checkpoint loader reconstructs, bit for bit.
// q = clamp(round(w/scale) + zero, 0, maxq); ŵ = scale·(q − zero).
#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "lowbit/compress/option_problem.hpp"
#include "lowbit/core/tensor.hpp"

namespace lowbit {

struct QuantSpec {
  // The one in-code value of "per channel" (one group per output row). It reaches the archive as
  // is (`/configs/<id>@group` and `/configs/<id>/diagnostics@group`, docs/ARCHIVE.md). Users spell
  // per channel -1 (manifest `group:`, CLI `--group`; GPTQ's `--groupsize -1`), and the CLI also
  // takes 0, its older spelling: each surface converts once, with from_user_group().
  static constexpr int kPerChannel = 0;
  static constexpr int kPerChannelSpelling = -1;
  // The user's spelling of a group size to the in-code value: -1 -> kPerChannel, anything else as
  // is (the caller has already refused what its surface does not accept; validate() the rest).
  static constexpr int from_user_group(int g) { return g == kPerChannelSpelling ? kPerChannel : g; }

  int bits = 4;
  int group = kPerChannel;  // columns per group, or kPerChannel: one group per output row
  bool sym = false;
  int maxq() const { return (1 << bits) - 1; }
  bool per_channel() const { return group == kPerChannel; }
  // Columns per group (the last group of a row may be shorter: see n_groups).
  int64_t group_size(int64_t in) const { return per_channel() ? in : group; }
  // ceil(in / group_size): a group that does not divide `in` leaves a ragged last group of
  // in − (n_groups − 1)·group columns, as the GPTQ reference (find_params on the clipped slice
  // W[:, i:i+groupsize]), AutoGPTQ and GPTQModel do (g_idx = column // group; ceil(in / group)
  // scale rows). A group longer than the row is one group of `in` columns.
  int64_t n_groups(int64_t in) const {
    const int64_t g = group_size(in);
    return (in + g - 1) / g;
  }
  // Columns of group `g` of a row of `in`: group_size, or what is left for the last one.
  int64_t group_columns(int64_t g, int64_t in) const {
    const int64_t gs = group_size(in);
    return std::min(gs, in - g * gs);
  }
  // The first problem (field bits or group) for bits outside 2..8 or a group that is neither
  // positive nor kPerChannel; nullopt when the grid fits a linear with `in` inputs.
  std::optional<OptionProblem> check(int64_t in) const;
  // check() as an InputError "<where>: <what>" (the algorithms' and exporters' own guard).
  void validate(int64_t in, const std::string& where) const;
  std::string str() const;  // "w4g128asym"
};

struct QuantResult {
  Tensor w_hat;                 // [out, in] dequantized (fake-quantized) weights
  Tensor scales;                // [out, n_groups], values exactly representable in f16
  std::vector<int32_t> zeros;   // [out * n_groups], integer zero points in [0, maxq]
  std::vector<uint8_t> q;       // [out * in] integer codes in [0, maxq]
  std::vector<int32_t> g_idx;   // [in] group of each input column (act-order permutes it)
  QuantSpec spec;
  int64_t n_groups = 0;
};

// Grid for one group of values.
void fit_group_grid(const float* w, int64_t n, int64_t stride, const QuantSpec& s, float& scale, int32_t& zero);
inline int32_t quant_code(float w, float scale, int32_t zero, int maxq) {
  float q = __builtin_nearbyintf(w / scale) + float(zero);
  return int32_t(q < 0.f ? 0.f : (q > float(maxq) ? float(maxq) : q));
}
inline float dequant_code(int32_t q, float scale, int32_t zero) { return scale * float(q - zero); }

// Round-to-nearest on the grid. Linear-time, one pass per group. OpenMP over rows.
QuantResult quantize_rtn(const Tensor& w, const QuantSpec& s);
// The same into an existing result, reusing its buffers (no page faults when a caller quantizes
// layer after layer of the same shape: the steady state of the layer-wise driver).
void quantize_rtn_into(const Tensor& w, const QuantSpec& s, QuantResult& r);

// ‖W X − Ŵ X‖²_F summed over calibration rows, from H = Σ xᵀx (double, [in, in]): tr(ΔW H ΔWᵀ).
double output_error(const Tensor& w, const Tensor& w_hat, const std::vector<double>& H);

}  // namespace lowbit
