// tests/unit/test_reliability.cpp — bad input that used to load (or run) and give a wrong result
// with success (issue 17): finite but absurd weights, results that overflow, a checkpoint holding
// more than its config describes, a tokenizer larger than the model's vocabulary, and config keys
// named as config.json names them. Each must be an InputError naming the file and the tensor/key.
// The CLI side is tests/cli/bad_input.sh.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>

#include "lowbit/core/error.hpp"
#include "lowbit/core/mapped_file.hpp"
#include "lowbit/eval/perplexity.hpp"
#include "lowbit/io/convert.hpp"
#include "lowbit/io/gguf.hpp"
#include "lowbit/io/gguf_export.hpp"
#include "lowbit/io/load.hpp"
#include "lowbit/io/tokenizer.hpp"
#include "lowbit/model/model.hpp"
#include "error_of.hpp"
#include "paths.hpp"

using namespace lowbit;
namespace fs = std::filesystem;
using nlohmann::json;
using test::error_of;

namespace {

std::string stories_bin() { return test::source("models/stories260K/stories260K.bin"); }
std::string stories_tok() { return test::source("models/stories260K/tok512.bin"); }

// stories260K: dim 64, 5 layers, vocab 512; wq[2] starts after the embedding, 5 rms_att rows and wq[0..1].
constexpr int64_t kD = 64, kL = 5, kV = 512;
constexpr int64_t kWq2 = kV * kD + kL * kD + 2 * kD * kD;

// stories260K with float `index` (after the 28-byte header) set to v.
std::string patched_stories(const std::string& name, int64_t index, float v) {
  std::string b = read_file(stories_bin());
  std::memcpy(b.data() + 28 + 4 * index, &v, 4);
  const std::string p = test::tmpdir("rel_" + name) + "/model.bin";
  write_file_atomic(p, b);
  return p;
}

// stories260K as an HF folder with config.json edited by `edit`.
template <class F>
std::string hf_with_config(const std::string& name, F&& edit) {
  const std::string d = test::tmpdir("rel_hf_" + name) + "/hf";
  convert_to_hf(*load_model(stories_bin()), d, DType::F32);
  json j = json::parse(read_file(d + "/config.json"));
  edit(j);
  write_file_atomic(d + "/config.json", j.dump(2));
  return d;
}

}  // namespace

TEST(Reliability, HugeFiniteWeightRefusedNamingTensor) {
  const std::string p = patched_stories("huge", kWq2 + 10, 3e38f);
  auto m = load_model(p);  // a block tensor: checked when the block is materialised
  const std::string msg = error_of<InputError>([&] { m->block(2); });
  EXPECT_NAMES(msg, p);
  EXPECT_NAMES(msg, "'wq[2]'");
  EXPECT_NAMES(msg, "exceeds");
  EXPECT_NAMES(msg, "index 10");
}

TEST(Reliability, WeightAtTheLimitLoads) {
  const std::string p = patched_stories("limit", kWq2 + 10, kMaxWeightMagnitude);
  auto m = load_model(p);
  EXPECT_NO_THROW(m->materialize_all());
}

TEST(Reliability, NonFiniteLossIsAnError) {
  auto m = load_model(stories_bin());
  auto t = load_tokenizer(stories_tok());
  const int bos = t->bos_id();
  for (int64_t d = 0; d < m->cfg.dim; ++d) m->tok_embed.data[size_t(bos * m->cfg.dim + d)] = std::numeric_limits<float>::quiet_NaN();
  const auto docs = tokenize_documents(*t, "Once upon a time there was a cat.", PplOptions{});
  const std::string msg = error_of<InputError>([&] { perplexity(*m, docs, PplOptions{}); });
  EXPECT_NAMES(msg, stories_bin());
  EXPECT_NAMES(msg, "non-finite loss");
}

TEST(Reliability, NonFiniteCompressedBlockNamed) {
  auto m = load_model(stories_bin());
  BlockWeights b = m->load_block(1);
  b.v.w.data[7] = std::numeric_limits<float>::quiet_NaN();
  m->set_block(1, b);
  const std::string msg = error_of<InputError>([&] { check_weights_finite(*m, "rtn 2-bit result"); });
  EXPECT_NAMES(msg, "rtn 2-bit result");
  EXPECT_NAMES(msg, "'layers.1.attn.v.weight'");
  EXPECT_NAMES(msg, "index 7");
  auto clean = load_model(stories_bin());
  clean->set_block(1, clean->load_block(1));
  EXPECT_NO_THROW(check_weights_finite(*clean, "fp"));
}

