// lowbit/model/synthetic.hpp — models with random weights, built in memory (never committed):
// for benchmarks at sizes no real checkpoint here has, and for tests of every architecture.
// defines: lowbit::make_synthetic_model, lowbit::synthetic_llama_config
#pragma once

#include <cstdint>
#include <memory>

#include "lowbit/model/model.hpp"

namespace lowbit {

// Every weight drawn from N(0, 0.02^2)-like (scaled by 1/sqrt(fan_in) for linears), norm gains
// near 1; deterministic in `seed`. All blocks are materialised (no backing file).
std::unique_ptr<Model> make_synthetic_model(const DecoderConfig& cfg, uint64_t seed);
// A LLaMA shape of roughly `params` parameters (dim multiple of 64, hidden ≈ 8/3 dim).
DecoderConfig synthetic_llama_config(long long params, int vocab = 32000, int seq_len = 512);

}  // namespace lowbit
