// lowbit/compress/sparsegpt.cpp — SparseGPT (Frantar & Alistarh, 2023, "SparseGPT: Massive
// Language Models Can Be Accurately Pruned in One-Shot"), following the reference
// IST-DASLab/sparsegpt `SparseGPT.fasterprune` without quantization.
// defines: lowbit::prune_sparsegpt
//
//   1. dead columns: diag(H) == 0 → H[j, j] = 1, W[:, j] = 0 (the input never fired);
//   2. damping λ = percdamp · mean(diag H) (default 0.01); Hinv = upper Cholesky factor of
//      (H + λI)⁻¹ (hessian.hpp). A failed factorisation multiplies λ by 10 (logged);
//   3. sweep over blocks [i1, i2) of `blocksize` (128) columns. At the start of a block the mask of
//      the block is chosen adaptively from the current (already error-updated) weights, by the OBS
//      saliency w² / [Hinv]_jj², compared here as |w| / [Hinv]_jj (same order). Comparison groups:
//        per_row (default): each row prunes k(i2) − k(i1) of the block's columns, k(j) = ⌊s·j⌋
//          (prune_select.hpp), so every row ends with exactly ⌊s·in⌋ pruned weights;
//        !per_row: the whole block (all rows, as the reference's sort over W1) prunes
//          K(i2) − K(i1) with K(j) = ⌊s·out·j⌋, so the matrix ends with exactly ⌊s·out·in⌋;
//        N:M: at each group of M columns (inside the block, as the reference: the block size is
//          rounded down to a multiple of M, at least M), the N smallest saliencies of the group.
//      The reference takes the threshold `sort(tmp)[int(numel·s)]` and prunes tmp <= thresh (one
//      extra element, more on ties); here the count is exact and ties go by index.
//      Then column by column: q = 0 if masked else w; err = (w − q) / Hinv[j, j];
//      W1[:, j+1:i2] −= err · Hinv[j, j+1:i2]; after the block W[:, i2:] −= Err1 · Hinv[i1:i2, i2:]
//      (one dgemm).
// W and Hinv are double; rows are independent inside a block (OpenMP over rows).
// PruneResult::pruned counts the mask (exactly the rounding rule's count). Dead columns' weights are
// zero in w_hat whether masked or not, so w_hat may hold more zeros than `pruned` when dead inputs
// outnumber the mask (or weights were already zero).
#include <cblas.h>

#include <algorithm>
#include <cmath>

#include "lowbit/compress/hessian.hpp"
#include "lowbit/compress/methods.hpp"
#include "lowbit/compress/prune.hpp"
#include "lowbit/compress/prune_select.hpp"
#include "lowbit/core/error.hpp"
#include "lowbit/core/log.hpp"

