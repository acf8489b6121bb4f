// lowbit/dist/comm_nccl.cpp — the NCCL communicator: one GPU per rank, the unique id broadcast over
// the parent (MPI) communicator; host buffers are staged through the device for each collective.
// Compiled whenever CUDA is (LOWBIT_HAVE_CUDA); exercised on a GPU machine only.
// defines: make_nccl
#if defined(LOWBIT_HAVE_CUDA)
#include <cuda_runtime.h>
#include <nccl.h>

#include "lowbit/core/error.hpp"
#include "lowbit/dist/comm.hpp"

namespace lowbit::dist {

namespace {

#define LB_CUDA_OK(x)                                                                         \
  do {                                                                                        \
    cudaError_t e_ = (x);                                                                     \
    if (e_ != cudaSuccess) LB_THROW(InternalError, #x, ": ", cudaGetErrorString(e_));         \
  } while (0)
#define LB_NCCL_OK(x)                                                                         \
  do {                                                                                        \
    ncclResult_t r_ = (x);                                                                    \
    if (r_ != ncclSuccess) LB_THROW(InternalError, #x, ": ", ncclGetErrorString(r_));         \
  } while (0)

class NcclComm final : public Comm {
 public:
  // `owned` (optional) is a parent this communicator keeps alive (the sub-communicators of split).
  explicit NcclComm(Comm& parent, std::unique_ptr<Comm> owned = nullptr) : owned_(std::move(owned)), parent_(parent) {
    int ndev = 0;
    LB_CUDA_OK(cudaGetDeviceCount(&ndev));
    LB_INPUT_CHECK(ndev > 0, "the NCCL communicator needs a GPU and none is visible");
    LB_CUDA_OK(cudaSetDevice(parent.rank() % ndev));
    ncclUniqueId id;
    if (parent.is_root()) LB_NCCL_OK(ncclGetUniqueId(&id));
    parent.broadcast(&id, sizeof id, 0);
    LB_NCCL_OK(ncclCommInitRank(&comm_, parent.size(), id, parent.rank()));
    LB_CUDA_OK(cudaStreamCreate(&stream_));
  }
  ~NcclComm() override {
    if (buf_) cudaFree(buf_);
    cudaStreamDestroy(stream_);
    ncclCommDestroy(comm_);
  }
  int rank() const override { return parent_.rank(); }
  int size() const override { return parent_.size(); }
  std::string backend() const override { return "nccl"; }
  void barrier() override {
    float x = 0;
    allreduce_sum(&x, 1);
  }
  void allreduce_sum(double* b, size_t n) override { reduce(b, n, ncclFloat64, ncclSum); }
  void allreduce_sum(float* b, size_t n) override { reduce(b, n, ncclFloat32, ncclSum); }
  void allreduce_max(double* b, size_t n) override { reduce(b, n, ncclFloat64, ncclMax); }
  void broadcast(void* b, size_t bytes, int root) override {
    CollectiveTimer t(*this);
    void* d = device(bytes);
    LB_CUDA_OK(cudaMemcpyAsync(d, b, bytes, cudaMemcpyHostToDevice, stream_));
    LB_NCCL_OK(ncclBroadcast(d, d, bytes, ncclUint8, root, comm_, stream_));
    LB_CUDA_OK(cudaMemcpyAsync(b, d, bytes, cudaMemcpyDeviceToHost, stream_));
    LB_CUDA_OK(cudaStreamSynchronize(stream_));
  }
  // Variable-size gathers are control traffic: they go over the parent (MPI) communicator.
  std::vector<std::vector<char>> allgather(const std::vector<char>& mine) override { return parent_.allgather(mine); }
  std::unique_ptr<Comm> split(int color, int key) override {
    auto sub = parent_.split(color, key);
    Comm& ref = *sub;
    return std::make_unique<NcclComm>(ref, std::move(sub));
  }
  void* mpi_handle() const override { return parent_.mpi_handle(); }

 private:
  void* device(size_t bytes) {
    if (bytes > cap_) {
      if (buf_) LB_CUDA_OK(cudaFree(buf_));
      LB_CUDA_OK(cudaMalloc(&buf_, bytes));
      cap_ = bytes;
    }
    return buf_;
  }
  void reduce(void* b, size_t n, ncclDataType_t t, ncclRedOp_t op) {
    CollectiveTimer tm(*this);
    const size_t bytes = n * (t == ncclFloat32 ? 4 : 8);
    void* d = device(bytes);
    LB_CUDA_OK(cudaMemcpyAsync(d, b, bytes, cudaMemcpyHostToDevice, stream_));
    LB_NCCL_OK(ncclAllReduce(d, d, n, t, op, comm_, stream_));
    LB_CUDA_OK(cudaMemcpyAsync(b, d, bytes, cudaMemcpyDeviceToHost, stream_));
    LB_CUDA_OK(cudaStreamSynchronize(stream_));
  }
  std::unique_ptr<Comm> owned_;
  Comm& parent_;
  ncclComm_t comm_{};
  cudaStream_t stream_{};
  void* buf_ = nullptr;
  size_t cap_ = 0;
};

}  // namespace

std::unique_ptr<Comm> make_nccl(Comm& parent) { return std::make_unique<NcclComm>(parent); }

}  // namespace lowbit::dist
#endif
