// src/cli/cmd_diagnose.cpp — `lowbit diagnose`: compress one configuration (or perturb it with
// Gaussian weight noise) and run the failure-mode diagnostics against the FP model: per-layer and
// per-head fidelity, logit lens, activation statistics, restoration / patching / causal tracing,
// the degradation/collapse label and the training-free repairs. defines: cli::cmd_diagnose
#include <omp.h>
#include <sys/stat.h>

#include <cmath>
#include <cstdio>

#include "cli/compress_common.hpp"
#include "lowbit/core/error.hpp"
#include "lowbit/compress/methods.hpp"
#include "lowbit/core/log.hpp"
#include "lowbit/core/mapped_file.hpp"
#include "lowbit/diagnose/config_run.hpp"

namespace lowbit::cli {

int cmd_diagnose(const std::vector<std::string>& args) {
  po::options_description desc("options");
  CompressCli cc;
  CompressOptions o;
  diag::DiagnoseOptions d;
  diag::TraceOptions to;
  double noise = 0.05;
  int eval_seqlen = 128, eval_windows = 16, max_facts = 40, threads = 0;
  std::string facts_path, relations;
  bool no_heads = false, no_repairs = false, no_restoration = false, no_patching = false;
  desc.add_options()("model,m", po::value(&cc.model)->default_value(default_model_path()), "FP checkpoint")(
      "tokenizer,t", po::value(&cc.tok), "tokenizer (default: beside the model)")(
      "method", po::value(&o.method)->default_value("gptq"),
      method_help({MethodKind::Quant, MethodKind::Control}).c_str())(
      "bits", po::value(&o.spec.bits)->default_value(4), "bits per weight, 2..8")(
      "group", po::value(&o.spec.group)->default_value(128),
      "columns per quantization group (a group that does not divide a row leaves a ragged last group, as GPTQ does); -1 (or 0) = per output channel")(
      "sym", po::bool_switch(&o.spec.sym), "symmetric grid")(
      "noise", po::value(&noise)->default_value(0.05, "0.05"), "--method noise: std of the noise relative to each row's RMS")(
      "calib", po::value(&cc.cs.path)->required(), "calibration corpus (text, <|endoftext|>-separated, or .jsonl)")(
      "nsamples", po::value(&cc.cs.nsamples)->default_value(16), "calibration samples")(
      "seqlen", po::value(&cc.cs.seqlen)->default_value(64), "tokens per calibration sample")(
      "seed", po::value(&cc.cs.seed)->default_value(0), "seed of the calibration draw, the noise and the tracing")(
      "doc-sep", po::value(&cc.cs.doc_sep)->default_value("<|endoftext|>"), "document separator in a text corpus")(
      "doc-sep-none", po::bool_switch(&cc.doc_sep_none), "the corpus is one document")(
      "holdout", po::value(&cc.cs.holdout_fraction)->default_value(0.3, "0.3"),
      "fraction of the corpus kept out of calibration (the default evaluation text)")(
      "eval-text", po::value(&cc.eval_data), "evaluate on this text instead of the held-out corpus part")(
      "eval-seqlen", po::value(&eval_seqlen)->default_value(128), "tokens per evaluation window")(
      "eval-windows", po::value(&eval_windows)->default_value(16), "evaluation windows at most (0 = all)")(
      "facts", po::value(&facts_path), "cloze/LAMA facts (JSONL) for causal tracing")(
      "relations", po::value(&relations), "LAMA relation templates (default: relations.jsonl beside --facts)")(
      "max-facts", po::value(&max_facts)->default_value(40), "facts traced at most (0 = all)")(
      "noise-samples", po::value(&to.noise_samples)->default_value(5), "corruptions per fact")(
      "noise-scale", po::value(&to.noise_scale)->default_value(3.0, "3.0"), "corruption std in embedding stds")(
      "no-heads", po::bool_switch(&no_heads), "skip per-head restoration")(
      "no-restoration", po::bool_switch(&no_restoration), "skip restoration (and mixed precision)")(
      "no-patching", po::bool_switch(&no_patching), "skip activation patching")(
      "no-repairs", po::bool_switch(&no_repairs), "skip the training-free repairs")(
      "budget-bits", po::value(&d.budget_bits)->default_value(0), "mixed precision: average bits/weight (0 = bits+1)")(
      "hi-bits", po::value(&d.hi_bits)->default_value(8), "mixed precision: bits of the promoted components")(
      "topk", po::value(&d.topk)->default_value(3), "top-k overlap of attention rows")(
      "js-broken", po::value(&d.rule.js_broken_bits)->default_value(0.15, "0.15"), "rule: head JS (bits) that counts as broken")(
      "snr-collapse-db", po::value(&d.rule.snr_collapse_db)->default_value(0.0, "0.0"), "rule: early SNR (dB) that counts as destroyed")(
      "early-fraction", po::value(&d.rule.early_fraction)->default_value(0.5, "0.5"), "rule: share of layers that are early")(
      "top-n", po::value(&d.rule.top_n)->default_value(3), "rule: components restored jointly")(
      "share-min", po::value(&d.rule.share_min)->default_value(0.5, "0.5"), "rule: gap share the top-n must close")(
      "spread-max", po::value(&d.rule.spread_max)->default_value(3.0, "3.0"), "rule: largest/median local error for smooth growth")(
      "threads", po::value(&threads)->default_value(0),
      "OpenMP threads (0 = OMP_NUM_THREADS; 1 is fastest for models this small on shared cores)")(
      "out,o", po::value(&cc.out), "write DIR/diagnose.json (all tables) here");
  po::variables_map vm;
  CommonFlags common;
  if (!parse_or_help(
          "diagnose", "--calib FILE [--method rtn|gptq|awq|noise] [--bits B] [--group G] [--facts F] [--out DIR]",
          "Compress the model (or add Gaussian weight noise) and diagnose how it fails against the FP model on the\n"
          "same tokens: per-layer residual fidelity (cosine, relative L2, SNR dB; propagated and local), sub-layer\n"
          "and per-head attention fidelity (JS divergence in bits, top-k overlap), logit lens (KL in nats, top-1),\n"
          "activation outliers (max |x| per channel, kurtosis); restoration of each block / attention / MLP / head\n"
          "to FP, residual patching, causal tracing of --facts; the label signal_degradation / computation_collapse\n"
          "/ mixed with its evidence (rule in docs/DIAGNOSE.md); and the loss gap closed by bias, variance and\n"
          "norm-gain correction and by mixed precision under a bit budget. Evaluation: the held-out part of --calib\n"
          "(or --eval-text) in windows of --eval-seqlen tokens.\n"
          "Example: lowbit diagnose --method gptq --bits 3 --group -1 --calib jobs/data/tinystories_sample.txt --out d3",
          desc, args, vm, common))
    return 0;
  o.spec.group = QuantSpec::from_user_group(o.spec.group);  // --group's spelling, converted once
  LB_INPUT_CHECK(threads >= 0, "--threads must be >= 0");
  if (threads > 0) omp_set_num_threads(threads);
  // Everything checkable before work, and before the output folder appears.
  const MethodRow* row = find_method(o.method);
  const bool control = row && row->kind == MethodKind::Control;
  LB_INPUT_CHECK(row && (control || row->quant()), "--method '", o.method, "' must be ",
                 method_names(MethodKind::Quant), " or ", method_names(MethodKind::Control));
  cc.prepare();
  const Model& fp = *cc.m;
  if (!control) validate_compress_options(fp, o, cli_flag);  // named by flag (check_and_prepare checks again)
  diag::DiagnoseConfig cfg;
  cfg.compress = o;
  cfg.noise = noise;
  cfg.calib = cc.cs;
  cfg.eval_text = cc.eval_data;
  cfg.eval_seqlen = eval_seqlen;
  cfg.eval_windows = eval_windows;
  cfg.facts = facts_path;
  cfg.relations = relations;
  cfg.max_facts = max_facts;
  d.heads = !no_heads;
  d.restoration = !no_restoration;
  d.patching = !no_patching;
  d.repairs = !no_repairs;
  cfg.opts = d;
  cfg.trace = to;
  const diag::PreparedInputs in = diag::check_and_prepare(cfg, fp, *cc.t);
  if (!cc.out.empty()) {
    ::mkdir(cc.out.c_str(), 0755);
    LB_INPUT_CHECK(is_directory(cc.out), cc.out, ": cannot create the output folder");
  }
  archive::Group g;
  const diag::DiagnoseResult r = diag::run_prepared(cfg, fp, in, g);
  nlohmann::json summary = {{"model", cc.model}, {"method", o.method},
                            {"bits", control ? nlohmann::json() : nlohmann::json(o.spec.bits)}, {"group", o.spec.group},
                            {"loss_fp", r.loss_fp}, {"loss_q", r.loss_q}, {"gap", r.gap()}, {"gap_se", r.gap_se},
                            {"eval_predictions", r.eval_tokens}, {"mode", r.mode.label}, {"reason", r.mode.reason}};
  if (control) summary["noise_rel_std"] = noise;
  for (const auto& rp : r.repairs) summary["repairs"][rp.name] = std::isfinite(rp.gap_closed) ? nlohmann::json(rp.gap_closed) : nlohmann::json();
  if (!r.restoration.empty()) summary["top_component"] = r.restoration.front().name;
  if (!cc.out.empty()) {
    write_file_atomic(cc.out + "/diagnose.json", diag::group_json(g).dump(1) + "\n");
    summary["out"] = cc.out + "/diagnose.json";
  }
  if (common.json) {
    emit_json(summary);
  } else {
    std::printf("%s %s: loss %.4f -> %.4f nats/token (gap %.4f), mode %s\n", o.method.c_str(),
                control ? cat("rel ", noise).c_str() : o.spec.str().c_str(), r.loss_fp, r.loss_q, r.gap(),
                r.mode.label.c_str());
    std::printf("  %s\n", r.mode.reason.c_str());
    for (const auto& rp : r.repairs) std::printf("  repair %-26s gap closed %+.3f\n", rp.name.c_str(), rp.gap_closed);
  }
  return 0;
}

}  // namespace lowbit::cli
