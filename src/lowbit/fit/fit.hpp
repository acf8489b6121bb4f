// lowbit/fit/fit.hpp — fitting a scaling law to a point table: log-linear start (when the law
// declares one), multi-start Ceres with a Huber loss and bounds, bootstrap confidence intervals over
// configurations, R²/adjusted R²/RMSE, leave-one-configuration-out error, a cross-family check and
// curves for plotting. The procedure is documented in docs/FIT.md.
// defines: lowbit::fit::FitOptions, ParamEstimate, CrossCheck, FitResult, fit_law, fit_strata,
//          fit_to_group, fit_to_json
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "lowbit/archive/record.hpp"
#include "lowbit/fit/law.hpp"
#include "lowbit/fit/point_table.hpp"

namespace lowbit::fit {

struct FitOptions {
  std::string target;          // overrides the law's target when non-empty
  std::string loss = "huber";  // "huber" or "squared"
  double huber_delta = 0;      // > 0: fixed, in target units; 0: 1.345 × 1.4826·MAD of the LS residuals
  int bootstrap = 200;         // resamples of configurations; 0: asymptotic (Jacobian) intervals
  uint64_t seed = 0;
  double ci_level = 0.95;
  int max_starts = 64;         // cap on the multi-start grid (a seeded subset beyond it)
  bool loo = true;             // leave-one-configuration-out refits
  bool cross_family = true;    // fit on each family, predict the others (needs a `family` column)
  std::string curve_axis;      // x axis of the plotted curves; "" = the first varying of B, G, N, C
  int curve_points = 41;
  int max_iterations = 200;    // per Ceres solve
  bool progress = false;       // lowbit::Progress lines on stderr for the bootstrap
};

struct ParamEstimate {
  std::string name;
  double value = 0, lo = 0, hi = 0;  // estimate and declared bounds
  double ci_lo = 0, ci_hi = 0;       // bootstrap percentile interval (asymptotic when bootstrap = 0)
  double se_boot = 0, se_asym = 0;   // bootstrap s.d.; sqrt(diag σ²(JᵀJ)⁻¹) (NaN if singular)
  double start = 0;                  // the start the best solve came from
  bool at_bound = false;             // within 1e-6 (relative) of a bound
  bool identified = true;            // false: no information in the data (CI = declared bounds)
};

struct CrossCheck {
  std::string train, test;  // families
  size_t n_train = 0, n_test = 0;
  double rmse = 0, mae = 0, bias = 0;  // over the test family's points; bias = mean(measured − predicted)
};

struct FitResult {
  std::string law, expr, target, stratum, table, loss, start;
  std::vector<std::string> variables;  // what expr uses besides the parameters
  std::vector<ParamEstimate> params;
  std::vector<double> linearized;      // the log-linear start (empty when the law declares none)
  size_t n_points = 0, n_configs = 0, n_dropped = 0;
  double r2 = 0, adj_r2 = 0, rmse = 0, mae = 0, cost = 0, huber_delta = 0;
  double loo_rmse = 0, loo_mae = 0;    // NaN when LOO was not run
  int n_starts = 0, n_starts_ok = 0, n_boot = 0, n_boot_failed = 0;
  uint64_t seed = 0;
  double ci_level = 0.95;
  // Per fitted point (rows with every value measured), in table order.
  std::vector<std::string> config;
  std::vector<std::vector<double>> x;  // [variable][point]
  std::vector<double> y, yhat, loo_pred;
  std::vector<std::string> family;     // empty when the table has no family column
  std::vector<std::vector<double>> boot;  // [resample][param], successful resamples only
  std::vector<CrossCheck> cross;
  // Curves: for each series (one setting of every non-axis input column), the law along the axis.
  std::string curve_axis;
  std::vector<std::string> series;           // labels, e.g. "N=1.5e+07 G=128 C=65536"
  std::vector<int> point_series;             // series of each fitted point
  std::vector<double> point_x;               // each fitted point's value on the curve axis
  std::vector<int> curve_series;             // series of each curve sample
  std::vector<double> curve_x, curve_y;
};

// Fit `law` to every row of `t` as one stratum (`stratum` labels the result). Throws InputError
// for an unknown variable, a missing metric column, or fewer configurations than parameters + 1.
FitResult fit_law(const Law& law, const PointTable& t, const FitOptions& opt, const std::string& stratum = "");
// Every check fit_law makes before fitting (variables, metric columns, configuration count, the
// declared linearization), for every stratum, without fitting: callers refuse bad input before work.
void check_strata(const Law& law, const PointTable& t, const std::vector<std::string>& by, const FitOptions& opt);
// One fit per group of rows sharing the values of `by` (e.g. {"stratum", "method"}); checks every
// stratum (check_strata) before fitting any.
std::vector<FitResult> fit_strata(const Law& law, const PointTable& t, const std::vector<std::string>& by,
                                  const FitOptions& opt);

// The archive form: attributes (law, expr, target, stratum, metrics, options) and tables `params`
// (value, bounds, CI, s.e.), `points` (variables, y, yhat, residual, LOO prediction), `bootstrap`,
// `cross_family` and `curves`.
archive::Group fit_to_group(const FitResult& r);
nlohmann::json fit_to_json(const FitResult& r);

}  // namespace lowbit::fit
