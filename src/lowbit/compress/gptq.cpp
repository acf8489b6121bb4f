// lowbit/compress/gptq.cpp — GPTQ, following the reference IST-DASLab/gptq `GPTQ.fasterquant`.
// defines: see gptq.hpp
//
// Names follow the paper and the reference code: H (the damped Hessian), Hinv (the upper Cholesky
// factor of H⁻¹), W1 / Q1 / Err1 (the current block of weights, their quantized values and the
// scaled errors (w − q) / Hinv[j, j]).
//
//   1. dead columns: diag(H) == 0 → H[j, j] = 1, W[:, j] = 0 (the column never saw an input);
//   2. per-channel (QuantSpec::kPerChannel): one grid per row, fitted on W before anything else (as the reference
//      does with quantizer.find_params(W) at the top of fasterquant);
//      act_order && static_groups: every group's grid fitted on the original, unpermuted W (after
//      step 1), as GPTQ's --static-groups; g_idx[j] = j / group;
//   3. act_order: permute the columns of W and rows/columns of H by decreasing diag(H) (stable);
//   4. damping λ = percdamp · mean(diag H); Hinv = the upper Cholesky factor of (H + λI)⁻¹ (the
//      reference's Cholesky → inverse → upper Cholesky; computed here with one Cholesky and one
//      triangular inverse, see hessian_inverse_upper in hessian.cpp). A failed factorisation multiplies λ by 10
//      (logged, counted);
//   5. sweep over blocks [i1, i2) of `blocksize` columns; inside a block, column by column:
//      q = quant(w), err = (w − q) / Hinv[j, j], W1[:, j+1:i2] −= err · Hinv[j, j+1:i2] (error
//      feedback within the block); after the block W[:, i2:] −= Err1 · Hinv[i1:i2, i2:] (one GEMM,
//      the lazy batch update across blocks);
//      non-static groups: the grid of a group is fitted when its first column comes up, over the
//      current (error-updated) weights of the group's columns. Columns past the block end have not
//      yet received the block's lazy update, so it is applied to them for the fit. (The reference
//      fits on W, which lacks the in-block updates when a group starts mid-block; here the fit is on
//      the exact current weights, so the result does not depend on `blocksize`. The two agree
//      whenever every group starts on a block boundary, i.e. group is a multiple of blocksize, as
//      with the default 128/128.);
//   6. un-permute: each code and w_hat value is stored at its original column as it is found.
//
// The rows of W are independent inside a block (error feedback mixes columns, never rows, and each
// grid belongs to one row), so the column loop runs per row under OpenMP; the cross-block update is
// one dgemm (OpenBLAS threads). W, H and Hinv are double throughout; quantization itself is on the
// f32 value of w, as the fp32 reference.
#include "lowbit/compress/gptq.hpp"

#include <cblas.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <numeric>

#include "lowbit/compress/hessian.hpp"
#include "lowbit/core/error.hpp"
#include "lowbit/core/log.hpp"

