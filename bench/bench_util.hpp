// bench/bench_util.hpp — helpers shared by the benchmark programs.
// defines: lowbit::bench::Clock, secs_since, minor_faults, random_weights
#pragma once

#include <sys/resource.h>

#include <chrono>
#include <cstdint>
#include <random>

#include "lowbit/core/tensor.hpp"

namespace lowbit::bench {

using Clock = std::chrono::steady_clock;
inline double secs_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }
// Minor page faults of this process so far (first touches of fresh memory).
inline long minor_faults() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_minflt;
}
// A weight matrix with entries from N(0, 0.02²), deterministic in `seed`.
inline Tensor random_weights(int64_t rows, int64_t cols, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> n(0.f, 0.02f);
  Tensor t({rows, cols});
  for (auto& v : t.data) v = n(rng);
  return t;
}

}  // namespace lowbit::bench
