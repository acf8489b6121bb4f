// lowbit/archive/params.hpp — the one writer of the compression-parameters record (keys::params),
// which a configuration's group and its diagnostics/ group both carry: one function, so the two
// copies cannot drift apart again (schema 1 had calib_samples beside calib_nsamples).
// defines: lowbit::archive::CompressParams, write_params
#pragma once

#include <cstdint>
#include <string>

#include "lowbit/archive/record.hpp"

namespace lowbit::archive {

// What a configuration was compressed with, as the archive records it. Quantization keys are
// written when `quant`, pruning keys when `prune`; calibration keys always (0 = none).
struct CompressParams {
  std::string method;
  bool quant = false, prune = false;
  int64_t bits = 0, group = 0, sym = 0;  // group: QuantSpec's value (0 = per channel)
  double sparsity = 0;
  std::string nm;
  int64_t calib_samples = 0, calib_seqlen = 0, calib_tokens = 0, seed = 0;
};

void write_params(Group& g, const CompressParams& p);

}  // namespace lowbit::archive
