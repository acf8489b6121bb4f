// lowbit/fit/solve.cpp — one bounded robust Ceres solve, the multi-start search over an init grid,
// and the log-linear (OLS in log space) starting point. defines: the functions of solve.hpp
#include "lowbit/fit/solve.hpp"

#include <ceres/ceres.h>

#include <Eigen/Dense>
#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>

#include "lowbit/core/error.hpp"
#include "lowbit/core/log.hpp"

namespace lowbit::fit::detail {

namespace {

// Residual of one point: y − f(x, θ). Returning false rejects a step where f is not finite.
struct PointCost {
  Expr* f;
  const double* x;
  size_t nx, np;
  double y;
  bool operator()(double const* const* p, double* r) const {
    double v = f->eval(x, nx, p[0], np);
    if (!std::isfinite(v)) return false;
    r[0] = y - v;
    return true;
  }
};

double clamp_to(double v, const LawParam& p) { return std::min(std::max(v, p.lo), p.hi); }

}  // namespace

Solved solve(Expr& f, const Data& d, const std::vector<size_t>& rows, std::vector<double> theta,
             const std::vector<LawParam>& params, double delta, int max_iterations, bool precise) {
  Solved out;
  for (size_t k = 0; k < params.size(); ++k) theta[k] = clamp_to(theta[k], params[k]);
  // The start must be evaluable: Ceres aborts the solve otherwise, and we want a clean "not ok".
  for (size_t i : rows)
    if (!std::isfinite(f.eval(d.x(i), d.nv, theta.data(), d.np))) return out;
  ceres::Problem::Options po;
  po.loss_function_ownership = ceres::DO_NOT_TAKE_OWNERSHIP;
  ceres::Problem problem(po);
  std::unique_ptr<ceres::LossFunction> loss;
  if (delta > 0) loss = std::make_unique<ceres::HuberLoss>(delta);
  for (size_t i : rows) {
    auto* c = new ceres::DynamicNumericDiffCostFunction<PointCost, ceres::CENTRAL>(
        new PointCost{&f, d.x(i), d.nv, d.np, d.y[i]});
    c->AddParameterBlock(static_cast<int>(d.np));
    c->SetNumResiduals(1);
    problem.AddResidualBlock(c, loss.get(), theta.data());
  }
  for (size_t k = 0; k < params.size(); ++k) {
    if (std::isfinite(params[k].lo)) problem.SetParameterLowerBound(theta.data(), static_cast<int>(k), params[k].lo);
    if (std::isfinite(params[k].hi)) problem.SetParameterUpperBound(theta.data(), static_cast<int>(k), params[k].hi);
  }
  ceres::Solver::Options so;
  so.linear_solver_type = ceres::DENSE_QR;
  so.max_num_iterations = max_iterations;
  // Precise: the cost is quadratic near the optimum, so a relative cost tolerance ε leaves the
  // parameters off by ~√ε; the reported fit and the known-answer tests need ~1e-8. Replicates
  // (starts, resamples, LOO) only need to be well inside the spread they measure.
  so.function_tolerance = precise ? 1e-16 : 1e-12;
  so.gradient_tolerance = precise ? 1e-16 : 1e-12;
  so.parameter_tolerance = precise ? 1e-14 : 1e-9;
  so.num_threads = 1;
  so.logging_type = ceres::SILENT;
  so.minimizer_progress_to_stdout = false;
  ceres::Solver::Summary sum;
  ceres::Solve(so, &problem, &sum);
  if (log_level() >= LogLevel::Debug) log_debug("ceres: ", sum.BriefReport());
  out.theta = theta;
  out.cost = sum.final_cost;
  out.ok = sum.IsSolutionUsable() && std::isfinite(sum.final_cost) &&
           std::all_of(theta.begin(), theta.end(), [](double v) { return std::isfinite(v); });
  return out;
}

std::vector<std::vector<double>> starts_grid(const std::vector<LawParam>& params, int max_starts, uint64_t seed) {
  double total = 1;
  for (const auto& p : params) total *= static_cast<double>(p.init.size());
  std::vector<uint64_t> picks;
  if (total <= max_starts) {
    picks.resize(static_cast<size_t>(total));
    std::iota(picks.begin(), picks.end(), 0);
  } else {
    // A seeded subset without repeats; the first grid point (every first init) is always kept.
    std::mt19937_64 rng(seed);
    std::uniform_real_distribution<double> u(0, 1);
    picks.push_back(0);
    while (picks.size() < static_cast<size_t>(max_starts)) {
      auto k = static_cast<uint64_t>(u(rng) * total);
      if (std::find(picks.begin(), picks.end(), k) == picks.end()) picks.push_back(k);
    }
  }
  std::vector<std::vector<double>> out;
  for (uint64_t k : picks) {
    std::vector<double> th(params.size());
    for (size_t j = 0; j < params.size(); ++j) {  // mixed-radix decode, first parameter fastest
      th[j] = params[j].init[k % params[j].init.size()];
      k /= params[j].init.size();
    }
    out.push_back(th);
  }
  return out;
}

Solved multi_start(Expr& f, const Data& d, const std::vector<size_t>& rows,
                   const std::vector<std::vector<double>>& starts, const std::vector<LawParam>& params,
                   double delta, int max_iterations, int& best, int& n_ok) {
  Solved b;
  best = -1;
  n_ok = 0;
  for (size_t s = 0; s < starts.size(); ++s) {
    Solved r = solve(f, d, rows, starts[s], params, delta, max_iterations, false);
    if (!r.ok) continue;
    ++n_ok;
    if (!b.ok || r.cost < b.cost) {
      b = r;
      best = static_cast<int>(s);
    }
  }
  return b;
}

std::vector<double> log_linear_start(const Law& law, const Data& d, const std::vector<double>& R,
                                     const std::vector<size_t>& rows) {
  const auto& lin = *law.log_linear;
  const size_t K = lin.terms.size();
  std::vector<size_t> use;
  for (size_t i : rows) {
    bool ok = d.y[i] > 0 && std::isfinite(d.y[i]);
    for (size_t k = 0; k < K && ok; ++k) ok = std::isfinite(R[i * K + k]);
    if (ok) use.push_back(i);
  }
  if (use.empty()) return {};
  Eigen::MatrixXd A(use.size(), K + 1);
  Eigen::VectorXd b(use.size());
  for (size_t r = 0; r < use.size(); ++r) {
    A(r, 0) = 1;
    for (size_t k = 0; k < K; ++k) A(r, k + 1) = R[use[r] * K + k];
    b(r) = std::log(d.y[use[r]]);
  }
  // Minimum-norm solution: a regressor that is constant in the stratum (C = 0 for a data-free
  // method) is collinear with the intercept; its coefficient is then not identified and comes out 0.
  Eigen::VectorXd c = Eigen::CompleteOrthogonalDecomposition<Eigen::MatrixXd>(A).solve(b);
  std::vector<double> theta(law.params.size());
  theta[law.param_index(lin.scale)] = std::exp(c(0));
  for (size_t k = 0; k < K; ++k) theta[law.param_index(lin.terms[k].first)] = c(k + 1);
  for (size_t j = 0; j < theta.size(); ++j) {
    if (!std::isfinite(theta[j])) return {};
    theta[j] = clamp_to(theta[j], law.params[j]);
  }
  return theta;
}

void check_log_linear(const Law& law, Expr& f, const Data& d, const std::vector<double>& R) {
  const auto& lin = *law.log_linear;
  const size_t K = lin.terms.size();
  // Three parameter vectors inside the bounds: the first inits, and two interior points.
  std::vector<std::vector<double>> probes(3, std::vector<double>(law.params.size()));
  for (size_t j = 0; j < law.params.size(); ++j) {
    const auto& p = law.params[j];
    probes[0][j] = p.init[0];
    for (int q = 1; q <= 2; ++q) {
      double t = q == 1 ? 0.3 : 0.7;
      double lo = std::isfinite(p.lo) ? p.lo : p.init[0] - 2, hi = std::isfinite(p.hi) ? p.hi : p.init[0] + 2;
      if (lo > 0 && hi / lo > 100) probes[q][j] = std::exp(std::log(lo) + t * (std::log(hi) - std::log(lo)));
      else probes[q][j] = lo + t * (hi - lo);
    }
  }
  const int s = law.param_index(lin.scale);
  for (const auto& th : probes)
    for (size_t i = 0; i < d.n(); ++i) {
      double v = f.eval(d.x(i), d.nv, th.data(), d.np);
      double lg = std::log(th[s]);
      for (size_t k = 0; k < K; ++k) lg += th[law.param_index(lin.terms[k].first)] * R[i * K + k];
      double w = std::exp(lg);
      if (!std::isfinite(v) || !std::isfinite(w)) continue;  // outside the law's domain: nothing to compare
      if (std::abs(v - w) > 1e-6 * std::max(std::abs(v), std::abs(w)) + 1e-300)
        LB_THROW(ConfigError, law.where, ": law '", law.name, "': log_linear does not reproduce expr (point ", i,
                 ": expr ", v, ", exp(log ", lin.scale, " + Σ θ·r) ", w, ")");
    }
}

double robust_sigma(std::vector<double> r) {
  if (r.empty()) return 0;
  auto med = [](std::vector<double>& v) {
    size_t m = v.size() / 2;
    std::nth_element(v.begin(), v.begin() + static_cast<long>(m), v.end());
    double hi = v[m];
    if (v.size() % 2) return hi;
    double lo = *std::max_element(v.begin(), v.begin() + static_cast<long>(m));
    return 0.5 * (lo + hi);
  };
  double m = med(r);
  for (double& v : r) v = std::abs(v - m);
  return 1.4826 * med(r);
}

}  // namespace lowbit::fit::detail
