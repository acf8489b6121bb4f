// lowbit/fit/fit.cpp — the fitting procedure of docs/FIT.md: resolve variables, log-linear start,
// multi-start least squares, Huber refinement, metrics, asymptotic and bootstrap intervals,
// leave-one-configuration-out, cross-family prediction and curves. defines: fit_law, fit_strata
#include "lowbit/fit/fit.hpp"

#include <omp.h>

#include <Eigen/Dense>
#include <algorithm>
#include <boost/math/distributions/students_t.hpp>
#include <cmath>
#include <limits>
#include <map>
#include <random>
#include <set>

#include "lowbit/core/error.hpp"
#include "lowbit/core/log.hpp"
#include "lowbit/fit/derived.hpp"
#include "lowbit/fit/solve.hpp"

namespace lowbit::fit {

using detail::Data;
using detail::Solved;

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

std::string fmt_g(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%.6g", v);
  return b;
}

// Linear-interpolated quantile (type 7) of sorted values.
double quantile(const std::vector<double>& s, double q) {
  if (s.empty()) return kNaN;
  double h = q * static_cast<double>(s.size() - 1);
  size_t lo = static_cast<size_t>(std::floor(h));
  size_t hi = std::min(lo + 1, s.size() - 1);
  return s[lo] + (h - static_cast<double>(lo)) * (s[hi] - s[lo]);
}

// Everything fit_law needs, resolved once.
struct Setup {
  const Law* law;
  std::vector<std::string> vars;    // expr variables (not parameters), sorted
  std::vector<std::string> names;   // vars ++ parameter names: the Expr binding order
  PointTable tt;                    // fitted rows only
  Data d;
  std::vector<double> R;            // log-linear regressors [point][term]
  std::vector<std::vector<size_t>> cfg_rows;  // rows of each configuration
  std::vector<std::string> cfg_names;
  std::string who;

