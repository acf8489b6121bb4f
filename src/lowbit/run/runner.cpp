// lowbit/run/runner.cpp — the sweep scheduler and one configuration's pipeline.
// defines: see runner.hpp
#include "lowbit/run/runner.hpp"

#include <mpi.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>

#include <chrono>
#include <filesystem>
#include <cstring>
#include <ctime>
#include <set>

#include "lowbit/archive/archive.hpp"
#include "lowbit/archive/keys.hpp"
#include "lowbit/compress/calib.hpp"
#include "lowbit/compress/driver.hpp"
#include "lowbit/compress/methods.hpp"
#include "lowbit/core/blas.hpp"
#include "lowbit/core/threads.hpp"
#include "lowbit/core/error.hpp"
#include "lowbit/core/log.hpp"
#include "lowbit/core/mapped_file.hpp"
#include "lowbit/dist/comm.hpp"
#include "lowbit/diagnose/config_run.hpp"
#include "lowbit/eval/perplexity.hpp"
#include "lowbit/eval/tasks.hpp"
#include "lowbit/io/load.hpp"
#include "lowbit/io/tokenizer.hpp"
#include "lowbit/model/model.hpp"

#ifndef LOWBIT_GIT_REVISION
#define LOWBIT_GIT_REVISION "unknown"
#endif

namespace lowbit::run {

namespace {

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

std::string utc_now() {
  std::time_t t = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  return buf;
}

// FNV-1a over the bits of every block weight: equal digests = bit-identical compressed models.
std::string weights_digest(const Model& m) {
  uint64_t h = 1469598103934665603ull;
  auto mix = [&](const Tensor& t) {
    const auto* p = reinterpret_cast<const unsigned char*>(t.data.data());
    for (size_t i = 0; i < t.data.size() * sizeof(float); ++i) h = (h ^ p[i]) * 1099511628211ull;
  };
  for (int l = 0; l < m.cfg.n_layers; ++l) {
    const BlockWeights& b = m.block(l);
    for (auto id : kLinearIds)
      if (id != LinearId::Gate || m.cfg.gated_mlp) mix(b.linear(id).w);
    if (m.stream_blocks) m.release_block(l);
  }
  char buf[24];
  std::snprintf(buf, sizeof buf, "%016llx", (unsigned long long)h);
  return buf;
}

// A content digest of the manifest text for the check on resume (two FNV-1a-style 64-bit hashes:
// not a security hash, a change detector; stored as /run@manifest_sha).
std::string manifest_digest(const std::string& s) {
  uint64_t a = 1469598103934665603ull, b = 0x9e3779b97f4a7c15ull;
  for (unsigned char ch : s) {
    a = (a ^ ch) * 1099511628211ull;
    b = (b ^ ch) * 0x100000001b3ull + 0x7f4a7c15ull;
  }
  char buf[40];
  std::snprintf(buf, sizeof buf, "%016llx%016llx", (unsigned long long)a, (unsigned long long)b);
  return buf;
}

std::string hostname() {
  char buf[256] = {0};
  ::gethostname(buf, sizeof buf - 1);
  return buf;
}

// Spill folders of processes of this host that are gone (killed runs) are removed.
void remove_stale_spills(const std::string& staging) {
  std::error_code ec;
  if (!std::filesystem::is_directory(staging, ec)) return;
  const std::string prefix = ".spill-" + hostname() + "-";
  for (const auto& e : std::filesystem::directory_iterator(staging, ec)) {
    const std::string n = e.path().filename().string();
    if (n.rfind(prefix, 0) != 0) continue;
    const long pid = std::strtol(n.c_str() + prefix.size(), nullptr, 10);
    if (pid > 0 && ::kill(pid_t(pid), 0) != 0 && errno == ESRCH) std::filesystem::remove_all(e.path(), ec);
  }
}

// What a start creates before its checks pass (the output folder, ARCHIVE.staging, ARCHIVE.lock):
// noted first, removed by undo() when the start is refused, so the fixed manifest starts clean.
class StartTrace {
 public:
  explicit StartTrace(const archive::RunArchive& ar) {
    namespace fs = std::filesystem;
    std::error_code ec;
    for (fs::path p = fs::absolute(ar.path(), ec).parent_path(); !p.empty() && !fs::exists(p, ec); p = p.parent_path())
      created_.push_back(p.string());  // innermost first: removed in this order
    created_.insert(created_.begin(), ar.staging_dir());
    if (fs::exists(ar.staging_dir(), ec)) created_.erase(created_.begin());
    if (!fs::exists(ar.lock_path(), ec)) lock_ = ar.lock_path();
  }
  void undo() const {
    std::error_code ec;
    if (!lock_.empty()) std::filesystem::remove(lock_, ec);
    for (const auto& d : created_) std::filesystem::remove(d, ec);  // only if empty
  }

