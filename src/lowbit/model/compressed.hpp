// lowbit/model/compressed.hpp — what a compressed linear is, as the compressors make it and the
// exporters and stores read it: the quantization grid's spec, a quantized linear's codes, a block's
// seven of them, a Haar-pruned linear's coefficients. Plain types (the algorithms: compress/).
// defines: lowbit::QuantSpec, QuantResult, quant_code, dequant_code, BlockQuant, HaarLayer
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "lowbit/core/option_problem.hpp"
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

// A weight's code on a group's grid, q = clamp(round(w/scale) + zero, 0, maxq), and the value a
// code stands for, ŵ = scale·(q − zero) (the grid: compress/quant.hpp).
inline int32_t quant_code(float w, float scale, int32_t zero, int maxq) {
  float q = __builtin_nearbyintf(w / scale) + float(zero);
  return int32_t(q < 0.f ? 0.f : (q > float(maxq) ? float(maxq) : q));
}
inline float dequant_code(int32_t q, float scale, int32_t zero) { return scale * float(q - zero); }

// The seven QuantResults of each block (indexed by LinearId order; empty w_hat = not quantized).
using BlockQuant = std::array<QuantResult, 7>;

// A Haar-pruned linear: its sparse coefficient matrix and the transform depth (docs/HAAR.md; the
// on-disk form: io/haar_store.hpp).
struct HaarLayer {
  Tensor coeffs;  // C [out, in], sparse
  int levels = 1;
};

}  // namespace lowbit
