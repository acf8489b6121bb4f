// lowbit/train/ops.hpp — the forward and backward operators of decoder training, in f32 on the CPU.
// Each backward is checked against finite differences in tests/unit/test_train_grad.cpp.
// defines: lowbit::train::embedding_forward/_backward, rms_norm_backward, linear_forward_raw,
//          linear_backward, rope_backward, attention_forward/_backward, swiglu_forward/_backward,
//          cross_entropy
//
// Layouts follow the inference forward (src/lowbit/model/forward.cpp): activations [rows = B*T, D]
// row-major, weights [out, in]. The forwards of RMSNorm and RoPE are lowbit::rms_norm and
// lowbit::apply_rope themselves; attention and the linears are written so that the trainer's
// logits equal forward_logits (checked in tests/unit/test_train.cpp).
// Backward conventions: "dx +=" accumulates (residual stream and weight gradients), "dx =" sets.
#pragma once

#include <cstdint>

namespace lowbit::train {

// x[r] = E[tokens[r]] (tokens must be in [0, V); the caller validates).
void embedding_forward(const float* E, const int* tokens, int64_t rows, int64_t D, float* x);
// dE[tokens[r]] += dx[r]. Serial over rows so that repeated tokens add in a fixed order.
void embedding_backward(const int* tokens, int64_t rows, int64_t D, const float* dx, float* dE);

// y = x * w / sqrt(mean(x²) + eps) per row (forward: lowbit::rms_norm).
// dx += ∂L/∂x, dw += ∂L/∂w given dy = ∂L/∂y.
void rms_norm_backward(const float* x, const float* w, const float* dy, int64_t rows, int64_t d, float eps,
                       float* dx, float* dw);

// y[rows, out] = x[rows, in] · Wᵀ (one SGEMM).
void linear_forward_raw(const float* x, const float* W, int64_t rows, int64_t in, int64_t out, float* y);
// dW[out, in] += dyᵀ · x; dx[rows, in] (+)= dy · W (accumulate_dx selects += or =).
void linear_backward(const float* x, const float* W, const float* dy, int64_t rows, int64_t in, int64_t out,
                     float* dx, float* dW, bool accumulate_dx);

// Backward of interleaved RoPE (lowbit::apply_rope with RopeStyle::Interleaved, pos0 = 0): the
// rotation is orthogonal, so dx = R(-angle) dy. In place on d [rows, n_heads*hd]; row r has
// position r % T.
void rope_backward(float* d, int64_t rows, int T, int n_heads, int hd, float theta);

// Causal softmax attention, n_kv_heads == n_heads. q, k, v, out: [B*T, H*hd]; probs [B, H, T, T]
// (entries past the query are 0). out = softmax(q kᵀ / sqrt(hd)) v, as in lowbit::block_forward.
void attention_forward(const float* q, const float* k, const float* v, int B, int T, int H, int hd, float* out,
                       float* probs);
// dq, dk, dv = (set) gradients given dout and the probs saved by attention_forward.
void attention_backward(const float* q, const float* k, const float* v, const float* probs, const float* dout, int B,
                        int T, int H, int hd, float* dq, float* dk, float* dv);

// h = silu(g) * u, elementwise over n values.
void swiglu_forward(const float* g, const float* u, int64_t n, float* h);
// dg = dh * u * silu'(g), du = dh * silu(g) (set).
void swiglu_backward(const float* g, const float* u, const float* dh, int64_t n, float* dg, float* du);

// Mean cross-entropy of logits [rows, V] against targets (a target < 0 is ignored). Returns the
// mean over counted rows (in double) and, when `grad` is set, overwrites logits with
// ∂loss/∂logits = (softmax − onehot) / counted. `counted` receives the number of counted rows.
double cross_entropy(float* logits, const int* targets, int64_t rows, int64_t V, bool grad, int64_t* counted = nullptr);

}  // namespace lowbit::train
