// lowbit/diagnose/config_run.hpp — one diagnostics configuration from start to finish, for the CLI
// and the manifest runner alike: check everything checkable, prepare calibration / evaluation /
// facts (check_and_prepare, before any output exists), then (unless the caller has already
// compressed it) compress or perturb a copy of the FP model, diagnose it and fill an archive Group with the results and the configuration
// (run_prepared).
// defines: lowbit::diag::DiagnoseConfig, PreparedInputs, check_and_prepare, run_prepared
#pragma once

#include <string>
#include <vector>

#include "lowbit/archive/record.hpp"
#include "lowbit/compress/driver.hpp"
#include "lowbit/diagnose/diagnose.hpp"

namespace lowbit::diag {

struct DiagnoseConfig {
  CompressOptions compress;        // method rtn | gptq | awq, or "noise"
  double noise = 0.05;             // method "noise": std relative to each row's RMS
  CalibSpec calib;                 // path required
  std::string eval_text;           // "" = the held-out part of the calibration corpus
  int eval_seqlen = 128;
  int eval_windows = 16;           // 0 = all
  std::string facts, relations;    // relations "" = relations.jsonl beside facts when present
  int max_facts = 40;              // 0 = all
  DiagnoseOptions opts;            // base_bits, group, norm_scales_folded are set from `compress`
  TraceOptions trace;              // seed is set from calib.seed
};

struct PreparedInputs {
  CalibSet calib;
  EvalBatch batch;
  std::vector<Fact> facts;
  int facts_skipped = 0;
  std::string eval_name;
};

// Validate `c` against the FP model (InputError naming the field) and build the calibration set,
// evaluation windows and facts. `c` is completed (derived options, relations path).
PreparedInputs check_and_prepare(DiagnoseConfig& c, const Model& fp, const Tokenizer& tok);
// Diagnose `compressed` against `fp` and fill `g` (results + configuration attributes). When
// `compressed` is null, a copy of `fp` is compressed (or perturbed) here first with `c.compress` on
// `in.calib` (`lowbit diagnose`); the manifest runner passes the model it has just compressed, so a
// diagnosed configuration costs one compression and the diagnostics read exactly the weights that
// were evaluated (the same calibration set: `c.calib` is the configuration's).
DiagnoseResult run_prepared(const DiagnoseConfig& c, const Model& fp, const PreparedInputs& in, archive::Group& g,
                            const Model* compressed = nullptr);

}  // namespace lowbit::diag
