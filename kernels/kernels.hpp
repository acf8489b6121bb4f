// kernels/kernels.hpp — host entry points of lowbit's CUDA kernels (kernels are static inside the
// .cu files). Each kernel's CPU reference is named beside its declaration; tests compare the two.
// defines: lowbit::cuda::device_count, device_name, nccl_version, rms_norm
#pragma once

#include <cstdint>
#include <string>

namespace lowbit::cuda {

// Number of usable CUDA devices (0 when there is no driver or no GPU; never throws).
int device_count();
std::string device_name(int device);
// NCCL version as NCCL_VERSION_CODE (e.g. 22800), proving the library links.
int nccl_version();

// y = RMSNorm(x) * w over rows of length d, host buffers in and out.
// CPU reference: lowbit::rms_norm in src/lowbit/model/forward.cpp.
void rms_norm(const float* x, const float* w, float* y, int64_t rows, int64_t d, float eps);

}  // namespace lowbit::cuda
