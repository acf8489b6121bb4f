// lowbit/compress/rtn.cpp — round-to-nearest quantization and the shared grid. defines: see quant.hpp
#include <cblas.h>

#include <algorithm>
#include <cmath>

#include "lowbit/compress/quant.hpp"
#include "lowbit/core/dtype.hpp"
#include "lowbit/core/error.hpp"

namespace lowbit {

std::optional<OptionProblem> QuantSpec::check(int64_t in) const {
  if (bits < 2 || bits > 8) return OptionProblem{"bits", "", cat("bits ", bits, " is outside 2..8")};
  if (!(per_channel() || group > 0))
    return OptionProblem{"group", "", cat("group size ", group, " must be positive or ", kPerChannelSpelling, " (per channel)")};
  if (in < 1) return OptionProblem{"group", "", cat("input dimension ", in, " must be positive")};
  // A group that does not divide `in` is allowed: the last group of each row is ragged (n_groups).
  return std::nullopt;
}

void QuantSpec::validate(int64_t in, const std::string& where) const {
  if (const auto p = check(in)) LB_FAIL_INPUT(where, ": ", p->what);
}

std::string QuantSpec::str() const {
  return "w" + std::to_string(bits) + (per_channel() ? std::string("pc") : "g" + std::to_string(group)) + (sym ? "sym" : "asym");
}

void fit_group_grid(const float* w, int64_t n, int64_t stride, const QuantSpec& s, float& scale, int32_t& zero) {
  float lo = 0.f, hi = 0.f;  // the range always includes 0, as GPTQ's Quantizer does
  for (int64_t i = 0; i < n; ++i) {
    const float v = w[i * stride];
    lo = v < lo ? v : lo;
    hi = v > hi ? v : hi;
  }
  const int maxq = s.maxq();
  if (s.sym) {
    const float m = std::max(std::fabs(lo), hi);
    lo = -m;
    hi = m;
  }
  if (lo == 0.f && hi == 0.f) {  // an all-zero group: any grid represents it exactly
    lo = -1.f;
    hi = 1.f;
  }
  scale = f16_to_f32(f32_to_f16((hi - lo) / float(maxq)));
  if (!(scale > 0.f)) scale = f16_to_f32(1);  // below f16's smallest subnormal: use it
  zero = s.sym ? (maxq + 1) / 2 : int32_t(std::lround(-lo / scale));
  if (zero < 0) zero = 0;
  if (zero > maxq) zero = maxq;
}

void quantize_rtn_into(const Tensor& w, const QuantSpec& s, QuantResult& r) {
  // Bit-identical to fit_group_grid + quant_code + dequant_code per group, vectorised with GCC/Clang
  // vector extensions (4 lanes; the compiler does not vectorise the scalar form because of its
  // selects and the nearbyintf call, a libm call per element without SSE4.1):
  //  - the group's range: per-lane `v < lo ? v : lo` / `v > hi ? v : hi` from 0, reduced with the
  //    same rule (min/max do not depend on order; NaN never enters and +0 is never replaced by −0, as
  //    in fit_group_grid); fit_group_grid on {lo, hi} then gives the grid of the whole group (its
  //    range includes 0 and lo <= 0 <= hi, so the same lo, hi reach the same arithmetic);
  //  - x = w / scale (the division is kept: a multiply by 1/scale rounds differently), clamped to
  //    [−2^22, 2^22] with maxps/minps selects that let NaN through (beyond that range the code is 0
  //    or maxq either way), then rounded to nearest even by (x + 1.5·2^23) − 1.5·2^23, exact there.
  //    It can give +0 where nearbyintf gives −0; both + zero give the same code. The clamp to
  //    [0, maxq] and the truncating conversion are quant_code's selects and conversion;
  //  - codes are packed 16 at a time with SSE2's saturating packs where available (values are in
  //    [0, maxq]; NaN's INT_MIN saturates to 0, as uint8_t(INT_MIN) truncates to 0).
  typedef float f4 __attribute__((vector_size(16)));
  typedef int32_t i4 __attribute__((vector_size(16)));
  const int64_t out = w.dim(0), in = w.dim(1);
  s.validate(in, "rtn");
  const int64_t gs = s.group_size(in), ng = s.n_groups(in);
  r.spec = s;
  r.n_groups = ng;
  r.w_hat.resize({out, in});
  r.scales.resize({out, ng});
  r.zeros.assign(size_t(out * ng), 0);
  r.q.resize(size_t(out * in));
  r.g_idx.resize(size_t(in));
  for (int64_t j = 0; j < in; ++j) r.g_idx[size_t(j)] = int32_t(j / gs);
  const int maxq = s.maxq();
  const float fmaxq = float(maxq);
  // vmax(a, b) = a > b ? a : b and vmin(a, b) = a < b ? a : b, lane by lane (NaN in b passes). GCC
  // spells the generic form as compare + and/andnot/or; SSE's maxps/minps are exactly these selects.
#if defined(__SSE2__) && defined(__GNUC__)
  auto vmax = [](f4 a, f4 b) { return __builtin_ia32_maxps(a, b); };
  auto vmin = [](f4 a, f4 b) { return __builtin_ia32_minps(a, b); };
#else
  auto vmax = [](f4 a, f4 b) -> f4 { return a > b ? a : b; };
  auto vmin = [](f4 a, f4 b) -> f4 { return a < b ? a : b; };
#endif
#pragma omp parallel for schedule(static) if (out * in >= (int64_t(1) << 18))  // small: one thread
  for (int64_t o = 0; o < out; ++o) {
    const float* wr = w.row(o);
    float* hr = r.w_hat.row(o);
    uint8_t* qr = r.q.data() + o * in;
    for (int64_t g = 0; g < ng; ++g) {
      const float* wg = wr + g * gs;
      float* hg = hr + g * gs;
      uint8_t* qg = qr + g * gs;
      const int64_t len = s.group_columns(g, in);  // gs, or the ragged last group's columns
      // Range.
      f4 lo0 = {0, 0, 0, 0}, lo1 = lo0, hi0 = lo0, hi1 = lo0;
      int64_t i = 0;
      for (; i + 8 <= len; i += 8) {
        f4 a, b;
        std::memcpy(&a, wg + i, sizeof a);
        std::memcpy(&b, wg + i + 4, sizeof b);
        lo0 = a < lo0 ? a : lo0;
        lo1 = b < lo1 ? b : lo1;
        hi0 = a > hi0 ? a : hi0;
        hi1 = b > hi1 ? b : hi1;
      }
      float range[2] = {0.f, 0.f};
      for (int k = 0; k < 4; ++k) {
        range[0] = lo0[k] < range[0] ? lo0[k] : range[0];
        range[0] = lo1[k] < range[0] ? lo1[k] : range[0];
        range[1] = hi0[k] > range[1] ? hi0[k] : range[1];
        range[1] = hi1[k] > range[1] ? hi1[k] : range[1];
      }
      for (; i < len; ++i) {
        const float v = wg[i];
        range[0] = v < range[0] ? v : range[0];
        range[1] = v > range[1] ? v : range[1];
      }
      float sc;
      int32_t z;
      fit_group_grid(range, 2, 1, s, sc, z);
      r.scales.data[size_t(o * ng + g)] = sc;
      r.zeros[size_t(o * ng + g)] = z;
      // Codes and dequantized values.
      const float fz = float(z);
      const f4 vsc = {sc, sc, sc, sc}, vfz = {fz, fz, fz, fz}, vmq = {fmaxq, fmaxq, fmaxq, fmaxq}, v0 = {0, 0, 0, 0};
      const f4 lim = {4194304.f, 4194304.f, 4194304.f, 4194304.f}, nlim = -lim;  // 2^22
      const f4 magic = {12582912.f, 12582912.f, 12582912.f, 12582912.f};       // 1.5·2^23
      const i4 vz = {z, z, z, z};
      auto quant4 = [&](const float* src, float* dst) -> i4 {  // 4 codes; w_hat stored to dst
        f4 x;
        std::memcpy(&x, src, sizeof x);
        x = x / vsc;
        x = vmin(lim, vmax(nlim, x));      // clamp to ±2^22, NaN passes
        f4 qf = (x + magic) - magic;       // nearbyintf(x) for |x| <= 2^22
        qf = qf + vfz;
        qf = vmin(vmq, vmax(v0, qf));      // q < 0 ? 0 : (q > maxq ? maxq : q), as quant_code
        const i4 q = __builtin_convertvector(qf, i4);
        const f4 h = vsc * __builtin_convertvector(q - vz, f4);
        std::memcpy(dst, &h, sizeof h);
        return q;
      };
      int64_t j = 0;
#if defined(__SSE2__) && defined(__GNUC__)
      typedef short s8 __attribute__((vector_size(16)));
      typedef char c16 __attribute__((vector_size(16)));
      for (; j + 16 <= len; j += 16) {
        const i4 q0 = quant4(wg + j, hg + j), q1 = quant4(wg + j + 4, hg + j + 4);
        const i4 q2 = quant4(wg + j + 8, hg + j + 8), q3 = quant4(wg + j + 12, hg + j + 12);
        const s8 a = __builtin_ia32_packssdw128(q0, q1), b = __builtin_ia32_packssdw128(q2, q3);
        const c16 p = __builtin_ia32_packuswb128(a, b);
        std::memcpy(qg + j, &p, sizeof p);
      }
#endif
      for (; j + 4 <= len; j += 4) {
        const i4 q = quant4(wg + j, hg + j);
        for (int k = 0; k < 4; ++k) qg[j + k] = uint8_t(q[k]);
      }
      for (; j < len; ++j) {
        const int32_t q = quant_code(wg[j], sc, z, maxq);
        qg[j] = uint8_t(q);
        hg[j] = dequant_code(q, sc, z);
      }
    }
  }
}

QuantResult quantize_rtn(const Tensor& w, const QuantSpec& s) {
  QuantResult r;
  quantize_rtn_into(w, s, r);
  return r;
}

// tr((W−Ŵ) H (W−Ŵ)ᵀ) in tiles of kErrorRows output rows: P = D·H is one dgemm per tile (H is
// read once per tile, not once per row as a row-by-row loop does: that loop streamed a 1536² H
// 576 times per down projection and was most of an RTN configuration on SmolLM2), then Σ D∘P in
// row-major order. Memory: two tiles of kErrorRows × in doubles.
double output_error(const Tensor& w, const Tensor& w_hat, const std::vector<double>& H) {
  constexpr int64_t kErrorRows = 256;
  const int64_t out = w.dim(0), in = w.dim(1);
  LB_CHECK(int64_t(H.size()) == in * in, "Hessian size");
  LB_CHECK(w_hat.dim(0) == out && w_hat.dim(1) == in, "output_error: shapes differ");
  std::vector<double> d(size_t(std::min(out, kErrorRows) * in)), p(d.size());
  double total = 0;
  for (int64_t o0 = 0; o0 < out; o0 += kErrorRows) {
    const int64_t rows = std::min(kErrorRows, out - o0);
    for (int64_t r = 0; r < rows; ++r) {
      const float* a = w.row(o0 + r);
      const float* b = w_hat.row(o0 + r);
      double* dr = &d[size_t(r * in)];
      for (int64_t j = 0; j < in; ++j) dr[j] = double(a[j]) - double(b[j]);
    }
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, int(rows), int(in), int(in), 1.0, d.data(), int(in),
                H.data(), int(in), 0.0, p.data(), int(in));
    for (size_t i = 0; i < size_t(rows * in); ++i) total += d[i] * p[i];
  }
  return total;
}

}  // namespace lowbit
