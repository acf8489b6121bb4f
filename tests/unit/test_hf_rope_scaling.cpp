// tests/unit/test_hf_rope_scaling.cpp — config.json's `rope_scaling` (io/hf.cpp): absent, null or of
// rope_type "default" (transformers' plain RoPE; older configs spell the key "type") loads as plain
// RoPE with the same configuration as without it; every other type is refused with one ConfigError
// naming the file, the key and the type, for LLaMA-style and Gemma 3 configs alike.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "lowbit/core/error.hpp"
#include "lowbit/io/hf.hpp"

using namespace lowbit;

namespace {

nlohmann::json llama() {
  return {{"model_type", "llama"},        {"hidden_size", 64},        {"intermediate_size", 128},
          {"num_hidden_layers", 2},       {"num_attention_heads", 4}, {"num_key_value_heads", 2},
          {"vocab_size", 97},             {"max_position_embeddings", 128}, {"rope_theta", 500000.0}};
}
nlohmann::json gemma3() {
  return {{"model_type", "gemma3_text"}, {"hidden_size", 48},         {"intermediate_size", 80},
          {"num_hidden_layers", 4},      {"num_attention_heads", 4},  {"num_key_value_heads", 2},
          {"head_dim", 16},              {"vocab_size", 97},          {"max_position_embeddings", 64},
          {"sliding_window", 5},         {"query_pre_attn_scalar", 16}};
}

std::string refusal(const nlohmann::json& j) {
  try {
    parse_hf_config(j.dump(), "m/config.json");
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(HfRopeScaling, DefaultTypeIsPlainRope) {
  for (const auto& base : {llama(), gemma3()}) {
    const DecoderConfig plain = parse_hf_config(base.dump(), "config.json");
    for (const nlohmann::json& rs : {nlohmann::json(nullptr), nlohmann::json{{"rope_type", "default"}},
                                     nlohmann::json{{"type", "default"}}}) {
      auto j = base;
      j["rope_scaling"] = rs;
      const DecoderConfig c = parse_hf_config(j.dump(), "config.json");
      EXPECT_EQ(c.rope_theta, plain.rope_theta) << rs.dump();
      EXPECT_EQ(c.rope, plain.rope) << rs.dump();
      EXPECT_EQ(c.max_seq_len, plain.max_seq_len) << rs.dump();
    }
  }
}

TEST(HfRopeScaling, OtherTypesAreRefusedByName) {
  const nlohmann::json llama3 = {{"rope_type", "llama3"}, {"factor", 8.0}, {"low_freq_factor", 1.0},
                                 {"high_freq_factor", 4.0}, {"original_max_position_embeddings", 8192}};
  for (const auto& base : {llama(), gemma3()}) {
    for (const auto& [rs, type] : std::vector<std::pair<nlohmann::json, std::string>>{
             {llama3, "'llama3'"},
             {{{"type", "linear"}, {"factor", 2.0}}, "'linear'"},
             {{{"rope_type", "dynamic"}, {"factor", 2.0}}, "'dynamic'"},
             {{{"factor", 2.0}}, "{\"factor\":2.0}"}}) {
      auto j = base;
      j["rope_scaling"] = rs;
      const std::string e = refusal(j);
      EXPECT_NE(e.find("m/config.json: key 'rope_scaling'"), std::string::npos) << e;
      EXPECT_NE(e.find(type), std::string::npos) << e;
      EXPECT_EQ(e.find('\n'), std::string::npos) << e;
    }
    auto j = base;
    j["rope_scaling"] = "llama3";
    EXPECT_NE(refusal(j).find("must be an object or null"), std::string::npos);
  }
}