TEST(Reliability, ConfigWithFewerLayersThanTheWeights) {
  const std::string d = hf_with_config("fewer", [](json& j) { j["num_hidden_layers"] = 4; });
  const std::string msg = error_of<InputError>([&] { load_model(d); });
  EXPECT_NAMES(msg, d);
  EXPECT_NAMES(msg, "9 tensors are not used");
  EXPECT_NAMES(msg, "model.layers.4.");
  EXPECT_NAMES(msg, "num_hidden_layers");
}

TEST(Reliability, TokenizerLargerThanVocabularyNamesBothFiles) {
  std::string b = read_file(stories_tok());
  for (int i = 0; i < 100; ++i) {
    const float score = -1e4f;
    const int32_t len = 4;
    b.append(reinterpret_cast<const char*>(&score), 4).append(reinterpret_cast<const char*>(&len), 4);
    b += "x" + std::to_string(100 + i);
  }
  const std::string tp = test::tmpdir("rel_tok") + "/tok612.bin";
  write_file_atomic(tp, b);
  auto t = load_tokenizer(tp);
  ASSERT_EQ(t->vocab_size(), 612);
  auto m = load_model(stories_bin());
  const std::string msg = error_of<InputError>([&] { check_tokenizer_fits(*t, tp, *m); });
  EXPECT_NAMES(msg, tp);
  EXPECT_NAMES(msg, stories_bin());
  EXPECT_NAMES(msg, "612");
  EXPECT_NAMES(msg, "512");
  EXPECT_NO_THROW(check_tokenizer_fits(*load_tokenizer(stories_tok()), stories_tok(), *m));
}

TEST(Reliability, ContextLimitNamesTheConfigKey) {
  const std::string d = hf_with_config("ctx1", [](json& j) { j["max_position_embeddings"] = 1; });
  const std::string msg = error_of<InputError>([&] { load_model(d); });
  EXPECT_NAMES(msg, d + "/config.json");
  EXPECT_NAMES(msg, "'max_position_embeddings' = 1");
}

TEST(Reliability, ConfigKeysNamedAsTheFileNamesThem) {
  struct Case {
    const char* key;
    json value;
  };
  for (const Case& c : {Case{"rms_norm_eps", 0}, Case{"rms_norm_eps", 2.0}, Case{"hidden_act", "tanh"},
                        Case{"num_key_value_heads", 3}, Case{"rope_theta", -1.0}}) {
    const std::string d = hf_with_config(std::string("key_") + c.key, [&](json& j) { j[c.key] = c.value; });
    const std::string msg = error_of<InputError>([&] { load_model(d); });
    EXPECT_NAMES(msg, d + "/config.json");
    EXPECT_NAMES(msg, std::string("'") + c.key + "'");
  }
}

// A GGUF file whose block 1 has a q bias block 0 lacks: the decoder (qkv_bias from block 0) would
// ignore it, so it is refused by name.
TEST(Reliability, GgufTensorTheConfigDoesNotUse) {
  const std::string dir = test::tmpdir("rel_gguf");
  GgufExportOptions o;
  o.dtype = GgufPlainDType::F32;
  o.tokenizer = stories_tok();
  write_gguf_model(*load_model(stories_bin()), nullptr, dir + "/s.gguf", o);
  auto f = read_gguf(dir + "/s.gguf");
  GgufWriter w;
  for (const auto& k : f->kv_order)
    if (k != "general.alignment") w.set(k, f->kv.at(k));
  for (const auto& t : f->tensors) {
    const uint8_t* p = f->base + f->data_offset + t.offset;
    w.add_tensor(t.name, t.ggml_type, t.shape, std::vector<uint8_t>(p, p + t.nbytes));
  }
  w.add_f32("blk.1.attn_q.bias", Tensor({kD}));
  w.write(dir + "/bias.gguf");
  EXPECT_NO_THROW(load_model(dir + "/s.gguf"));
  const std::string msg = error_of<InputError>([&] { load_model(dir + "/bias.gguf"); });
  EXPECT_NAMES(msg, dir + "/bias.gguf");
  EXPECT_NAMES(msg, "1 tensor is not used");
  EXPECT_NAMES(msg, "blk.1.attn_q.bias");
}
