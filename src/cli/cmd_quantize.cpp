// src/cli/cmd_quantize.cpp — `lowbit quantize`: RTN / GPTQ / AWQ with the layer-wise driver, the
// fake-quantized and packed GPTQ exports, and before/after perplexity. defines: cli::cmd_quantize
#include <sys/stat.h>

#include <cstdio>

#include "cli/cli.hpp"
#include "lowbit/compress/driver.hpp"
#include "lowbit/core/error.hpp"
#include "lowbit/core/log.hpp"
#include "lowbit/core/mapped_file.hpp"
#include "lowbit/eval/perplexity.hpp"
#include "lowbit/io/hf.hpp"

namespace lowbit::cli {

namespace {
nlohmann::json ppl_json(const PplResult& r) {
  return {{"nll_per_token", r.nll_per_token()}, {"ppl", r.ppl()}, {"tokens", r.tokens}};
}
PplResult holdout_ppl(const Model& m, const CalibSet& c, int ctx, long long max_windows) {
  PplOptions o;
  o.ctx = ctx;
  o.max_windows = max_windows;
  return perplexity(m, {c.holdout}, o);
}
}  // namespace

int cmd_quantize(const std::vector<std::string>& args) {
  po::options_description desc("options");
  std::string model, tok, out, format, eval_data;
  CompressOptions o;
  CalibSpec cs;
  desc.add_options()("model,m", po::value(&model)->default_value(default_model_path()), "checkpoint to quantize")(
      "tokenizer,t", po::value(&tok), "tokenizer (default: beside the model)")(
      "method", po::value(&o.method)->default_value("gptq"), "rtn | gptq | awq")(
      "bits", po::value(&o.spec.bits)->default_value(4), "bits per weight, 2..8")(
      "group", po::value(&o.spec.group)->default_value(128), "columns per quantization group; 0 = per output channel")(
      "sym", po::bool_switch(&o.spec.sym), "symmetric grid (default asymmetric)")(
      "calib", po::value(&cs.path)->required(), "calibration corpus (text, <|endoftext|>-separated, or .jsonl with \"text\")")(
      "nsamples", po::value(&cs.nsamples)->default_value(128), "calibration samples")(
      "seqlen", po::value(&cs.seqlen)->default_value(0), "tokens per sample (0 = min(2048, model context))")(
      "seed", po::value(&cs.seed)->default_value(0), "seed of the calibration draw")(
      "doc-sep", po::value(&cs.doc_sep)->default_value("<|endoftext|>"), "document separator in a text corpus")(
      "doc-sep-none", po::bool_switch(), "the corpus is one document (e.g. WikiText-2)")(
      "holdout", po::value(&cs.holdout_fraction)->default_value(0.1), "fraction of the corpus kept out for evaluation")(
      "damp", po::value(&o.gptq.percdamp)->default_value(0.01), "GPTQ damping, fraction of mean diag(H)")(
      "blocksize", po::value(&o.gptq.blocksize)->default_value(128), "GPTQ lazy-batch block size")(
      "act-order", po::bool_switch(&o.gptq.act_order), "GPTQ activation order (with static groups)")(
      "fp-inputs", po::bool_switch(&o.fp_inputs), "calibrate every block on full-precision inputs")(
      "out,o", po::value(&out)->required(), "output folder")(
      "format", po::value(&format)->default_value("auto"),
      "fake | packed | both | auto (both when the packed format can hold the bit-width and shapes)")(
      "eval-data", po::value(&eval_data), "also report perplexity on this text before and after")(
      "holdout-windows", po::value<long long>()->default_value(32),
      "evaluate the held-out corpus part on at most this many context windows (0 = all)");
  po::variables_map vm;
  CommonFlags common;
  if (!parse_or_help("quantize", "--calib FILE --out DIR [--method rtn|gptq|awq] [--bits B] [--group G] [options]",
                     "Layer-wise post-training quantization (block i is calibrated on the outputs of the already\n"
                     "quantized blocks 0..i-1, as GPTQ does). Writes DIR/fake (fake-quantized HF checkpoint, loadable\n"
                     "by lowbit), DIR/packed (GPTQ-format qweight/qzeros/scales/g_idx + quantize_config.json) and\n"
                     "DIR/report.json (per-layer output errors, calibration set, timings).\n"
                     "Example: lowbit quantize --method gptq --bits 4 --group 32 --calib wiki.txt --nsamples 64 --out q4",
                     desc, args, vm, common))
    return 0;
  if (vm["doc-sep-none"].as<bool>()) cs.doc_sep = "";
  const long long holdout_windows = vm["holdout-windows"].as<long long>();
  if (tok.empty()) tok = find_tokenizer_for(model);
  auto m = load_model(model);
  auto t = load_tokenizer(tok);
  if (cs.seqlen == 0) cs.seqlen = std::min(2048, m->cfg.max_seq_len);
  // Everything checkable is checked before any work.
  validate_compress_options(*m, o);
  LB_INPUT_CHECK(format == "fake" || format == "packed" || format == "both" || format == "auto", "--format '", format,
                 "' must be fake, packed, both or auto");
  std::string packed_problem;
  if (!gptq_format_supports(o.spec.bits)) {
    packed_problem = cat("the packed GPTQ format holds 2, 3, 4 or 8 bits, not ", o.spec.bits);
  } else {
    try {
      check_gptq_exportable(m->cfg, o.spec);
    } catch (const InputError& e) {
      packed_problem = e.what();
    }
  }
  if (format == "auto") format = packed_problem.empty() ? "both" : "fake";
  if (format == "packed" || format == "both")
    LB_INPUT_CHECK(packed_problem.empty(), "--format ", format, ": ", packed_problem);
  if (!eval_data.empty()) LB_INPUT_CHECK(file_exists(eval_data), eval_data, ": evaluation file not found");
  LB_INPUT_CHECK(file_exists(cs.path), cs.path, ": calibration corpus not found");
  ::mkdir(out.c_str(), 0755);
  LB_INPUT_CHECK(is_directory(out), out, ": cannot create the output folder");

  CalibSet calib = make_calibration(*t, cs);
  log_info("quantize: ", o.method, " ", o.spec.str(), " on ", calib.samples.size(), " x ", cs.seqlen, " tokens from ",
           cs.path, " (seed ", cs.seed, ")");
  nlohmann::json report = {{"model", model}, {"method", o.method}, {"bits", o.spec.bits}, {"group", o.spec.group},
                           {"sym", o.spec.sym},
                           {"calibration", {{"path", cs.path}, {"nsamples", cs.nsamples}, {"seqlen", cs.seqlen},
                                            {"seed", cs.seed}, {"tokens", calib.tokens()},
                                            {"corpus_tokens", calib.corpus_tokens}, {"holdout_fraction", cs.holdout_fraction}}}};
  std::vector<std::vector<int>> eval_docs;
  if (!eval_data.empty()) {
    eval_docs = tokenize_documents(*t, read_file(eval_data), PplOptions{});
    report["fp"]["eval"] = ppl_json(perplexity(*m, eval_docs, PplOptions{}));
  }
  const int ctx = std::min(m->cfg.max_seq_len, 2048);
  if (!calib.holdout.empty() && calib.holdout.size() > 1) report["fp"]["holdout"] = ppl_json(holdout_ppl(*m, calib, ctx, holdout_windows));

  CompressResult r = compress_model(*m, calib, o);
  nlohmann::json layers = nlohmann::json::array();
  for (const auto& rec : r.records)
    layers.push_back({{"layer", rec.layer}, {"linear", rec.linear}, {"out", rec.out}, {"in", rec.in},
                      {"out_error", rec.out_error}, {"rtn_error", rec.rtn_error}, {"rel_error", rec.rel_error},
                      {"seconds", rec.seconds}, {"damp_raises", rec.damp_raises}, {"dead_columns", rec.dead_columns}});
  report["layers"] = layers;
  report["seconds"] = r.seconds;
  if (!eval_docs.empty()) report["quantized"]["eval"] = ppl_json(perplexity(*m, eval_docs, PplOptions{}));
  if (report.contains("fp") && report["fp"].contains("holdout"))
    report["quantized"]["holdout"] = ppl_json(holdout_ppl(*m, calib, ctx, holdout_windows));

  if (format == "fake" || format == "both") write_hf_model(*m, out + "/fake", DType::F32);
  if (format == "packed" || format == "both") write_gptq_checkpoint(*m, r.quant, out + "/packed", GptqExportInfo{o.method, o.gptq.percdamp, true, o.gptq.static_groups});
  report["format"] = format;
  write_file_atomic(out + "/report.json", report.dump(2) + "\n");
  log_info("quantize: wrote ", out, " (", format, ") in ", r.seconds, " s");
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
