// src/cli/cmd_prune.cpp — `lowbit prune`: magnitude / Wanda / SparseGPT / Haar subband pruning
// with the same layer-wise driver as quantization. defines: cli::cmd_prune
#include <sys/stat.h>

#include <cstdio>

#include "cli/compress_common.hpp"
#include "lowbit/core/error.hpp"
#include "lowbit/compress/methods.hpp"
#include "lowbit/core/log.hpp"
#include "lowbit/core/mapped_file.hpp"
#include "lowbit/io/haar_store.hpp"
#include "lowbit/io/hf.hpp"

namespace lowbit::cli {

int cmd_prune(const std::vector<std::string>& args) {
  po::options_description desc("options");
  CompressCli cc;
  cc.calib_required = false;
  CompressOptions o;
  std::string nm, format;
  bool per_matrix = false;
  cc.add_options(desc);
  cc.add_gguf_options(desc);
  desc.add_options()("format", po::value(&format)->default_value("hf"),
                     "hf (DIR/model, a pruned HF checkpoint) | gguf (DIR/model.gguf for llama.cpp) | hf,gguf")("method", po::value(&o.method)->default_value("haar"),
                                method_help({MethodKind::Prune}).c_str())(
      "sparsity", po::value(&o.prune.sparsity)->default_value(0.5, "0.5"), "fraction of weights (Haar: coefficients) zeroed, [0, 1)")(
      "nm", po::value(&nm), "N:M semi-structured pattern, e.g. 2:4 (magnitude, wanda, sparsegpt)")(
      "per-matrix", po::bool_switch(&per_matrix), "magnitude: one comparison group per matrix (default per row)")(
      "levels", po::value(&o.prune.haar_levels)->default_value(1), "Haar decomposition levels")(
      "global", po::bool_switch(&o.prune.haar_global), "Haar ablation: one global magnitude threshold in the wavelet domain")(
      "damp", po::value(&o.sparsegpt.percdamp)->default_value(0.01, "0.01"), "SparseGPT damping, fraction of mean diag(H)")(
      "blocksize", po::value(&o.sparsegpt.blocksize)->default_value(128), "SparseGPT block size (adaptive mask per block)");
  po::variables_map vm;
  CommonFlags common;
  if (!parse_or_help("prune", "--method M --sparsity S --out DIR [--calib FILE] [options]",
                     "Layer-wise pruning. Magnitude and Haar need no calibration data; Wanda and SparseGPT do\n"
                     "(--calib). Writes DIR/model (pruned HF checkpoint, with the tokenizer) and DIR/report.json (exact sparsity per\n"
                     "layer and, for Haar, per subband; output errors when calibration data is given). Haar also\n"
                     "writes DIR/haar_coeffs.safetensors: the sparse coefficients + shape (bitmap + f32 values).\n"
                     "--format gguf writes DIR/model.gguf instead (or as well: hf,gguf), which llama.cpp runs.\n"
                     "Example: lowbit prune --method haar --sparsity 0.5 --out haar50",
                     desc, args, vm, common))
    return 0;
  o.prune.per_row = !per_matrix;
  if (!nm.empty()) {
    const auto p = parse_nm(nm);
    LB_INPUT_CHECK(p, "--nm: ", nm_syntax_problem(nm));
    o.prune.set_nm(*p);
  }
  const MethodRow* row = find_method(o.method);
  LB_INPUT_CHECK(row && row->prune(), "--method '", o.method, "' is not a pruning method (",
                 method_names(MethodKind::Prune), ")");
  LB_INPUT_CHECK(!row->needs_calibration || !cc.cs.path.empty(), "--method ", o.method,
                 " needs calibration data: give --calib FILE");
  const bool want_hf = !cc.parse_formats(format, {"hf"}, "hf").empty();
  cc.prepare();
  Model& m = *cc.m;
  validate_compress_options(m, o, cli_flag);
  cc.check_gguf();
  CalibSet calib = cc.calibration();
  nlohmann::json report = {{"model", cc.model}, {"method", o.method}, {"sparsity", o.prune.sparsity},
                           {"pattern", o.prune.str()}, {"calibration", cc.calib_json(calib)}};
  if (row->has_levels) report["haar"] = {{"levels", o.prune.haar_levels}, {"global", o.prune.haar_global}};
  cc.eval_into(report, "fp", calib);
  CompressResult r = compress_model(m, calib, o);
  check_weights_finite(m, cat(cc.model, ": ", o.method, " ", o.prune.str(), " gives a broken model, nothing written"));
  report["layers"] = CompressCli::records_json(r);
  long long pruned = 0, total = 0;
  for (const auto& rec : r.records) {
    pruned += rec.pruned;
    total += rec.total;
  }
  report["pruned_elements"] = pruned;
  report["total_elements"] = total;
  report["seconds"] = r.seconds;
  cc.eval_into(report, "pruned", calib);
  cc.open_stage();
  if (want_hf) {
    write_hf_model(m, cc.stage + "/model", DType::F32);
    cc.write_tokenizer(cc.stage + "/model");
  }
  if (cc.want_gguf) cc.write_gguf(nullptr, report);
  report["format"] = format;
  report["tokenizer"] = cc.tokenizer_json();  // what the export folders carry
  if (row->has_levels) {
    // The compact form of a Haar-pruned model: sparse coefficients + shape per linear (docs/HAAR.md).
    write_haar_coeffs(r.haar, cc.stage + "/haar_coeffs.safetensors");
    report["haar"]["coeff_store"] = "haar_coeffs.safetensors";
  }
  write_file_atomic(cc.stage + "/report.json", report.dump(2) + "\n");
  cc.commit();
  log_info("prune: wrote ", cc.out, " in ", r.seconds, " s");
  if (common.json) {
    report.erase("layers");
    emit_json(report);
  } else {
    std::printf("%s %s: %lld of %lld zeroed (%.4f), %.2f s", o.method.c_str(), o.prune.str().c_str(), pruned, total,
                total ? double(pruned) / double(total) : 0.0, r.seconds);
    if (report.contains("pruned") && report["pruned"].is_object() && report["pruned"].contains("eval"))
      std::printf(", eval ppl %.4f -> %.4f", report["fp"]["eval"]["ppl"].get<double>(),
                  report["pruned"]["eval"]["ppl"].get<double>());
    std::printf("\n");
  }
  return 0;
}

}  // namespace lowbit::cli
