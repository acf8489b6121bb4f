// src/cli/compress_common.hpp — what `lowbit quantize` and `lowbit prune` share: calibration and
// evaluation options, before/after perplexity, per-layer records as JSON.
// defines: lowbit::cli::CompressCli
#pragma once

#include <memory>
#include <string>

#include "cli/cli.hpp"
#include "lowbit/compress/driver.hpp"
#include "lowbit/eval/perplexity.hpp"

namespace lowbit::cli {

struct CompressCli {
  std::string model, tok, out, eval_data;
  CalibSpec cs;
  bool doc_sep_none = false;
  long long holdout_windows = 32;
  bool calib_required = true;

  // Adds --model --tokenizer --calib --nsamples --seqlen --seed --doc-sep --doc-sep-none --holdout
  // --holdout-windows --out --eval-data.
  void add_options(po::options_description& desc);
  // After parsing: resolve defaults, load model and tokenizer, check files before any work.
  void prepare();
  // Calibration set (empty when no --calib was given and it is optional).
  CalibSet calibration() const;
  // "fp" perplexities before compression, "compressed" after; records -> "layers".
  void eval_into(nlohmann::json& j, const std::string& key, const CalibSet& calib);
  static nlohmann::json records_json(const CompressResult& r);
  nlohmann::json calib_json(const CalibSet& c) const;

  std::unique_ptr<Model> m;
  std::unique_ptr<Tokenizer> t;
};

}  // namespace lowbit::cli