 private:
  std::vector<std::string> created_;
  std::string lock_;
};

// On every start (fresh or --resume) whatever ARCHIVE.staging holds must be this run's: a staged
// configuration carries the id and manifest_sha of the run that staged it, and one from another
// manifest, an unknown id or a stray file would otherwise count as done. Refused by name (exit 2).
// Left alone: spill folders (.spill-*), the write probe and *.tmp files of interrupted writes.
void check_staging(const archive::RunArchive& ar, const std::string& msha, const std::vector<plan::RunConfig>& all) {
  std::error_code ec;
  if (!std::filesystem::is_directory(ar.staging_dir(), ec)) return;
  std::set<std::string> ids;
  for (const auto& c : all) ids.insert(archive::safe_name(c.id));
  for (const auto& e : std::filesystem::directory_iterator(ar.staging_dir(), ec)) {
    const std::string n = e.path().filename().string(), f = e.path().string();
    if (n.rfind(".spill-", 0) == 0 || n == ".write-probe" || n.ends_with(".tmp")) continue;
    LB_INPUT_CHECK(n.ends_with(".h5") && e.is_regular_file(), f,
                   ": not a configuration staged by lowbit run (a stray file?); move it away and rerun");
    const std::string name = n.substr(0, n.size() - 3);
    LB_INPUT_CHECK(ids.count(name), f, ": configuration '", name, "' is not one of this manifest's; move it away and rerun");
    const archive::Group root = archive::read_group_file(f);
    const auto it = root.groups.find(name);
    LB_INPUT_CHECK(it != root.groups.end() && archive::safe_name(it->second.text(archive::keys::config::kId)) == name, f,
                   ": does not hold configuration '", name, "'; move it away and rerun");
    const std::string sha = it->second.text(archive::keys::config::kManifestSha);
    LB_INPUT_CHECK(sha == msha, f, ": was staged by ", sha.empty() ? "a run without a manifest hash" : "another manifest (manifest_sha " + sha + ")",
                   ", not this run's (", msha, "): it would count as done; move it away and rerun");
    const int64_t schema = archive::staged_schema(root);  // this manifest's, by an older lowbit
    LB_INPUT_CHECK(schema == archive::kSchemaVersion, f, ": was staged by a lowbit writing archive schema ", schema,
                   ", not ", archive::kSchemaVersion, " (other key names); move it away and rerun");
  }
}

archive::Table layer_table(const CompressResult& r) {
  namespace kl = archive::keys::layers;
  archive::Table t;
  t.description = "one row per linear layer, in block order";
  for (auto [c, u] : std::vector<std::pair<const char*, const char*>>{
           {kl::kLayer, ""}, {kl::kOutFeatures, ""}, {kl::kInFeatures, ""}, {kl::kOutError, "sum of squares"},
           {kl::kRtnError, "sum of squares"}, {kl::kRelError, ""}, {kl::kPruned, "elements"}, {kl::kTotal, "elements"},
           {kl::kDampRaises, ""}, {kl::kDeadColumns, ""}})
    t.add_column(c, u);
  for (const auto& rec : r.records)
    t.add_row({double(rec.layer), double(rec.out), double(rec.in), rec.out_error, rec.rtn_error, rec.rel_error,
               double(rec.pruned), double(rec.total), double(rec.damp_raises), double(rec.dead_columns)},
              block_weight_name(rec.layer, rec.linear));
  return t;
}

}  // namespace

CompressOptions compress_options(const plan::Manifest& m, const plan::RunConfig& c) {
  CompressOptions o;
  o.method = c.method;
  o.spec.bits = c.bits;
  o.spec.group = c.group;  // already QuantSpec's value (plan/manifest.cpp converts the spelling)
  o.spec.sym = c.sym != 0;
  o.prune.sparsity = c.sparsity;
  if (!c.nm.empty()) {  // checked by plan::parse_manifest with the same parser
    const auto p = parse_nm(c.nm);
    LB_INPUT_CHECK(p, c.id, ": nm ", nm_syntax_problem(c.nm));
    o.prune.set_nm(*p);
  }
  o.micro_batch = m.micro_batch;
  return o;
}

namespace {

// The manifest key a configuration's calibration `key` (nsamples, seqlen) came from, with its place.
std::string calib_where(const plan::Manifest& m, const plan::RunConfig& c, const char* key) {
  const std::string own = cat("methods[", c.entry, "].", key);
  return m.locations.count(own) ? m.where(own) : m.where(cat("calibration.", key));
}

// Calibration sets every rank builds whole (n × L tokens) and compresses from (its n/R share of
// n × L × D activations, twice with fp_inputs): computed in double, so absurd sizes cannot overflow.
double calibration_bytes(const DecoderConfig& cfg, const plan::RunConfig& c, int group_size) {
  const double n = c.nsamples, L = c.seqlen, n_local = std::ceil(n / group_size);
  const double acts = method_row(c.method).compresses() ? n_local * L * double(cfg.dim) * 4 : 0;
  return n * L * double(sizeof(int)) + acts;
}

// The corpus is long enough for every seqlen of this model's configurations: make_calibration's own
// check, run once per distinct seqlen on a one-sample set (before any file is written).
void check_calibration(const plan::Manifest& m, const Tokenizer& tok, const DecoderConfig& cfg, int mi,
                       const std::vector<plan::RunConfig>& all, std::vector<std::string>& errs) {
  std::set<int> lens;
  for (const auto& c : all) {
    if (c.model != mi || c.nsamples == 0) continue;
    const double bytes = calibration_bytes(cfg, c, m.group_size);
    if (bytes > double(kMaxCalibrationBytes))
      errs.push_back(cat(calib_where(m, c, "nsamples"), ": configuration ", c.id, ": nsamples ", c.nsamples, " x seqlen ",
                         c.seqlen, " needs ", (long long)std::min(bytes, 9e18), " bytes of calibration data per rank, more than the limit of ",
                         kMaxCalibrationBytes, " (1 TiB)"));
    else if (lens.insert(c.seqlen).second) {
      CalibSpec cs;
      cs.path = m.calib_path;
      cs.nsamples = 1;
      cs.seqlen = c.seqlen;
      try {
        make_calibration(tok, cs);
      } catch (const Error& e) {
        errs.push_back(cat(calib_where(m, c, "seqlen"), ": configuration ", c.id, ": ", e.what()));
      }
    }
  }
}

// The manifest's name of a field check_compress_options reports for configuration `c`, with its
// place: methods[i].<field> (the entry's place when the key is absent and its default is wrong),
// execution.micro_batch.
std::string manifest_field(const plan::Manifest& m, const plan::RunConfig& c, const std::string& field) {
  if (field == "micro_batch") return m.where("execution.micro_batch");
  const std::string entry = cat("methods[", c.entry, "]"), key = entry + "." + field;
  return m.locations.count(key) ? m.where(key) : cat(m.where(entry), ".", field, " (its default)");
}

// A compressed configuration against its model: the method's settings (named by manifest key) and
// the calibration length against learned positions. The first problem, or "".
std::string config_problem(const plan::Manifest& m, const plan::RunConfig& c, const Model& model) {
  if (const auto p = check_compress_options(model, compress_options(m, c)))
    return cat(manifest_field(m, c, p->field), ": configuration ", c.id, p->linear.empty() ? "" : ", " + p->linear, ": ",
               p->what);
  if (model.cfg.learned_pos && c.nsamples > 0 && c.seqlen > model.cfg.max_seq_len)
    return cat(calib_where(m, c, "seqlen"), ": configuration ", c.id, ": seqlen ", c.seqlen, " exceeds the model's ",
               model.cfg.max_seq_len, " positions");
  return "";
}

// What diagnose/config_run's check_and_prepare would refuse of a diagnosed configuration, after
// compression, checked now and named by manifest key (the library names its CLI flags).
std::string diag_problem(const plan::Manifest& m, const plan::RunConfig& c, const Model& model) {
  const int ctx = model.cfg.max_seq_len, el = m.diagnostics.eval_seqlen;
  if (m.calib_path.empty())
    return cat(m.where("diagnostics"), ": configuration ", c.id, ": diagnostics need a calibration corpus (calibration.path)");
  if (el < 2 || el > ctx)
    return cat(m.where("diagnostics.eval_seqlen"), ": configuration ", c.id, ": ", el, " must be in [2, ", ctx,
               "] (the model's context)");
  if (c.seqlen < 2 || c.seqlen > ctx)
    return cat(calib_where(m, c, "seqlen"), ": configuration ", c.id, ": seqlen ", c.seqlen, " must be in [2, ", ctx,
               "] for diagnostics (the model's context)");
  if (c.nsamples < 1)
    return cat(calib_where(m, c, "nsamples"), ": configuration ", c.id, ": diagnostics need calibration samples");
  return "";
}

// What perplexity() would refuse of evaluation.ppl.ctx, after compression, checked now with its
// own check (context_problem) and named by manifest key. "" when it fits the model.
std::string eval_problem(const plan::Manifest& m, const Model& model, int mi) {
  const std::string p = context_problem(model.cfg, m.eval_ctx);
  if (p.empty()) return "";
  const std::string where = m.eval_ctx > 0 ? m.where("evaluation.ppl.ctx") : m.where(cat("models[", mi, "].path"));
  return cat(where, ": context ", m.eval_ctx > 0 ? m.eval_ctx : model.cfg.max_seq_len, " ", p);
}

}  // namespace

void validate_configs(const plan::Manifest& m, const std::vector<plan::RunConfig>& all) {
  std::vector<std::string> errs;
  for (int mi = 0; mi < int(m.models.size()); ++mi) {
    std::unique_ptr<Model> model;
    const std::string kp = cat("models[", mi, "]");
    try {
      model = load_model(m.models[size_t(mi)].path);
    } catch (const Error& e) {
      errs.push_back(cat(m.where(kp + ".path"), ": ", e.what()));
      continue;
    }
    try {
      auto tok = load_tokenizer(m.models[size_t(mi)].tokenizer);
      check_tokenizer_fits(*tok, m.models[size_t(mi)].tokenizer, *model);  // as every command checks it
      check_calibration(m, *tok, model->cfg, mi, all, errs);
      if (!m.eval_path.empty() || !m.calib_path.empty())  // perplexity is evaluated
        if (const std::string p = eval_problem(m, *model, mi); !p.empty()) errs.push_back(p);
    } catch (const Error& e) {
      errs.push_back(cat(m.where(kp + ".tokenizer"), ": ", e.what()));
      continue;
    }
    for (const auto& c : all) {
      if (c.model != mi) continue;
      std::string p = method_row(c.method).compresses() ? config_problem(m, c, *model) : "";
      if (p.empty() && diagnosed(m.diagnostics, c)) p = diag_problem(m, c, *model);
      if (!p.empty()) errs.push_back(p);
    }
  }
  if (errs.empty()) return;
  std::string msg = cat(errs.size(), " configuration problem", errs.size() > 1 ? "s" : "", " in ", m.path, ":");
  for (size_t i = 0; i < errs.size() && i < 20; ++i) msg += "\n  " + errs[i];
  if (errs.size() > 20) msg += cat("\n  ... and ", errs.size() - 20, " more");
  LB_THROW(ConfigError, msg);
}

Studies validate_run(const plan::Manifest& m, const std::vector<plan::RunConfig>& all) {
  validate_configs(m, all);
  return load_studies(m);
}

// ---------------------------------------------------------------- work queue
struct WorkQueue::Impl {
  dist::Comm& world;
  MPI_Win win = MPI_WIN_NULL;
  long long* base = nullptr;
  long long local = 0;
  explicit Impl(dist::Comm& w) : world(w) {}
};

WorkQueue::WorkQueue(dist::Comm& world) : p_(std::make_unique<Impl>(world)) {
  if (!world.mpi_handle()) return;
  MPI_Comm c = *static_cast<MPI_Comm*>(world.mpi_handle());
  const MPI_Aint sz = world.is_root() ? MPI_Aint(sizeof(long long)) : 0;
  MPI_Win_allocate(sz, sizeof(long long), MPI_INFO_NULL, c, &p_->base, &p_->win);
  if (world.is_root()) {
    MPI_Win_lock(MPI_LOCK_EXCLUSIVE, 0, 0, p_->win);
    *p_->base = 0;
    MPI_Win_unlock(0, p_->win);
  }
  world.barrier();
}

WorkQueue::~WorkQueue() {
  if (p_->win != MPI_WIN_NULL) {
    p_->world.barrier();
    MPI_Win_free(&p_->win);
  }
}

long long WorkQueue::next() {
  if (p_->win == MPI_WIN_NULL) return p_->local++;
  const long long one = 1;
  long long got = 0;
  MPI_Win_lock(MPI_LOCK_SHARED, 0, 0, p_->win);
  MPI_Fetch_and_op(&one, &got, MPI_LONG_LONG, 0, 0, MPI_SUM, p_->win);
  MPI_Win_unlock(0, p_->win);
  return got;
}

// ---------------------------------------------------------------- one configuration
Studies load_studies(const plan::Manifest& m) { return {resolve_tasks(m, LOWBIT_PROJECT_DIR), m.diagnostics}; }


namespace {

namespace kc = archive::keys::config;
namespace kt = archive::keys::timings;
namespace ke = archive::keys::eval;

CalibSpec calib_spec(const plan::Manifest& m, const plan::RunConfig& c) {
  CalibSpec cs;
  cs.path = m.calib_path;
  cs.nsamples = c.nsamples;
  cs.seqlen = c.seqlen;
  cs.seed = c.seed;
  return cs;
}

// The configuration's calibration set (none for nsamples 0), its corpus size recorded.
CalibSet calibrate(const plan::Manifest& m, const plan::RunConfig& c, const Tokenizer& tok, archive::Group& g) {
  CalibSet calib;
  if (c.nsamples == 0) return calib;
  calib = make_calibration(tok, calib_spec(m, c));
  g.set(kc::kCalibAvailableTokens, int64_t(calib.available_tokens));  // < calib_tokens: windows overlap
  return calib;
}

// Compresses the model in place over the group (spilled block by block); returns the seconds.
double compress_step(const plan::Manifest& m, const plan::RunConfig& c, Model& model, const CalibSet& calib,
                     dist::Comm& group, const std::string& spill_dir, archive::Group& g) {
  if (!method_row(c.method).compresses()) return 0;
  CompressOptions o = compress_options(m, c);
  o.comm = &group;
  o.spill_dir = spill_dir;
  o.keep_results = false;  // no export here: codes and dequantized copies would be the model again
  const auto tc = Clock::now();
  CompressResult res = compress_model(model, calib, o);
  const double t = since(tc);
  g.tables[kc::kLayers] = layer_table(res);
  g.group(kc::kTimings).set(kt::kPeakModelBytes, int64_t(res.peak_model_bytes));  // per rank: run-dependent
  return t;
}

// The perplexity documents: the evaluation text, else the calibration corpus's held-out part.
std::vector<std::vector<int>> eval_documents(const plan::Manifest& m, const plan::RunConfig& c, const Tokenizer& tok,
                                             const CalibSet& calib, const PplOptions& po) {
  std::vector<std::vector<int>> docs;
  if (!m.eval_path.empty()) docs = tokenize_documents(tok, read_file(m.eval_path), po);
  else if (!calib.holdout.empty()) docs.push_back(calib.holdout);
  else if (!m.calib_path.empty()) {
    CalibSpec hs = calib_spec(m, c);
    hs.nsamples = 1;
    hs.seqlen = 2;
    docs.push_back(make_calibration(tok, hs).holdout);
  }
  return docs;
}

// Perplexity, data parallel over the group (batches dealt round-robin; exact assembly), as the
// eval table; returns the seconds.
double eval_step(const plan::Manifest& m, const plan::RunConfig& c, const Model& model, const Tokenizer& tok,
                 const CalibSet& calib, dist::Comm& group, archive::Group& g) {
  const auto te = Clock::now();
  PplOptions po;
  po.ctx = m.eval_ctx;
  po.max_windows = m.eval_max_windows;
  const auto docs = eval_documents(m, c, tok, calib, po);
  archive::Table ev;
  for (auto [cn, u] : std::vector<std::pair<const char*, const char*>>{
           {ke::kNllPerToken, "nats"}, {ke::kPpl, ""}, {ke::kTokens, "tokens"}, {ke::kWindows, ""}})
    ev.add_column(cn, u);
  if (!docs.empty()) {
    po.shard = group.rank();
    po.nshards = group.size();
    PplResult pr = perplexity(model, docs, po);
    group.allreduce_sum(pr.window_nll.data(), pr.window_nll.size());  // one owner per entry: exact
    pr.finish_from_windows();
    ev.add_row({pr.nll_per_token(), pr.ppl(), double(pr.tokens), double(pr.windows)}, ke::kPerplexity);
  }
  ev.description = m.eval_path.empty() ? "held-out part of the calibration corpus" : m.eval_path;
  g.tables[kc::kEval] = ev;
  return since(te);
}

// Task strata (on the group's rank 0, which stages); returns the seconds.
double tasks_step(const Studies& studies, const Model& model, const Tokenizer& tok, const dist::Comm& group,
                  archive::Group& g) {
  if (!studies.tasks.enabled || !group.is_root()) return 0;
  const auto tt = Clock::now();
  EvalResult er = evaluate_tasks(model, tok, studies.tasks.specs, studies.tasks.options);
  g.groups[kc::kTasks] = eval_to_group(er);
  return since(tt);
}

// Failure-mode diagnostics of the model just compressed and evaluated against the FP model (on
// the group's rank 0); returns the seconds.
double diagnostics_step(const plan::Manifest& m, const plan::RunConfig& c, const Studies& studies, Model& compressed,
                        const Tokenizer& tok, const dist::Comm& group, archive::Group& g) {
  if (!diagnosed(studies.diag, c) || !group.is_root()) return 0;
  const auto td = Clock::now();
  auto fp = load_model(m.models[size_t(c.model)].path);
  diag::DiagnoseConfig dc;
  dc.compress = compress_options(m, c);
  dc.calib = calib_spec(m, c);
  dc.eval_text = m.eval_path;
  dc.eval_seqlen = studies.diag.eval_seqlen;
  dc.eval_windows = studies.diag.eval_windows;
  dc.facts = studies.diag.facts;
  const diag::PreparedInputs prep = diag::check_and_prepare(dc, *fp, tok);
  archive::Group dg;
  diag::run_prepared(dc, *fp, prep, dg, &compressed);
  g.groups[kc::kDiagnostics] = std::move(dg);
  return since(td);
}

}  // namespace

archive::Group run_config(const plan::Manifest& m, const plan::RunConfig& c, dist::Comm& group,
                          const std::string& spill_dir, const Studies& studies) {
  const auto t0 = Clock::now();
  const double coll0 = group.collective_seconds();
  const long long calls0 = compress_model_calls();
  const auto& me = m.models[size_t(c.model)];
  auto model = load_model(me.path);
  auto tok = load_tokenizer(me.tokenizer);
  archive::Group g = plan::config_params(m, c);
  g.set(kc::kNParams, int64_t(model->cfg.non_embedding_params()));  // N of the laws, as `lowbit info` counts it
  g.set(kc::kVocabSize, int64_t(model->cfg.vocab_size));
  const CalibSet calib = calibrate(m, c, *tok, g);
  const double t_compress = compress_step(m, c, *model, calib, group, spill_dir, g);
  model->stream_blocks = !spill_dir.empty();  // evaluation reads one block at a time too
  g.set(kc::kWeightsDigest, weights_digest(*model));
  const double t_eval = eval_step(m, c, *model, *tok, calib, group, g);
  const double t_tasks = tasks_step(studies, *model, *tok, group, g);
  const double t_diag = diagnostics_step(m, c, studies, *model, *tok, group, g);
  archive::Group& tm = g.group(kc::kTimings);
  tm.set(kt::kCompressS, t_compress);
  tm.set(kt::kEvalS, t_eval);
  tm.set(kt::kTasksS, t_tasks);
  tm.set(kt::kDiagnosticsS, t_diag);
  tm.set(kt::kCompressions, compress_model_calls() - calls0);  // 1 per compressed configuration, diagnosed or not
  tm.set(kt::kTotalS, since(t0));
  tm.set(kt::kCollectiveS, group.collective_seconds() - coll0);
  tm.set(kt::kRanks, int64_t(group.size()));
  tm.set(kt::kFinished, utc_now());
  return g;
}

// ---------------------------------------------------------------- the run
RunSummary run_manifest(const RunOptions& opt, dist::Comm& world) {
  const auto t0 = Clock::now();
  set_log_rank(world.rank(), world.size());
  plan::Manifest m = plan::load_manifest(opt.manifest);
  if (!opt.output.empty()) m.output = opt.output;
  if (opt.group_size > 0) m.group_size = opt.group_size;
  std::vector<plan::RunConfig> all = plan::expand(m);
  LB_INPUT_CHECK(!all.empty(), opt.manifest, ": the manifest expands to no configuration");
  LB_INPUT_CHECK(world.size() % m.group_size == 0, "execution.group_size ", m.group_size, " does not divide the ",
                 world.size(), " ranks");
  // Every check on the inputs (the same as `lowbit plan`'s), on every rank, before any file is
  // written: the same files give every rank the same verdict.
  const Studies studies = validate_run(m, all);
  archive::RunArchive ar(m.output);
  const std::string msha = manifest_digest(m.text);
  // Checks of the archive, decided on rank 0 and shared, so every rank fails the same way.
  std::string err;
  std::vector<std::string> done_list;
  bool fresh = true;
  // Several jobs (array tasks) may start on one archive at once: rank 0 holds the archive lock
  // from the existence check to the first commit, so exactly one creates it; the others resume.
  std::unique_ptr<archive::RunArchive::Lock> start_lock;
  archive::Group prev_run;  // the archive's /run when resuming (rank 0)
  if (world.is_root()) {
    const StartTrace trace(ar);
    try {
      ar.check_writable();
      start_lock = ar.lock();
      if (ar.exists()) {
        LB_INPUT_CHECK(opt.resume, m.output, ": the archive exists; pass --resume to continue it (nothing was changed)");
        prev_run = ar.read_run();
        ar.check_resumable();  // an older schema's configurations would mix two sets of key names
        LB_INPUT_CHECK(prev_run.text(archive::keys::run::kManifestSha) == msha, m.output,
                       ": was written from a different manifest; resuming it with ", opt.manifest,
                       " would mix experiments (use another --output)");
        fresh = false;
      }
      check_staging(ar, msha, all);
      for (const auto& id : ar.complete_configs()) done_list.push_back(id);
    } catch (const Error& e) {
      err = std::string(1, char('0' + int(e.kind()))) + e.what();
      start_lock.reset();
      trace.undo();  // a failed start leaves the folder as it found it
    }
  }
  world.broadcast_string(err, 0);
  if (!err.empty()) {
    const auto kind = ErrorKind(err[0] - '0');
    if (kind == ErrorKind::Io) LB_THROW(IoError, err.substr(1));
    LB_THROW(InputError, err.substr(1));
  }
  uint8_t fr = fresh;
  world.broadcast(&fr, 1, 0);
  fresh = fr;
  std::string joined;
  for (const auto& s : done_list) joined += s + "\n";
  world.broadcast_string(joined, 0);
  std::set<std::string> done;
  for (size_t a = 0, b; (b = joined.find('\n', a)) != std::string::npos; a = b + 1) done.insert(joined.substr(a, b - a));
  std::vector<plan::RunConfig> todo;
  for (size_t k = 0; k < all.size(); ++k) {
    const auto& c = all[k];
    if (opt.chunk_count > 0 && plan::chunk_of(k, opt.chunk_count) != opt.chunk_index) continue;
    if (!done.count(archive::safe_name(c.id)) && (opt.only.empty() || c.id.find(opt.only) != std::string::npos))
      todo.push_back(c);
  }
  if (opt.limit > 0 && (long long)todo.size() > opt.limit) todo.resize(size_t(opt.limit));
  // Run metadata.
  std::string hosts;
  {
    const std::string me = hostname();
    const auto names = world.allgather(std::vector<char>(me.begin(), me.end()));
    std::set<std::string> uniq;
    for (const auto& n : names) uniq.insert(std::string(n.begin(), n.end()));
    for (const auto& h : uniq) hosts += (hosts.empty() ? "" : ",") + h;
  }
  archive::Group run = prev_run;  // only rank 0's is committed
  namespace kr = archive::keys::run;
  run.set(kr::kManifest, m.text);
  run.set(kr::kManifestPath, m.path);
  run.set(kr::kManifestSha, msha);
  run.set(kr::kName, m.name);
  run.set(kr::kLowbitVersion, std::string(LOWBIT_VERSION));
  run.set(kr::kGitRevision, std::string(LOWBIT_GIT_REVISION));
  run.set(kr::kHosts, hosts);
  run.set(kr::kRanks, int64_t(world.size()));
  run.set(kr::kGroupSize, int64_t(m.group_size));
  {  // the BLAS that computed this run (rank 0's; core/blas.hpp)
    const BlasInfo& b = blas_info();
    run.set(kr::kBlas, b.vendor + " " + b.version);
    run.set(kr::kBlasCore, b.core);
    run.set(kr::kBlasSelection, b.selection);
    run.set(kr::kBlasDetectedCore, b.detected);
    run.set(kr::kBlasThreads, int64_t(b.threads));
  }
  {  // the thread policy (rank 0's; core/threads.hpp)
    const ThreadPolicy& t = thread_policy();
    run.set(kr::kOmpThreads, int64_t(t.threads));
    run.set(kr::kOmpThreadsSource, t.source);
    run.set(kr::kOmpWaitPolicy, t.wait_policy.empty() ? std::string("default") : t.wait_policy);
  }
  run.set(kr::kConfigsTotal, int64_t(all.size()));
  if (fresh) run.set(kr::kStarted, utc_now());
  run.set(kr::kComplete, int64_t(0));
  if (fresh) ar.commit(world, run);  // the archive exists (and opens) before the first result
  start_lock.reset();
  if (world.is_root()) remove_stale_spills(ar.staging_dir());
  log_info("run ", m.name, ": ", all.size(), " configurations, ", done.size(), " already complete, ", todo.size(),
           " to run on ", world.size(), " rank", world.size() > 1 ? "s" : "", " in groups of ", m.group_size);
  // Rank groups and the dynamic queue.
  const int gsz = m.group_size, gid = world.rank() / gsz;
  auto group = world.split(gid, world.rank());
  RunSummary s;
  s.archive = m.output;
  s.total = int(all.size());
  s.already = int(done.size());
  s.groups = world.size() / gsz;
  s.ranks = world.size();
  try {
    WorkQueue q(world);
    Progress prog("run " + m.name, (long long)todo.size(), "configs");
    int mine = 0;
    double compute = 0;
    while (true) {
      long long k = 0;
      if (group->is_root()) k = q.next();
      group->broadcast(&k, sizeof k, 0);
      if (k >= (long long)todo.size()) break;
      const auto& c = todo[size_t(k)];
      const auto tc = Clock::now();
      // Compressed blocks are spilled here (one block resident); removed when the config is done.
      // Unique per process: a requeued task may overlap with its own dying predecessor.
      const std::string spill = cat(ar.staging_dir(), "/.spill-", hostname(), "-", ::getpid(), "-",
                                    archive::safe_name(c.id));
      std::filesystem::create_directories(spill);
      archive::Group g = run_config(m, c, *group, spill, studies);
      std::filesystem::remove_all(spill);
      g.set(archive::keys::config::kManifestSha, msha);  // what --resume checks a staged file against (check_staging)
      if (group->is_root()) ar.stage(c.id, g);
      compute += since(tc);
      ++mine;
      prog.step(1);
      if (group->is_root())
        log_info("config ", c.id, " done in ", since(tc), " s (group ", gid, ")");
    }
    prog.finish();
    double tot[2] = {group->is_root() ? double(mine) : 0.0, group->is_root() ? compute : 0.0};
    world.allreduce_sum(tot, 2);
    s.done = int(tot[0]);
    s.compute_seconds = tot[1];
  } catch (const Error& e) {
    // Work has started: other ranks may be inside a collective, so one failing rank ends the job
    // (what completed is staged and kept; --resume continues from there).
    if (world.size() == 1) throw;
    std::fprintf(stderr, "lowbit run: error on rank %d: %s\n", world.rank(), e.what());
    MPI_Abort(MPI_COMM_WORLD, e.exit_code());
  }
  // Final commit: every staged configuration merged, collectively; /run@complete is decided by
  // the commit from the merged configurations and configs_total (other jobs may share the archive).
  run.set(kr::kFinished, utc_now());
  ar.commit(world, run);
  s.seconds = since(t0);
  s.collective_seconds = world.allreduce_max(world.collective_seconds() + group->collective_seconds());
  return s;
}

}  // namespace lowbit::run
