// kernels/device.cu — device discovery and the NCCL link check. defines: see kernels.hpp
#include <cuda_runtime.h>
#include <nccl.h>

#include "kernels/kernels.hpp"
#include "kernels/check.cuh"

namespace lowbit::cuda {

int device_count() {
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) {
    cudaGetLastError();  // clear the sticky "no driver" error
    return 0;
  }
  return n;
}

std::string device_name(int device) {
  cudaDeviceProp p{};
  LB_CHECK_CUDA(cudaGetDeviceProperties(&p, device));
  return p.name;
}

int nccl_version() {
  int v = 0;
  LB_CHECK_NCCL(ncclGetVersion(&v));
  return v;
}

}  // namespace lowbit::cuda
