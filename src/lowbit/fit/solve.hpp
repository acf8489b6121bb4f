// lowbit/fit/solve.hpp — internals of the fitter shared by fit.cpp: the fitted data in flat form,
// one bounded Ceres solve, the multi-start search, and the declared log-linear start.
// defines: lowbit::fit::detail::{Data, Solved, solve, starts_grid, multi_start, log_linear_start,
//          check_log_linear, robust_sigma}
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "lowbit/fit/law.hpp"

namespace lowbit::fit::detail {

struct Data {
  size_t nv = 0, np = 0;
  std::vector<double> X;  // [point][variable], row-major
  std::vector<double> y;
  std::vector<int> cfg;   // configuration index of each point
  size_t n() const { return y.size(); }
  const double* x(size_t i) const { return X.data() + i * nv; }
};

struct Solved {
  std::vector<double> theta;
  double cost = 0;  // Ceres cost ½Σρ(r²) at theta
  bool ok = false;
};

// Minimize Σ ρ((y − f(x, θ))²) over `rows` (repeats allowed) from theta0, within the parameters'
// bounds; ρ = Huber(delta) when delta > 0, else squared loss. `f` binds variables then parameters.
// `precise`: tolerances for a reported fit (~1e-8 on parameters), else looser ones for replicates.
Solved solve(Expr& f, const Data& d, const std::vector<size_t>& rows, std::vector<double> theta0,
             const std::vector<LawParam>& params, double delta, int max_iterations, bool precise);

// The multi-start grid: the product of every parameter's init values, or a seeded subset of
// `max_starts` of them when the product is larger.
std::vector<std::vector<double>> starts_grid(const std::vector<LawParam>& params, int max_starts, uint64_t seed);

// Best solve over `starts` (lowest cost; replicate tolerances: polish the winner with a precise solve); `best` is the index of the winning start, -1 if none converged.
Solved multi_start(Expr& f, const Data& d, const std::vector<size_t>& rows,
                   const std::vector<std::vector<double>>& starts, const std::vector<LawParam>& params,
                   double delta, int max_iterations, int& best, int& n_ok);

// Ordinary least squares of log y on [1, regressors] over `rows` with y > 0: the law's parameters
// in law order, clamped to their bounds (minimum-norm where regressors are collinear); empty when
// no point is positive.
// `R` holds the regressor values [point][term].
std::vector<double> log_linear_start(const Law& law, const Data& d, const std::vector<double>& R,
                                     const std::vector<size_t>& rows);
// ConfigError unless exp(log scale + Σ θ·r) equals f(x, θ) (relative 1e-6) at every point for a few
// parameter vectors inside the bounds.
void check_log_linear(const Law& law, Expr& f, const Data& d, const std::vector<double>& R);

// 1.4826 · median |r − median r|: the normal-consistent robust scale of residuals.
double robust_sigma(std::vector<double> r);

}  // namespace lowbit::fit::detail
