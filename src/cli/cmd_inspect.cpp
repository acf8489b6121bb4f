// src/cli/cmd_inspect.cpp — `lowbit inspect ARCHIVE`: what a run archive holds (committed and
// staged configurations). defines: cli::cmd_inspect
#include <cstdio>

#include "cli/cli.hpp"
#include "lowbit/archive/archive.hpp"
#include "lowbit/archive/keys.hpp"
#include "lowbit/core/error.hpp"
#include "lowbit/core/mapped_file.hpp"

namespace lowbit::cli {

namespace {
namespace kr = archive::keys::run;
namespace kc = archive::keys::config;
namespace kp = archive::keys::params;
namespace ke = archive::keys::eval;
nlohmann::json attr_json(const archive::Attr& a) {
  return std::visit([](const auto& v) { return nlohmann::json(v); }, a);
}
std::string attr_str(const archive::Group& g, const std::string& k) {
  auto it = g.attrs.find(k);
  if (it == g.attrs.end()) return "";
  return std::visit(
      [](const auto& v) -> std::string {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, std::string>) return v;
        else if constexpr (std::is_same_v<T, std::vector<double>>) return "[...]";
        else return nlohmann::json(v).dump();
      },
      it->second);
}
}  // namespace

int cmd_inspect(const std::vector<std::string>& args) {
  po::options_description desc("options");
  std::string path, only;
  bool manifest = false;
  desc.add_options()("archive", po::value(&path)->required(), "the run archive (.h5)")(
      "config", po::value(&only), "show every table of this configuration")(
      "manifest", po::bool_switch(&manifest), "print the manifest the run was made from");
  po::positional_options_description pos;
  pos.add("archive", 1);
  po::variables_map vm;
  CommonFlags common;
  if (!parse_or_help("inspect", "ARCHIVE [--config ID] [--manifest] [--json]",
                     "Summarises a run archive: run metadata, one line per configuration (committed in the\n"
                     "archive, or staged by a run that has not committed yet) with its perplexity and time.\n"
                     "The file also reads with h5ls/h5dump and h5py; schema in docs/ARCHIVE.md.",
                     desc, args, vm, common, &pos))
    return 0;
  archive::RunArchive ar(path);
  LB_INPUT_CHECK(ar.exists(), path, ": no such archive");
  const archive::Group run = ar.read_run();  // checks the schema version
  const auto staged = ar.staged_configs();
  const archive::Group all = ar.read_all();
  if (manifest) {
    std::printf("%s", attr_str(run, kr::kManifest).c_str());
    return 0;
  }
  nlohmann::json j;
  j["archive"] = path;
  j["schema"] = attr_json(all.attrs.at(archive::keys::root::kSchemaVersion));
  for (const auto& [k, v] : run.attrs)
    if (k != kr::kManifest) j["run"][k] = attr_json(v);
  j["configs"] = nlohmann::json::array();
  const archive::Group empty;
  const auto& configs = all.groups.count(archive::keys::root::kConfigs) ? all.groups.at(archive::keys::root::kConfigs) : empty;
  for (const auto& [name, g] : configs.groups) {
    if (!only.empty() && name != only && attr_str(g, kc::kId) != only) continue;
    nlohmann::json c;
    c["status"] = staged.count(name) ? "staged" : "committed";
    for (const auto& [k, v] : g.attrs) c[k] = attr_json(v);
    if (auto it = g.tables.find(kc::kEval); it != g.tables.end() && it->second.nrows() > 0) {
      // an eval table without the column shows "-" (at(0, size_t(-1)) read outside the table)
      for (const char* k : {ke::kNllPerToken, ke::kPpl})
        if (const int col = it->second.col(k); col >= 0) c[k] = it->second.at(0, size_t(col));
    }
    if (auto it = g.groups.find(kc::kTimings); it != g.groups.end())
      for (const auto& [k, v] : it->second.attrs) c["timings"][k] = attr_json(v);
    if (!only.empty())
      for (const auto& [tn, t] : g.tables) {
        nlohmann::json tj;
        tj["columns"] = t.columns;
        tj["units"] = t.units;
        tj["rows"] = t.rows;
        tj["data"] = t.data;
        c["tables"][tn] = tj;
      }
    j["configs"].push_back(c);
  }
  LB_INPUT_CHECK(only.empty() || !j["configs"].empty(), path, ": no configuration '", only, "'");
  if (common.json) {
    emit_json(j);
    return 0;
  }
  std::printf("archive  %s (schema %s, lowbit %s, git %s)\n", path.c_str(), j["schema"].dump().c_str(),
              attr_str(run, kr::kLowbitVersion).c_str(), attr_str(run, kr::kGitRevision).c_str());
  std::printf("run      %s: %zu of %s configurations present (%zu staged, not yet committed); complete=%s\n",
              attr_str(run, kr::kName).c_str(), j["configs"].size(), attr_str(run, kr::kConfigsTotal).c_str(), staged.size(),
              attr_str(run, kr::kComplete).c_str());
  std::printf("         %s ranks (groups of %s) on %s; started %s, finished %s\n", attr_str(run, kr::kRanks).c_str(),
              attr_str(run, kr::kGroupSize).c_str(), attr_str(run, kr::kHosts).c_str(), attr_str(run, kr::kStarted).c_str(),
              attr_str(run, kr::kFinished).c_str());
  std::printf("\n%-44s %-9s %5s %6s %8s %6s %10s %9s %8s  %s\n", "configuration", "method", "bits", "group", "sparsity",
              "calib", "nll/token", "ppl", "time s", "status");
  for (const auto& c : j["configs"]) {
    auto get = [&](const char* k) { return c.contains(k) ? (c[k].is_string() ? c[k].get<std::string>() : c[k].dump()) : "-"; };
    char nll[32] = "-", ppl[32] = "-", tt[32] = "-";
    if (c.contains(ke::kNllPerToken)) std::snprintf(nll, sizeof nll, "%.4f", c[ke::kNllPerToken].get<double>());
    if (c.contains(ke::kPpl)) std::snprintf(ppl, sizeof ppl, "%.3f", c[ke::kPpl].get<double>());
    if (c.contains("timings")) std::snprintf(tt, sizeof tt, "%.2f", c["timings"].value(archive::keys::timings::kTotalS, 0.0));
    std::printf("%-44s %-9s %5s %6s %8s %6s %10s %9s %8s  %s\n", get(kc::kId).c_str(), get(kp::kMethod).c_str(),
                get(kp::kBits).c_str(), get(kp::kGroup).c_str(), get(kp::kSparsity).c_str(), get(kp::kCalibSamples).c_str(), nll, ppl,
                tt, get("status").c_str());
    if (!only.empty())
      for (const auto& [tn, t] : c["tables"].items())
        std::printf("  table %-10s %zu rows x %zu columns: %s\n", tn.c_str(), t["rows"].size() ? t["rows"].size() :
                    (t["columns"].empty() ? 0 : t["data"].size() / t["columns"].size()), t["columns"].size(),
                    t["columns"].dump().c_str());
  }
  return 0;
}

}  // namespace lowbit::cli
