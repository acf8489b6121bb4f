// tests/unit/test_golden.cpp — the forward pass against the golden numbers of
// shared/models/SOURCES.md (independent numpy fp64 reference) and greedy text.
#include <gtest/gtest.h>

#include "lowbit/core/mapped_file.hpp"
#include "lowbit/eval/generate.hpp"
#include "lowbit/eval/perplexity.hpp"
#include "lowbit/io/convert.hpp"
#include "lowbit/io/load.hpp"
#include "lowbit/io/tokenizer.hpp"
#include "lowbit/model/model.hpp"
#include "paths.hpp"
#include "tolerances.hpp"

using namespace lowbit;

namespace {

PplResult sample_ppl(const std::string& model, const std::string& tok_path, int ctx) {
  auto m = load_model(model);
  auto tok = load_tokenizer(tok_path);
  PplOptions o;
  o.ctx = ctx;
  auto docs = tokenize_documents(*tok, read_file(test::shared("data/tinystories_sample/tinystories_sample.txt")), o);
  EXPECT_EQ(docs.size(), 5u);
  return perplexity(*m, docs, o);
}

TEST(Golden, Stories260KSampleNll) {
  auto r = sample_ppl(test::shared("models/stories260K/stories260K.bin"), test::shared("models/stories260K/tok512.bin"), 512);
  EXPECT_EQ(r.tokens, 1804);
  EXPECT_NEAR(r.nll_per_token(), 1.2664, tol::kGoldenNll);
}

TEST(Golden, SaltyduckeggSampleNll) {
  // This model's context is 256 and four stories are longer: their second window starts at the
  // last target of the first, so every token is still predicted once (1804 in all).
  auto r = sample_ppl(test::shared("models/tinystories_d64_h192_l5_saltyduckegg/model.bin"),
                      test::shared("models/stories260K/tok512.bin"), 0);
  EXPECT_EQ(r.tokens, 1804);
  EXPECT_NEAR(r.nll_per_token(), 1.9707, tol::kGoldenNll);
}

TEST(Golden, EmbeddedModelIsTheSharedOne) {
  EXPECT_TRUE(read_file(test::source("models/stories260K/stories260K.bin")) ==
              read_file(test::shared("models/stories260K/stories260K.bin")));
}

TEST(Golden, Stories260KGreedyFromBos) {
  auto m = load_model(test::shared("models/stories260K/stories260K.bin"));
  auto tok = load_tokenizer(test::shared("models/stories260K/tok512.bin"));
  GenerateOptions o;
  o.max_new_tokens = 40;
  std::vector<int> prompt = {tok->bos_id()};
  auto out = generate_greedy(*m, prompt, o);
  std::string text;
  int prev = prompt.back();
  for (int t : out) {
    text += tok->decode_token(prev, t);
    prev = t;
  }
  const std::string golden = "Once upon a time, there was a little girl named Lily. She loved to play outside in the park.";
  ASSERT_GE(text.size(), golden.size()) << text;
  EXPECT_EQ(text.substr(0, golden.size()), golden);
}

TEST(Golden, ConvertedToHfGivesSameNll) {
  std::string dir = test::tmpdir("golden_hf");
  auto m = load_model(test::shared("models/stories260K/stories260K.bin"));
  convert_to_hf(*m, dir + "/hf", DType::F32);
  auto r = sample_ppl(dir + "/hf", test::shared("models/stories260K/tok512.bin"), 512);
  EXPECT_EQ(r.tokens, 1804);
  EXPECT_NEAR(r.nll_per_token(), 1.2664, tol::kGoldenNll);
}

}  // namespace
