// lowbit/train/adamw.hpp — the optimizer side of training: AdamW (decoupled weight decay, bias
// correction), global-norm gradient clipping and the warm-up + cosine learning-rate schedule.
// defines: lowbit::train::AdamWConfig, AdamWState, adamw_step, clip_grad_norm, lr_at
#pragma once

#include <cstdint>
#include <vector>

#include "lowbit/train/decoder_grad.hpp"

namespace lowbit::train {

struct AdamWConfig {
  double beta1 = 0.9, beta2 = 0.95, eps = 1e-8;
  double weight_decay = 0.1;  // applied to entries with decay = true (matrices), not norm gains
};

struct AdamWState {
  std::vector<float> m, v;  // first and second moments, layout order
  long long t = 0;          // steps taken
};

// One AdamW update at learning rate `lr` (PyTorch torch.optim.AdamW semantics):
//   p ← p − lr·wd·p (decay entries only);  m ← β1 m + (1−β1) g;  v ← β2 v + (1−β2) g²;
//   p ← p − lr · (m / (1−β1ᵗ)) / (sqrt(v / (1−β2ᵗ)) + eps)
void adamw_step(const ParamLayout& layout, const AdamWConfig& cfg, double lr, std::vector<float>& params,
                const std::vector<float>& grad, AdamWState& state);

// Scales `grad` so its global L2 norm is at most max_norm (max_norm <= 0: no clipping). Returns the
// norm before clipping (summed in double, in a fixed order).
double clip_grad_norm(std::vector<float>& grad, double max_norm);

// Linear warm-up from lr/warmup to lr over `warmup` steps, then cosine decay to min_lr at
// `total` steps (step counts from 0; steps past `total` stay at min_lr).
double lr_at(long long step, long long total, long long warmup, double lr, double min_lr);

}  // namespace lowbit::train
