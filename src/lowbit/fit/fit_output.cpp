// lowbit/fit/fit_output.cpp — a FitResult as an archive::Group (for the HDF5 archive) and as JSON
// (for `lowbit fit --json/--out` and analysis/fit_plot.py). defines: fit_to_group, fit_to_json
#include <cmath>

#include "lowbit/archive/keys.hpp"
#include "lowbit/fit/fit.hpp"

namespace lowbit::fit {

namespace {

// JSON has no NaN/Inf: write null.
nlohmann::json num(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); }

nlohmann::json nums(const std::vector<double>& v) {
  nlohmann::json a = nlohmann::json::array();
  for (double x : v) a.push_back(num(x));
  return a;
}

}  // namespace

archive::Group fit_to_group(const FitResult& r) {
  namespace kf = archive::keys::fit;
  namespace kp = archive::keys::fit_params;
  namespace kpt = archive::keys::fit_points;
  namespace kx = archive::keys::cross_family;
  namespace kcv = archive::keys::curves;
  archive::Group g;
  g.set(kf::kLaw, r.law);
  g.set(kf::kExpr, r.expr);
  g.set(kf::kTarget, r.target);
  g.set(kf::kStratum, r.stratum);
  g.set(kf::kTable, r.table);
  g.set(kf::kLoss, r.loss);
  g.set(kf::kStart, r.start);
  g.set(kf::kHuberDelta, r.huber_delta);
  g.set(kf::kNPoints, static_cast<int64_t>(r.n_points));
  g.set(kf::kNConfigs, static_cast<int64_t>(r.n_configs));
  g.set(kf::kNDropped, static_cast<int64_t>(r.n_dropped));
  g.set(kf::kR2, r.r2);
  g.set(kf::kAdjR2, r.adj_r2);
  g.set(kf::kRmse, r.rmse);
  g.set(kf::kMae, r.mae);
  g.set(kf::kLooRmse, r.loo_rmse);
  g.set(kf::kLooMae, r.loo_mae);
  g.set(kf::kCost, r.cost);
  g.set(kf::kNStarts, static_cast<int64_t>(r.n_starts));
  g.set(kf::kNStartsOk, static_cast<int64_t>(r.n_starts_ok));
  g.set(kf::kNBoot, static_cast<int64_t>(r.n_boot));
  g.set(kf::kNBootFailed, static_cast<int64_t>(r.n_boot_failed));
  g.set(kf::kSeed, static_cast<int64_t>(r.seed));
  g.set(kf::kCiLevel, r.ci_level);
  if (!r.linearized.empty()) g.set(kf::kLogLinearStart, r.linearized);

  archive::Table& p = g.tables[kf::kParams];
  p.description = "fitted parameters: estimate, declared bounds, CI (bootstrap percentile; asymptotic t if n_boot = 0)";
  for (const char* c : {kp::kValue, kp::kLo, kp::kHi, kp::kCiLo, kp::kCiHi, kp::kSeBoot, kp::kSeAsym, kp::kStart, kp::kAtBound,
                        kp::kIdentified}) p.add_column(c, "");
  for (const auto& e : r.params)
    p.add_row({e.value, e.lo, e.hi, e.ci_lo, e.ci_hi, e.se_boot, e.se_asym, e.start, e.at_bound ? 1.0 : 0.0,
               e.identified ? 1.0 : 0.0},
              e.name);

  archive::Table& pt = g.tables[kf::kPoints];
  pt.description = "fitted points: the law's variables, measured target, fit, residual, leave-one-configuration-out prediction";
  for (const auto& v : r.variables) pt.add_column(v, "");
  for (const char* c : {kpt::kY, kpt::kYhat, kpt::kResidual, kpt::kLooPred}) pt.add_column(c, "");
  for (size_t i = 0; i < r.y.size(); ++i) {
    std::vector<double> row;
    for (const auto& xc : r.x) row.push_back(xc[i]);
    row.insert(row.end(), {r.y[i], r.yhat[i], r.y[i] - r.yhat[i], r.loo_pred[i]});
    pt.add_row(row, r.config[i]);
  }
  if (!r.boot.empty()) {
    archive::Table& b = g.tables[kf::kBootstrap];
    b.description = "parameters refitted on each successful resample of configurations";
    for (const auto& e : r.params) b.add_column(e.name, "");
    for (const auto& th : r.boot) b.add_row(th);
  }
  if (!r.cross.empty()) {
    archive::Table& c = g.tables[kf::kCrossFamily];
    c.description = "fit on the row's train family, error predicting the test family";
    for (const char* n : {kx::kNTrain, kx::kNTest, kx::kRmse, kx::kMae, kx::kBias}) c.add_column(n, "");
    for (const auto& x : r.cross)
      c.add_row({static_cast<double>(x.n_train), static_cast<double>(x.n_test), x.rmse, x.mae, x.bias},
                x.train + "->" + x.test);
  }
  if (!r.curve_x.empty()) {
    archive::Table& c = g.tables[kf::kCurves];
    c.description = "the fitted law along " + r.curve_axis + " per series (series index into attribute 'series')";
    archive::Table& pa = g.tables[kf::kPointsOnAxis];
    pa.description = "each fitted point's series and value on the curve axis (rows as in 'points')";
    pa.add_column(kcv::kSeries, "");
    pa.add_column(r.curve_axis, "");
    for (size_t i = 0; i < r.point_x.size(); ++i) pa.add_row({static_cast<double>(r.point_series[i]), r.point_x[i]});
    c.add_column(kcv::kSeries, "");
    c.add_column(r.curve_axis, "");
    c.add_column(kcv::kYhat, "");
    for (size_t i = 0; i < r.curve_x.size(); ++i) c.add_row({static_cast<double>(r.curve_series[i]), r.curve_x[i], r.curve_y[i]});
    std::string s;
    for (const auto& x : r.series) s += (s.empty() ? "" : "; ") + x;
    g.set(kf::kSeries, s);
    g.set(kf::kCurveAxis, r.curve_axis);
  }
  return g;
}

