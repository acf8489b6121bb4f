// lowbit/core/log.cpp — stderr logging and progress. defines: see log.hpp
#include "lowbit/core/log.hpp"

#include <cstdio>

namespace lowbit {

namespace {
LogLevel g_level = LogLevel::Info;  // set once by the CLI from --quiet/--verbose
int g_rank = 0, g_size = 1;
}  // namespace

void set_log_level(LogLevel l) { g_level = l; }
LogLevel log_level() { return g_level; }
void set_log_rank(int rank, int size) {
  g_rank = rank;
  g_size = size;
}

void log_line(const std::string& level, const std::string& msg) {
  std::string line = "[lowbit] ";
  if (g_size > 1) line += "[rank " + std::to_string(g_rank) + "] ";
  line += level + msg + "\n";
  std::fputs(line.c_str(), stderr);
}

Progress::Progress(std::string what, long long total, std::string unit, double interval_s)
    : what_(std::move(what)), unit_(std::move(unit)), total_(total), interval_(interval_s) {
  start_ = last_ = std::chrono::steady_clock::now();
}

double Progress::elapsed() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

void Progress::step(long long n, long long work) {
  done_ += n;
  work_ += work;
  auto now = std::chrono::steady_clock::now();
  if (std::chrono::duration<double>(now - last_).count() >= interval_) {
    last_ = now;
    print(false);
  }
}

void Progress::finish() {
  if (finished_) return;
  finished_ = true;
  print(true);
}

void Progress::print(bool final) {
  if (log_level() < LogLevel::Info) return;
  const double t = elapsed();
  char buf[256];
  const double pct = total_ > 0 ? 100.0 * double(done_) / double(total_) : 100.0;
  int n = std::snprintf(buf, sizeof buf, "%s: %lld/%lld %s (%.0f%%)", what_.c_str(), done_, total_, unit_.c_str(), pct);
  if (work_ > 0 && t > 0) n += std::snprintf(buf + n, sizeof buf - size_t(n), ", %.3g tok/s", double(work_) / t);
  if (final)
    std::snprintf(buf + n, sizeof buf - size_t(n), ", done in %.2f s", t);
  else if (done_ > 0 && total_ > done_)
    std::snprintf(buf + n, sizeof buf - size_t(n), ", eta %.0f s", t / double(done_) * double(total_ - done_));
  log_line("", buf);
}

}  // namespace lowbit