namespace lowbit {
namespace {

using Clock = std::chrono::steady_clock;

// Loops over fewer elements than this run on one thread: a parallel region costs more than it saves
// there, and far more on a loaded machine, where its barrier waits for a descheduled thread.
constexpr int64_t kParallelMin = int64_t(1) << 18;
double since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

}  // namespace

QuantResult quantize_gptq(const Tensor& w, const std::vector<double>& H_in, const QuantSpec& s, const GptqOptions& o,
                          GptqReport* report) {
  LB_INPUT_CHECK(w.shape.size() == 2, "gptq: weight must be 2-D, got ", w.shape_str());
  const int64_t out = w.dim(0), in = w.dim(1);
  s.validate(in, "gptq");
  LB_INPUT_CHECK(int64_t(H_in.size()) == in * in, "gptq: Hessian has ", H_in.size(), " entries, expected ", in, "x",
                 in);
  LB_INPUT_CHECK(o.blocksize >= 1, "gptq: blocksize ", o.blocksize, " must be positive");
  LB_INPUT_CHECK(std::isfinite(o.percdamp) && o.percdamp >= 0, "gptq: percdamp ", o.percdamp,
                 " must be finite and >= 0");
  LB_INPUT_CHECK(in <= int64_t(1) << 30, "gptq: input dimension ", in, " too large");
  for (float v : w.data) LB_INPUT_CHECK(std::isfinite(v), "gptq: weight has a non-finite value");
  for (double v : H_in) LB_INPUT_CHECK(std::isfinite(v), "gptq: Hessian has a non-finite value");

  GptqReport rep;
  const int maxq = s.maxq();
  const int64_t gs = s.group_size(in), ng = s.n_groups(in);  // the last group may be ragged
  const bool grouped = !s.per_channel();
  const bool static_groups = grouped && o.act_order && o.static_groups;
  const int64_t B = std::min<int64_t>(o.blocksize, in);

  QuantResult r;
  r.spec = s;
  r.n_groups = ng;
  r.scales.resize({out, ng});
  r.zeros.assign(size_t(out * ng), 0);
  r.g_idx.assign(size_t(in), 0);

  // Per-channel grid: fitted on W as given (the reference's find_params(W) before dead columns).
  if (!grouped) {
#pragma omp parallel for schedule(static) if (out * in >= kParallelMin)
    for (int64_t row = 0; row < out; ++row)
      fit_group_grid(w.row(row), in, 1, s, r.scales.data[size_t(row)], r.zeros[size_t(row)]);
  }

  // 1. dead columns: diag(H) == 0 → H[j, j] = 1 (in dg, the diagonal used from here on) and W[:, j] = 0
  //    (applied where W is read: the static grids and the working copy).
  const ObsPrologue pro = obs_prologue(H_in, in);
  const std::vector<double>& dg = pro.diag;
  const std::vector<char>& dead = pro.dead;
  rep.dead_columns = pro.dead_columns;

  // 2. static groups: all grids on the unpermuted W (dead columns zeroed).
  if (static_groups) {
#pragma omp parallel if (out * in >= kParallelMin)
    {
      std::vector<float> cur(static_cast<size_t>(gs));
#pragma omp for schedule(static)
      for (int64_t row = 0; row < out; ++row)
        for (int64_t g = 0; g < ng; ++g) {
          const int64_t len = s.group_columns(g, in);
          for (int64_t c = 0; c < len; ++c) cur[size_t(c)] = dead[size_t(g * gs + c)] ? 0.f : w.row(row)[g * gs + c];
          fit_group_grid(cur.data(), len, 1, s, r.scales.data[size_t(row * ng + g)], r.zeros[size_t(row * ng + g)]);
        }
    }
  }

  // 3. act_order: perm[p] = the original column quantized at position p (decreasing diag H, stable).
  std::vector<int64_t> perm(static_cast<size_t>(in));
  std::iota(perm.begin(), perm.end(), int64_t(0));
  if (o.act_order)
    std::stable_sort(perm.begin(), perm.end(), [&](int64_t a, int64_t b) { return dg[size_t(a)] > dg[size_t(b)]; });
  // Group of each position p (in the permuted order) and g_idx of each original column.
  std::vector<int64_t> pos_group(static_cast<size_t>(in));
  for (int64_t p = 0; p < in; ++p) {
    const int64_t c = perm[size_t(p)];
    const int64_t g = !grouped ? 0 : (static_groups ? c / gs : p / gs);
    pos_group[size_t(p)] = g;
    r.g_idx[size_t(c)] = int32_t(g);
  }

  // 4. damping.
  ObsDamping damping("gptq", o.percdamp, pro.mean_diag);

  // Results are written straight to their original columns: Q[:, perm[j]] (the un-permutation of step 6).
  r.w_hat.resize({out, in});
  r.q.resize(size_t(out * in));
  std::vector<double> Hinv(static_cast<size_t>(in * in));
  std::vector<double> W(static_cast<size_t>(out * in));    // permuted working weights (double)
  std::vector<double> Err1(static_cast<size_t>(out * B));  // (w − q) / Hinv[j, j] of the current block
  for (int attempt = 0;; ++attempt) {
    const double damp = damping.value();
    auto t0 = Clock::now();
    // H (permuted, dead diagonal set to 1) + λI.
#pragma omp parallel for schedule(static) if (in * in >= kParallelMin)
    for (int64_t a = 0; a < in; ++a) {
      const double* src = &H_in[size_t(perm[size_t(a)] * in)];
      double* dst = &Hinv[size_t(a * in)];
      for (int64_t b = 0; b < in; ++b) dst[b] = src[perm[size_t(b)]];
      dst[a] = dg[size_t(perm[size_t(a)])] + damp;
    }
    int fail = hessian_inverse_upper(Hinv, in);
    rep.seconds_cholesky += since(t0);

    if (fail == 0) {
      // 5. the sweep.
      t0 = Clock::now();
#pragma omp parallel for schedule(static) if (out * in >= kParallelMin)
      for (int64_t row = 0; row < out; ++row) {
        const float* src = w.row(row);
        double* dst = &W[size_t(row * in)];
        for (int64_t p = 0; p < in; ++p) {
          const int64_t c = perm[size_t(p)];
          dst[p] = dead[size_t(c)] ? 0.0 : double(src[c]);
        }
      }
      for (int64_t i1 = 0; i1 < in; i1 += B) {
        const int64_t i2 = std::min(i1 + B, in), count = i2 - i1;
        // Small blocks run on one thread (see kParallelMin; the work here is ~count multiply-adds per element).
#pragma omp parallel if (out * count * (count + (grouped ? gs : 0)) >= 16 * kParallelMin)
        {
          std::vector<float> cur(static_cast<size_t>(gs));    // current weights of a group being fitted
          std::vector<double> tail(static_cast<size_t>(gs));  // group columns past i2, with the pending update
#pragma omp for schedule(static)
          for (int64_t row = 0; row < out; ++row) {
            double* W1 = &W[size_t(row * in)];  // W1 = W[row, i1:i2] in place (indexed by column)
            double* err1 = &Err1[size_t(row * B)];
            float* qrow = r.w_hat.row(row);
            uint8_t* crow = &r.q[size_t(row * in)];
            for (int64_t i = 0; i < count; ++i) {
              const int64_t j = i1 + i;
              const int64_t g = pos_group[size_t(j)];
              if (grouped && !static_groups && j % gs == 0) {
                // Fit the grid of group g on its columns' current weights (the reference's
                // W[:, j:j+groupsize], clipped at the row's end for a ragged last group).
                const int64_t jend = std::min(j + gs, in), inblk = std::min(jend, i2);
                for (int64_t c = j; c < inblk; ++c) cur[size_t(c - j)] = float(W1[c]);
                if (jend > i2) {
                  for (int64_t c = i2; c < jend; ++c) tail[size_t(c - i2)] = W1[c];
                  for (int64_t k = 0; k < i; ++k) {
                    const double e = err1[k];
                    const double* h = &Hinv[size_t((i1 + k) * in)];
                    for (int64_t c = i2; c < jend; ++c) tail[size_t(c - i2)] -= e * h[c];
                  }
                  for (int64_t c = i2; c < jend; ++c) cur[size_t(c - j)] = float(tail[size_t(c - i2)]);
                }
                fit_group_grid(cur.data(), jend - j, 1, s, r.scales.data[size_t(row * ng + g)],
                               r.zeros[size_t(row * ng + g)]);
              }
              const float sc = r.scales.data[size_t(row * ng + g)];
              const int32_t z = r.zeros[size_t(row * ng + g)];
              const double wv = W1[j];
              const int32_t q = quant_code(float(wv), sc, z, maxq);
              const float dq = dequant_code(q, sc, z);
              crow[perm[size_t(j)]] = uint8_t(q);  // Q1[:, i] = q, at its original column
              qrow[perm[size_t(j)]] = dq;
              const double* hrow = &Hinv[size_t(j * in)];
              const double e = (wv - double(dq)) / hrow[j];  // err1 = (w − q) / d
              err1[i] = e;
              for (int64_t c = j + 1; c < i2; ++c) W1[c] -= e * hrow[c];  // W1[:, i:] −= err1 · Hinv1[i, i:]
            }
          }
        }
        if (i2 < in)  // W[:, i2:] −= Err1 · Hinv[i1:i2, i2:]
          cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, int(out), int(in - i2), int(count), -1.0, Err1.data(),
                      int(B), &Hinv[size_t(i1 * in + i2)], int(in), 1.0, &W[size_t(i2)], int(in));
      }
      bool finite = true;
      for (float v : r.w_hat.data) finite &= std::isfinite(v);
      rep.seconds_sweep += since(t0);
      if (finite) break;
      fail = 4;
    }
    damping.raise(attempt, fail);
  }
  rep.damp_raises = damping.raises();
  rep.damp_used = damping.value();
  if (report) *report = rep;
  return r;
}

}  // namespace lowbit
