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
#include "lowbit/core/log.hpp"
#include "lowbit/core/mapped_file.hpp"
#include "lowbit/diagnose/diagnose.hpp"

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
      "method", po::value(&o.method)->default_value("gptq"), "rtn | gptq | awq | noise (Gaussian weight noise)")(
      "bits", po::value(&o.spec.bits)->default_value(4), "bits per weight, 2..8")(
      "group", po::value(&o.spec.group)->default_value(0), "columns per quantization group; 0 = per output channel")(
      "sym", po::bool_switch(&o.spec.sym), "symmetric grid")(
      "noise", po::value(&noise)->default_value(0.05), "--method noise: std of the noise relative to each row's RMS")(
      "calib", po::value(&cc.cs.path)->required(), "calibration corpus (text, <|endoftext|>-separated, or .jsonl)")(
      "nsamples", po::value(&cc.cs.nsamples)->default_value(16), "calibration samples")(
      "seqlen", po::value(&cc.cs.seqlen)->default_value(64), "tokens per calibration sample")(
      "seed", po::value(&cc.cs.seed)->default_value(0), "seed of the calibration draw, the noise and the tracing")(
      "doc-sep", po::value(&cc.cs.doc_sep)->default_value("<|endoftext|>"), "document separator in a text corpus")(
      "doc-sep-none", po::bool_switch(&cc.doc_sep_none), "the corpus is one document")(
      "holdout", po::value(&cc.cs.holdout_fraction)->default_value(0.3),
      "fraction of the corpus kept out of calibration (the default evaluation text)")(
      "eval-text", po::value(&cc.eval_data), "evaluate on this text instead of the held-out corpus part")(
      "eval-seqlen", po::value(&eval_seqlen)->default_value(128), "tokens per evaluation window")(
      "eval-windows", po::value(&eval_windows)->default_value(16), "evaluation windows at most (0 = all)")(
      "facts", po::value(&facts_path), "cloze/LAMA facts (JSONL) for causal tracing")(
      "relations", po::value(&relations), "LAMA relation templates (default: relations.jsonl beside --facts)")(
      "max-facts", po::value(&max_facts)->default_value(40), "facts traced at most (0 = all)")(
      "noise-samples", po::value(&to.noise_samples)->default_value(5), "corruptions per fact")(
      "noise-scale", po::value(&to.noise_scale)->default_value(3.0), "corruption std in embedding stds")(
      "no-heads", po::bool_switch(&no_heads), "skip per-head restoration")(
      "no-restoration", po::bool_switch(&no_restoration), "skip restoration (and mixed precision)")(
      "no-patching", po::bool_switch(&no_patching), "skip activation patching")(
      "no-repairs", po::bool_switch(&no_repairs), "skip the training-free repairs")(
      "budget-bits", po::value(&d.budget_bits)->default_value(0), "mixed precision: average bits/weight (0 = bits+1)")(
      "hi-bits", po::value(&d.hi_bits)->default_value(8), "mixed precision: bits of the promoted components")(
      "topk", po::value(&d.topk)->default_value(3), "top-k overlap of attention rows")(
      "js-broken", po::value(&d.rule.js_broken_bits)->default_value(0.15), "rule: head JS (bits) that counts as broken")(
      "snr-collapse-db", po::value(&d.rule.snr_collapse_db)->default_value(0.0), "rule: early SNR (dB) that counts as destroyed")(
      "early-fraction", po::value(&d.rule.early_fraction)->default_value(0.5), "rule: share of layers that are early")(
      "top-n", po::value(&d.rule.top_n)->default_value(3), "rule: components restored jointly")(
      "share-min", po::value(&d.rule.share_min)->default_value(0.5), "rule: gap share the top-n must close")(
      "spread-max", po::value(&d.rule.spread_max)->default_value(3.0), "rule: largest/median local error for smooth growth")(
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
          "Example: lowbit diagnose --method gptq --bits 3 --group 32 --calib jobs/data/tinystories_sample.txt --out d3",
          desc, args, vm, common))
    return 0;
  // Everything checkable before work.
  LB_INPUT_CHECK(o.method == "noise" || is_quant_method(o.method), "--method '", o.method,
                 "' must be rtn, gptq, awq or noise");
  cc.prepare();
  Model& fp = *cc.m;
  if (o.method != "noise") validate_compress_options(fp, o);
  LB_INPUT_CHECK(eval_seqlen >= 2 && eval_seqlen <= fp.cfg.max_seq_len, "--eval-seqlen ", eval_seqlen,
                 " must be in [2, ", fp.cfg.max_seq_len, "] (the model's context)");
  LB_INPUT_CHECK(cc.cs.seqlen >= 2 && cc.cs.seqlen <= fp.cfg.max_seq_len, "--seqlen ", cc.cs.seqlen,
                 " must be in [2, ", fp.cfg.max_seq_len, "]");
  LB_INPUT_CHECK(cc.cs.nsamples >= 1, "--nsamples must be at least 1");
  LB_INPUT_CHECK(d.hi_bits >= 2 && d.hi_bits <= 8, "--hi-bits ", d.hi_bits, " is outside 2..8");
  LB_INPUT_CHECK(d.topk >= 1, "--topk must be at least 1");
  LB_INPUT_CHECK(d.rule.top_n >= 1, "--top-n must be at least 1");
  LB_INPUT_CHECK(d.rule.early_fraction > 0 && d.rule.early_fraction <= 1, "--early-fraction must be in (0, 1]");
  LB_INPUT_CHECK(to.noise_samples >= 1, "--noise-samples must be at least 1");
  LB_INPUT_CHECK(threads >= 0, "--threads must be >= 0");
  LB_INPUT_CHECK(d.budget_bits == 0 || (o.method != "noise" && d.budget_bits >= o.spec.bits), "--budget-bits ",
                 d.budget_bits, " must be 0 (bits + 1) or at least --bits ", o.spec.bits);
  if (threads > 0) omp_set_num_threads(threads);
  LB_INPUT_CHECK(std::isfinite(noise) && noise >= 0, "--noise ", noise, " must be a finite value >= 0");
  LB_INPUT_CHECK(std::isfinite(to.noise_scale) && to.noise_scale > 0, "--noise-scale must be positive");
  if (!facts_path.empty()) {
    LB_INPUT_CHECK(file_exists(facts_path), facts_path, ": facts file not found");
    if (relations.empty()) {
      const auto slash = facts_path.find_last_of('/');
      const std::string guess = (slash == std::string::npos ? std::string(".") : facts_path.substr(0, slash)) + "/relations.jsonl";
      if (file_exists(guess)) relations = guess;
    }
  }
  d.base_bits = o.method == "noise" ? 32 : o.spec.bits;
  d.group = o.spec.group;
  d.norm_scales_folded = o.method == "awq";
  d.heads = !no_heads;
  d.restoration = !no_restoration;
  d.patching = !no_patching;
  d.repairs = !no_repairs;
  to.seed = cc.cs.seed;

  CalibSet calib = cc.calibration();
  std::vector<int> stream;
  if (!cc.eval_data.empty()) {
    PplOptions po_;
    for (const auto& doc : tokenize_documents(*cc.t, read_file(cc.eval_data), po_)) stream.insert(stream.end(), doc.begin(), doc.end());
  } else {
    stream = calib.holdout;
  }
  const diag::EvalBatch batch = diag::make_eval_batch(
      stream, eval_seqlen, eval_windows, cc.eval_data.empty() ? cc.cs.path + " (held-out part)" : cc.eval_data);
  std::vector<diag::Fact> facts;
  int skipped = 0;
  if (!facts_path.empty()) {
    facts = diag::load_facts(facts_path, relations, *cc.t, max_facts, &skipped);
    log_info("diagnose: ", facts.size(), " facts from ", facts_path, " (", skipped, " skipped)");
    for (const auto& f : facts)
      LB_INPUT_CHECK(int(f.tokens.size()) <= fp.cfg.max_seq_len, facts_path, ": fact '", f.context, "' has ",
                     f.tokens.size(), " tokens, more than the model's context ", fp.cfg.max_seq_len);
  }

  if (!cc.out.empty()) {
    ::mkdir(cc.out.c_str(), 0755);
    LB_INPUT_CHECK(is_directory(cc.out), cc.out, ": cannot create the output folder");
  }

  auto qm = load_model(cc.model);
  if (o.method == "noise") {
    diag::add_weight_noise(*qm, noise, cc.cs.seed);
  } else {
    log_info("diagnose: ", o.method, " ", o.spec.str(), " on ", calib.samples.size(), " x ", cc.cs.seqlen, " tokens");
    compress_model(*qm, calib, o);
  }
  diag::DiagnoseResult r = diag::diagnose(fp, *qm, batch, calib, facts, d, to);
  if (r.tracing) r.tracing->skipped = skipped;

  archive::Group g;
  diag::fill_group(r, g);
  g.set("model", cc.model);
  g.set("method", o.method);
  g.set("bits", int64_t(o.method == "noise" ? 0 : o.spec.bits));
  g.set("group", int64_t(o.spec.group));
  if (o.method == "noise") g.set("noise_rel_std", noise);
  g.set("calib", cc.cs.path);
  g.set("calib_tokens", int64_t(calib.tokens()));
  g.set("eval", cc.eval_data.empty() ? cc.cs.path + " (held-out part)" : cc.eval_data);
  nlohmann::json summary = {{"model", cc.model}, {"method", o.method},
                            {"bits", o.method == "noise" ? nlohmann::json() : nlohmann::json(o.spec.bits)}, {"group", o.spec.group},
                            {"loss_fp", r.loss_fp}, {"loss_q", r.loss_q}, {"gap", r.gap()}, {"gap_se", r.gap_se},
                            {"eval_predictions", r.eval_tokens}, {"mode", r.mode.label}, {"reason", r.mode.reason}};
  if (o.method == "noise") summary["noise_rel_std"] = noise;
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
                o.method == "noise" ? cat("rel ", noise).c_str() : o.spec.str().c_str(), r.loss_fp, r.loss_q, r.gap(),
                r.mode.label.c_str());
    std::printf("  %s\n", r.mode.reason.c_str());
    for (const auto& rp : r.repairs) std::printf("  repair %-26s gap closed %+.3f\n", rp.name.c_str(), rp.gap_closed);
  }
  return 0;
}

}  // namespace lowbit::cli
