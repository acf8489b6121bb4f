// kernels/check.cuh — LB_CHECK_CUDA / LB_CHECK_NCCL: evaluate the call once and throw
// lowbit::InternalError with the call text, file:line and the library's message.
// defines: LB_CHECK_CUDA, LB_CHECK_NCCL
#pragma once

#include <cuda_runtime.h>
#include <nccl.h>

#include "lowbit/core/error.hpp"

#define LB_CHECK_CUDA(call)                                                                    \
  do {                                                                                         \
    cudaError_t lb_err_ = (call);                                                              \
    if (lb_err_ != cudaSuccess)                                                                \
      LB_THROW(InternalError, "CUDA call ", #call, " failed: ", cudaGetErrorString(lb_err_)); \
  } while (0)

#define LB_CHECK_NCCL(call)                                                                    \
  do {                                                                                         \
    ncclResult_t lb_err_ = (call);                                                             \
    if (lb_err_ != ncclSuccess)                                                                \
      LB_THROW(InternalError, "NCCL call ", #call, " failed: ", ncclGetErrorString(lb_err_));  \
  } while (0)
