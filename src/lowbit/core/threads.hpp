// lowbit/core/threads.hpp — one thread policy for OpenMP × OpenBLAS threads × ranks per node.
// defines: lowbit::ThreadPolicy, EnvFn, decide_threads, select_wait_policy, settle_thread_policy,
//          thread_policy, threads_summary
//
// lowbit's arithmetic runs in two thread pools on the same cores: OpenBLAS's (Debian's pthread
// build: every GEMM, every Hessian) and OpenMP's (attention, norms, the per-column loops). Between
// calls each pool's idle threads spin before they sleep (libgomp 300,000 spins when
// OMP_WAIT_POLICY is unset), so the pool that is not working takes the cores from the one that
// is. The policy (docs/ARCHITECTURE.md "Threads"):
//   1. Idle OpenMP threads wait passively (OMP_WAIT_POLICY=passive) unless the user set the
//      variable. libgomp reads it once, when it loads, so select_wait_policy() (first thing in
//      main, before MPI_Init) re-executes lowbit once with it set.
//   2. Threads per rank, the same for both pools: OMP_NUM_THREADS when the user set it (OpenBLAS
//      reads it too, unless OPENBLAS_NUM_THREADS is set); else Slurm's SLURM_CPUS_PER_TASK; else
//      the CPUs this process may run on, divided by the ranks on this node when the launcher did
//      not bind the process to its share (an affinity mask smaller than the machine is a share).
//      Never more threads per node than CPUs: no oversubscription.
// What ran is recorded beside the BLAS: `lowbit --version`, every archive's /run, every --json.
#pragma once

#include <functional>
#include <string>

namespace lowbit {

struct ThreadPolicy {
  int threads = 1;          // OpenMP and OpenBLAS threads of this process
  std::string source;       // "OMP_NUM_THREADS", "SLURM_CPUS_PER_TASK" or "cpus/ranks"
  int cpus = 1;             // CPUs in this process's affinity mask
  int online_cpus = 1;      // CPUs of the machine
  int local_ranks = 1;      // processes of this job on this node (Open MPI / MPICH variables; else 1)
  std::string wait_policy;  // what libgomp runs: "passive", "active" or "" (unset: spin, then sleep)
  std::string wait_source;  // "lowbit" (set by select_wait_policy), "user" or "" (unset)
};

// An environment lookup (getenv, or a table in tests): the value, or nullptr when unset.
using EnvFn = std::function<const char*(const char*)>;
// The policy's rule 2 (and the recorded wait policy) for this environment and machine; pure.
// A malformed OMP_NUM_THREADS or SLURM_CPUS_PER_TASK (not a positive integer) is ignored, as the
// runtimes ignore it; OMP_NUM_THREADS's first list element counts ("4,2" = 4).
ThreadPolicy decide_threads(const EnvFn& env, int cpus, int online_cpus);

// Rule 1: when OMP_WAIT_POLICY is unset, set it to passive and re-execute (argv is main's), once.
// Returns when no re-execution is needed, or when exec failed (logged at debug level; the run
// continues with libgomp's default).
void select_wait_policy(char** argv);
// After select_wait_policy and select_blas_core: records the policy, applies rule 2
// (omp_set_num_threads, openblas_set_num_threads) unless the user chose, and takes lowbit's own
// variables out of the environment so that processes started from here decide for themselves.
void settle_thread_policy();
// The policy this process runs with (decided by settle_thread_policy; decided on first use
// otherwise, e.g. in unit tests).
const ThreadPolicy& thread_policy();
// One line: "2 threads (cpus/ranks: 2 CPUs, 1 rank on this node), OpenMP wait passive (set by lowbit)".
std::string threads_summary();

}  // namespace lowbit