  Expr compile() const { return Expr(law->expr, names, who + " expr"); }
};

Setup prepare(const Law& law, const PointTable& t, const FitOptions& opt, const std::string& stratum) {
  Setup s;
  s.law = &law;
  s.who = cat("law '", law.name, "'", stratum.empty() ? "" : " in stratum " + stratum);
  const std::string target = opt.target.empty() ? law.target : opt.target;
  for (const auto& n : expr_names(law.expr, law.where + ": law '" + law.name + "' expr"))
    if (law.param_index(n) < 0) s.vars.push_back(n);
  for (const auto& p : law.params) {
    bool derived = false;
    for (const auto& dv : derived_variables()) derived = derived || dv.name == p.name;
    if (t.has(p.name) || derived)
      LB_THROW(ConfigError, law.where, ": law '", law.name, "': parameter '", p.name,
               "' has the name of a table column or derived variable; rename it");
  }
  // Values for every row of the stratum; errors name the missing variable or column.
  std::vector<double> y = variable_values(t, target, s.who + " target");
  std::vector<std::vector<double>> X;
  for (const auto& v : s.vars) X.push_back(variable_values(t, v, s.who));
  std::vector<std::vector<double>> Rc;
  if (law.log_linear)
    for (const auto& [p, reg] : law.log_linear->terms) {
      std::vector<std::string> rn = expr_names(reg, law.where + ": law '" + law.name + "' log_linear." + p);
      std::vector<std::vector<double>> rv;
      for (const auto& v : rn) rv.push_back(variable_values(t, v, s.who + " log_linear." + p));
      Expr e(reg, rn, law.where + ": law '" + law.name + "' log_linear." + p);
      std::vector<double> col(t.nrows), buf(rn.size());
      for (size_t r = 0; r < t.nrows; ++r) {
        for (size_t k = 0; k < rn.size(); ++k) buf[k] = rv[k][r];
        col[r] = e.eval(buf.data());
      }
      Rc.push_back(col);
    }
  // Keep rows where the target and every variable are measured.
  std::vector<size_t> keep;
  for (size_t r = 0; r < t.nrows; ++r) {
    bool ok = std::isfinite(y[r]);
    for (const auto& xc : X) ok = ok && std::isfinite(xc[r]);
    if (ok) keep.push_back(r);
  }
  s.tt = t.select(keep);
  std::vector<std::string> keys_all = config_keys(t);
  std::map<std::string, int> cidx;
  s.d.nv = s.vars.size();
  s.d.np = law.params.size();
  for (size_t r : keep) {
    auto [it, fresh] = cidx.emplace(keys_all[r], static_cast<int>(s.cfg_names.size()));
    if (fresh) {
      s.cfg_names.push_back(keys_all[r]);
      s.cfg_rows.emplace_back();
    }
    s.cfg_rows[it->second].push_back(s.d.n());
    s.d.cfg.push_back(it->second);
    s.d.y.push_back(y[r]);
    for (const auto& xc : X) s.d.X.push_back(xc[r]);
    for (const auto& rc : Rc) s.R.push_back(rc[r]);
  }
  const size_t P = law.params.size();
  LB_INPUT_CHECK(s.cfg_names.size() >= P + 1, t.source, ": ", s.who, ": ", s.cfg_names.size(),
                 " configuration(s) with '", target, "' and every variable measured (", t.nrows - keep.size(),
                 " row(s) dropped), but ", P, " parameters need at least ", P + 1);
  s.names = s.vars;
  for (const auto& p : law.params) s.names.push_back(p.name);
  return s;
}

std::vector<double> predict(Expr& f, const Data& d, const std::vector<double>& th) {
  std::vector<double> out(d.n());
  for (size_t i = 0; i < d.n(); ++i) out[i] = f.eval(d.x(i), d.nv, th.data(), d.np);
  return out;
}

std::vector<size_t> all_rows(size_t n) {
  std::vector<size_t> r(n);
  for (size_t i = 0; i < n; ++i) r[i] = i;
  return r;
}

// Stage A (squared loss from every start) then stage B (Huber from stage A's best). Returns the
// final solution; sets the Huber delta used (0 for squared loss) and which start won.
Solved full_fit(const Setup& s, Expr& f, const std::vector<size_t>& rows, const FitOptions& opt, double& delta,
                bool fix_delta, std::vector<double>& linearized, std::string& start, int& n_starts, int& n_ok,
                std::vector<double>& start_theta) {
  auto starts = detail::starts_grid(s.law->params, opt.max_starts, opt.seed);
  std::vector<std::string> labels;
  for (size_t k = 0; k < starts.size(); ++k) labels.push_back(cat("grid #", k));
  if (s.law->log_linear) {
    linearized = detail::log_linear_start(*s.law, s.d, s.R, rows);
    if (!linearized.empty()) {
      starts.insert(starts.begin(), linearized);
      labels.insert(labels.begin(), "log-linear");
    }
  }
  n_starts = static_cast<int>(starts.size());
  int best = -1;
  Solved a = detail::multi_start(f, s.d, rows, starts, s.law->params, 0.0, opt.max_iterations, best, n_ok);
  LB_INPUT_CHECK(a.ok, s.tt.source, ": ", s.who, ": no start of ", n_starts,
                 " converged (the law is not finite at any start: check bounds and init values)");
  start = labels[best];
  start_theta = starts[best];
  if (opt.loss == "squared") {
    delta = 0;
    Solved p = detail::solve(f, s.d, rows, a.theta, s.law->params, 0.0, opt.max_iterations, true);
    return p.ok && p.cost <= a.cost ? p : a;
  }
  auto robust_delta = [&](const std::vector<double>& th) {
    std::vector<double> r;
    double rms_y = 0;
    for (size_t i : rows) {
      r.push_back(s.d.y[i] - f.eval(s.d.x(i), s.d.nv, th.data(), s.d.np));
      rms_y += s.d.y[i] * s.d.y[i];
    }
    rms_y = std::sqrt(rms_y / static_cast<double>(rows.size()));
    return std::max(1.345 * detail::robust_sigma(r), 1e-9 * std::max(1.0, rms_y));
  };
  const bool auto_delta = !fix_delta && !(opt.huber_delta > 0);
  if (!fix_delta && opt.huber_delta > 0) delta = opt.huber_delta;
  if (auto_delta) delta = robust_delta(a.theta);
  Solved b = detail::solve(f, s.d, rows, a.theta, s.law->params, delta, opt.max_iterations, true);
  if (!b.ok) return a;
  // The least-squares residuals overstate the scale when outliers pull the fit: re-estimate delta
  // from the Huber fit's residuals and refit, until delta settles (at most 5 rounds).
  for (int it = 0; auto_delta && it < 5; ++it) {
    double nd = robust_delta(b.theta);
    if (std::abs(nd - delta) <= 0.01 * delta) break;
    delta = nd;
    Solved c = detail::solve(f, s.d, rows, b.theta, s.law->params, delta, opt.max_iterations, true);
    if (!c.ok) break;
    b = c;
  }
  return b;
}

// Identifiability and standard errors from the Jacobian J of the fitted values (central
// differences). A parameter is not identified when its column of J vanishes or lies in a
// near-null direction of the column-normalized JᵀJ (condition > 1e10): the data cannot tell its
// value (a term whose coefficient sits at 0, (1 + C)^-δ with C constant). Standard errors
// sqrt(diag(σ² (JᵀJ)⁻¹)), σ² = SSR/(n − p), over the identified parameters; NaN for the others.
struct Asymptotic {
  std::vector<double> se;
  std::vector<bool> identified;
};
Asymptotic asymptotic(Expr& f, const Data& d, const std::vector<double>& th, double ssr) {
  const size_t n = d.n(), p = d.np;
  Asymptotic a{std::vector<double>(p, kNaN), std::vector<bool>(p, true)};
  Eigen::MatrixXd J(n, p);
  std::vector<double> t = th;
  for (size_t k = 0; k < p; ++k) {
    double h = 1e-6 * std::max(std::abs(th[k]), 1e-3);
    for (size_t i = 0; i < n; ++i) {
      t[k] = th[k] + h;
      double up = f.eval(d.x(i), d.nv, t.data(), p);
      t[k] = th[k] - h;
      double dn = f.eval(d.x(i), d.nv, t.data(), p);
      J(static_cast<Eigen::Index>(i), static_cast<Eigen::Index>(k)) = (up - dn) / (2 * h);
    }
    t[k] = th[k];
  }
  if (!J.allFinite()) return a;
  Eigen::VectorXd norm = J.colwise().norm();
  const double maxn = norm.maxCoeff();
  std::vector<Eigen::Index> live;
  for (size_t k = 0; k < p; ++k) {
    const auto kk = static_cast<Eigen::Index>(k);
    if (!(norm(kk) > 1e-12 * maxn)) a.identified[k] = false;
    else live.push_back(kk);
  }
  if (!live.empty()) {
    Eigen::MatrixXd Jn(n, static_cast<Eigen::Index>(live.size()));
    for (size_t c = 0; c < live.size(); ++c) Jn.col(static_cast<Eigen::Index>(c)) = J.col(live[c]) / norm(live[c]);
    Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> es(Jn.transpose() * Jn);
    const double lmax = es.eigenvalues().maxCoeff();
    for (Eigen::Index e = 0; e < es.eigenvalues().size(); ++e)
      if (es.eigenvalues()(e) < 1e-10 * lmax)
        for (size_t c = 0; c < live.size(); ++c)
          if (std::abs(es.eigenvectors()(static_cast<Eigen::Index>(c), e)) > 0.1) a.identified[static_cast<size_t>(live[c])] = false;
  }
  std::vector<Eigen::Index> ok;
  for (size_t k = 0; k < p; ++k)
    if (a.identified[k]) ok.push_back(static_cast<Eigen::Index>(k));
  if (ok.empty() || n <= p) return a;
  Eigen::MatrixXd Js(n, static_cast<Eigen::Index>(ok.size()));
  for (size_t c = 0; c < ok.size(); ++c) Js.col(static_cast<Eigen::Index>(c)) = J.col(ok[c]);
  Eigen::MatrixXd cov = (Js.transpose() * Js).ldlt().solve(Eigen::MatrixXd::Identity(Js.cols(), Js.cols()));
  const double s2 = ssr / static_cast<double>(n - p);
  for (size_t c = 0; c < ok.size(); ++c) {
    const auto cc = static_cast<Eigen::Index>(c);
    a.se[static_cast<size_t>(ok[c])] = std::sqrt(s2 * cov(cc, cc));
  }
  return a;
}

void curves(const Setup& s, Expr& f, const std::vector<double>& th, const FitOptions& opt, FitResult& r) {
  // The raw columns the prediction depends on.
  std::vector<std::string> inputs;
  for (const auto& v : s.vars)
    for (const auto& c : variable_inputs(s.tt, v))
      if (std::find(inputs.begin(), inputs.end(), c) == inputs.end()) inputs.push_back(c);
  auto varies = [&](const std::string& c) {
    const auto& v = s.tt.num.at(c);
    return std::any_of(v.begin(), v.end(), [&](double a) { return a != v[0]; });
  };
  std::string axis = opt.curve_axis;
  if (axis.empty()) {
    for (const char* c : {"B", "G", "N", "C"})
      if (axis.empty() && std::find(inputs.begin(), inputs.end(), c) != inputs.end() && varies(c)) axis = c;
    if (axis.empty())
      for (const auto& c : inputs)
        if (axis.empty() && varies(c)) axis = c;
    if (axis.empty()) return;
  } else {
    LB_INPUT_CHECK(std::find(inputs.begin(), inputs.end(), axis) != inputs.end(), s.tt.source, ": --curve-axis '", axis,
                   "' is not a column law '", s.law->name, "' depends on");
  }
  r.curve_axis = axis;
  const auto& ax = s.tt.num.at(axis);
  double lo = *std::min_element(ax.begin(), ax.end()), hi = *std::max_element(ax.begin(), ax.end());
  bool logx = lo > 0 && hi / lo > 10;
  std::vector<double> grid;
  const int m = std::max(2, opt.curve_points);
  for (int k = 0; k < m; ++k) {
    double t = static_cast<double>(k) / (m - 1);
    grid.push_back(logx ? std::exp(std::log(lo) + t * (std::log(hi) - std::log(lo))) : lo + t * (hi - lo));
  }
  std::map<std::string, int> sidx;
  std::vector<size_t> rep;
  for (size_t i = 0; i < s.tt.nrows; ++i) {
    std::string key;
    for (const auto& c : inputs)
      if (c != axis) key += (key.empty() ? "" : " ") + c + "=" + fmt_g(s.tt.num.at(c)[i]);
    auto [it, fresh] = sidx.emplace(key, static_cast<int>(r.series.size()));
    if (fresh) {
      r.series.push_back(key.empty() ? "all" : key);
      rep.push_back(i);
    }
    r.point_series.push_back(it->second);
    r.point_x.push_back(ax[i]);
  }
  for (size_t sr = 0; sr < rep.size(); ++sr) {
    PointTable g;
    g.source = s.tt.source;
    for (const auto& c : inputs) {
      std::vector<double> v(grid.size(), s.tt.num.at(c)[rep[sr]]);
      if (c == axis) v = grid;
      g.add_numeric(c, v);
    }
    std::vector<std::vector<double>> X;
    for (const auto& v : s.vars) X.push_back(variable_values(g, v, s.who));
    std::vector<double> x(s.vars.size());
    for (size_t k = 0; k < grid.size(); ++k) {
      for (size_t j = 0; j < X.size(); ++j) x[j] = X[j][k];
      r.curve_series.push_back(static_cast<int>(sr));
      r.curve_x.push_back(grid[k]);
      r.curve_y.push_back(f.eval(x.data(), x.size(), th.data(), th.size()));
    }
  }
}

}  // namespace

