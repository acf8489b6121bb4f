// bench/bench_util.hpp — the one benchmark harness of the bench programs, and small helpers they share.
//
// A Case gives the bytes one call moves (the numerator of its GB/s), a check and a function. The
// Harness runs every check before anything is timed (a failed check: the program exits 1, nothing
// timed — a wrong kernel is never timed), then, through Google Benchmark, times each case after one
// untimed warm-up call: GB/s = bytes × calls / wall seconds of the timed loop / 1e9, the ratio to
// the memcpy baseline measured in the same run (the fastest baseline run so far; the summary uses
// the fastest of the whole run) and the minor page faults per call. Those are Google Benchmark
// counters (GB_per_s, ratio_vs_memcpy, page_faults_per_call), so `--benchmark_format=json` (or
// `--benchmark_out=f.json`) carries them; the summary table goes to stderr.
// Results and the formulas per program: docs/BENCHMARKS.md.
//
// defines: lowbit::bench::Case, Harness, Clock, secs_since, minor_faults, random_weights
#pragma once

#include <benchmark/benchmark.h>
#include <sys/resource.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <exception>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <utility>
#include <vector>

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

// One timed kernel. `check` returns "" when the kernel's result is right, else what is wrong; it runs
// before anything is timed. `call` is one timed call. `setup` / `teardown` run untimed around each
// timed loop (buffers, allocator settings). A `target` > 0 is a ratio to memcpy the summary grades.
struct Case {
  std::string name;
  double bytes = 0;
  std::function<std::string()> check;
  std::function<void()> call;
  std::function<void()> setup, teardown;
  double target = 0;
  bool baseline = false;  // a memcpy: its GB/s is the denominator of every ratio
  std::map<std::string, double> counters;  // extra constant counters for the JSON (e.g. input size)
};

// What one case measured (the last timed loop Google Benchmark kept).
struct Measured {
  double seconds_per_call = 0, gbps = 0, faults_per_call = 0;
};

class Harness {
 public:
  Harness(std::string program, std::string metric) : program_(std::move(program)), metric_(std::move(metric)) {}

  void add(Case c) { cases_.push_back(std::make_shared<Case>(std::move(c))); }

  // std::memcpy of `bytes` between two buffers touched before timing, on `threads` OpenMP threads (one:
  // the baseline; more: reported for reference, not a denominator). Its check: the copy is exact.
  void add_memcpy(const std::string& name, size_t bytes, int threads = 1) {
    auto buf = std::make_shared<std::pair<std::vector<float>, std::vector<float>>>();
    const size_t n = bytes / sizeof(float);
    Case c;
    c.name = name;
    c.bytes = double(n * sizeof(float));
    c.baseline = threads == 1;
    c.setup = [buf, n] {
      buf->first.resize(n);
      buf->second.assign(n, 0.f);
      for (size_t i = 0; i < n; ++i) buf->first[i] = float(i & 1023);
    };
    c.teardown = [buf] { *buf = {}; };
    c.call = [buf, threads] { copy(buf->first, buf->second, threads); };
    c.check = [buf, n, threads] {
      std::vector<float> src(std::min<size_t>(n, 1 << 20)), dst(src.size(), -1.f);
      for (size_t i = 0; i < src.size(); ++i) src[i] = float(i & 1023);
      copy(src, dst, threads);
      return src == dst ? std::string() : std::string("the copy differs from its source");
    };
    add(std::move(c));
  }

  // Runs every check (printing one line each); false when any failed or threw. `extra` is the
  // program's own verdict on checks that belong to no single case (ANDed in).
  bool check(bool extra = true) {
    bool ok = extra;
    for (const auto& c : cases_) {
      std::string why;
      try {
        why = c->check ? c->check() : "no check given";
      } catch (const std::exception& e) {
        why = std::string("check threw: ") + e.what();
      }
      std::fprintf(stderr, "check %-34s %s\n", c->name.c_str(), why.empty() ? "ok" : ("FAIL: " + why).c_str());
      ok &= why.empty();
    }
    if (!ok) std::fprintf(stderr, "%s: correctness checks failed; not timing anything.\n", program_.c_str());
    checked_ = ok;
    return ok;
  }

