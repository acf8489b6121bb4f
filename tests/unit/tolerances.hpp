// tests/unit/tolerances.hpp — every numeric tolerance of the test suite, named, with its reason.
// Each is used by EXPECT_NEAR / ASSERT_NEAR (or an EXPECT_LE on an |error|) and sized by the reason beside
// it; tests/unit/check_tolerances.py (ctest tolerances_named) fails on a bare literal. Where one number
// serves two reasons it has two names. Values are the ones the tests had when they were named. A few
// files keep named constants of their own beside the tests that use them (test_prune.cpp,
// test_train_grad.cpp, test_gptq.cpp, test_fit_recovery.cpp, test_golden_real.cpp), and the GGUF
// model and export tests have tolerances_gemma.hpp / tolerances_export.hpp.
// defines: lowbit::tol::*, lowbit::tol::scaled
#pragma once

#include <algorithm>
#include <cmath>

namespace lowbit::tol {

// A relative bound that becomes absolute below 1: `rel · max(1, |ref|)` (log-probabilities, KLs).
inline double scaled(double rel, double ref) { return rel * std::max(1.0, std::fabs(ref)); }

// Golden NLL per token vs the numpy fp64 reference in shared/models/SOURCES.md, which quotes
// 4 decimals; our f32 forward differs from fp64 by ~1e-6, so the bound is the quoted rounding.
inline constexpr double kGoldenNll = 1e-3;
// Normalised MSE mse(a,b)/mse(a,0) of an f32 CUDA kernel vs its CPU reference (different
// summation order only).
inline constexpr double kNmseF32Kernel = 1e-10;
// Max |logit difference| between two f32 forward paths that differ only in summation order
// (e.g. llama2.c vs the same model converted to HF with permuted q/k rows).
inline constexpr float kLogitsF32 = 1e-4f;
// Same, against an independent numpy float64 reference (tests/data/ref_forward.py).
inline constexpr float kLogitsVsNumpy = 2e-4f;

// Share of a model's own f32 bytes that must still be resident (RssAnon) after compressing it
// without streaming: the blocks are live and written, so all of it is; 0.9 leaves room for pages
// the kernel has not yet accounted and for blocks smaller than the nominal size (none here).
inline constexpr double kRetainedShare = 0.9;

// Relative difference between two float64 evaluations of one quadratic form that differ only in
// summation order (tiles and BLAS blocking vs a direct sum over tokens): ~sqrt(n)·eps with n the
// terms summed (here < 10^5), so 1e-12 leaves two orders of margin.
inline constexpr double kF64SumOrderRel = 1e-12;

// One chunk's Σxᵀx in f32 (LinearStats::add's ssyrk): any summation order of r f32 products is
// within γ_r·Σ|x_a·x_b| of the exact sum (γ_r = r·u/(1−r·u), u = 2⁻²⁴; Higham §3.1), and
// Σ|x_a·x_b| ≤ √(H_aa·H_bb) (Cauchy–Schwarz); the factor 2 covers the f64 sum of the chunks.
inline double hessian_f32_bound(long long rows) {
  const double u = 1.0 / 16777216.0;
  return 2.0 * rows * u / (1.0 - rows * u);
}

// --- Closed forms in double ---------------------------------------------------------------------------
// A double result with a closed form of a few operations (a mean, a standard error, a cosine schedule,
// a sum of five log2 terms, a two-point distribution's metric): exact up to a few ulps (~1e-16);
// 1e-12 only absorbs those.
inline constexpr double kF64ClosedForm = 1e-12;
// The same double quantity computed twice from the same f32 values (a loss re-evaluated after the
// diagnostics, a law evaluated on its curve and at its point): only the order of double sums differs.
inline constexpr double kF64Recomputed = 1e-12;
// A double sum of hundreds of terms (60 individuals × five log2 terms, ~1500 bits) against its closed
// form, or the same total read back from JSON (written with round-trip precision): n·ε·|sum| ≈ 1e-11.
inline constexpr double kF64ManyTerms = 1e-9;
// Knowledge bits stored by an untrained model, summed per attribute as card_bits × facts, against the
// world's total summed per individual: two orders of hundreds of terms; 1e-6 absolute on ~1500 bits.
inline constexpr double kKnowledgeBitsResummed = 1e-6;
// The same f64 values summed in another order (a sequential loop vs a canonical tree; lowbit's
// sequential sum vs numpy's pairwise sum): relative, scaled by the sum.
inline constexpr double kSumOrderRel = 1e-6;
// Keeps a relative bound positive when the reference is exactly 0 (a tree sum of zeros).
inline constexpr double kF64TinyFloor = 1e-300;

// --- A few f32 operations against a double closed form ---------------------------------------------------
// A handful of f32 operations (an RMSNorm/LayerNorm of three values, two AdamW steps, a gradient
// clip, a cross entropy of one row) at |value| ≤ ~2.5, where an f32 ulp is ≤ 2.4e-7: a few ulps.
inline constexpr double kFewF32Ops = 1e-6;
// RoPE in f32 (cos/sin of the angle 5 and one rotation) against std::cos/std::sin in double.
inline constexpr double kRopeClosedForm = 1e-5;
// A Gemma 3 norm gain through the HF layout's −1/+1 and back: two f32 roundings at gains < 2, each at
// most half an ulp (≤ 1.2e-7), so ≤ 2.4e-7.
inline constexpr float kNormGainOffsetRoundTrip = 3e-7f;
// One f16 rounding: f16 has 11 significant bits, so round to nearest is within 2⁻¹¹ relative.
inline constexpr float kF16RoundRel = 0x1p-11f;
// RTN's error per weight, in quantisation steps: half a step by rounding, but the f16 rounding of the
// scale can pull the clamped range edge by up to one step; 1 % on top for the f32 arithmetic.
inline constexpr float kRtnMaxErrorSteps = 1.01f;

// --- Softmax rows ----------------------------------------------------------------------------------------
// A row of the forward's f32 attention probabilities (≤ 12 keys) summed in double: each probability
// carries the f32 rounding of its exp and of the normalisation, ~1e-7 each.
inline constexpr double kSoftmaxRowSum = 1e-5;
// The same for the trainer's attention_forward (its rows are short, T ≤ 6): a tighter 1e-6 holds.
inline constexpr double kTrainSoftmaxRowSum = 1e-6;

// --- Diagnostics metrics ------------------------------------------------------------------------------
// A metric's closed form whose inputs are f32 (float(log 3) is 3e-8 off; m = (p+q)/2 of f32 values):
// the agreement is at f32 level, not double.
inline constexpr double kClosedFormF32Inputs = 1e-7;
// KL of logits shifted by +100: f32 logits near 100 are spaced 7.6e-6, so the shift moves the logit
// difference by up to one such ulp.
inline constexpr double kKlShiftedF32 = 1e-5;
// Fidelity (double sums of f32 products) against its closed form on a handful of values: b = 1.1f·a
// rounds each entry by ≤ 6e-8, and a cosine moves by the square of that.
inline constexpr double kMetricClosedForm = 1e-9;
// rel L2 of b = 1.1f·a: 1.1f is 1.1 + 2.4e-8 and each product rounds once, so rel L2 = 0.1 to ~3e-8.
inline constexpr double kFidelityOfRoundedScale = 1e-6;
// SNR in dB is 20·log10(1/rel): an error δ in rel moves it by 8.7·δ/rel dB, < 1e-4 for δ ≤ 1e-6 at
// rel ≥ 0.1.
inline constexpr double kSnrDbFromRel = 1e-4;
// lowbit's metric of f32 inputs against numpy float64 on the same inputs (written with 9 significant
// digits, an exact f32 round trip): lowbit's double sums differ only in order, n ≤ 222 terms.
inline constexpr double kMetricVsNumpy = 1e-6;
// KL from logits (≈3σ, up to ~9) against numpy: log-sum-exp of f32 logits, relative to max(1, KL).
inline constexpr double kKlVsNumpyRel = 1e-5;
// Kurtosis (fourth moment over the squared second) of 222 heavy-tailed values against numpy: relative.
inline constexpr double kKurtosisVsNumpyRel = 1e-5;
// Kurtosis of the discrete uniform on 100001 points is 9/5 − O(1/n²) (~1e-10 off 1.8); the bound
// covers the double rounding of fourth powers up to ~10¹⁹ summed 10⁵ times.
inline constexpr double kKurtosisUniformGrid = 1e-3;
// Sample kurtosis of 400000 Gaussian draws: its standard error is √(24/n) ≈ 0.0077; 0.05 is 6.5σ.
inline constexpr double kKurtosisGaussMc = 0.05;
// Sample kurtosis of 400000 Laplace draws: by the delta method its variance is
// (μ₈ − 4μ₄μ₆ + 4μ₄³ − μ₄²)/n in σ units = (2520 − 2160 + 864 − 36)/n, so its standard error is
// ≈ 0.055 (the same formula gives the Gaussian's 24/n); 0.3 is about 5.5σ.
inline constexpr double kKurtosisLaplaceMc = 0.3;

// --- Diagnostics on models -------------------------------------------------------------------------------
// A cosine of two identical f32 activations: 1 up to the rounding of the norms' square roots.
inline constexpr double kCosIdentical = 1e-6;
// A JS divergence or KL between bit-identical f32 distributions (identical models, unbroken heads, the
// last layer's lens, which is the model's own output): 0 up to the double log/sum rounding.
inline constexpr double kDivergenceIdentical = 1e-9;
// Share of the loss gap closed when the patched activation is the FP model's own (final rel L2 is
// exactly 0): 1 up to the double arithmetic of the ratio.
inline constexpr double kGapClosedIdentical = 1e-9;
// Share of the gap closed by restoring one head: the broken head restores the FP model up to the f32
// rounding of the other heads' recomputation (1), any other head closes none of it (0).
inline constexpr double kGapClosedByHead = 1e-6;
// A training-free repair on damage it models exactly (an output offset, an output scale, a wrong norm
// gain), fitted on the 6 × 24-token calibration set: 0.1 % of the gap is left for the estimate.
inline constexpr double kRepairGapClosed = 1e-3;
// A norm gain recovered by norm recalibration: a per-channel ratio of f32 RMS statistics over the
// calibration set, undoing damage of ×1, ×1.5 and ×2 per channel.
inline constexpr double kNormGainRecovered = 1e-4;
// Causal tracing: restoring the last position after the last block is the clean run, so its indirect
// effect is p_clean − p_corrupt up to the float sums of the (two-sample averaged) probabilities.
inline constexpr double kTraceLastRestore = 1e-6;

// --- Log-likelihoods of tasks -------------------------------------------------------------------------
// loglikelihood_pair against the test's independent full forward (reference_ll): the same f32 forward
// of the same tokens, so only summation order differs; relative to max(1, |logprob|).
inline constexpr double kLoglikVsReferenceRel = 1e-6;
// A continuation scored through a shared-context KV cache (loglikelihood_choices, which score_task uses
// when the choices share the context) against a fresh forward: attention sums run over cached and new keys in another order, summed over ≤ 6 tokens.
inline constexpr double kLogprobCachedVsFresh = 1e-4;
// A continuation scored by its own forward (no shared cache) against the reference: same computation,
// other batching.
inline constexpr double kLogprobSameForward = 1e-5;

// --- Quantisation ----------------------------------------------------------------------------------------
// GPTQ on several threads against one thread: block updates sum in another order and a handful of codes
// flip (≥ 99.9 % identical, checked beside it); the output error moves by well under 0.1 %.
inline constexpr double kGptqThreadsOutputErrRel = 1e-3;
// 8-bit per-channel quantisation of stories260K (256 levels per row) against the float model: NLL per
// token within 0.02 nats is "nearly lossless", while 2 bits costs more than 0.1.
inline constexpr double kNll8BitShift = 0.02;
// Absolute floor of the fused-vs-plain Haar subband energy comparison, for subbands whose energy is 0.
inline constexpr double kEnergyAbsFloor = 1e-12;

// --- Scaling-law fits (fit/solve.hpp) -----------------------------------------------------------------
// Parameters of a reported (precise) Ceres solve: its stopping tolerances are ~1e-8 on parameters.
inline constexpr double kFitParamPrecise = 1e-8;
// R², adjusted R², RMSE, MAE of a straight-line fit, which Gauss–Newton solves in one step to rounding:
// what the precise solve achieves on a linear model, well inside kFitParamPrecise.
inline constexpr double kFitStatistic = 1e-10;
// Leave-one-out residuals of the four-point line: each LOO refit is a replicate solve with looser
// stopping tolerances.
inline constexpr double kFitLooSmall = 1e-7;
// The same on a noisy 20-point line against the closed-form hat matrix.
inline constexpr double kFitLoo = 1e-6;
// Asymptotic standard errors from the solution's central-difference Jacobian and σ² = SSR/(n − p).
inline constexpr double kFitStdErr = 1e-6;
// A t-interval's half width: t(0.975, 2) = 4.30 times a standard error known to kFitStdErr.
inline constexpr double kFitCiHalfWidth = 1e-5;
// Parameters of a nonlinear law recovered from noiseless data, relative to the parameter (an absolute
// 1e-6 where the parameter is below 1).
inline constexpr double kFitRecoveryRel = 1e-6;
// The log-linear start of a law on noiseless data: a linear least-squares solve, exact up to the
// normal equations' conditioning times ε.
inline constexpr double kLinearSolveF64 = 1e-9;
// Huber slope with one gross outlier, noise sd 0.05 on 30 points with sd(x) ≈ 0.87: the slope's
// standard error is ≈ 0.01, so 0.05 is 5σ (least squares is pulled by more than 0.5).
inline constexpr double kHuberSlope = 0.05;

// --- Testbed and trainer ---------------------------------------------------------------------------------
// Chance of the reasoning stratum: its probes mix 4-way choices (0.25) and yes/no comparisons (0.5) in
// sampled proportions; 0.02 covers the spread of the mix in the small world.
inline constexpr double kProbeMixChance = 0.02;
// First loss of a freshly initialised model against chance, ln V: small initial logits put it within
// 0.1 nats of uniform.
inline constexpr double kInitLossVsChance = 0.1;

}  // namespace lowbit::tol