FitResult fit_law(const Law& law, const PointTable& t, const FitOptions& opt, const std::string& stratum) {
  LB_INPUT_CHECK(opt.loss == "huber" || opt.loss == "squared", "--loss '", opt.loss, "' must be huber or squared");
  LB_INPUT_CHECK(opt.bootstrap >= 0, "--bootstrap ", opt.bootstrap, " must be >= 0");
  LB_INPUT_CHECK(opt.ci_level > 0 && opt.ci_level < 1, "--ci ", opt.ci_level, " must be in (0, 1)");
  Setup s = prepare(law, t, opt, stratum);
  const size_t P = law.params.size(), n = s.d.n(), K = s.cfg_names.size();
  Expr f = s.compile();
  if (law.log_linear) detail::check_log_linear(law, f, s.d, s.R);

  FitResult r;
  r.law = law.name;
  r.expr = law.expr;
  r.target = opt.target.empty() ? law.target : opt.target;
  r.stratum = stratum;
  r.table = t.source;
  r.loss = opt.loss;
  r.variables = s.vars;
  r.n_points = n;
  r.n_configs = K;
  r.n_dropped = t.nrows - n;
  r.seed = opt.seed;
  r.ci_level = opt.ci_level;

  const auto rows = all_rows(n);
  std::vector<double> start_theta;
  Solved best = full_fit(s, f, rows, opt, r.huber_delta, false, r.linearized, r.start, r.n_starts, r.n_starts_ok,
                         start_theta);
  const std::vector<double>& th = best.theta;
  r.cost = best.cost;

  // Metrics on the unweighted residuals.
  r.y = s.d.y;
  r.yhat = predict(f, s.d, th);
  double ybar = 0, ssr = 0, sst = 0, sae = 0;
  for (double v : r.y) ybar += v / static_cast<double>(n);
  for (size_t i = 0; i < n; ++i) {
    double e = r.y[i] - r.yhat[i];
    ssr += e * e;
    sae += std::abs(e);
    sst += (r.y[i] - ybar) * (r.y[i] - ybar);
  }
  r.r2 = sst > 0 ? 1 - ssr / sst : kNaN;
  r.adj_r2 = n > P ? 1 - (1 - r.r2) * static_cast<double>(n - 1) / static_cast<double>(n - P) : kNaN;
  r.rmse = std::sqrt(ssr / static_cast<double>(n));
  r.mae = sae / static_cast<double>(n);
  Asymptotic asy = asymptotic(f, s.d, th, ssr);
  const auto& se = asy.se;

  // Bootstrap over configurations: resample K configurations with replacement, refit from θ̂ with
  // the same loss and delta. Index draws are serial (seeded) so results do not depend on threads.
  std::vector<std::vector<size_t>> resamples(static_cast<size_t>(opt.bootstrap));
  {
    std::mt19937_64 rng(opt.seed);
    std::uniform_int_distribution<size_t> pick(0, K - 1);
    for (auto& rs : resamples)
      for (size_t k = 0; k < K; ++k) {
        const auto& cr = s.cfg_rows[pick(rng)];
        rs.insert(rs.end(), cr.begin(), cr.end());
      }
  }
  std::vector<Solved> boot(resamples.size());
  std::vector<double> loo_pred(n, kNaN);
  {
    Progress prog(cat("bootstrap ", law.name, stratum.empty() ? "" : " " + stratum), static_cast<long long>(resamples.size()),
                  "resamples");
    const size_t jobs = resamples.size() + (opt.loo ? K : 0);
#pragma omp parallel
    {
      Expr fl = s.compile();
#pragma omp for schedule(dynamic)
      for (size_t j = 0; j < jobs; ++j) {
        if (j < resamples.size()) {
          boot[j] = detail::solve(fl, s.d, resamples[j], th, law.params, r.huber_delta, opt.max_iterations, false);
          if (opt.progress) {
#pragma omp critical(fit_progress)
            prog.step();
          }
        } else {  // leave configuration c out, predict its points
          size_t c = j - resamples.size();
          std::vector<size_t> keep;
          for (size_t i = 0; i < n; ++i)
            if (s.d.cfg[i] != static_cast<int>(c)) keep.push_back(i);
          Solved l = detail::solve(fl, s.d, keep, th, law.params, r.huber_delta, opt.max_iterations, true);
          if (l.ok)
            for (size_t i : s.cfg_rows[c]) loo_pred[i] = fl.eval(s.d.x(i), s.d.nv, l.theta.data(), P);
        }
      }
    }
    if (opt.progress && opt.bootstrap > 0) prog.finish();
  }
  r.loo_pred = loo_pred;
  r.loo_rmse = r.loo_mae = kNaN;
  if (opt.loo) {
    double s2 = 0, s1 = 0;
    size_t m = 0;
    for (size_t i = 0; i < n; ++i)
      if (std::isfinite(loo_pred[i])) {
        double e = r.y[i] - loo_pred[i];
        s2 += e * e;
        s1 += std::abs(e);
        ++m;
      }
    if (m) {
      r.loo_rmse = std::sqrt(s2 / static_cast<double>(m));
      r.loo_mae = s1 / static_cast<double>(m);
    }
  }
  for (const auto& b : boot) {
    if (b.ok) r.boot.push_back(b.theta);
    else ++r.n_boot_failed;
  }
  r.n_boot = opt.bootstrap;

  const double alpha = 1 - opt.ci_level;
  const double tq = n > P ? boost::math::quantile(boost::math::complement(boost::math::students_t(static_cast<double>(n - P)), alpha / 2))
                          : kNaN;
  for (size_t k = 0; k < P; ++k) {
    ParamEstimate e;
    const auto& p = law.params[k];
    e.name = p.name;
    e.value = th[k];
    e.lo = p.lo;
    e.hi = p.hi;
    e.start = start_theta[k];
    e.se_asym = se[k];
    e.identified = asy.identified[k];
    double tol = 1e-6 * std::max(1.0, std::abs(th[k]));
    e.at_bound = (std::isfinite(p.lo) && th[k] - p.lo <= tol) || (std::isfinite(p.hi) && p.hi - th[k] <= tol);
    if (!r.boot.empty()) {
      std::vector<double> v;
      for (const auto& b : r.boot) v.push_back(b[k]);
      std::sort(v.begin(), v.end());
      e.ci_lo = quantile(v, alpha / 2);
      e.ci_hi = quantile(v, 1 - alpha / 2);
      double m = 0, s2 = 0;
      for (double a : v) m += a / static_cast<double>(v.size());
      for (double a : v) s2 += (a - m) * (a - m);
      e.se_boot = v.size() > 1 ? std::sqrt(s2 / static_cast<double>(v.size() - 1)) : kNaN;
    } else {
      e.se_boot = kNaN;
      e.ci_lo = std::max(p.lo, th[k] - tq * se[k]);
      e.ci_hi = std::min(p.hi, th[k] + tq * se[k]);
    }
    if (!e.identified) {  // the data say nothing about it: the interval is the declared range
      e.ci_lo = p.lo;
      e.ci_hi = p.hi;
    }
    r.params.push_back(e);
  }

  // Cross-family: fit on one family (full multi-start, same delta), predict every other one.
  if (opt.cross_family && s.tt.is_text("family")) {
    const auto& fam = s.tt.text.at("family");
    r.family = fam;
    std::vector<std::string> fams;
    for (const auto& v : fam)
      if (std::find(fams.begin(), fams.end(), v) == fams.end()) fams.push_back(v);
    if (fams.size() >= 2)
      for (const auto& a : fams) {
        std::vector<size_t> tr;
        std::set<int> cf;
        for (size_t i = 0; i < n; ++i)
          if (fam[i] == a) {
            tr.push_back(i);
            cf.insert(s.d.cfg[i]);
          }
        if (cf.size() < P + 1) {
          log_info(s.who, ": cross-family check skips training on '", a, "' (", cf.size(), " configurations for ", P,
                   " parameters)");
          continue;
        }
        double dl = r.huber_delta;
        std::vector<double> lin, st;
        std::string lbl;
        int ns = 0, nok = 0;
        Solved fa;
        try {
          fa = full_fit(s, f, tr, opt, dl, true, lin, lbl, ns, nok, st);
        } catch (const InputError& e) {
          log_info(s.who, ": cross-family fit on '", a, "' failed: ", e.what());
          continue;
        }
        for (const auto& b : fams) {
          if (b == a) continue;
          CrossCheck c;
          c.train = a;
          c.test = b;
          c.n_train = tr.size();
          double s2 = 0, s1 = 0, sb = 0;
          for (size_t i = 0; i < n; ++i)
            if (fam[i] == b) {
              double e = r.y[i] - f.eval(s.d.x(i), s.d.nv, fa.theta.data(), P);
              s2 += e * e;
              s1 += std::abs(e);
              sb += e;
              ++c.n_test;
            }
          double m = static_cast<double>(c.n_test);
          c.rmse = std::sqrt(s2 / m);
          c.mae = s1 / m;
          c.bias = sb / m;
          r.cross.push_back(c);
        }
      }
  }
  r.config.reserve(n);
  for (size_t i = 0; i < n; ++i) r.config.push_back(s.cfg_names[static_cast<size_t>(s.d.cfg[i])]);
  r.x.resize(s.vars.size());
  for (size_t j = 0; j < s.vars.size(); ++j)
    for (size_t i = 0; i < n; ++i) r.x[j].push_back(s.d.X[i * s.d.nv + j]);
  curves(s, f, th, opt, r);
  return r;
}

void check_strata(const Law& law, const PointTable& t, const std::vector<std::string>& by, const FitOptions& opt) {
  LB_INPUT_CHECK(opt.loss == "huber" || opt.loss == "squared", "--loss '", opt.loss, "' must be huber or squared");
  LB_INPUT_CHECK(opt.ci_level > 0 && opt.ci_level < 1, "--ci ", opt.ci_level, " must be in (0, 1)");
  for (const auto& [key, rows] : split_by(t, by)) {
    Setup s = prepare(law, t.select(rows), opt, key);
    if (law.log_linear) {
      Expr f = s.compile();
      detail::check_log_linear(law, f, s.d, s.R);
    }
  }
}

std::vector<FitResult> fit_strata(const Law& law, const PointTable& t, const std::vector<std::string>& by,
                                  const FitOptions& opt) {
  check_strata(law, t, by, opt);
  std::vector<FitResult> out;
  for (const auto& [key, rows] : split_by(t, by)) {
    log_info("fit ", law.name, key.empty() ? "" : " [" + key + "]", ": ", rows.size(), " rows");
    out.push_back(fit_law(law, t.select(rows), opt, key));
  }
  return out;
}

}  // namespace lowbit::fit
