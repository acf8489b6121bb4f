// lowbit/diagnose/metrics.hpp — the fidelity metrics of the diagnostics, each a plain function of
// two arrays (reference first), so every one can be checked against a closed form.
// defines: lowbit::diag::Fidelity, fidelity, snr_db_from_rel, js_divergence_bits, topk_overlap,
//          kl_from_logits, log_softmax_row, kurtosis, ChannelStats
//
// Units: relative L2 error is ‖b−a‖/‖a‖ (dimensionless); SNR in dB is 10·log10(‖a‖²/‖b−a‖²)
// = −20·log10(rel_l2) (+inf when b == a); cosine is the mean over rows of the per-row cosine;
// JS divergence is in bits (log base 2, so it lies in [0, 1]); KL divergence is in nats;
// kurtosis is Pearson's m4/m2² (3 for a Gaussian, not the excess).
#pragma once

#include <cstdint>
#include <vector>

#include "lowbit/core/tensor.hpp"

namespace lowbit::diag {

struct Fidelity {
  double cos = 1;     // mean per-row cosine similarity
  double rel_l2 = 0;  // ‖b − a‖_F / ‖a‖_F
  double snr_db = 0;  // 10 log10(‖a‖² / ‖b − a‖²)
};

// a = reference (full precision), b = test; both [rows, d]. Rows whose reference and test are both
// zero count as cosine 1; a row where only one is zero counts as 0.
Fidelity fidelity(const float* a, const float* b, int64_t rows, int64_t d);
Fidelity fidelity(const Tensor& a, const Tensor& b);
double snr_db_from_rel(double rel_l2);

// Jensen–Shannon divergence of two distributions of length n, in bits: ½KL(p‖m) + ½KL(q‖m), m = (p+q)/2.
double js_divergence_bits(const float* p, const float* q, int n);
// |top-k(p) ∩ top-k(q)| / k with k clipped to n (ties broken by the lower index).
double topk_overlap(const float* p, const float* q, int n, int k);
// log-softmax of one row of logits, in double.
void log_softmax_row(const float* logits, int n, std::vector<double>& out);
// KL(P ‖ Q) in nats for P = softmax(lp), Q = softmax(lq) given as log-probabilities.
double kl_logprobs(const std::vector<double>& lp, const std::vector<double>& lq);
// KL(softmax(a) ‖ softmax(b)) in nats from two logit rows.
double kl_from_logits(const float* a, const float* b, int n);
// Pearson kurtosis m4/m2² of n values (0 when the variance is 0).
double kurtosis(const float* x, int64_t n);

// Per-channel statistics of activations [rows, d]: max |x| of each channel, and the summary
// numbers reported per layer.
struct ChannelStats {
  std::vector<double> max_abs;     // per channel
  double max = 0;                  // max over channels
  double median = 0;               // median over channels of the per-channel max
  int argmax = -1;                 // the channel holding the max
  double kurtosis = 0;             // Pearson kurtosis of all values together
  double channel_kurtosis_mean = 0;  // mean over channels of each channel's kurtosis
};
ChannelStats channel_stats(const Tensor& x);

}  // namespace lowbit::diag
