// lowbit/core/blas.cpp — BLAS core selection and self-check. defines: see blas.hpp
#include "lowbit/core/blas.hpp"

#include <cblas.h>
#include <unistd.h>
#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <map>
#include <utility>
#include <vector>

#include "lowbit/core/error.hpp"
#include "lowbit/core/log.hpp"

namespace lowbit {

namespace {

// The environment variable that marks a re-executed process: the core OpenBLAS detected in the
// first process ("<core>"), or "<core>:refused" after a failed self-check.
constexpr const char* kReexecVar = "LOWBIT_BLAS_DETECTED";

#if defined(__x86_64__) || defined(__i386__)
uint64_t xgetbv0() {
  uint32_t lo = 0, hi = 0;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return (uint64_t(hi) << 32) | lo;
}
#endif

// The version number out of openblas_get_config() ("OpenBLAS 0.3.21 NO_LAPACKE DYNAMIC_ARCH ...").
std::string version_of(const std::string& config) {
  const size_t sp = config.find(' ');
  if (sp == std::string::npos) return "";
  const size_t end = config.find(' ', sp + 1);
  return config.substr(sp + 1, end == std::string::npos ? std::string::npos : end - sp - 1);
}

}  // namespace

CpuFeatures CpuFeatures::detect() {
  CpuFeatures f;
#if defined(__x86_64__) || defined(__i386__)
  unsigned a = 0, b = 0, c = 0, d = 0;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return f;
  const bool osxsave = c & (1u << 27), avx_cpu = c & (1u << 28);
  f.fma = c & (1u << 12);
  const uint64_t xcr0 = osxsave ? xgetbv0() : 0;
  const bool ymm = (xcr0 & 0x6) == 0x6, zmm = (xcr0 & 0xE6) == 0xE6;  // SSE+AVX state; + opmask, ZMM
  f.avx = avx_cpu && ymm;
  f.fma = f.fma && f.avx;
  if (__get_cpuid_count(7, 0, &a, &b, &c, &d)) {
    f.avx2 = f.avx && (b & (1u << 5));
    f.avx512f = zmm && (b & (1u << 16));
    f.avx512dq = f.avx512f && (b & (1u << 17));
    f.avx512bw = f.avx512f && (b & (1u << 30));
    f.avx512vl = f.avx512f && (b & (1u << 31));
    if (a >= 1 && __get_cpuid_count(7, 1, &a, &b, &c, &d)) f.avx512_bf16 = f.avx512f && (a & (1u << 5));
  }
#endif
  return f;
}

std::string CpuFeatures::str() const {
  std::string s;
  auto add = [&](bool on, const char* n) {
    if (!on) return;
    if (!s.empty()) s += ' ';
    s += n;
  };
  add(avx, "avx");
  add(avx2, "avx2");
  add(fma, "fma");
  add(avx512f, "avx512f");
  add(avx512dq, "avx512dq");
  add(avx512bw, "avx512bw");
  add(avx512vl, "avx512vl");
  add(avx512_bf16, "avx512_bf16");
  return s.empty() ? "sse-class" : s;
}

int openblas_core_rank(const std::string& core) {
  // OpenBLAS's corename[] for x86-64 DYNAMIC_ARCH builds (driver/others/dynamic.c), by vector width.
  static const std::map<std::string, int> rank = {
      {"katmai", 0},      {"coppermine", 0}, {"northwood", 0},  {"prescott", 0},   {"banias", 0},
      {"atom", 0},        {"core2", 0},      {"penryn", 0},     {"dunnington", 0}, {"nehalem", 0},
      {"athlon", 0},      {"opteron", 0},    {"opteron_sse3", 0}, {"barcelona", 0}, {"nano", 0},
      {"bobcat", 0},      {"sandybridge", 1}, {"bulldozer", 1}, {"piledriver", 1}, {"haswell", 2},
      {"steamroller", 2}, {"excavator", 2},  {"zen", 2},        {"skylakex", 3},   {"cooperlake", 4},
      {"sapphirerapids", 4}};
  std::string k;
  for (char ch : core) k.push_back(char(std::tolower(static_cast<unsigned char>(ch))));
  auto it = rank.find(k);
  return it == rank.end() ? -1 : it->second;
}

std::string best_openblas_core(const CpuFeatures& f) {
  const bool avx512 = f.avx512f && f.avx512dq && f.avx512bw && f.avx512vl;  // OpenBLAS's SkylakeX set
  if (avx512 && f.avx512_bf16) return "Cooperlake";
  if (avx512) return "SkylakeX";
  if (f.avx2 && f.fma) return "Haswell";
  if (f.avx) return "Sandybridge";
  return "";
}

std::string blas_core_to_select(const std::string& loaded, const CpuFeatures& f, const char* env_coretype) {
  if (env_coretype && *env_coretype) return "";  // the user's choice stands
  const int have = openblas_core_rank(loaded);
  if (have < 0) return "";                       // a core this table does not know: leave it
  const std::string best = best_openblas_core(f);
  if (best.empty() || openblas_core_rank(best) <= have) return "";
  return best;
}

std::string blas_self_check(const GemmFn& gemm_in) {
  // Any summation order of a k-term f32 dot product is within γ_k·Σ|a_i·b_i| of the exact value
  // (γ_k = k·u/(1 − k·u), u = 2⁻²⁴; Higham, Accuracy and Stability, §3.1): twice that is the bound.
  // A kernel that computes the wrong thing (wrong element, dropped term, garbage) is far outside it.
  const GemmFn gemm = gemm_in ? gemm_in : GemmFn([](int m, int n, int k, const float* a, const float* b, float* c) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1.f, a, k, b, n, 0.f, c, n);
  });
  constexpr double kU = 1.0 / 16777216.0;
  auto bound = [&](int k, double absdot) { return 2.0 * (k * kU / (1 - k * kU)) * absdot + 1e-30; };
  uint64_t state = 0x9E3779B97F4A7C15ULL;
  auto next = [&] {  // splitmix64 → uniform in [-1, 1)
    uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    z ^= z >> 31;
    return float(double(z >> 11) / double(1ULL << 52) - 1.0);
  };
  // sgemm: sizes that are not multiples of any kernel's tile, so edge code runs too.
  const int m = 67, n = 45, k = 83;
  std::vector<float> a(size_t(m * k)), b(size_t(k * n)), c(size_t(m * n), std::nanf(""));
  for (auto& v : a) v = next();
  for (auto& v : b) v = next();
  // The exact-product sum Σ_p term(p) in double and Σ_p |term(p)|, for the bound.
  auto reference = [](int terms, const auto& term) {
    double ref = 0, absdot = 0;
    for (int p = 0; p < terms; ++p) {
      const double t = term(p);
      ref += t;
      absdot += std::fabs(t);
    }
    return std::pair<double, double>{ref, absdot};
  };
  gemm(m, n, k, a.data(), b.data(), c.data());
  for (int i = 0; i < m; ++i)
    for (int j = 0; j < n; ++j) {
      const auto [ref, absdot] = reference(k, [&](int p) { return double(a[size_t(i * k + p)]) * b[size_t(p * n + j)]; });
      const double got = c[size_t(i * n + j)];
      if (!(std::fabs(got - ref) <= bound(k, absdot)))
        return cat("sgemm ", m, "x", n, "x", k, ": C[", i, "][", j, "] = ", got, ", reference ", ref);
    }
  // ssyrk (the Hessian's routine): C = Aᵀ·A, upper triangle, A [k2 × n2] row-major.
  const int n2 = 53, k2 = 71;
  std::vector<float> x(size_t(k2 * n2)), h(size_t(n2 * n2), 0.f);
  for (auto& v : x) v = next();
  cblas_ssyrk(CblasRowMajor, CblasUpper, CblasTrans, n2, k2, 1.f, x.data(), n2, 0.f, h.data(), n2);
  for (int i = 0; i < n2; ++i)
    for (int j = i; j < n2; ++j) {
      const auto [ref, absdot] =
          reference(k2, [&](int p) { return double(x[size_t(p * n2 + i)]) * x[size_t(p * n2 + j)]; });
      const double got = h[size_t(i * n2 + j)];
      if (!(std::fabs(got - ref) <= bound(k2, absdot)))
        return cat("ssyrk ", n2, "x", k2, ": C[", i, "][", j, "] = ", got, ", reference ", ref);
    }
  return "";
}

