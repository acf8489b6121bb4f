// kernels/rmsnorm.cu — RMSNorm on the GPU, one block per row. CPU reference: lowbit::rms_norm.
// defines: lowbit::cuda::rms_norm (host entry point; the kernel is static)
#include <cuda_runtime.h>

#include "kernels/check.cuh"
#include "kernels/kernels.hpp"

namespace lowbit::cuda {

namespace {
constexpr int kThreads = 256;

__global__ void rms_norm_kernel(const float* x, const float* w, float* y, int64_t d, float eps) {
  const int64_t r = blockIdx.x;
  const float* xr = x + r * d;
  float* yr = y + r * d;
  __shared__ double partial[kThreads];
  double ss = 0;
  for (int64_t i = threadIdx.x; i < d; i += blockDim.x) ss += double(xr[i]) * xr[i];
  partial[threadIdx.x] = ss;
  __syncthreads();
  for (int s = blockDim.x / 2; s > 0; s >>= 1) {
    if (threadIdx.x < s) partial[threadIdx.x] += partial[threadIdx.x + s];
    __syncthreads();
  }
  const float inv = float(1.0 / sqrt(partial[0] / double(d) + double(eps)));
  for (int64_t i = threadIdx.x; i < d; i += blockDim.x) yr[i] = xr[i] * inv * w[i];
}
}  // namespace

void rms_norm(const float* x, const float* w, float* y, int64_t rows, int64_t d, float eps) {
  float *dx = nullptr, *dw = nullptr, *dy = nullptr;
  const size_t nx = size_t(rows * d) * sizeof(float), nw = size_t(d) * sizeof(float);
  LB_CHECK_CUDA(cudaMalloc(&dx, nx));
  LB_CHECK_CUDA(cudaMalloc(&dw, nw));
  LB_CHECK_CUDA(cudaMalloc(&dy, nx));
  LB_CHECK_CUDA(cudaMemcpy(dx, x, nx, cudaMemcpyHostToDevice));
  LB_CHECK_CUDA(cudaMemcpy(dw, w, nw, cudaMemcpyHostToDevice));
  if (rows > 0) rms_norm_kernel<<<unsigned(rows), kThreads>>>(dx, dw, dy, d, eps);
  LB_CHECK_CUDA(cudaGetLastError());
  LB_CHECK_CUDA(cudaMemcpy(y, dy, nx, cudaMemcpyDeviceToHost));
  cudaFree(dx);
  cudaFree(dw);
  cudaFree(dy);
}

}  // namespace lowbit::cuda
