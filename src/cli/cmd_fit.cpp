// src/cli/cmd_fit.cpp — `lowbit fit`: scaling laws fitted per stratum to a point table (docs/FIT.md).
// defines: cli::cmd_fit
#include <yaml-cpp/yaml.h>

#include <cstdio>
#include <algorithm>
#include <filesystem>
#include <set>
#include <fstream>
#include <sstream>

#include "cli/cli.hpp"
#include "lowbit/core/error.hpp"
#include "lowbit/core/log.hpp"
#include "lowbit/fit/derived.hpp"
#include "lowbit/fit/fit.hpp"
#include "lowbit/fit/law.hpp"
#include "lowbit/archive/archive.hpp"
#include "lowbit/archive/keys.hpp"
#include "lowbit/dist/comm.hpp"
#include "lowbit/fit/archive_points.hpp"

namespace lowbit::cli {

namespace {

std::vector<std::string> split_list(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ','))
    if (!item.empty()) out.push_back(item);
  return out;
}

std::string fmt(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%.4g", v);
  return b;
}

void print_fit(const fit::FitResult& r) {
  std::printf("\n%s%s: %s = %s\n", r.law.c_str(), r.stratum.empty() ? "" : (" [" + r.stratum + "]").c_str(),
              r.target.c_str(), r.expr.c_str());
  std::printf("  %zu points, %zu configurations (%zu rows dropped: unmeasured), start %s (%d/%d starts converged), "
              "loss %s%s\n",
              r.n_points, r.n_configs, r.n_dropped, r.start.c_str(), r.n_starts_ok, r.n_starts, r.loss.c_str(),
              r.loss == "huber" ? (" delta " + fmt(r.huber_delta)).c_str() : "");
  std::printf("  %-10s %12s   %-27s %10s %10s\n", "param", "value", (fmt(100 * r.ci_level) + "% interval").c_str(),
              "se_boot", "se_asym");
  for (const auto& e : r.params)
    std::printf("  %-10s %12.5g   [%11.5g, %11.5g] %10.3g %10.3g%s\n", e.name.c_str(), e.value, e.ci_lo, e.ci_hi,
                e.se_boot, e.se_asym, e.identified ? (e.at_bound ? "  (at bound)" : "") : "  (not identified: interval = bounds)");
  std::printf("  R2 %.4f  adj R2 %.4f  RMSE %.4g  MAE %.4g  LOO RMSE %.4g  LOO MAE %.4g  (bootstrap %d, %d failed)\n",
              r.r2, r.adj_r2, r.rmse, r.mae, r.loo_rmse, r.loo_mae, r.n_boot, r.n_boot_failed);
  for (const auto& c : r.cross)
    std::printf("  cross-family: fit on %s (%zu points), predict %s (%zu points): RMSE %.4g MAE %.4g bias %+.4g\n",
                c.train.c_str(), c.n_train, c.test.c_str(), c.n_test, c.rmse, c.mae, c.bias);
}

}  // namespace

std::string project_dir() {
  const std::string m = default_model_path();  // <project>/models/stories260K/stories260K.bin
  return m.substr(0, m.rfind("/models/"));
}

void write_points_csv(const fit::PointTable& t, const std::string& path) {
  std::ofstream f(path);
  LB_INPUT_CHECK(bool(f), path, ": cannot write the point table");
  for (size_t c = 0; c < t.columns.size(); ++c) f << (c ? "," : "") << t.columns[c];
  f << "\n";
  for (size_t r = 0; r < t.nrows; ++r) {
    for (size_t c = 0; c < t.columns.size(); ++c) {
      const auto& name = t.columns[c];
      if (c) f << ",";
      if (t.is_text(name)) f << '"' << t.text.at(name)[r] << '"';
      else f << t.num.at(name)[r];
    }
    f << "\n";
  }
}

std::string fit_name(const fit::FitResult& r) { return r.law + "." + r.stratum; }