nlohmann::json fit_to_json(const FitResult& r) {
  nlohmann::json j;
  j["law"] = r.law;
  j["expr"] = r.expr;
  j["target"] = r.target;
  j["stratum"] = r.stratum;
  j["table"] = r.table;
  j["variables"] = r.variables;
  j["loss"] = r.loss;
  j["huber_delta"] = num(r.huber_delta);
  j["start"] = r.start;
  j["n_points"] = r.n_points;
  j["n_configs"] = r.n_configs;
  j["n_dropped"] = r.n_dropped;
  j["metrics"] = {{"r2", num(r.r2)},           {"adj_r2", num(r.adj_r2)},   {"rmse", num(r.rmse)},
                  {"mae", num(r.mae)},         {"loo_rmse", num(r.loo_rmse)}, {"loo_mae", num(r.loo_mae)},
                  {"cost", num(r.cost)}};
  j["starts"] = {{"n", r.n_starts}, {"converged", r.n_starts_ok}, {"log_linear", nums(r.linearized)}};
  j["bootstrap"] = {{"n", r.n_boot}, {"failed", r.n_boot_failed}, {"seed", r.seed}, {"ci_level", r.ci_level}};
  nlohmann::json ps = nlohmann::json::array();
  for (const auto& e : r.params)
    ps.push_back({{"name", e.name},
                  {"value", num(e.value)},
                  {"bounds", {num(e.lo), num(e.hi)}},
                  {"ci", {num(e.ci_lo), num(e.ci_hi)}},
                  {"se_boot", num(e.se_boot)},
                  {"se_asym", num(e.se_asym)},
                  {"start", num(e.start)},
                  {"at_bound", e.at_bound},
                  {"identified", e.identified}});
  j["params"] = ps;
  nlohmann::json pts = {{"config", r.config}, {"y", nums(r.y)}, {"yhat", nums(r.yhat)}, {"loo_pred", nums(r.loo_pred)},
                        {"series", r.point_series}, {"axis", nums(r.point_x)}};
  for (size_t v = 0; v < r.variables.size(); ++v) pts["x"][r.variables[v]] = nums(r.x[v]);
  if (!r.family.empty()) pts["family"] = r.family;
  j["points"] = pts;
  nlohmann::json cr = nlohmann::json::array();
  for (const auto& c : r.cross)
    cr.push_back({{"train", c.train}, {"test", c.test}, {"n_train", c.n_train}, {"n_test", c.n_test},
                  {"rmse", num(c.rmse)}, {"mae", num(c.mae)}, {"bias", num(c.bias)}});
  j["cross_family"] = cr;
  j["curves"] = {{"axis", r.curve_axis}, {"series", r.series}, {"curve_series", r.curve_series},
                 {"x", nums(r.curve_x)}, {"y", nums(r.curve_y)}};
  return j;
}

}  // namespace lowbit::fit
