// lowbit/fit/archive_points.hpp — the point table of a run archive: what `lowbit fit ARCHIVE` fits.
// defines: lowbit::fit::points_from_archive
//
// One row per (quantized configuration, stratum; pruned configurations are left out), columns as docs/FIT.md: config, model, family,
// method, stratum, N (non-embedding parameters), B (bits; 16 for pruning), G (group,
// QuantSpec::kPerChannel = 0 = per channel; the -1 of archives written before reads as 0), C (calibration tokens), sparsity, acc, chance, acc_fp (the same model's FP
// configuration in the same archive). Strata are the task strata of each configuration's tasks/
// group, plus "lm": acc = exp(−nll per token) of the perplexity evaluation (the geometric-mean
// probability of the next token), chance = 1/vocab, so `drop` = 1 − exp(−(nll − nll_fp)).
#pragma once

#include "lowbit/archive/record.hpp"
#include "lowbit/fit/point_table.hpp"

namespace lowbit::fit {

// Throws InputError naming the archive when it has no configuration with the needed results
// (no FP configuration for a model, no evaluation).
PointTable points_from_archive(const archive::Group& root, const std::string& source);

}  // namespace lowbit::fit
