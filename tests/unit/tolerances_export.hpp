// tests/unit/tolerances_export.hpp — tolerances of the GGUF export checks against llama.cpp
// (test_gguf_export.cpp), named, each with its reason and the measurement it was chosen from.
// defines: lowbit::tol::kLlamaCppF32Logits, kLlamaCppGemmaF32Logits, kLlamaCppF32Nll, kLlamaCppF32LogitsReal,
//          kLlamaCppF32NllReal, //          kLlamaCppQ4_0MeanAbsNll, kLlamaCppQ4_0NllShift, kLlamaCppQ4_0Top1,
//          kLlamaCppGemmaRealMeanAbsNll, kLlamaCppGemmaRealTop1
#pragma once

namespace lowbit::tol {

// Max |logit difference| between lowbit and llama.cpp on the same F32 GGUF: no weight or activation
// is quantised on either side, so the difference is summation order (ggml's SIMD dot products, its
// f16 exp tables are not used for F32 soft-max) and RoPE's sin/cos evaluation. The KV cache is F32
// for these checks (llama.cpp's default F16 cache rounds K and V: 0.035 on stories260K).
// Measured: 2.3e-5 (stories260K), 2e-6 / 8e-6 (synthetic LLaMA / Qwen2); 1e-4 leaves 4x.
inline constexpr float kLlamaCppF32Logits = 1e-4f;
// The same for Gemma 3: ggml's CPU GELU (ggml-cpu/vec.h, GGML_GELU_FP16 defined by default) rounds
// its input to f16 and looks the result up in an f16 table, so every MLP activation carries up to
// ~2^-11 relative error that lowbit's f32 tanh-GELU does not. Measured 3.3e-3 on the synthetic
// Gemma 3 (6 layers, 40 tokens); 1e-2 leaves 3x.
inline constexpr float kLlamaCppGemmaF32Logits = 1e-2f;
// Max |ΔNLL| per token in the same setting (at most twice the logit difference).
inline constexpr double kLlamaCppF32Nll = 2e-4;

// The same on SmolLM2-135M (30 layers, 576 wide, logits up to ~30): measured 6.7e-5 on 256 TinyStories
// tokens; 5e-4 leaves room for other sequences (the error grows with depth and logit size).
inline constexpr float kLlamaCppF32LogitsReal = 5e-4f;
// Max |ΔNLL| per token there: at most twice the logit difference.
inline constexpr double kLlamaCppF32NllReal = 1e-3;

// Gemma-3-270M as F32 GGUF, lowbit vs llama.cpp (F32 KV cache) on 600 TinyStories tokens (past the
// 512-token window): ggml's f16 GELU table (see kLlamaCppGemmaF32Logits) is the difference.
// Measured: max |Δlogit| 0.015 at logits up to 37, mean |ΔNLL| 5.9e-4, max 6.8e-3, top-1 100 %.
inline constexpr double kLlamaCppGemmaRealMeanAbsNll = 2e-3;
inline constexpr double kLlamaCppGemmaRealTop1 = 0.99;

// lowbit vs llama.cpp on a Q4_0 GGUF (GPTQ w4g32sym SmolLM2, 4 x 64 TinyStories calibration tokens;
// the same weights on both sides, 2 x 256 TinyStories tokens, F32 KV cache). llama.cpp's CPU matmul of
// a Q4_0 weight first quantises the activation row to q8_0 (32 values per f16 scale, 8-bit codes), so
// every linear's input carries up to half a q8_0 step of error (more where a block holds an outlier
// channel); lowbit keeps f32 activations. Measured: mean |ΔNLL| 0.053 (F16 KV cache: 0.054), max
// 0.51, mean NLL shift +0.004, top-1 agreement 96.9%. llama.cpp on the same fake-quantised weights
// stored F32 differs from its own Q4_0 run by the same amount (0.058 / 0.047 per sequence) and from
// lowbit by 1e-5 (the F32 control in the test): the difference is the activation quantisation.
// The bounds are about twice the measurement.
inline constexpr double kLlamaCppQ4_0MeanAbsNll = 0.1;
// |mean NLL(llama.cpp) − mean NLL(lowbit)| over the same tokens: the perplexity-level agreement.
inline constexpr double kLlamaCppQ4_0NllShift = 0.02;
// Share of positions where both pick the same next token (measured 0.969).
inline constexpr double kLlamaCppQ4_0Top1 = 0.93;

}  // namespace lowbit::tol
