// lowbit/dist/comm.hpp — the communicator: one interface, three backends (serial, MPI on CPU buffers,
// NCCL between GPUs). Everything lowbit reduces across ranks goes through it, and it keeps the time
// spent in collectives so runs can report their share.
// defines: lowbit::dist::Comm, make_world, launched_under_mpi, CollectiveTimer
//
// Reductions whose result must not depend on the number of ranks do not use allreduce_sum on
// partial sums (MPI may reduce in any order); they use tree_reduce.hpp, which gathers partials of a
// canonical tree and combines them in the same order on every rank. allreduce_sum is exact when
// every entry is non-zero on at most one rank ("reduce-by-ownership"), which is how per-item
// results (one owner each) are assembled.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace lowbit::dist {

class Comm {
 public:
  virtual ~Comm() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  virtual std::string backend() const = 0;  // "serial" | "mpi" | "nccl"
  virtual void barrier() = 0;
  virtual void allreduce_sum(double* buf, size_t n) = 0;
  virtual void allreduce_sum(float* buf, size_t n) = 0;
  virtual void allreduce_max(double* buf, size_t n) = 0;
  virtual void broadcast(void* buf, size_t bytes, int root) = 0;
  // Every rank contributes `mine`; every rank receives all contributions in rank order.
  virtual std::vector<std::vector<char>> allgather(const std::vector<char>& mine) = 0;
  // Ranks with the same colour form a new communicator, ordered by key (then by old rank).
  virtual std::unique_ptr<Comm> split(int color, int key) = 0;
  // The underlying MPI communicator (MPI_Comm as an integer handle for Open MPI it is a pointer),
  // or nullptr for serial; the archive uses it to open files with the MPI-IO driver.
  virtual void* mpi_handle() const { return nullptr; }

  bool is_root() const { return rank() == 0; }
  double collective_seconds() const { return coll_seconds_; }
  long long collective_calls() const { return coll_calls_; }

  // Typed helpers on top of the virtual core.
  template <class T>
  void broadcast_vector(std::vector<T>& v, int root) {
    uint64_t n = v.size();
    broadcast(&n, sizeof n, root);
    v.resize(size_t(n));
    if (n) broadcast(v.data(), size_t(n) * sizeof(T), root);
  }
  void broadcast_string(std::string& s, int root) {
    std::vector<char> v(s.begin(), s.end());
    broadcast_vector(v, root);
    s.assign(v.begin(), v.end());
  }
  double allreduce_sum(double x) { allreduce_sum(&x, 1); return x; }
  double allreduce_max(double x) { allreduce_max(&x, 1); return x; }

 protected:
  double coll_seconds_ = 0;
  long long coll_calls_ = 0;
  friend class CollectiveTimer;
};

// RAII: adds the wall time of one collective to the communicator's account.
class CollectiveTimer {
 public:
  explicit CollectiveTimer(Comm& c);
  ~CollectiveTimer();
 private:
  Comm& c_;
  double t0_;
};

// True when this process was started by an MPI launcher (mpirun/mpiexec, or srun with PMIx/PMI2).
bool launched_under_mpi();
// The world: MPI when launched under an MPI launcher (MPI_Init is called here; finalized at exit),
// otherwise serial. `force` = "serial" | "mpi" | "" (auto).
std::unique_ptr<Comm> make_world(const std::string& force = "");
std::unique_ptr<Comm> make_serial();
#if defined(LOWBIT_HAVE_CUDA)
// NCCL communicator over the ranks of `parent` (an MPI communicator: the unique id is broadcast
// over it), one GPU per rank (device = local rank % device count). Reductions stage host buffers
// through the device. Throws when no GPU is visible.
std::unique_ptr<Comm> make_nccl(Comm& parent);
#endif

}  // namespace lowbit::dist
