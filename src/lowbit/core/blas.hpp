// lowbit/core/blas.hpp — which BLAS kernels run, chosen to fit the CPU and checked before use.
// defines: lowbit::CpuFeatures, BlasInfo, blas_info, openblas_core_rank, best_openblas_core,
//          blas_core_to_select, GemmFn, blas_self_check, select_blas_core
//
// Debian's OpenBLAS is a DYNAMIC_ARCH build: it picks its kernels ("core") from cpuid when the
// library loads. On some CPUs it falls back to a generic core (Intel Xeons with AVX-512 BF16 were
// detected as `Prescott`, SSE3: sgemm at a fifth to a seventh of the machine's rate). The core is
// read once, at load, from OPENBLAS_CORETYPE, so choosing another one means starting the process
// again: select_blas_core() (first thing in main, before MPI_Init and before any BLAS or OpenMP
// call) re-executes lowbit once with OPENBLAS_CORETYPE set to the best core the CPU supports, when
// (and only when) the user did not set OPENBLAS_CORETYPE and the loaded core is weaker. The new
// process runs blas_self_check() (sgemm and ssyrk against a double-precision reference); if the
// check fails it goes back to the detected core, again by re-execution (and warns). BlasInfo says
// what ran: `lowbit --version` prints it, every archive's /run and every --json object record it.
#pragma once

#include <functional>
#include <string>

namespace lowbit {

struct CpuFeatures {
  bool avx = false, avx2 = false, fma = false;
  bool avx512f = false, avx512dq = false, avx512bw = false, avx512vl = false, avx512_bf16 = false;
  static CpuFeatures detect();  // cpuid + xgetbv (the OS must save the AVX/AVX-512 state)
  std::string str() const;      // e.g. "avx2 fma avx512f avx512bw avx512dq avx512vl avx512_bf16"
};

struct BlasInfo {
  std::string vendor;    // "OpenBLAS"
  std::string version;   // "0.3.21"
  std::string config;    // openblas_get_config(): build options and the core
  std::string core;      // the kernels in use, e.g. "Cooperlake"
  std::string detected;  // the core the library chose itself ("" when it was not overridden)
  std::string selection; // "detected", "user" (OPENBLAS_CORETYPE was set), "selected", "refused"
  int threads = 0;
};
// What the process runs now (cheap: cached after the first call, the thread count read each time).
BlasInfo blas_info();

// The rank of an OpenBLAS x86-64 core by the widest vector kernels it has: 0 SSE-class (Prescott,
// Core2, Nehalem, Atom, Opteron, ...), 1 AVX (Sandybridge, Bulldozer, Piledriver), 2 AVX2 (Haswell,
// Zen, Steamroller, Excavator, SkylakeX's smaller sibling names), 3 AVX-512 (SkylakeX), 4 AVX-512 +
// BF16 (Cooperlake, SapphireRapids); -1 for a name not in the table (never overridden).
int openblas_core_rank(const std::string& core);
// The best core of OpenBLAS 0.3.21's x86-64 DYNAMIC_ARCH set that the CPU supports, or "" (no AVX).
std::string best_openblas_core(const CpuFeatures& f);
// The core to re-execute with, or "" to keep the loaded one: "" when the user set OPENBLAS_CORETYPE
// (`env_coretype` non-null and non-empty), when `loaded` is unknown, or when it is already as good.
std::string blas_core_to_select(const std::string& loaded, const CpuFeatures& f, const char* env_coretype);

// C[m×n] = A[m×k]·B[k×n], row-major f32, as cblas_sgemm computes it (the check's subject).
using GemmFn = std::function<void(int m, int n, int k, const float* a, const float* b, float* c)>;
// sgemm (through `gemm`, default cblas_sgemm) and cblas_ssyrk on fixed odd-sized problems against a
// double-precision reference; returns "" when every element is within kBlasCheckRel of the
// reference scale, else one line naming the routine, the element and the values.
std::string blas_self_check(const GemmFn& gemm = nullptr);
// One line: "OpenBLAS 0.3.21, Cooperlake kernels (selected for this CPU; OpenBLAS detected Prescott), 2 threads".
std::string blas_summary();

// See the header comment. `argv` is main's (re-executed as /proc/self/exe argv...). Returns only
// when no re-execution is needed (or exec failed: then it logs and continues with what it has).
void select_blas_core(char** argv);

}  // namespace lowbit
