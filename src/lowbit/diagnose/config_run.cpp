// lowbit/diagnose/config_run.cpp — one configuration end to end. defines: see config_run.hpp
#include "lowbit/diagnose/config_run.hpp"

#include <cmath>
#include <optional>

#include "lowbit/archive/keys.hpp"
#include "lowbit/archive/params.hpp"
#include "lowbit/core/error.hpp"
#include "lowbit/compress/methods.hpp"
#include "lowbit/core/log.hpp"
#include "lowbit/core/mapped_file.hpp"
#include "lowbit/eval/perplexity.hpp"

namespace lowbit::diag {

PreparedInputs check_and_prepare(DiagnoseConfig& c, const Model& fp, const Tokenizer& tok) {
  const auto& o = c.compress;
  auto& d = c.opts;
  const int ctx = fp.cfg.max_seq_len;
  const MethodRow* row = find_method(o.method);
  const bool control = row && row->kind == MethodKind::Control;
  LB_INPUT_CHECK(row && (control || row->quant()), "--method '", o.method, "' must be ",
                 method_names(MethodKind::Quant), " or ", method_names(MethodKind::Control));
  // Fields named as is: each surface has checked them with its own names before (lowbit diagnose by
  // flag, a manifest run in run::validate_configs by manifest key), so this is the library's guard.
  if (!control) validate_compress_options(fp, o);
  LB_INPUT_CHECK(!c.calib.path.empty(), "diagnose needs a calibration corpus (--calib)");
  LB_INPUT_CHECK(file_exists(c.calib.path), c.calib.path, ": calibration corpus not found");
  LB_INPUT_CHECK(c.eval_text.empty() || file_exists(c.eval_text), c.eval_text, ": evaluation file not found");
  LB_INPUT_CHECK(c.eval_seqlen >= 2 && c.eval_seqlen <= ctx, "--eval-seqlen ", c.eval_seqlen, " must be in [2, ", ctx,
                 "] (the model's context)");
  LB_INPUT_CHECK(c.calib.seqlen >= 2 && c.calib.seqlen <= ctx, "--seqlen ", c.calib.seqlen, " must be in [2, ", ctx, "]");
  LB_INPUT_CHECK(c.calib.nsamples >= 1, "--nsamples must be at least 1");
  LB_INPUT_CHECK(d.hi_bits >= 2 && d.hi_bits <= 8, "--hi-bits ", d.hi_bits, " is outside 2..8");
  LB_INPUT_CHECK(d.topk >= 1, "--topk must be at least 1");
  LB_INPUT_CHECK(d.rule.top_n >= 1, "--top-n must be at least 1");
  LB_INPUT_CHECK(d.rule.early_fraction > 0 && d.rule.early_fraction <= 1, "--early-fraction must be in (0, 1]");
  LB_INPUT_CHECK(c.trace.noise_samples >= 1, "--noise-samples must be at least 1");
  LB_INPUT_CHECK(d.budget_bits == 0 || (!control && d.budget_bits >= o.spec.bits), "--budget-bits ",
                 d.budget_bits, " must be 0 (bits + 1) or at least --bits ", o.spec.bits);
  LB_INPUT_CHECK(std::isfinite(c.noise) && c.noise >= 0, "--noise ", c.noise, " must be a finite value >= 0");
  LB_INPUT_CHECK(std::isfinite(c.trace.noise_scale) && c.trace.noise_scale > 0, "--noise-scale must be positive");
  if (!c.facts.empty()) {
    LB_INPUT_CHECK(file_exists(c.facts), c.facts, ": facts file not found");
    if (c.relations.empty()) {
      const auto slash = c.facts.find_last_of('/');
      const std::string guess = (slash == std::string::npos ? std::string(".") : c.facts.substr(0, slash)) + "/relations.jsonl";
      if (file_exists(guess)) c.relations = guess;
    }
  }
  d.base_bits = control ? 32 : o.spec.bits;
  d.group = o.spec.group;
  d.norm_scales_folded = row->scales_block;
  c.trace.seed = c.calib.seed;

  PreparedInputs in;
  in.calib = make_calibration(tok, c.calib);
  std::vector<int> stream;
  if (!c.eval_text.empty()) {
    for (const auto& doc : tokenize_documents(tok, read_file(c.eval_text), PplOptions{}))
      stream.insert(stream.end(), doc.begin(), doc.end());
    in.eval_name = c.eval_text;
  } else {
    stream = in.calib.holdout;
    in.eval_name = c.calib.path + " (held-out part)";
  }
  in.batch = make_eval_batch(stream, c.eval_seqlen, c.eval_windows, in.eval_name);
  if (!c.facts.empty()) {
    in.facts = load_facts(c.facts, c.relations, tok, c.max_facts, &in.facts_skipped);
    log_info("diagnose: ", in.facts.size(), " facts from ", c.facts, " (", in.facts_skipped, " skipped)");
    for (const auto& f : in.facts)
      LB_INPUT_CHECK(int(f.tokens.size()) <= ctx, c.facts, ": fact '", f.context, "' has ", f.tokens.size(),
                     " tokens, more than the model's context ", ctx);
  }
  return in;
}

namespace {
// What was diagnosed, with which inputs: the compression parameters (the record /configs/<id>
// carries too, written by the same function) and the diagnostics' own inputs.
void record_inputs(const DiagnoseConfig& c, const Model& fp, const PreparedInputs& in, bool control,
                   archive::Group& g) {
  const auto& o = c.compress;
  namespace k = archive::keys::diag;
  archive::CompressParams p;
  p.method = o.method;
  p.quant = !control;
  p.bits = o.spec.bits;
  p.group = o.spec.group;  // QuantSpec::kPerChannel as /configs/<id>@group
  p.sym = o.spec.sym;
  p.calib_samples = c.calib.nsamples;
  p.calib_seqlen = c.calib.seqlen;
  p.calib_tokens = in.calib.tokens();
  p.seed = int64_t(c.calib.seed);
  archive::write_params(g, p);
  g.set(k::kModelPath, fp.path);
  if (control) g.set(k::kNoiseRelStd, c.noise);
  g.set(k::kCalib, c.calib.path);
  g.set(k::kEval, in.eval_name);
  g.set(k::kEvalSeqlen, int64_t(c.eval_seqlen));
  if (!c.facts.empty()) g.set(k::kFacts, c.facts);
}
}  // namespace

DiagnoseResult run_prepared(const DiagnoseConfig& c, const Model& fp, const PreparedInputs& in, archive::Group& g,
                            const Model* compressed) {
  const auto& o = c.compress;
  fp.materialize_all();
  const bool control = method_row(o.method).kind == MethodKind::Control;
  std::optional<Model> own;
  if (!compressed) {
    own.emplace(fp);  // shares the mapped checkpoint; blocks are replaced below
    if (control) {
      add_weight_noise(*own, c.noise, c.calib.seed);
    } else {
      log_info("diagnose: ", o.method, " ", o.spec.str(), " on ", in.calib.samples.size(), " x ", c.calib.seqlen,
               " tokens");
      compress_model(*own, in.calib, o);
    }
  }
  const Model& q = compressed ? *compressed : *own;
  DiagnoseResult r = diagnose(fp, q, in.batch, in.calib, in.facts, c.opts, c.trace);
  if (r.tracing) r.tracing->skipped = in.facts_skipped;
  fill_group(r, g);
  record_inputs(c, fp, in, control, g);
  return r;
}

}  // namespace lowbit::diag
