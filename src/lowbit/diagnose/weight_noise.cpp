// lowbit/diagnose/weight_noise.cpp — the reference perturbation of the diagnostics: Gaussian noise
// on every linear weight, scaled per output row by the row's RMS (w += ε·rms(row)·N(0,1)). A
// perturbation with no structure, so it should degrade the signal without breaking any component.
// defines: lowbit::diag::add_weight_noise
#include <cmath>
#include <random>

#include "lowbit/core/error.hpp"
#include "lowbit/diagnose/diagnose.hpp"

namespace lowbit::diag {

void add_weight_noise(Model& m, double rel_std, uint64_t seed) {
  LB_INPUT_CHECK(rel_std >= 0 && std::isfinite(rel_std), "--noise ", rel_std, " must be a finite value >= 0");
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> nd(0.0, 1.0);
  for (int l = 0; l < m.cfg.n_layers; ++l) {
    BlockWeights b = m.block(l);
    for (auto id : kLinearIds) {
      Linear& lin = b.linear(id);
      for (int64_t r = 0; r < lin.w.rows() && !lin.w.empty(); ++r) {
        float* w = lin.w.row(r);
        double ss = 0;
        for (int64_t i = 0; i < lin.in(); ++i) ss += double(w[i]) * w[i];
        const double s = rel_std * std::sqrt(ss / double(lin.in()));
        for (int64_t i = 0; i < lin.in(); ++i) w[i] = float(w[i] + s * nd(rng));
      }
    }
    m.set_block(l, std::move(b));
  }
}

}  // namespace lowbit::diag