int cmd_fit(const std::vector<std::string>& args) {
  po::options_description desc("options");
  std::string archive_path, points_out, strata, table, laws_file, law_names, target, group_by, out, loss, curve_axis;
  int bootstrap = 200, max_starts = 64;
  uint64_t seed = 0;
  double huber_delta = 0, ci = 0.95;
  bool no_loo = false, no_cross = false;
  desc.add_options()
      ("archive", po::value(&archive_path), "a run archive (lowbit run): its configurations are fitted and the fits "
       "are written back into it under /fits")
      ("table", po::value(&table), "point table CSV: one row per (configuration, stratum); see docs/FIT.md")
      ("points-out", po::value(&points_out), "write the point table built from the archive to this CSV")
      ("strata", po::value(&strata), "fit only these strata (comma-separated); with an archive, strata whose target "
       "is undefined (e.g. FP accuracy 0) are otherwise skipped with a warning")
      ("laws", po::value(&laws_file), "YAML file with a top-level 'laws:' mapping (shipped: jobs/laws.yaml)")
      ("law", po::value(&law_names), "law name(s) to fit, comma-separated (default: every law in the file)")
      ("target", po::value(&target), "fit this column or derived variable instead of the law's target")
      ("group-by", po::value(&group_by)->default_value("auto"),
       "columns whose values define a stratum, comma-separated; 'auto' = those of stratum,method present; "
       "'none' = one fit over every row")
      ("bootstrap", po::value(&bootstrap)->default_value(200), "bootstrap resamples of configurations (0: asymptotic intervals)")
      ("seed", po::value(&seed)->default_value(0), "seed of the bootstrap and of the multi-start subset")
      ("ci", po::value(&ci)->default_value(0.95, "0.95"), "confidence level of the intervals")
      ("loss", po::value(&loss)->default_value("huber"), "huber or squared")
      ("huber-delta", po::value(&huber_delta)->default_value(0),
       "Huber threshold in target units; 0 = 1.345 x robust sigma of the least-squares residuals")
      ("max-starts", po::value(&max_starts)->default_value(64), "cap on the multi-start grid")
      ("no-loo", po::bool_switch(&no_loo), "skip the leave-one-configuration-out refits")
      ("no-cross", po::bool_switch(&no_cross), "skip the cross-family check")
      ("curve-axis", po::value(&curve_axis), "x axis of the curves in the output (default: first varying of B, G, N, C)")
      ("out", po::value(&out), "also write the JSON result to this file");
  po::positional_options_description pos;
  pos.add("archive", 1);
  po::variables_map vm;
  CommonFlags common;
  std::string derived;
  for (const auto& d : fit::derived_variables()) derived += "  " + d.name + ": " + d.rule + "\n";
  if (!parse_or_help("fit", "ARCHIVE | --table POINTS.csv  [--laws LAWS.yaml] [--law NAME] [--group-by COLS] [--bootstrap 200]",
                     "Fits scaling laws (muParser expressions with bounded parameters) per stratum: a log-linear start\n"
                     "where the law declares one, multi-start Ceres with a Huber loss, bootstrap intervals over\n"
                     "configurations, R2/adjusted R2/RMSE, leave-one-configuration-out error and a cross-family check.\n"
                     "Laws may use any numeric column of the table and these derived variables:\n" +
                         derived + "Details: docs/FIT.md.",
                     desc, args, vm, common, &pos))
    return 0;
  LB_INPUT_CHECK(!table.empty() || !archive_path.empty(), "give a run archive or --table (a point table CSV; see docs/FIT.md)");
  LB_INPUT_CHECK(table.empty() || archive_path.empty(), "give a run archive or --table, not both");
  // An archive's /run (schema checked once here; reused for the laws and the commit).
  archive::Group run;
  if (!archive_path.empty()) {
    LB_INPUT_CHECK(archive::RunArchive(archive_path).exists(), archive_path, ": no such archive");
    run = archive::RunArchive(archive_path).read_run();
  }
  // Laws: --laws, else the laws of the archive's manifest, else the shipped jobs/laws.yaml.
  std::vector<fit::Law> laws;
  if (laws_file.empty() && !run.text(archive::keys::run::kManifest).empty()) {
    YAML::Node mf;
    try {
      mf = YAML::Load(run.text(archive::keys::run::kManifest));
    } catch (const YAML::Exception& e) {
      LB_FAIL_INPUT(archive_path, ": /run@manifest is not valid YAML: ", e.what());
    }
    if (mf.IsMap() && mf["laws"] && mf["laws"].IsMap()) {
      laws_file = archive_path + ":/run/manifest";
      laws = fit::parse_laws(mf["laws"], laws_file);
    } else if (mf.IsMap() && mf["laws"] && mf["laws"].IsScalar()) {
      const auto dir = std::filesystem::path(run.text(archive::keys::run::kManifestPath)).parent_path();
      laws_file = (dir / mf["laws"].as<std::string>()).lexically_normal().string();
    }
  }
  if (laws_file.empty()) laws_file = project_dir() + "/jobs/laws.yaml";
  LB_INPUT_CHECK(bootstrap >= 0 && bootstrap <= 100000, "--bootstrap ", bootstrap, " must be in 0..100000");
  LB_INPUT_CHECK(max_starts >= 1, "--max-starts ", max_starts, " must be >= 1");
  LB_INPUT_CHECK(huber_delta >= 0, "--huber-delta ", huber_delta, " must be >= 0");

  if (laws.empty()) laws = fit::load_laws(laws_file);
  std::vector<const fit::Law*> chosen;
  if (law_names.empty())
    for (const auto& l : laws) chosen.push_back(&l);
  else
    for (const auto& n : split_list(law_names)) chosen.push_back(&fit::find_law(laws, n, laws_file));
  std::unique_ptr<archive::RunArchive> ar;
  fit::PointTable t;
  if (!archive_path.empty()) {
    ar = std::make_unique<archive::RunArchive>(archive_path);
    t = fit::points_from_archive(ar->read_all(), archive_path);
    if (!points_out.empty()) write_points_csv(t, points_out);
  } else {
    t = fit::read_point_csv(table);
  }

  std::vector<std::string> by;
  if (group_by == "auto") {
    for (const char* c : {"stratum", "method"})
      if (t.has(c)) by.push_back(c);
  } else if (group_by != "none") {
    by = split_list(group_by);
  }
  fit::FitOptions opt;
  opt.target = target;
  opt.loss = loss;
  opt.huber_delta = huber_delta;
  opt.bootstrap = bootstrap;
  opt.seed = seed;
  opt.ci_level = ci;
  opt.max_starts = max_starts;
  opt.loo = !no_loo;
  opt.cross_family = !no_cross;
  opt.curve_axis = curve_axis;
  opt.progress = !common.quiet;

  // An archive's strata are what the sweep measured: a stratum where the target is undefined for
  // this sweep (tasks at 0 accuracy for the FP model, so no relative drop) is skipped with a
  // warning, or kept by --strata. A CSV table is the user's own: any problem refuses it.
  if (!strata.empty()) {
    const auto want = split_list(strata);
    std::vector<size_t> keep;
    LB_INPUT_CHECK(t.is_text("stratum"), t.source, ": --strata needs a 'stratum' column");
    for (size_t r = 0; r < t.nrows; ++r)
      if (std::find(want.begin(), want.end(), t.text.at("stratum")[r]) != want.end()) keep.push_back(r);
    LB_INPUT_CHECK(!keep.empty(), t.source, ": no rows in the strata ", strata);
    t = t.select(keep);
  } else if (!archive_path.empty() && t.is_text("stratum")) {
    std::set<std::string> names(t.text.at("stratum").begin(), t.text.at("stratum").end());
    std::vector<size_t> keep;
    for (const auto& sname : names) {
      std::vector<size_t> rows;
      for (size_t r = 0; r < t.nrows; ++r)
        if (t.text.at("stratum")[r] == sname) rows.push_back(r);
      try {
        for (const auto* l : chosen) fit::check_strata(*l, t.select(rows), by, opt);
        keep.insert(keep.end(), rows.begin(), rows.end());
      } catch (const InputError& e) {
        log_warn("stratum ", sname, " skipped: ", e.what());
      }
    }
    LB_INPUT_CHECK(!keep.empty(), archive_path, ": no stratum can be fitted (see the warnings above)");
    std::sort(keep.begin(), keep.end());
    t = t.select(keep);
  }
  // Refuse bad input (unknown variables, missing metrics, too few configurations) before any fit.
  for (const auto* l : chosen) fit::check_strata(*l, t, by, opt);
  nlohmann::json fits = nlohmann::json::array();
  std::vector<fit::FitResult> results;
  for (const auto* l : chosen)
    for (auto& r : fit::fit_strata(*l, t, by, opt)) results.push_back(std::move(r));
  for (const auto& r : results) fits.push_back(fit::fit_to_json(r));
  if (ar) {  // the fits go into the archive, committed like the configurations
    archive::Group fits;
    fits.set(archive::keys::fits::kLawsFile, laws_file);
    fits.set(archive::keys::fits::kSeed, int64_t(seed));
    fits.set(archive::keys::fits::kBootstrap, int64_t(bootstrap));
    for (const auto& r : results) fits.groups[archive::safe_name(fit_name(r))] = fit::fit_to_group(r);
    auto world = dist::make_serial();
    ar->commit(*world, run, {{archive::keys::root::kFits, fits}});
  }
  nlohmann::json j = {{"table", archive_path.empty() ? table : archive_path},   {"laws", laws_file},      {"group_by", by},
                      {"seed", seed},     {"bootstrap", bootstrap}, {"loss", loss},
                      {"ci_level", ci},   {"fits", fits}};
  add_run_info(j);  // as emit_json adds it: --out equals stdout
  if (!out.empty()) {
    std::ofstream f(out);
    if (!f) LB_THROW(IoError, out, ": cannot write the fit result");
    f << j.dump(1) << "\n";
    if (!f) LB_THROW(IoError, out, ": write failed");
  }
  if (common.json) {
    emit_json(j);
  } else {
    for (const auto& r : results) print_fit(r);
    if (!out.empty()) std::printf("\nwrote %s\n", out.c_str());
  }
  return 0;
}

}  // namespace lowbit::cli
