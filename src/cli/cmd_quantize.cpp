// src/cli/cmd_quantize.cpp — `lowbit quantize`: RTN / GPTQ / AWQ with the layer-wise driver, the
// fake-quantized and packed GPTQ exports, and before/after perplexity. defines: cli::cmd_quantize
#include <sys/stat.h>

#include <cstdio>

#include "cli/compress_common.hpp"
#include "lowbit/core/error.hpp"
#include "lowbit/compress/methods.hpp"
#include "lowbit/core/log.hpp"
#include "lowbit/core/mapped_file.hpp"
#include "lowbit/io/gptq_pack.hpp"
#include "lowbit/io/hf.hpp"

namespace lowbit::cli {

int cmd_quantize(const std::vector<std::string>& args) {
  po::options_description desc("options");
  CompressCli cc;
  std::string format;
  CompressOptions o;
  cc.add_options(desc);
  cc.add_gguf_options(desc);
  desc.add_options()("method", po::value(&o.method)->default_value("gptq"),
                                method_help({MethodKind::Quant}).c_str())(
      "bits", po::value(&o.spec.bits)->default_value(4), "bits per weight, 2..8")(
      "group", po::value(&o.spec.group)->default_value(128),
      "columns per quantization group; a group that does not divide a row leaves a ragged last group (GPTQ, "
      "AutoGPTQ: ceil(in/group) scales; vLLM needs it to divide); -1 (or 0) = per output channel")(
      "sym", po::bool_switch(&o.spec.sym), "symmetric grid (default asymmetric)")(
      "damp", po::value(&o.gptq.percdamp)->default_value(0.01, "0.01"), "GPTQ damping, fraction of mean diag(H)")(
      "blocksize", po::value(&o.gptq.blocksize)->default_value(128), "GPTQ lazy-batch block size")(
      "act-order", po::bool_switch(&o.gptq.act_order), "GPTQ activation order (with static groups)")(
      "fp-inputs", po::bool_switch(&o.fp_inputs), "calibrate every block on full-precision inputs")(
      "format", po::value(&format)->default_value("auto"),
      "fake | packed | both | auto (both when the packed format can hold the bit-width and shapes) | gguf "
      "(DIR/model.gguf for llama.cpp), or a comma list (auto,gguf)");
  po::variables_map vm;
  CommonFlags common;
  if (!parse_or_help("quantize", "--calib FILE --out DIR [--method rtn|gptq|awq] [--bits B] [--group G] [options]",
                     "Layer-wise post-training quantization (block i is calibrated on the outputs of the already\n"
                     "quantized blocks 0..i-1, as GPTQ does). Writes DIR/fake (fake-quantized HF checkpoint, loadable\n"
                     "by lowbit), DIR/packed (GPTQ-format qweight/qzeros/scales/g_idx + quantize_config.json) and\n"
                     "DIR/report.json (per-layer output errors ‖WX−ŴX‖² next to RTN's, calibration set, timings);\n"
                     "each folder carries the tokenizer (copied, or converted from GGUF/llama2.c; docs/TOKENIZERS.md);\n"
                     "--format gguf writes DIR/model.gguf, which llama.cpp runs (docs/GGUF.md \"Export\").\n"
                     "Example: lowbit quantize --method gptq --bits 4 --group 128 --calib wiki.txt --nsamples 64 --out q4\n"
                     "(a group that does not divide a layer's inputs leaves a ragged last group, as GPTQ does)",
                     desc, args, vm, common))
    return 0;
  o.spec.group = QuantSpec::from_user_group(o.spec.group);  // --group's spelling, converted once
  cc.prepare();
  Model& m = *cc.m;
  // Everything checkable is checked before any work.
  LB_INPUT_CHECK(is_quant_method(o.method), "--method '", o.method, "' is not a quantization method (", method_names(MethodKind::Quant), ")");
  validate_compress_options(m, o, cli_flag);
  const std::vector<std::string> hf_formats =
      cc.parse_formats(format, {"fake", "packed", "both", "auto"}, "fake, packed, both or auto");
  LB_INPUT_CHECK(hf_formats.size() <= 1, "--format '", format, "': at most one of fake, packed, both, auto");
  cc.check_gguf();
  format = hf_formats.empty() ? "" : hf_formats.front();
  std::string packed_problem;
  if (!gptq_format_supports(o.spec.bits)) {
    packed_problem = cat("the packed GPTQ format holds 2, 3, 4 or 8 bits, not ", o.spec.bits);
  } else {
    try {
      check_gptq_exportable(m.cfg, o.spec);
    } catch (const InputError& e) {
      packed_problem = e.what();
    }
  }
  if (format == "auto") format = packed_problem.empty() ? "both" : "fake";
  if (format == "packed" || format == "both")
    LB_INPUT_CHECK(packed_problem.empty(), "--format ", format, ": ", packed_problem);
  CalibSet calib = cc.calibration();
  log_info("quantize: ", o.method, " ", o.spec.str(), " on ", calib.samples.size(), " x ", cc.cs.seqlen,
           " tokens from ", cc.cs.path, " (seed ", cc.cs.seed, ")");
  nlohmann::json report = {{"model", cc.model}, {"method", o.method}, {"bits", o.spec.bits}, {"group", o.spec.group},
                           {"sym", o.spec.sym}, {"calibration", cc.calib_json(calib)}};
  cc.eval_into(report, "fp", calib);
  CompressResult r = compress_model(m, calib, o);
  // A grid whose scales overflow (f16 holds at most 65504) gives NaN weights: refuse, write nothing.
  check_weights_finite(m, cat(cc.model, ": ", o.method, " ", o.spec.str(), " gives a broken model, nothing written"));
  report["layers"] = CompressCli::records_json(r);
  report["seconds"] = r.seconds;
  cc.eval_into(report, "quantized", calib);
  cc.open_stage();
  if (format == "fake" || format == "both") write_hf_model(m, cc.stage + "/fake", DType::F32);
  if (format == "packed" || format == "both")
    write_gptq_checkpoint(m, r.quant, cc.stage + "/packed",
                          GptqExportInfo{o.method, o.gptq.percdamp, true, o.gptq.static_groups});
  for (const char* d : {"/fake", "/packed"})
    if (is_directory(cc.stage + d)) cc.write_tokenizer(cc.stage + d);
  if (cc.want_gguf) {
    cc.write_gguf(&r.quant, report);
    format = format.empty() ? "gguf" : format + ",gguf";
  }
  report["format"] = format;
  report["tokenizer"] = cc.tokenizer_json();  // what the export folders carry
  write_file_atomic(cc.stage + "/report.json", report.dump(2) + "\n");
  cc.commit();
  log_info("quantize: wrote ", cc.out, " (", format, ") in ", r.seconds, " s");
  if (common.json) {
    report.erase("layers");
    emit_json(report);
  } else {
    std::printf("%s %s: %zu linears, %.2f s", o.method.c_str(), o.spec.str().c_str(), r.records.size(), r.seconds);
    if (report.contains("quantized") && report["quantized"].contains("eval"))
      std::printf(", eval ppl %.4f -> %.4f", report["fp"]["eval"]["ppl"].get<double>(),
                  report["quantized"]["eval"]["ppl"].get<double>());
    std::printf("\n");
  }
  return 0;
}

}  // namespace lowbit::cli
