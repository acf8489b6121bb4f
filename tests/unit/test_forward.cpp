// tests/unit/test_forward.cpp — properties of the CPU forward: hooks see what the compressors and
// diagnostics need, batching and the KV cache change nothing, norms/RoPE match their definitions.
#include <gtest/gtest.h>

#include <cmath>
#include <map>

#include "lowbit/io/load.hpp"
#include "lowbit/model/forward.hpp"
#include "lowbit/model/synthetic.hpp"
#include "paths.hpp"
#include "tolerances.hpp"

using namespace lowbit;

namespace {

std::unique_ptr<Model> stories() { return load_model(test::shared("models/stories260K/stories260K.bin")); }

TEST(Forward, HooksCaptureLinearInputsBlockOutputsAndAttention) {
  auto m = stories();
  const auto& c = m->cfg;
  std::vector<int> toks = {1, 403, 261, 378, 10, 300, 45};
  const int T = int(toks.size());
  std::map<std::pair<int, int>, Tensor> inputs;
  std::vector<Tensor> block_out(size_t(c.n_layers)), probs(size_t(c.n_layers));
  ForwardHooks h;
  h.linear_input = [&](int l, LinearId id, const Tensor& x) { inputs[{l, int(id)}] = x; };
  h.block_output = [&](int l, const Tensor& x) { block_out[size_t(l)] = x; };
  h.capture_attention = true;
  h.attention = [&](int l, const Tensor& p) { probs[size_t(l)] = p; };
  Tensor logits;
  forward_logits(*m, toks.data(), 1, T, logits, &h);
  ASSERT_EQ(inputs.size(), size_t(7 * c.n_layers));
  for (int l = 0; l < c.n_layers; ++l) {
    // Q, K and V read the same normed input; Gate and Up too; each linear's X has its in-width.
    const Tensor& q = inputs[{l, int(LinearId::Q)}];
    const Tensor& k = inputs[{l, int(LinearId::K)}];
    EXPECT_EQ(q.data, k.data);
    const Tensor& g = inputs[{l, int(LinearId::Gate)}];
    const Tensor& u = inputs[{l, int(LinearId::Up)}];
    EXPECT_EQ(g.data, u.data);
    EXPECT_EQ(q.shape, (std::vector<int64_t>{T, c.dim}));
    const Tensor& dn = inputs[{l, int(LinearId::Down)}];
    EXPECT_EQ(dn.shape, (std::vector<int64_t>{T, c.hidden_dim}));
    EXPECT_EQ(block_out[size_t(l)].shape, (std::vector<int64_t>{T, c.dim}));
    // Attention rows are distributions over the visible (causal) keys.
    const Tensor& p = probs[size_t(l)];
    ASSERT_EQ(p.shape, (std::vector<int64_t>{1, c.n_heads, T, T}));
    for (int hd = 0; hd < c.n_heads; ++hd)
      for (int t = 0; t < T; ++t) {
        const float* row = p.ptr() + (int64_t(hd) * T + t) * T;
        double s = 0;
        for (int j = 0; j < T; ++j) {
          if (j > t) EXPECT_EQ(row[j], 0.f);
          s += row[j];
        }
        EXPECT_NEAR(s, 1.0, tol::kSoftmaxRowSum);
      }
  }
  // The hidden state after block 0 is not the embedding (the block did something) and is finite.
  double diff = 0;
  for (int64_t i = 0; i < c.dim; ++i) diff += std::abs(block_out[0].data[size_t(i)] - m->tok_embed.row(1)[i]);
  EXPECT_GT(diff, 1e-3);
}

TEST(Forward, BatchEqualsSequencesOneByOne) {
  auto m = stories();
  std::vector<int> a = {1, 403, 261, 378, 10}, b = {1, 17, 99, 300, 45};
  std::vector<int> ab = a;
  ab.insert(ab.end(), b.begin(), b.end());
  Tensor la, lb, lab;
  forward_logits(*m, a.data(), 1, 5, la);
  forward_logits(*m, b.data(), 1, 5, lb);
  forward_logits(*m, ab.data(), 2, 5, lab);
  for (size_t i = 0; i < la.data.size(); ++i) {
    EXPECT_NEAR(lab.data[i], la.data[i], tol::kLogitsF32);
    EXPECT_NEAR(lab.data[la.data.size() + i], lb.data[i], tol::kLogitsF32);
  }
}

TEST(Forward, KvCacheMatchesFullRecompute) {
  for (Arch arch : {Arch::Llama, Arch::Opt}) {
    DecoderConfig c;
    c.arch = arch;
    c.dim = 32; c.hidden_dim = 48; c.n_layers = 2; c.n_heads = 4; c.n_kv_heads = arch == Arch::Llama ? 2 : 4;
    c.head_dim = 8; c.vocab_size = 50; c.max_seq_len = 16;
    if (arch == Arch::Opt) {
      c.norm = NormKind::LayerNorm; c.rope = RopeStyle::None; c.gated_mlp = false; c.act = Activation::ReLU;
      c.qkv_bias = c.o_bias = c.mlp_bias = true; c.learned_pos = true; c.pos_offset = 2;
    }
    auto m = make_synthetic_model(c, 9);
    std::vector<int> toks = {1, 7, 33, 2, 45, 12, 8};
    Tensor full;
    forward_logits(*m, toks.data(), 1, int(toks.size()), full);
    KVCache cache;
    cache.init(c, c.max_seq_len);
    Tensor step;
    forward_logits(*m, toks.data(), 1, 3, step, nullptr, &cache);  // a 3-token prompt, then one at a time
    for (int t = 3; t < int(toks.size()); ++t) {
      forward_logits(*m, &toks[size_t(t)], 1, 1, step, nullptr, &cache);
      for (int v = 0; v < c.vocab_size; ++v)
        EXPECT_NEAR(step.data[size_t(v)], full.row(t)[v], tol::kLogitsF32) << arch_name(arch) << " t=" << t;
    }
    EXPECT_EQ(cache.len, int(toks.size()));
  }
}

TEST(Forward, NormsMatchTheirDefinitions) {
  const float x[6] = {1, -2, 3, 0.5f, 0.f, -1.5f}, w[3] = {1.f, 2.f, 0.5f}, b[3] = {0.1f, 0.f, -0.1f};
  float y[6];
  rms_norm(x, w, y, 2, 3, 1e-5f);
  const double r0 = std::sqrt((1 + 4 + 9) / 3.0 + 1e-5);
  EXPECT_NEAR(y[1], -2 / r0 * 2, tol::kFewF32Ops);
  layer_norm(x, w, b, y, 2, 3, 1e-5f);
  const double mu = 2.0 / 3.0, var = ((1 - mu) * (1 - mu) + (-2 - mu) * (-2 - mu) + (3 - mu) * (3 - mu)) / 3.0;
  EXPECT_NEAR(y[0], (1 - mu) / std::sqrt(var + 1e-5) * 1 + 0.1, tol::kFewF32Ops);
}

TEST(Forward, RopeStylesAreTheSameRotationOnPermutedPairs) {
  // Interleaved pairs (x0,x1),(x2,x3) and half-split pairs (x0,x2),(x1,x3) rotate identically.
  float inter[4] = {1, 2, 3, 4}, half[4] = {1, 3, 2, 4};
  apply_rope(inter, 1, 1, 5, 1, 4, RopeStyle::Interleaved, 10000.f);
  apply_rope(half, 1, 1, 5, 1, 4, RopeStyle::Half, 10000.f);
  EXPECT_FLOAT_EQ(inter[0], half[0]);
  EXPECT_FLOAT_EQ(inter[1], half[2]);
  EXPECT_FLOAT_EQ(inter[2], half[1]);
  EXPECT_FLOAT_EQ(inter[3], half[3]);
  EXPECT_NEAR(inter[0], std::cos(5.0) * 1 - std::sin(5.0) * 2, tol::kRopeClosedForm);  // position 5, frequency 1
}

TEST(Forward, StreamedBlocksGiveTheSameLogits) {
  auto m = stories();
  std::vector<int> toks = {1, 403, 261, 378, 10};
  Tensor a, b;
  forward_logits(*m, toks.data(), 1, 5, a);
  for (int l = 0; l < m->cfg.n_layers; ++l) m->release_block(l);
  EXPECT_FALSE(m->has_block(0));
  Tensor x;  // block by block, one resident at a time, as the layer-wise driver does
  embed_tokens(*m, toks.data(), 1, 5, 0, x);
  for (int l = 0; l < m->cfg.n_layers; ++l) {
    block_forward(m->cfg, m->load_block(l), l, x, 1, 5);
    EXPECT_FALSE(m->has_block(l));
  }
  final_norm(*m, x);
  lm_logits(*m, x, b);
  EXPECT_EQ(a.data, b.data);
}

}  // namespace
