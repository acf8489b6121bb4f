// tests/unit/test_gguf_model.cpp — a GGUF file as a lowbit Model (io/gguf_model): the decoder
// described by SmolLM2's metadata (the architecture its model card states), tensor names, refusals.
#include <gtest/gtest.h>

#include <string>

#include "lowbit/core/error.hpp"
#include "lowbit/core/mapped_file.hpp"
#include "lowbit/io/gguf_model.hpp"
#include "lowbit/model/forward.hpp"
#include "paths.hpp"

namespace lowbit {
namespace {

TEST(GgufModel, SmolLM2IsTheLlamaItsCardDescribes) {
  const std::string path = test::real_model(test::kSmolLM2);
  ASSERT_TRUE(file_exists(path)) << path << " missing: run `bash .ci/models`";
  auto m = load_model(path);  // dispatch on .gguf
  const DecoderConfig& c = m->cfg;
  EXPECT_EQ(c.source_format, "gguf");
  EXPECT_EQ(c.n_layers, 30);
  EXPECT_EQ(c.dim, 576);
  EXPECT_EQ(c.n_heads, 9);
  EXPECT_EQ(c.n_kv_heads, 3);
  EXPECT_EQ(c.hidden_dim, 1536);
  EXPECT_EQ(c.vocab_size, 49152);
  EXPECT_TRUE(c.tie_embeddings);
  EXPECT_EQ(c.rope, RopeStyle::Interleaved);  // llama.cpp's stored q/k order
  // One block materialises from the Q4_1/Q8_0 tensors, finite and of the configured shapes.
  const BlockWeights b = m->load_block(0);
  EXPECT_EQ(b.q.w.shape, (std::vector<int64_t>{576, 576}));
  EXPECT_EQ(b.k.w.shape, (std::vector<int64_t>{192, 576}));
  EXPECT_EQ(b.down.w.shape, (std::vector<int64_t>{576, 1536}));
}

TEST(GgufModel, NamesMapBothWays) {
  EXPECT_EQ(gguf_tensor_name("tok_embed"), "token_embd.weight");
  EXPECT_EQ(gguf_tensor_name("layers.12.attn.o.weight"), "blk.12.attn_output.weight");
  EXPECT_EQ(gguf_tensor_name("layers.0.mlp_norm.weight"), "blk.0.ffn_norm.weight");
  EXPECT_EQ(gguf_tensor_name("final_norm.weight"), "output_norm.weight");
  EXPECT_EQ(gguf_tensor_name("layers.0.attn.q.bias"), "");
}

TEST(GgufModel, AnArchitectureTheDecoderLacksIsOneLineNamingIt) {
  const std::string path = test::real_model(test::kGemma3);
  ASSERT_TRUE(file_exists(path)) << path << " missing: run `bash .ci/models`";
  try {
    load_model(path);
    FAIL() << "gemma3 loaded";
  } catch (const InputError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find(path), std::string::npos) << msg;
    EXPECT_NE(msg.find("gemma3"), std::string::npos) << msg;
    EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
  }
}

}  // namespace
}  // namespace lowbit
