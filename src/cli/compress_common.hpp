// src/cli/compress_common.hpp — what `lowbit quantize` and `lowbit prune` share: calibration and
// evaluation options, before/after perplexity, per-layer records as JSON.
// defines: lowbit::cli::CompressCli, cli_flag
#pragma once

#include <memory>
#include <string>

#include "cli/cli.hpp"
#include "lowbit/compress/driver.hpp"
#include "lowbit/eval/perplexity.hpp"
#include "lowbit/io/gguf_export.hpp"
#include "lowbit/io/tokenizer_export.hpp"

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
  // Outputs are written into `stage` (a folder beside --out, made by open_stage after every check)
  // and moved into --out by commit(), report.json last; a failure before that leaves no output, and
  // the destructor removes the stage.
  std::string stage;
  void open_stage();
  void check_out_folder();  // --out is a folder or absent, in a folder that exists (diagnose: optional)
  void commit();
  ~CompressCli();
  // Calibration set (empty when no --calib was given and it is optional).
  CalibSet calibration() const;
  // "fp" perplexities before compression, "compressed" after; records -> "layers".
  void eval_into(nlohmann::json& j, const std::string& key, const CalibSet& calib);
  static nlohmann::json records_json(const CompressResult& r);

  // --format lists (comma-separated): `allowed` are the command's own items; "gguf" is always
  // allowed and sets want_gguf. Returns the other items in order; InputError for an unknown one.
  std::vector<std::string> parse_formats(const std::string& format, const std::vector<std::string>& allowed,
                                         const std::string& allowed_text);
  bool want_gguf = false;
  std::string gguf_dtype = "f16";  // --gguf-dtype
  // Adds --gguf-dtype.
  void add_gguf_options(po::options_description& desc);
  // After prepare(): checks that a GGUF of this model can be written (architecture, tokenizer), so
  // a bad setting fails before any work.
  void check_gguf() const;
  // Writes OUT/model.gguf and records what went where under report["gguf"].
  void write_gguf(const std::vector<BlockQuant>* quant, nlohmann::json& report) const;
  nlohmann::json calib_json(const CalibSet& c) const;
  // The tokenizer of every HF-folder export (read and converted by prepare(), before any work):
  // write_tokenizer(stage + "/fake") puts it beside the weights (io/tokenizer_export.hpp).
  TokenizerExport tok_export;
  void write_tokenizer(const std::string& dir) const;
  // Where the exported tokenizer came from, for report.json: source, how, files, missing.
  nlohmann::json tokenizer_json() const;

  std::unique_ptr<Model> m;
  std::unique_ptr<Tokenizer> t;
};

// The CLI's name of a CompressOptions field a validator reports (OptionProblem::field): "--group",
// "--nm", "--damp"; a field without a flag (the AWQ grid, the micro batch) is named as is. The
// FieldNamer of quantize, prune and diagnose.
std::string cli_flag(const std::string& field);

}  // namespace lowbit::cli
