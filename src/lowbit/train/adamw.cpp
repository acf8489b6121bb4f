// lowbit/train/adamw.cpp — AdamW, gradient clipping, LR schedule. defines: see adamw.hpp
#include "lowbit/train/adamw.hpp"

#include <cmath>

#include "lowbit/core/error.hpp"

namespace lowbit::train {

void adamw_step(const ParamLayout& layout, const AdamWConfig& cfg, double lr, std::vector<float>& params,
                const std::vector<float>& grad, AdamWState& s) {
  LB_CHECK(params.size() == layout.total && grad.size() == layout.total, "AdamW sizes");
  if (s.m.size() != layout.total) {
    s.m.assign(layout.total, 0.f);
    s.v.assign(layout.total, 0.f);
  }
  ++s.t;
  const double bc1 = 1.0 - std::pow(cfg.beta1, double(s.t));
  const double bc2 = 1.0 - std::pow(cfg.beta2, double(s.t));
  const float b1 = float(cfg.beta1), b2 = float(cfg.beta2);
  for (const auto& e : layout.entries) {
    const float decay = e.decay ? float(1.0 - lr * cfg.weight_decay) : 1.f;
    float* p = params.data() + e.offset;
    const float* g = grad.data() + e.offset;
    float* m = s.m.data() + e.offset;
    float* v = s.v.data() + e.offset;
    const int64_t n = int64_t(e.size);
#pragma omp parallel for schedule(static) if (n > 16384)
    for (int64_t i = 0; i < n; ++i) {
      m[i] = b1 * m[i] + (1.f - b1) * g[i];
      v[i] = b2 * v[i] + (1.f - b2) * g[i] * g[i];
      const double mh = double(m[i]) / bc1;
      const double vh = double(v[i]) / bc2;
      p[i] = float(double(p[i] * decay) - lr * mh / (std::sqrt(vh) + cfg.eps));
    }
  }
}

double clip_grad_norm(std::vector<float>& grad, double max_norm) {
  double ss = 0;
  for (float g : grad) ss += double(g) * g;
  const double norm = std::sqrt(ss);
  if (max_norm > 0 && norm > max_norm) {
    const float s = float(max_norm / (norm + 1e-12));
    for (float& g : grad) g *= s;
  }
  return norm;
}

double lr_at(long long step, long long total, long long warmup, double lr, double min_lr) {
  if (warmup > 0 && step < warmup) return lr * double(step + 1) / double(warmup);
  if (step >= total) return min_lr;
  const double span = double(std::max<long long>(1, total - warmup));
  const double progress = double(step - warmup) / span;
  return min_lr + 0.5 * (lr - min_lr) * (1.0 + std::cos(M_PI * progress));
}

}  // namespace lowbit::train