  // Registers every case with Google Benchmark, in the order added (after check() passed).
  void register_cases() {
    if (!checked_) return;
    benchmark::AddCustomContext("metric", metric_);
    benchmark::AddCustomContext("checks", std::to_string(cases_.size()) + " cases checked before timing: ok");
    for (const auto& c : cases_)
      benchmark::RegisterBenchmark(c->name.c_str(), [this, c](benchmark::State& st) { time(st, *c); })
          ->UseRealTime()
          ->Unit(benchmark::kMillisecond);
  }

  // The summary on stderr: time per call, GB/s, ratio to the fastest baseline, faults per call.
  void print_summary() const {
    const double base = baseline_gbps();
    std::fprintf(stderr, "\n%s: %s\n  baseline: the fastest one-thread memcpy, %.2f GB/s\n", program_.c_str(),
                 metric_.c_str(), base);
    std::fprintf(stderr, "  %-34s %12s %10s %10s %14s\n", "benchmark", "time/call", "GB/s", "x memcpy", "faults/call");
    for (const auto& c : cases_) {
      auto it = measured_.find(c->name);
      if (it == measured_.end()) continue;  // filtered out
      const Measured& m = it->second;
      const std::string ratio = base > 0 ? fmt("%.3f", m.gbps / base) : "-";
      const std::string target =
          c->target > 0 && base > 0 ? fmt("  target >= %g: %s", c->target, m.gbps / base >= c->target ? "met" : "NOT met") : "";
      std::fprintf(stderr, "  %-34s %9.2f ms %10.2f %10s %14.0f%s\n", c->name.c_str(), m.seconds_per_call * 1e3, m.gbps,
                   ratio.c_str(), m.faults_per_call, target.c_str());
    }
  }

  // What `name` measured; nullptr when it did not run (filtered out).
  const Measured* measured(const std::string& name) const {
    auto it = measured_.find(name);
    return it == measured_.end() ? nullptr : &it->second;
  }
  double baseline_gbps() const {
    double b = 0;
    for (const auto& c : cases_)
      if (c->baseline && measured_.count(c->name)) b = std::max(b, measured_.at(c->name).gbps);
    return b;
  }

 private:
  static void copy(const std::vector<float>& src, std::vector<float>& dst, int threads) {
    if (threads == 1) {
      std::memcpy(dst.data(), src.data(), src.size() * sizeof(float));
    } else {
#pragma omp parallel num_threads(threads)
      {
        const size_t n = src.size();
#ifdef _OPENMP
        const size_t t = size_t(omp_get_thread_num()), nt = size_t(omp_get_num_threads());
#else
        const size_t t = 0, nt = 1;
#endif
        const size_t b = n * t / nt, e = n * (t + 1) / nt;
        std::memcpy(dst.data() + b, src.data() + b, (e - b) * sizeof(float));
      }
    }
    benchmark::DoNotOptimize(dst.data());
    benchmark::ClobberMemory();
  }

  template <class... A>
  static std::string fmt(const char* f, A... a) {
    char b[96];
    std::snprintf(b, sizeof b, f, a...);
    return b;
  }

  void time(benchmark::State& st, const Case& c) {
    if (c.setup) c.setup();
    c.call();  // warm-up, untimed
    benchmark::ClobberMemory();
    const long f0 = minor_faults();
    const auto t0 = Clock::now();
    for (auto _ : st) {
      c.call();
      benchmark::ClobberMemory();
    }
    const double secs = secs_since(t0), calls = double(st.iterations());
    if (c.teardown) c.teardown();
    Measured m{secs / calls, c.bytes * calls / secs / 1e9, double(minor_faults() - f0) / calls};
    measured_[c.name] = m;
    st.SetBytesProcessed(int64_t(c.bytes * calls));
    st.counters["GB_per_s"] = m.gbps;
    st.counters["page_faults_per_call"] = m.faults_per_call;
    if (const double base = baseline_gbps(); base > 0) st.counters["ratio_vs_memcpy"] = m.gbps / base;
    for (const auto& [k, v] : c.counters) st.counters[k] = v;
  }

  std::string program_, metric_;
  std::vector<std::shared_ptr<Case>> cases_;
  std::map<std::string, Measured> measured_;
  bool checked_ = false;
};

}  // namespace lowbit::bench
