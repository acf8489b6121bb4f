// tests/unit/test_gguf_llama_peer.cpp — SmolLM2-135M (GGUF Q4_1) through lowbit and through llama.cpp
// (llama-cpp-python in the .ci/models venv) on the same WikiText-2 windows. Label peer (suite *Peer):
// about two minutes on 2 cores; .ci/run runs it.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include "lowbit/core/mapped_file.hpp"
#include "lowbit/eval/perplexity.hpp"
#include "lowbit/io/gguf_model.hpp"
#include "lowbit/io/tokenizer.hpp"
#include "paths.hpp"

namespace lowbit {
namespace {

// llama.cpp multiplies quantised weights with activations quantised to q8_0 (lowbit dequantises the
// weights to f32 and keeps activations in f32), so its per-token NLL is not lowbit's to float
// precision. Measured on 4 windows of 512 WikiText-2 tokens: lowbit 3.3875, llama.cpp 3.4095 nats
// per token (Δ 0.022). The bound is that measurement with headroom, not yet derived from a float64
// reference of this model (docs/MODELS.md says what is open).
constexpr double kMeanNllVsLlamaCpp = 0.05;
// Per window the same effect; a window-level bound twice the mean one.
constexpr double kWindowNllVsLlamaCpp = 0.10;

std::string run(const std::string& cmd) {
  std::string out;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) return out;
  char buf[1 << 16];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  ::pclose(p);
  return out;
}

TEST(LlamaCppPeer, SmolLM2WindowNllAgreesWithLlamaCpp) {
  const std::string model = test::real_model(test::kSmolLM2);
  ASSERT_TRUE(file_exists(model)) << model << " missing: run `bash .ci/models`";
  ASSERT_TRUE(file_exists(test::venv_python())) << "the venv is missing: run `bash .ci/models`";
  const std::string text = test::shared("data/wikitext2_raw/wiki.test.raw");
  const int ctx = 512, windows = 2;
  auto m = load_gguf_model(model);
  auto tok = load_tokenizer(model);
  PplOptions po;
  po.ctx = ctx;
  po.max_windows = windows;
  po.doc_sep = "";
  po.add_bos = true;  // the GGUF's own flag decides (SmolLM2: no BOS), as llama.cpp does
  const auto docs = tokenize_documents(*tok, read_file(text), po);
  const PplResult lb = perplexity(*m, docs, po);
  const std::string js = run("'" + test::venv_python() + "' '" + test::source("tests/data/llama_window_nll.py") +
                             "' '" + model + "' '" + text + "' " + std::to_string(ctx) + " " +
                             std::to_string(windows));
  nlohmann::json ll;
  ASSERT_NO_THROW(ll = nlohmann::json::parse(js)) << js.substr(0, 400);
  ASSERT_EQ(ll["tokens"].get<long long>(), lb.tokens) << "the two cut the text differently";
  const double d = std::fabs(ll["nll_per_token"].get<double>() - lb.nll_per_token());
  std::printf("SmolLM2 %d x %d WikiText-2: lowbit %.4f, llama.cpp %.4f nats/token, |diff| %.4f\n", windows, ctx,
              lb.nll_per_token(), ll["nll_per_token"].get<double>(), d);
  EXPECT_LT(d, kMeanNllVsLlamaCpp);
  for (int w = 0; w < windows; ++w) {
    double s = 0;
    for (double v : ll["window_nll"][size_t(w)]) s += v;
    const double per = s / double(lb.window_tokens[size_t(w)]);
    const double mine = lb.window_nll[size_t(w)] / double(lb.window_tokens[size_t(w)]);
    EXPECT_LT(std::fabs(per - mine), kWindowNllVsLlamaCpp) << "window " << w;
  }
  // A sanity bound that a broken forward (wrong RoPE order, wrong norm) cannot meet: a 135M model
  // pretrained on web text is far better than uniform over 49,152 tokens (10.8 nats).
  EXPECT_LT(lb.nll_per_token(), 4.0);
}

}  // namespace
}  // namespace lowbit
