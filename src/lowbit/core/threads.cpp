// lowbit/core/threads.cpp — the thread policy: passive OpenMP waits (by re-execution), threads per
// rank from the user, Slurm or the CPUs per rank. defines: see threads.hpp
#include "lowbit/core/threads.hpp"

#include <omp.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <optional>

#include "lowbit/core/log.hpp"

extern "C" void openblas_set_num_threads(int);

namespace lowbit {

namespace {

// Set beside OMP_WAIT_POLICY by select_wait_policy: the re-executed process knows the value is lowbit's.
constexpr const char* kWaitVar = "LOWBIT_OMP_WAIT";
// Far beyond any node; a larger value is a typo, ignored like a malformed one.
constexpr long kMaxThreads = 4096;

// A positive integer (the first element of a comma-separated list), else 0.
int positive_int(const char* s) {
  if (!s || !*s) return 0;
  char* end = nullptr;
  errno = 0;
  const long v = std::strtol(s, &end, 10);
  if (errno || end == s || (*end && *end != ',') || v < 1 || v > kMaxThreads) return 0;
  return int(v);
}

std::string lower(std::string s) {
  for (char& ch : s) ch = char(std::tolower(static_cast<unsigned char>(ch)));
  return s;
}

int affinity_cpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) != 0) return 1;
  return std::max(1, CPU_COUNT(&set));
}

int online_cpus() { return int(std::max(1L, sysconf(_SC_NPROCESSORS_ONLN))); }

// The policy of this process: decided by settle_thread_policy, or on first use (unit tests).
std::optional<ThreadPolicy>& stored() {
  static std::optional<ThreadPolicy> p;
  return p;
}
ThreadPolicy decide_now() {
  return decide_threads([](const char* k) { return static_cast<const char*>(std::getenv(k)); }, affinity_cpus(),
                        online_cpus());
}

}  // namespace

ThreadPolicy decide_threads(const EnvFn& env, int cpus, int online) {
  ThreadPolicy p;
  p.cpus = std::max(1, cpus);
  p.online_cpus = std::max(p.cpus, online);
  for (const char* k : {"OMPI_COMM_WORLD_LOCAL_SIZE", "MPI_LOCALNRANKS", "SLURM_NTASKS_PER_NODE"})
    if (const int n = positive_int(env(k))) {
      p.local_ranks = n;
      break;
    }
  if (const int n = positive_int(env("OMP_NUM_THREADS"))) {
    p.threads = n;
    p.source = "OMP_NUM_THREADS";
  } else if (const int s = positive_int(env("SLURM_CPUS_PER_TASK"))) {
    p.threads = s;
    p.source = "SLURM_CPUS_PER_TASK";
  } else {
    // A mask smaller than the machine is the share the launcher gave this process; the whole
    // machine is shared by the ranks on this node.
    p.threads = p.cpus < p.online_cpus ? p.cpus : std::max(1, p.cpus / p.local_ranks);
    p.source = "cpus/ranks";
  }
  const char* w = env("OMP_WAIT_POLICY");
  const char* mine = env(kWaitVar);
  if (w && *w) {
    p.wait_policy = lower(w);
    p.wait_source = mine && *mine ? "lowbit" : "user";
  }
  return p;
}

void select_wait_policy(char** argv) {
  const char* w = std::getenv("OMP_WAIT_POLICY");
  if (w && *w) return;  // the user's, or ours after the re-execution
  ::setenv("OMP_WAIT_POLICY", "passive", 1);
  ::setenv(kWaitVar, "1", 1);
  ::execv("/proc/self/exe", argv);
  ::unsetenv("OMP_WAIT_POLICY");
  ::unsetenv(kWaitVar);
  // Debug level: a refused input must stay one line; --version and /run say what ran.
  log_debug("threads: cannot re-execute lowbit with OMP_WAIT_POLICY=passive (", std::strerror(errno),
            "); OpenMP keeps its default wait policy");
}

void settle_thread_policy() {
  const ThreadPolicy& p = stored().emplace(decide_now());
  if (p.source != "OMP_NUM_THREADS") {  // the runtimes already follow the user's OMP_NUM_THREADS
    omp_set_num_threads(p.threads);
    const char* b = std::getenv("OPENBLAS_NUM_THREADS");
    if (!(b && *b)) openblas_set_num_threads(p.threads);
  }
  // libgomp read OMP_WAIT_POLICY when it loaded; children (mpirun, sbatch --export=ALL) decide anew.
  if (p.wait_source == "lowbit") {
    ::unsetenv("OMP_WAIT_POLICY");
    ::unsetenv(kWaitVar);
  }
}

const ThreadPolicy& thread_policy() {
  if (!stored()) stored() = decide_now();
  return *stored();
}

std::string threads_summary() {
  const ThreadPolicy& p = thread_policy();
  std::string s = std::to_string(p.threads) + (p.threads == 1 ? " thread (" : " threads (") + p.source;
  if (p.source == "cpus/ranks")
    s += ": " + std::to_string(p.cpus) + " CPUs, " + std::to_string(p.local_ranks) +
         (p.local_ranks == 1 ? " rank" : " ranks") + " on this node";
  s += "), OpenMP wait " + (p.wait_policy.empty() ? std::string("default (spin, then sleep)") : p.wait_policy);
  if (!p.wait_source.empty()) s += " (set by " + std::string(p.wait_source == "user" ? "OMP_WAIT_POLICY" : "lowbit") + ")";
  return s;
}

}  // namespace lowbit
