// tests/unit/test_threads.cpp — the thread policy's rule for threads per rank (core/threads.hpp):
// the user's OMP_NUM_THREADS first, then Slurm's SLURM_CPUS_PER_TASK, then the CPUs per rank on
// this node, never more threads per node than CPUs; malformed values are ignored as the runtimes
// ignore them; the wait policy records whose it is.
#include <gtest/gtest.h>

#include <map>
#include <string>

#include "lowbit/core/threads.hpp"

using namespace lowbit;

namespace {

ThreadPolicy decide(const std::map<std::string, std::string>& env, int cpus, int online) {
  return decide_threads(
      [&](const char* k) -> const char* {
        const auto it = env.find(k);
        return it == env.end() ? nullptr : it->second.c_str();
      },
      cpus, online);
}

}  // namespace

TEST(ThreadPolicy, TheUsersOmpNumThreadsWins) {
  const auto p = decide({{"OMP_NUM_THREADS", "3"}, {"SLURM_CPUS_PER_TASK", "8"}, {"OMPI_COMM_WORLD_LOCAL_SIZE", "4"}}, 16, 16);
  EXPECT_EQ(p.threads, 3);
  EXPECT_EQ(p.source, "OMP_NUM_THREADS");
  EXPECT_EQ(decide({{"OMP_NUM_THREADS", "4,2"}}, 8, 8).threads, 4);  // a nested list: the outer level
}

TEST(ThreadPolicy, SlurmsCpusPerTaskComesNext) {
  const auto p = decide({{"SLURM_CPUS_PER_TASK", "6"}, {"OMPI_COMM_WORLD_LOCAL_SIZE", "2"}}, 12, 12);
  EXPECT_EQ(p.threads, 6);
  EXPECT_EQ(p.source, "SLURM_CPUS_PER_TASK");
  EXPECT_EQ(p.local_ranks, 2);
}

TEST(ThreadPolicy, UnboundRanksShareTheMachineWithoutOversubscribing) {
  for (const char* var : {"OMPI_COMM_WORLD_LOCAL_SIZE", "MPI_LOCALNRANKS", "SLURM_NTASKS_PER_NODE"}) {
    const auto p = decide({{var, "4"}}, 16, 16);
    EXPECT_EQ(p.threads, 4) << var;
    EXPECT_EQ(p.source, "cpus/ranks");
    EXPECT_EQ(p.local_ranks, 4);
  }
  EXPECT_EQ(decide({{"OMPI_COMM_WORLD_LOCAL_SIZE", "4"}}, 2, 2).threads, 1);  // more ranks than CPUs: one each
  EXPECT_EQ(decide({}, 8, 8).threads, 8);                                     // one process: the machine
}

TEST(ThreadPolicy, ABoundProcessUsesItsWholeShare) {
  // mpirun --bind-to core gives each of 4 ranks a mask of 2 of 8 CPUs: the mask is the share.
  const auto p = decide({{"OMPI_COMM_WORLD_LOCAL_SIZE", "4"}}, 2, 8);
  EXPECT_EQ(p.threads, 2);
  EXPECT_EQ(p.cpus, 2);
  EXPECT_EQ(p.online_cpus, 8);
}

TEST(ThreadPolicy, MalformedCountsAreIgnored) {
  for (const char* bad : {"", "0", "-2", "two", "3x", "99999999999999999999", "5000"}) {
    const auto p = decide({{"OMP_NUM_THREADS", bad}, {"SLURM_CPUS_PER_TASK", bad}}, 4, 4);
    EXPECT_EQ(p.threads, 4) << "'" << bad << "'";
    EXPECT_EQ(p.source, "cpus/ranks") << "'" << bad << "'";
  }
}

TEST(ThreadPolicy, TheWaitPolicyRecordsWhoseItIs) {
  EXPECT_EQ(decide({}, 2, 2).wait_policy, "");
  EXPECT_EQ(decide({}, 2, 2).wait_source, "");
  const auto mine = decide({{"OMP_WAIT_POLICY", "passive"}, {"LOWBIT_OMP_WAIT", "1"}}, 2, 2);
  EXPECT_EQ(mine.wait_policy, "passive");
  EXPECT_EQ(mine.wait_source, "lowbit");
  const auto user = decide({{"OMP_WAIT_POLICY", "ACTIVE"}}, 2, 2);
  EXPECT_EQ(user.wait_policy, "active");
  EXPECT_EQ(user.wait_source, "user");
}
