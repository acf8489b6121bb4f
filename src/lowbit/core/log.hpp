// lowbit/core/log.hpp — logging and progress on stderr (stdout is reserved for results/--json).
// defines: lowbit::log_info, log_warn, log_debug, set_log_level, LogLevel, Progress
#pragma once

#include <chrono>
#include <string>

#include "lowbit/core/error.hpp"

namespace lowbit {

enum class LogLevel { Quiet = 0, Info = 1, Debug = 2 };
void set_log_level(LogLevel l);
LogLevel log_level();
// Prefix "[lowbit] " (+ "[rank N] " when running under MPI with more than one rank).
void log_line(const std::string& level, const std::string& msg);
void set_log_rank(int rank, int size);

template <class... A>
void log_info(const A&... a) {
  if (log_level() >= LogLevel::Info) log_line("", cat(a...));
}
template <class... A>
void log_debug(const A&... a) {
  if (log_level() >= LogLevel::Debug) log_line("debug: ", cat(a...));
}
template <class... A>
void log_warn(const A&... a) {
  log_line("warning: ", cat(a...));
}

// Progress of long work: "<what>: 12/40 windows (30%), 1.2e+03 tok/s, eta 5 s", at most once per
// `interval` seconds and once at the end, so Slurm logs stay readable.
class Progress {
 public:
  Progress(std::string what, long long total, std::string unit, double interval_s = 2.0);
  // Advance by `n` units; `work` is an extra throughput counter (e.g. tokens).
  void step(long long n = 1, long long work = 0);
  void finish();
  double elapsed() const;

 private:
  std::string what_, unit_;
  long long total_, done_ = 0, work_ = 0;
  double interval_;
  std::chrono::steady_clock::time_point start_, last_;
  bool finished_ = false;
  void print(bool final);
};

}  // namespace lowbit