BlasInfo blas_info() {
  static const BlasInfo info = [] {
    BlasInfo i;
    i.config = openblas_get_config();
    i.vendor = "OpenBLAS";
    i.version = version_of(i.config);
    i.core = openblas_get_corename();
    const char* re = std::getenv(kReexecVar);
    const char* env = std::getenv("OPENBLAS_CORETYPE");
    if (re && *re) {
      const std::string r = re;
      const size_t colon = r.find(':');
      i.detected = r.substr(0, colon);
      i.selection = colon == std::string::npos ? "selected" : "refused";
    } else {
      i.selection = env && *env ? "user" : "detected";
    }
    return i;
  }();
  BlasInfo now = info;
  now.threads = openblas_get_num_threads();  // the thread policy may set it after the first call
  return now;
}


std::string blas_summary() {
  const BlasInfo& b = blas_info();
  std::string why = b.selection == "user"       ? "set by OPENBLAS_CORETYPE"
                    : b.selection == "selected" ? "selected for this CPU; OpenBLAS detected " + b.detected
                    : b.selection == "refused"  ? "the selected kernels failed the self-check"
                                                : "detected by OpenBLAS";
  return cat(b.vendor, " ", b.version, ", ", b.core, " kernels (", why, "), ", b.threads, " thread",
             b.threads == 1 ? "" : "s");
}

