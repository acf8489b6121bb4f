// lowbit/dist/comm_mpi.cpp — the MPI communicator (Open MPI, CPU buffers) and the world factory.
// defines: launched_under_mpi, make_world, the MPI backend
#include <mpi.h>

#include <algorithm>
#include <cstdlib>

#include "lowbit/core/error.hpp"
#include "lowbit/dist/comm.hpp"

namespace lowbit::dist {

namespace {

void mpi_check(int rc, const char* what) {
  if (rc == MPI_SUCCESS) return;
  char msg[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(rc, msg, &len);
  LB_THROW(InternalError, what, " failed: ", std::string(msg, size_t(len)));
}

class MpiComm final : public Comm {
 public:
  explicit MpiComm(MPI_Comm c, bool owned) : c_(c), owned_(owned) {
    MPI_Comm_rank(c_, &rank_);
    MPI_Comm_size(c_, &size_);
  }
  ~MpiComm() override {
    int fin = 0;
    MPI_Finalized(&fin);
    if (owned_ && !fin) MPI_Comm_free(&c_);
  }
  int rank() const override { return rank_; }
  int size() const override { return size_; }
  std::string backend() const override { return "mpi"; }
  void barrier() override {
    CollectiveTimer t(*this);
    mpi_check(MPI_Barrier(c_), "MPI_Barrier");
  }
  void allreduce_sum(double* b, size_t n) override { reduce(b, n, MPI_DOUBLE, MPI_SUM); }
  void allreduce_sum(float* b, size_t n) override { reduce(b, n, MPI_FLOAT, MPI_SUM); }
  void allreduce_max(double* b, size_t n) override { reduce(b, n, MPI_DOUBLE, MPI_MAX); }
  void broadcast(void* buf, size_t bytes, int root) override {
    CollectiveTimer t(*this);
    // MPI counts are int: send large buffers in pieces (every rank passes the same byte count).
    char* p = static_cast<char*>(buf);
    for (size_t off = 0; off < bytes; off += kChunk)
      mpi_check(MPI_Bcast(p + off, int(std::min(kChunk, bytes - off)), MPI_BYTE, root, c_), "MPI_Bcast");
  }
  std::vector<std::vector<char>> allgather(const std::vector<char>& mine) override {
    CollectiveTimer t(*this);
    long long n = (long long)mine.size();
    std::vector<long long> sizes(static_cast<size_t>(size_), 0);
    mpi_check(MPI_Allgather(&n, 1, MPI_LONG_LONG, sizes.data(), 1, MPI_LONG_LONG, c_), "MPI_Allgather");
    std::vector<std::vector<char>> out(static_cast<size_t>(size_));
    long long total = 0;
    for (long long x : sizes) total += x;
    if (total < (1LL << 31) - 1) {
      // One MPI_Allgatherv into a contiguous buffer (counts and displacements fit in int).
      std::vector<int> counts(static_cast<size_t>(size_)), displs(static_cast<size_t>(size_));
      for (int r = 0, off = 0; r < size_; ++r) {
        counts[size_t(r)] = int(sizes[size_t(r)]);
        displs[size_t(r)] = off;
        off += counts[size_t(r)];
      }
      std::vector<char> all(static_cast<size_t>(std::max<long long>(total, 1)));
      mpi_check(MPI_Allgatherv(mine.data(), int(mine.size()), MPI_BYTE, all.data(), counts.data(), displs.data(),
                               MPI_BYTE, c_),
                "MPI_Allgatherv");
      for (int r = 0; r < size_; ++r)
        out[size_t(r)].assign(all.begin() + displs[size_t(r)], all.begin() + displs[size_t(r)] + counts[size_t(r)]);
      return out;
    }
    for (int r = 0; r < size_; ++r) {  // very large: one broadcast per rank, in 1 GiB pieces
      out[size_t(r)].resize(size_t(sizes[size_t(r)]));
      if (r == rank_) out[size_t(r)] = mine;
      char* p = out[size_t(r)].data();
      for (long long off = 0; off < sizes[size_t(r)]; off += (long long)kChunk) {
        const int len = int(std::min<long long>((long long)kChunk, sizes[size_t(r)] - off));
        mpi_check(MPI_Bcast(p + off, len, MPI_BYTE, r, c_), "MPI_Bcast (allgather)");
      }
    }
    return out;
  }
  std::unique_ptr<Comm> split(int color, int key) override {
    MPI_Comm nc;
    mpi_check(MPI_Comm_split(c_, color, key, &nc), "MPI_Comm_split");
    return std::make_unique<MpiComm>(nc, true);
  }
  void* mpi_handle() const override { return const_cast<MPI_Comm*>(&c_); }

 private:
  static constexpr size_t kChunk = size_t(1) << 30;
  void reduce(void* b, size_t n, MPI_Datatype t, MPI_Op op) {
    CollectiveTimer tm(*this);
    const size_t es = (t == MPI_FLOAT) ? 4 : 8, per = kChunk / es;
    for (size_t off = 0; off < n; off += per)
      mpi_check(MPI_Allreduce(MPI_IN_PLACE, static_cast<char*>(b) + off * es, int(std::min(per, n - off)), t, op, c_),
                "MPI_Allreduce");
  }
  MPI_Comm c_;
  bool owned_;
  int rank_ = 0, size_ = 1;
};

void finalize_at_exit() {
  int fin = 0;
  MPI_Finalized(&fin);
  if (!fin) MPI_Finalize();
}

}  // namespace

bool launched_under_mpi() {
  for (const char* v : {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", "PMI_SIZE", "MPI_LOCALNRANKS"})
    if (std::getenv(v)) return true;
  return false;
}

std::unique_ptr<Comm> make_world(const std::string& force) {
  LB_INPUT_CHECK(force.empty() || force == "serial" || force == "mpi", "--comm '", force,
                 "' is not a communicator (serial, mpi)");
  const bool mpi = force == "mpi" || (force.empty() && launched_under_mpi());
  if (!mpi) return make_serial();
  int inited = 0;
  MPI_Initialized(&inited);
  if (!inited) {
    int provided = 0;
    mpi_check(MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided), "MPI_Init_thread");
    std::atexit(finalize_at_exit);
  }
  return std::make_unique<MpiComm>(MPI_COMM_WORLD, false);
}

}  // namespace lowbit::dist
