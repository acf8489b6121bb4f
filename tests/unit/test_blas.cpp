// tests/unit/test_blas.cpp — the BLAS core choice (lowbit/core/blas.hpp): the self-check passes on
// the linked OpenBLAS and refuses kernels that compute something else; the choice keeps the user's
// OPENBLAS_CORETYPE and never moves to a weaker or unknown core.
#include <gtest/gtest.h>

#include <cblas.h>

#include <cmath>
#include <string>

#include "lowbit/core/blas.hpp"

using namespace lowbit;

namespace {

void sgemm(int m, int n, int k, const float* a, const float* b, float* c) {
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1.f, a, k, b, n, 0.f, c, n);
}

CpuFeatures avx512_bf16() {
  CpuFeatures f;
  f.avx = f.avx2 = f.fma = true;
  f.avx512f = f.avx512dq = f.avx512bw = f.avx512vl = f.avx512_bf16 = true;
  return f;
}

}  // namespace

TEST(BlasSelfCheck, PassesOnTheLinkedLibrary) {
  EXPECT_EQ(blas_self_check(), "");
  EXPECT_EQ(blas_self_check(sgemm), "");
  const BlasInfo& b = blas_info();
  EXPECT_EQ(b.vendor, "OpenBLAS");
  EXPECT_FALSE(b.core.empty());
  EXPECT_GE(b.threads, 1);
  EXPECT_NE(blas_summary().find(b.core + " kernels"), std::string::npos) << blas_summary();
}

TEST(BlasSelfCheck, RefusesKernelsThatComputeSomethingElse) {
  // One element off by a part in a thousand: far outside the rounding bound, named in the message.
  const std::string one = blas_self_check([](int m, int n, int k, const float* a, const float* b, float* c) {
    sgemm(m, n, k, a, b, c);
    c[n + 7] *= 1.001f;
  });
  EXPECT_NE(one.find("sgemm"), std::string::npos) << one;
  EXPECT_NE(one.find("C[1][7]"), std::string::npos) << one;
  // The last term of every dot product dropped (an edge-of-tile bug).
  const std::string edge = blas_self_check([](int m, int n, int k, const float* a, const float* b, float* c) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k - 1, 1.f, a, k, b, n, 0.f, c, n);
  });
  EXPECT_NE(edge.find("sgemm"), std::string::npos) << edge;
  // Single precision products accumulated in half precision's spirit: rounding far above f32's.
  const std::string coarse = blas_self_check([](int m, int n, int k, const float* a, const float* b, float* c) {
    sgemm(m, n, k, a, b, c);
    for (int i = 0; i < m * n; ++i) c[i] = std::ldexp(std::round(std::ldexp(c[i], 10)), -10);
  });
  EXPECT_NE(coarse.find("sgemm"), std::string::npos) << coarse;
  // Untouched output (NaN-filled by the check) is refused too.
  EXPECT_NE(blas_self_check([](int, int, int, const float*, const float*, float*) {}), "");
}

TEST(BlasCore, RanksAndTheBestCoreForACpu) {
  EXPECT_EQ(openblas_core_rank("Prescott"), 0);
  EXPECT_EQ(openblas_core_rank("PRESCOTT"), 0);
  EXPECT_EQ(openblas_core_rank("Sandybridge"), 1);
  EXPECT_EQ(openblas_core_rank("Haswell"), 2);
  EXPECT_EQ(openblas_core_rank("Zen"), 2);
  EXPECT_EQ(openblas_core_rank("SkylakeX"), 3);
  EXPECT_EQ(openblas_core_rank("Cooperlake"), 4);
  EXPECT_EQ(openblas_core_rank("NeoverseN1"), -1);
  CpuFeatures f = avx512_bf16();
  EXPECT_EQ(best_openblas_core(f), "Cooperlake");
  f.avx512_bf16 = false;
  EXPECT_EQ(best_openblas_core(f), "SkylakeX");
  f.avx512vl = false;  // OpenBLAS's SkylakeX kernels need F, DQ, BW and VL
  EXPECT_EQ(best_openblas_core(f), "Haswell");
  f = CpuFeatures{};
  f.avx = true;
  EXPECT_EQ(best_openblas_core(f), "Sandybridge");
  EXPECT_EQ(best_openblas_core(CpuFeatures{}), "");
}

TEST(BlasCore, SelectsOnlyWhenTheLoadedCoreIsWeakerAndTheUserDidNotChoose) {
  const CpuFeatures f = avx512_bf16();
  // The development machines' case: an AVX-512 BF16 Xeon detected as Prescott.
  EXPECT_EQ(blas_core_to_select("Prescott", f, nullptr), "Cooperlake");
  EXPECT_EQ(blas_core_to_select("Prescott", f, ""), "Cooperlake");
  EXPECT_EQ(blas_core_to_select("Haswell", f, nullptr), "Cooperlake");
  EXPECT_EQ(blas_core_to_select("Cooperlake", f, nullptr), "");
  EXPECT_EQ(blas_core_to_select("SapphireRapids", f, nullptr), "");  // as good: kept
  EXPECT_EQ(blas_core_to_select("Prescott", f, "Prescott"), "");     // the user's OPENBLAS_CORETYPE stands
  EXPECT_EQ(blas_core_to_select("SomethingNew", f, nullptr), "");    // unknown: never overridden
  EXPECT_EQ(blas_core_to_select("Prescott", CpuFeatures{}, nullptr), "");  // nothing better to run
}
