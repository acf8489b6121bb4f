// tests/unit/test_cuda.cpp — CUDA kernels against their CPU references (skipped without a GPU;
// always compiled when CUDA is). Tolerances: see tests/unit/tolerances.hpp.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "lowbit/model/forward.hpp"
#include "tolerances.hpp"
#ifdef LOWBIT_HAVE_CUDA
#include "kernels/kernels.hpp"
#endif

namespace {

#ifdef LOWBIT_HAVE_CUDA
TEST(Cuda, NcclLinks) { EXPECT_GE(lowbit::cuda::nccl_version(), 20000); }

TEST(Cuda, RmsNormMatchesCpu) {
  if (lowbit::cuda::device_count() == 0) GTEST_SKIP() << "no CUDA device on this machine";
  std::mt19937 rng(7);
  std::normal_distribution<float> nd;
  for (auto [rows, d] : {std::pair<int64_t, int64_t>{1, 1}, {3, 257}, {17, 64}, {5, 4099}}) {
    std::vector<float> x(static_cast<size_t>(rows * d)), w(static_cast<size_t>(d)), y_cpu(x.size()), y_gpu(x.size());
    for (auto& v : x) v = nd(rng);
    for (auto& v : w) v = nd(rng);
    lowbit::rms_norm(x.data(), w.data(), y_cpu.data(), rows, d, 1e-5f);
    lowbit::cuda::rms_norm(x.data(), w.data(), y_gpu.data(), rows, d, 1e-5f);
    double num = 0, den = 0;
    for (size_t i = 0; i < x.size(); ++i) {
      ASSERT_TRUE(std::isfinite(y_gpu[i]));
      num += (y_cpu[i] - y_gpu[i]) * (y_cpu[i] - y_gpu[i]);
      den += y_cpu[i] * y_cpu[i];
    }
    ASSERT_GT(den, 0.0);
    EXPECT_LT(num / den, lowbit::tol::kNmseF32Kernel) << rows << "x" << d;
  }
}
#else
TEST(Cuda, NotBuilt) { GTEST_SKIP() << "built without CUDA (LOWBIT_CUDA=OFF or no nvcc)"; }
#endif

}  // namespace