void select_blas_core(char** argv) {
  const char* re = std::getenv(kReexecVar);
  if (re && *re) {  // the re-executed process: check what was selected (once per process)
    const std::string r = re;
    if (r.find(':') != std::string::npos) {
      log_warn("blas: OpenBLAS's self-check failed on the kernels chosen for this CPU; using the detected ",
               openblas_get_corename(), " kernels");
    } else if (const std::string problem = blas_self_check(); !problem.empty()) {
      // Back to the detected core, named explicitly so this process does not select again.
      ::setenv("OPENBLAS_CORETYPE", r.c_str(), 1);
      ::setenv(kReexecVar, (r + ":refused").c_str(), 1);
      log_warn("blas: self-check of OpenBLAS's ", openblas_get_corename(), " kernels failed (", problem, ")");
      ::execv("/proc/self/exe", argv);
      log_warn("blas: cannot re-execute lowbit (", std::strerror(errno), "); continuing");
      ::setenv(kReexecVar, r.c_str(), 1);  // what runs is still the selected core
    }
    // Record what runs (blas_info reads these variables once), then take them out of the
    // environment: the library read OPENBLAS_CORETYPE when it loaded and never again, and processes
    // started from here (mpirun, sbatch with --export=ALL onto a node with another CPU) must detect
    // for themselves.
    (void)blas_info();
    ::unsetenv("OPENBLAS_CORETYPE");
    ::unsetenv(kReexecVar);
    return;
  }
  const CpuFeatures f = CpuFeatures::detect();
  const std::string loaded = openblas_get_corename();
  const std::string best = blas_core_to_select(loaded, f, std::getenv("OPENBLAS_CORETYPE"));
  if (best.empty()) return;
  // Debug level: this runs before the command's --quiet/--verbose are read, and a refused input
  // must stay one line. `lowbit --version`, every archive's /run and every --json say what ran.
  log_debug("blas: OpenBLAS chose its ", loaded, " kernels on a CPU with ", f.str(), "; restarting with ", best,
            " (set OPENBLAS_CORETYPE to choose yourself)");
  ::setenv("OPENBLAS_CORETYPE", best.c_str(), 1);
  ::setenv(kReexecVar, loaded.c_str(), 1);
  ::execv("/proc/self/exe", argv);
  ::unsetenv("OPENBLAS_CORETYPE");
  ::unsetenv(kReexecVar);
  log_warn("blas: cannot re-execute lowbit (", std::strerror(errno), "); continuing with ", loaded);
}

}  // namespace lowbit