namespace lowbit {
namespace {
constexpr int64_t kParallelMin = int64_t(1) << 18;
}

PruneResult prune_sparsegpt(const Tensor& w, const std::vector<double>& H_in, const PruneSpec& s,
                            const SparseGptOptions& o) {
  using namespace prune_detail;
  LB_INPUT_CHECK(w.shape.size() == 2, "sparsegpt: weight must be 2-D, got ", w.shape_str());
  const int64_t out = w.dim(0), in = w.dim(1);
  s.validate(in, method_row("sparsegpt"), "sparsegpt");
  LB_INPUT_CHECK(int64_t(H_in.size()) == in * in, "sparsegpt: Hessian has ", H_in.size(), " entries, expected ", in,
                 "x", in);
  LB_INPUT_CHECK(o.blocksize >= 1, "sparsegpt: blocksize ", o.blocksize, " must be positive");
  LB_INPUT_CHECK(std::isfinite(o.percdamp) && o.percdamp >= 0, "sparsegpt: percdamp ", o.percdamp,
                 " must be finite and >= 0");
  LB_INPUT_CHECK(in <= int64_t(1) << 30, "sparsegpt: input dimension ", in, " too large");
  LB_INPUT_CHECK(prune_detail::all_finite(w.ptr(), w.numel()), "sparsegpt: weight has a non-finite value");
  for (double v : H_in) LB_INPUT_CHECK(std::isfinite(v), "sparsegpt: Hessian has a non-finite value");

  const bool nm = s.m > 0;
  int64_t B = std::min<int64_t>(o.blocksize, in);
  if (nm) B = std::max<int64_t>(s.m, B - B % s.m);  // groups never straddle a block

  // 1. dead columns.
  const ObsPrologue pro = obs_prologue(H_in, in);
  const std::vector<double>& dg = pro.diag;
  const std::vector<char>& dead = pro.dead;
  // 2. damping.
  ObsDamping damping("sparsegpt", o.percdamp, pro.mean_diag);

  PruneResult r;
  r.total = out * in;
  r.w_hat.resize({out, in});
  std::vector<double> Hinv(static_cast<size_t>(in * in));
  std::vector<double> W(static_cast<size_t>(out * in));
  std::vector<double> Err1(static_cast<size_t>(out * B));
  std::vector<uint8_t> mask(static_cast<size_t>(out * B));
  std::vector<float> sal;  // !per_row: saliency of the block, [out, count]
  for (int attempt = 0;; ++attempt) {
    const double damp = damping.value();
#pragma omp parallel for schedule(static) if (in * in >= kParallelMin)
    for (int64_t a = 0; a < in; ++a) {
      std::copy(&H_in[size_t(a * in)], &H_in[size_t(a * in + in)], &Hinv[size_t(a * in)]);
      Hinv[size_t(a * in + a)] = dg[size_t(a)] + damp;
    }
    int fail = hessian_inverse_upper(Hinv, in);
    int64_t pruned = 0;
    if (fail == 0) {
#pragma omp parallel for schedule(static) if (out * in >= kParallelMin)
      for (int64_t row = 0; row < out; ++row)
        for (int64_t j = 0; j < in; ++j) W[size_t(row * in + j)] = dead[size_t(j)] ? 0.0 : double(w.row(row)[j]);
      for (int64_t i1 = 0; i1 < in; i1 += B) {
        const int64_t i2 = std::min(i1 + B, in), count = i2 - i1;
        // Block-wide mask (!per_row): saliencies of all rows, one exact selection.
        if (!nm && !s.per_row) {
          sal.resize(size_t(out * count));
#pragma omp parallel for schedule(static) if (out * count >= kParallelMin)
          for (int64_t row = 0; row < out; ++row)
            for (int64_t i = 0; i < count; ++i)
              sal[size_t(row * count + i)] =
                  float(std::fabs(W[size_t(row * in + i1 + i)]) / Hinv[size_t((i1 + i) * in + i1 + i)]);
          const int64_t kb = prune_count(s.sparsity, out * i2) - prune_count(s.sparsity, out * i1);
          const Cut cut = select_cut(sal.data(), count, {Rect{0, 0, out, count}}, kb);
          for (int64_t e = 0; e < out * count; ++e) mask[size_t(e)] = cut.prunes(mag_key(sal[size_t(e)]), e);
        }
        const int64_t krow = nm ? s.n : prune_count(s.sparsity, i2) - prune_count(s.sparsity, i1);
        const int64_t gsize = nm ? s.m : count;
#pragma omp parallel if (out * count * count >= 16 * kParallelMin) reduction(+ : pruned)
        {
          std::vector<uint32_t> keys(static_cast<size_t>(gsize));
          prune_detail::SelectScratch scratch;
#pragma omp for schedule(static)
          for (int64_t row = 0; row < out; ++row) {
            double* W1 = &W[size_t(row * in)];  // indexed by column
            double* err1 = &Err1[size_t(row * B)];
            uint8_t* m1 = &mask[size_t(row * count)];
            float* qrow = r.w_hat.row(row);
            auto choose = [&](int64_t c0, int64_t len, int64_t k) {  // mask the k smallest of [c0, c0+len)
              for (int64_t c = 0; c < len; ++c) {
                const int64_t j = c0 + c;
                keys[size_t(c)] = mag_key(float(std::fabs(W1[j]) / Hinv[size_t(j * in + j)]));
              }
              const Cut cut = select_small(keys.data(), len, k, scratch);
              for (int64_t c = 0; c < len; ++c) m1[c0 - i1 + c] = cut.prunes(keys[size_t(c)], c);
            };
            if (!nm && s.per_row) choose(i1, count, krow);
            for (int64_t i = 0; i < count; ++i) {
              const int64_t j = i1 + i;
              if (nm && i % s.m == 0) choose(j, s.m, s.n);
              const double* hrow = &Hinv[size_t(j * in)];
              const double wv = W1[j];
              const double q = m1[i] ? 0.0 : wv;
              pruned += m1[i];
              qrow[j] = float(q);
              const double e = (wv - q) / hrow[j];
              err1[i] = e;
              if (e != 0.0)
                for (int64_t c = j + 1; c < i2; ++c) W1[c] -= e * hrow[c];
            }
          }
        }
        if (i2 < in)  // W[:, i2:] −= Err1 · Hinv[i1:i2, i2:]
          cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, int(out), int(in - i2), int(count), -1.0, Err1.data(),
                      int(B), &Hinv[size_t(i1 * in + i2)], int(in), 1.0, &W[size_t(i2)], int(in));
      }
      bool finite = true;
      for (float v : r.w_hat.data) finite &= std::isfinite(v);
      if (finite) {
        const int64_t want = nm ? out * (in / s.m) * s.n
                                : (s.per_row ? out * prune_count(s.sparsity, in) : prune_count(s.sparsity, out * in));
        LB_CHECK(pruned == want, "sparsegpt pruned ", pruned, " weights, expected ", want);
        r.pruned = pruned;
        r.dead_columns = pro.dead_columns;
        r.damp_raises = damping.raises();
        break;
      }
      fail = 4;
    }
    damping.raise(attempt, fail);
  }
  return r;
}

}  // namespace lowbit
