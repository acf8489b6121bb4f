// lowbit/diagnose/metrics.cpp — fidelity metrics. defines: see metrics.hpp
#include "lowbit/diagnose/metrics.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "lowbit/core/error.hpp"

namespace lowbit::diag {

double snr_db_from_rel(double rel) {
  if (rel <= 0) return std::numeric_limits<double>::infinity();
  return -20.0 * std::log10(rel);
}

Fidelity fidelity(const float* a, const float* b, int64_t rows, int64_t d) {
  double num = 0, den = 0, cos_sum = 0;
  for (int64_t r = 0; r < rows; ++r) {
    const float* ar = a + r * d;
    const float* br = b + r * d;
    double aa = 0, bb = 0, ab = 0, ee = 0;
    for (int64_t i = 0; i < d; ++i) {
      const double x = ar[i], y = br[i];
      aa += x * x;
      bb += y * y;
      ab += x * y;
      ee += (y - x) * (y - x);
    }
    num += ee;
    den += aa;
    if (aa == 0 && bb == 0) cos_sum += 1;
    else if (aa > 0 && bb > 0) cos_sum += ab / std::sqrt(aa * bb);
  }
  Fidelity f;
  f.cos = rows ? cos_sum / double(rows) : 1.0;
  f.rel_l2 = den > 0 ? std::sqrt(num / den) : (num > 0 ? std::numeric_limits<double>::infinity() : 0.0);
  f.snr_db = snr_db_from_rel(f.rel_l2);
  return f;
}

Fidelity fidelity(const Tensor& a, const Tensor& b) {
  LB_CHECK(a.shape == b.shape, "fidelity of ", a.shape_str(), " vs ", b.shape_str());
  return fidelity(a.ptr(), b.ptr(), a.rows(), a.cols());
}

double js_divergence_bits(const float* p, const float* q, int n) {
  double js = 0;
  for (int i = 0; i < n; ++i) {
    const double a = p[i], b = q[i], m = 0.5 * (a + b);
    if (a > 0) js += 0.5 * a * std::log2(a / m);
    if (b > 0) js += 0.5 * b * std::log2(b / m);
  }
  return std::max(0.0, js);
}

double topk_overlap(const float* p, const float* q, int n, int k) {
  k = std::min(k, n);
  if (k <= 0) return 1.0;
  std::vector<int> ip(static_cast<size_t>(n)), iq(static_cast<size_t>(n));
  std::iota(ip.begin(), ip.end(), 0);
  std::iota(iq.begin(), iq.end(), 0);
  auto by = [](const float* v) {
    return [v](int a, int b) { return v[a] > v[b] || (v[a] == v[b] && a < b); };
  };
  std::partial_sort(ip.begin(), ip.begin() + k, ip.end(), by(p));
  std::partial_sort(iq.begin(), iq.begin() + k, iq.end(), by(q));
  int common = 0;
  for (int i = 0; i < k; ++i)
    for (int j = 0; j < k; ++j)
      if (ip[size_t(i)] == iq[size_t(j)]) ++common;
  return double(common) / double(k);
}

void log_softmax_row(const float* x, int n, std::vector<double>& out) {
  out.resize(size_t(n));
  double mx = -std::numeric_limits<double>::infinity();
  for (int i = 0; i < n; ++i) mx = std::max(mx, double(x[i]));
  double s = 0;
  for (int i = 0; i < n; ++i) s += std::exp(double(x[i]) - mx);
  const double lse = mx + std::log(s);
  for (int i = 0; i < n; ++i) out[size_t(i)] = double(x[i]) - lse;
}

double kl_logprobs(const std::vector<double>& lp, const std::vector<double>& lq) {
  double kl = 0;
  for (size_t i = 0; i < lp.size(); ++i) {
    const double p = std::exp(lp[i]);
    if (p > 0) kl += p * (lp[i] - lq[i]);
  }
  return std::max(0.0, kl);
}

double kl_from_logits(const float* a, const float* b, int n) {
  std::vector<double> la, lb;
  log_softmax_row(a, n, la);
  log_softmax_row(b, n, lb);
  return kl_logprobs(la, lb);
}

double kurtosis(const float* x, int64_t n) {
  if (n <= 0) return 0;
  double mean = 0;
  for (int64_t i = 0; i < n; ++i) mean += x[i];
  mean /= double(n);
  double m2 = 0, m4 = 0;
  for (int64_t i = 0; i < n; ++i) {
    const double d = x[i] - mean, d2 = d * d;
    m2 += d2;
    m4 += d2 * d2;
  }
  m2 /= double(n);
  m4 /= double(n);
  return m2 > 0 ? m4 / (m2 * m2) : 0.0;
}

ChannelStats channel_stats(const Tensor& x) {
  const int64_t rows = x.rows(), d = x.cols();
  ChannelStats s;
  s.max_abs.assign(size_t(d), 0.0);
  std::vector<double> sum(size_t(d), 0), s2(size_t(d), 0);
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x.row(r);
    for (int64_t i = 0; i < d; ++i) {
      s.max_abs[size_t(i)] = std::max(s.max_abs[size_t(i)], double(std::fabs(xr[i])));
      sum[size_t(i)] += xr[i];
    }
  }
  // Per-channel kurtosis: second pass around each channel's mean.
  std::vector<double> m2(size_t(d), 0), m4(size_t(d), 0);
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x.row(r);
    for (int64_t i = 0; i < d; ++i) {
      const double dv = xr[i] - sum[size_t(i)] / double(rows), d2 = dv * dv;
      m2[size_t(i)] += d2;
      m4[size_t(i)] += d2 * d2;
    }
  }
  double kmean = 0;
  for (int64_t i = 0; i < d; ++i) {
    const double a = m2[size_t(i)] / double(rows), b = m4[size_t(i)] / double(rows);
    kmean += a > 0 ? b / (a * a) : 0.0;
  }
  s.channel_kurtosis_mean = d ? kmean / double(d) : 0;
  auto it = std::max_element(s.max_abs.begin(), s.max_abs.end());
  if (it != s.max_abs.end()) {
    s.max = *it;
    s.argmax = int(it - s.max_abs.begin());
    std::vector<double> sorted = s.max_abs;
    std::nth_element(sorted.begin(), sorted.begin() + int64_t(sorted.size() / 2), sorted.end());
    s.median = sorted[sorted.size() / 2];
  }
  s.kurtosis = kurtosis(x.ptr(), x.numel());
  return s;
}

}  // namespace lowbit::diag
