// src/cli/cmd_plan.cpp — `lowbit plan MANIFEST`: validate a manifest and print the configurations it
// expands to (count and a table, or --json), without running anything. defines: cli::cmd_plan
#include <cstdio>

#include "cli/cli.hpp"
#include "lowbit/archive/keys.hpp"
#include "lowbit/compress/driver.hpp"
#include "lowbit/compress/methods.hpp"
#include "lowbit/core/error.hpp"
#include "lowbit/plan/manifest.hpp"
#include "lowbit/run/runner.hpp"

namespace lowbit::cli {

namespace {
std::string num(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%g", v);
  return b;
}

// The study sections as parsed (typed; the verbatim text is the manifest's).
nlohmann::json studies_json(const plan::Manifest& m) {
  nlohmann::json j = nlohmann::json::object();
  if (m.tasks.present)
    j["tasks"] = {{"names", m.tasks.names}, {"limit", m.tasks.options.limit}, {"fewshot", m.tasks.options.fewshot},
                  {"seed", m.tasks.options.seed}, {"data_root", m.tasks.data_root}};
  const auto& d = m.diagnostics;
  j["diagnostics"] = {{"enabled", d.enabled}, {"eval_windows", d.eval_windows}, {"eval_seqlen", d.eval_seqlen},
                      {"facts", d.facts}, {"only", d.only}};
  if (m.laws.present) {
    nlohmann::json names = nlohmann::json::array();
    for (const auto& l : m.laws.laws) names.push_back(l.name);
    j["laws"] = {{"file", m.laws.file}, {"names", names}};
  }
  return j;
}
}  // namespace

int cmd_plan(const std::vector<std::string>& args) {
  po::options_description desc("options");
  std::string manifest;
  bool no_files = false;
  int chunks = 0;
  desc.add_options()("manifest", po::value(&manifest)->required(), "the experiment manifest (YAML)")(
      "no-file-checks", po::bool_switch(&no_files),
      "do not require the models and data files to exist (plan on a login node without them); every "
      "other check still runs")(
      "chunks", po::value(&chunks)->default_value(0),
      "also show which of N job-array slices (lowbit run --chunk I/N) each configuration falls in");
  po::positional_options_description pos;
  pos.add("manifest", 1);
  po::variables_map vm;
  CommonFlags common;
  if (!parse_or_help("plan", "MANIFEST [--json] [--no-file-checks] [--chunks N]",
                     "Validates an experiment manifest (schema: docs/MANIFEST.md) and prints the configurations\n"
                     "it expands to: models x methods x sweep axes (cartesian product, zipped axes, excludes),\n"
                     "in the order `lowbit run` takes them, with their archive ids. Runs nothing, but makes every\n"
                     "check `lowbit run` makes before starting (models load, tokenizers, corpus long enough,\n"
                     "calibration sizes, tasks, laws). Every problem is reported with file:line:column (exit 2).\n"
                     "Example: lowbit plan jobs/quickstart.yaml     lowbit plan jobs/study_scaling_laws.yaml --no-file-checks",
                     desc, args, vm, common, &pos))
    return 0;
  LB_INPUT_CHECK(chunks >= 0, "--chunks ", chunks, " must be >= 0");
  plan::ParseOptions popt;
  popt.check_files = !no_files;
  const plan::Manifest m = plan::load_manifest(manifest, popt);
  const auto cs = plan::expand(m);
  LB_INPUT_CHECK(!cs.empty(), manifest, ": the manifest expands to no configuration");
  // What `lowbit run` checks before writing (models, tokenizers, corpus length, calibration sizes,
  // tasks), so a plan that passes is a run that starts; it needs the files.
  if (!no_files) run::validate_run(m, cs);
  const auto& R = m.resources;
  if (common.json) {
    nlohmann::json list = nlohmann::json::array();
    for (size_t k = 0; k < cs.size(); ++k) {
      const auto& c = cs[k];
      namespace kc = archive::keys::config;  // the archive's names, where the JSON mirrors them
      namespace kp = archive::keys::params;
      nlohmann::json j = {{kc::kId, c.id}, {kc::kModel, m.models[size_t(c.model)].name}, {kp::kMethod, c.method},
                          {kp::kCalibSamples, c.nsamples}, {kp::kSeed, c.seed}};
      if (c.nsamples) j[kp::kCalibSeqlen] = c.seqlen;
      if (is_quant_method(c.method)) j.update({{kp::kBits, c.bits}, {kp::kGroup, c.group}, {kp::kSym, c.sym != 0}});
      if (is_prune_method(c.method)) j.update({{kp::kSparsity, c.sparsity}, {kp::kNm, c.nm}});
      if (chunks > 0) j["chunk"] = plan::chunk_of(k, chunks);
      list.push_back(j);
    }
    nlohmann::json models = nlohmann::json::array();
    for (const auto& me : m.models) models.push_back({{"name", me.name}, {"path", me.path}, {"family", me.family}});
    emit_json({{"manifest", m.path},
               {"name", m.name},
               {"output", m.output},
               {"configs", cs.size()},
               {"models", models},
               {"configurations", list},
               {"resources",
                {{"nodes", R.nodes}, {"ranks_per_node", R.ranks_per_node}, {"gpus_per_rank", R.gpus_per_rank},
                 {"cpus_per_rank", R.cpus_per_rank}, {"time", R.time}, {"partition", R.partition},
                 {"account", R.account}, {"qos", R.qos}, {"memory", R.memory}, {"chunks", R.chunks}}},
               {"studies", studies_json(m)}});
    return 0;
  }
  std::printf("%s: %zu configuration%s (%zu model%s, %zu method entr%s) -> %s\n", m.path.c_str(), cs.size(),
              cs.size() == 1 ? "" : "s", m.models.size(), m.models.size() == 1 ? "" : "s", m.methods.size(),
              m.methods.size() == 1 ? "y" : "ies", m.output.c_str());
  size_t w = 2;
  for (const auto& c : cs) w = std::max(w, c.id.size());
  std::printf("%5s %s%-*s  %-10s %4s %5s %4s %8s %4s %8s %6s %5s\n", "#", chunks > 0 ? "chunk " : "", int(w), "id",
              "method", "bits", "group", "sym", "sparsity", "nm", "nsamples", "seqlen", "seed");
  for (size_t k = 0; k < cs.size(); ++k) {
    const auto& c = cs[k];
    const bool q = is_quant_method(c.method), p = is_prune_method(c.method);
    std::string ch = chunks > 0 ? cat(plan::chunk_of(k, chunks)) : "";
    if (chunks > 0) ch.resize(6, ' ');
    std::printf("%5zu %s%-*s  %-10s %4s %5s %4s %8s %4s %8s %6s %5s\n", k, ch.c_str(), int(w), c.id.c_str(),
                c.method.c_str(), q ? cat(c.bits).c_str() : "-", q ? (c.group == QuantSpec::kPerChannel ? "pc" : cat(c.group)).c_str() : "-",
                q ? (c.sym ? "yes" : "no") : "-", p ? num(c.sparsity).c_str() : "-",
                p && !c.nm.empty() ? c.nm.c_str() : "-", c.nsamples ? cat(c.nsamples).c_str() : "-",
                c.nsamples ? cat(c.seqlen).c_str() : "-", c.nsamples ? cat(c.seed).c_str() : "-");
  }
  std::printf("resources per array task: %d node(s) x %d rank(s), %d GPU(s)/rank, %d CPU(s)/rank, time %s%s%s\n",
              R.nodes, R.ranks_per_node, R.gpus_per_rank, R.cpus_per_rank, R.time.c_str(),
              R.partition.empty() ? "" : (", partition " + R.partition).c_str(),
              R.account.empty() ? "" : (", account " + R.account).c_str());
  return 0;
}

}  // namespace lowbit::cli
