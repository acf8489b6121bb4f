// tests/unit/test_gemma3.cpp — Gemma 3 as fields of the one decoder, on synthetic models: every
// feature against the independent numpy float64 reference (tests/data/ref_forward.py, written from
// HF's modeling_gemma3 semantics) through an HF gemma3_text folder, with a check that each feature
// is exercised (switching it off in lowbit breaks the agreement), the sliding window under the KV
// cache and in the attention probabilities, and the HF config parsing.
#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>
#include <random>

#include "lowbit/core/error.hpp"
#include "lowbit/core/mapped_file.hpp"
#include "lowbit/io/hf.hpp"
#include "lowbit/model/forward.hpp"
#include "lowbit/model/synthetic.hpp"
#include "numpy_ref.hpp"
#include "paths.hpp"
#include "tolerances.hpp"

using namespace lowbit;

namespace {

// A small Gemma 3: GQA 4:2, head_dim 16 with q_dim 64 != dim 48, 4 layers in a pattern of 3
// (local, local, global, local), window 5 < T, query_pre_attn_scalar 24 != head_dim, tied head.
DecoderConfig gemma_config() {
  DecoderConfig c;
  c.arch = Arch::Gemma3;
  c.dim = 48;
  c.hidden_dim = 80;
  c.n_layers = 4;
  c.n_heads = 4;
  c.n_kv_heads = 2;
  c.head_dim = 16;
  c.vocab_size = 97;
  c.max_seq_len = 64;
  c.norm_eps = 1e-6f;
  c.rope = RopeStyle::Half;
  c.rope_theta = 1e6f;
  c.rope_theta_local = 1e4f;
  c.act = Activation::GELUTanh;
  c.post_norms = c.qk_norm = true;
  c.embed_scale = std::sqrt(48.f);
  c.attn_scale = float(1.0 / std::sqrt(24.0));
  c.sliding_window = 5;
  c.sliding_pattern = 3;
  c.tie_embeddings = true;
  c.source_format = "synthetic";
  return c;
}

std::vector<std::vector<int>> random_seqs(int B, int T, int V, unsigned seed) {
  std::mt19937 rng(seed);
  std::vector<std::vector<int>> s(size_t(B), std::vector<int>(static_cast<size_t>(T)));
  for (auto& q : s)
    for (auto& t : q) t = int(rng() % unsigned(V));
  return s;
}

std::vector<int> flat(const std::vector<std::vector<int>>& s) {
  std::vector<int> f;
  for (const auto& q : s) f.insert(f.end(), q.begin(), q.end());
  return f;
}

double max_diff_vs(const Model& m, const std::vector<std::vector<int>>& seqs, const std::vector<double>& ref) {
  Tensor logits;
  const auto f = flat(seqs);
  forward_logits(m, f.data(), int(seqs.size()), int(seqs[0].size()), logits);
  EXPECT_EQ(ref.size(), logits.data.size());
  if (ref.size() != logits.data.size()) return INFINITY;
  return test::max_abs_diff(ref, logits.ptr(), ref.size());
}

}  // namespace

TEST(Gemma3, ConfigDescribesTheLayerPattern) {
  DecoderConfig c = gemma_config();
  c.validate("test");
  EXPECT_TRUE(c.is_local_layer(0));
  EXPECT_TRUE(c.is_local_layer(1));
  EXPECT_FALSE(c.is_local_layer(2));
  EXPECT_TRUE(c.is_local_layer(3));
  EXPECT_EQ(c.layer_rope_theta(2), 1e6f);
  EXPECT_EQ(c.layer_rope_theta(3), 1e4f);
  // llama.cpp's set_swa_pattern for Gemma 3 (6): layers 5, 11, 17 of 18 are global.
  c.n_layers = 18;
  c.sliding_pattern = 6;
  for (int l = 0; l < 18; ++l) EXPECT_EQ(c.is_local_layer(l), l % 6 != 5) << l;
  c.sliding_pattern = 0;  // every layer local
  for (int l = 0; l < 18; ++l) EXPECT_TRUE(c.is_local_layer(l));
  c.sliding_window = 0;  // no window: nothing is local
  for (int l = 0; l < 18; ++l) EXPECT_FALSE(c.is_local_layer(l));
  // The extra norms count as parameters: per layer 2·D (sandwich) + 2·head_dim (q/k).
  DecoderConfig plain = gemma_config();
  plain.post_norms = plain.qk_norm = false;
  EXPECT_EQ(gemma_config().non_embedding_params() - plain.non_embedding_params(), 4LL * (2 * 48 + 2 * 16));
  DecoderConfig bad = gemma_config();
  bad.sliding_window = -1;
  EXPECT_THROW(bad.validate("test"), ConfigError);
  bad = gemma_config();
  bad.attn_scale = -1.f;
  EXPECT_THROW(bad.validate("test"), ConfigError);
}

// All features together, through an HF gemma3_text folder (the writer subtracts the 1 of Gemma's
// norms, the reader adds it back), against numpy; then each feature switched off in lowbit alone
// must move the logits far outside the tolerance, so the agreement is evidence for every feature.
TEST(Gemma3, SyntheticMatchesNumpyFeatureByFeature) {
  const std::string scratch = test::tmpdir("gemma3_synth");
  auto mem = make_synthetic_model(gemma_config(), 21);
  write_hf_model(*mem, scratch + "/model", DType::F32);
  auto cfg = nlohmann::json::parse(read_file(scratch + "/model/config.json"));
  EXPECT_EQ(cfg["model_type"], "gemma3_text");
  EXPECT_EQ(cfg["query_pre_attn_scalar"], 24);
  EXPECT_EQ(cfg["layer_types"][2], "full_attention");
  auto m = load_hf_model(scratch + "/model");
  EXPECT_EQ(m->cfg.arch, Arch::Gemma3);
  EXPECT_EQ(m->cfg.sliding_pattern, 3);
  EXPECT_EQ(m->cfg.sliding_window, 5);
  EXPECT_EQ(m->cfg.embed_scale, std::sqrt(48.f));
  EXPECT_FLOAT_EQ(m->cfg.attn_scale, float(1.0 / std::sqrt(24.0)));
  // Norm gains survive the -1/+1 of the HF layout to within one f32 rounding.
  for (int l = 0; l < 4; ++l) {
    const auto a = mem->block(l).norm_tensors();
    const auto b = m->block(l).norm_tensors();
    for (size_t i = 0; i < a.size(); ++i) {
      ASSERT_EQ(a[i].second->data.size(), b[i].second->data.size()) << a[i].first;
      for (size_t j = 0; j < a[i].second->data.size(); ++j)
        EXPECT_NEAR(a[i].second->data[j], b[i].second->data[j], tol::kNormGainOffsetRoundTrip) << a[i].first;
    }
  }
  const auto seqs = random_seqs(2, 13, 97, 5);  // T = 13 > window 5
  const auto ref = test::numpy_reference(LOWBIT_TEST_PYTHON, scratch + "/model", seqs, scratch);
  ASSERT_TRUE(ref.ok);
  EXPECT_GT(test::max_abs(ref.logits), 0.5) << "degenerate logits would prove nothing";
  const double d = max_diff_vs(*m, seqs, ref.logits);
  EXPECT_LT(d, tol::kLogitsVsNumpy);
  std::printf("[gemma3] synthetic: max |logit - numpy| = %.3g\n", d);

  struct Off {
    const char* what;
    void (*apply)(Model&);
    double factor;  // how far outside the tolerance switching the feature off must land
  };
  const Off offs[] = {
      {"sliding window", [](Model& x) { x.cfg.sliding_window = 0; }, 100},
      {"layer pattern", [](Model& x) { x.cfg.sliding_pattern = 2; }, 100},
      {"local RoPE base", [](Model& x) { x.cfg.rope_theta_local = x.cfg.rope_theta; }, 100},
      {"q/k norms", [](Model& x) { x.cfg.qk_norm = false; }, 100},
      {"sandwich norms", [](Model& x) { x.cfg.post_norms = false; }, 100},
      {"embedding scale", [](Model& x) { x.cfg.embed_scale = 1.f; }, 100},
      {"attention scale", [](Model& x) { x.cfg.attn_scale = 0.f; }, 100},
      {"tanh GELU", [](Model& x) { x.cfg.act = Activation::GELU; }, 4},
  };
  for (const auto& o : offs) {
    auto alt = load_hf_model(scratch + "/model");
    o.apply(*alt);
    const double da = max_diff_vs(*alt, seqs, ref.logits);
    // The structural features move the logits by O(1); erf vs tanh GELU differ by < 1e-3 per
    // activation and move them by ~2e-3, still 8x the tolerance.
    EXPECT_GT(da, o.factor * tol::kLogitsVsNumpy) << o.what << " off still matches numpy: the test would not see it";
    std::printf("[gemma3] without %-16s max |logit - numpy| = %.3g\n", o.what, da);
  }
}

// HF casts Gemma's sqrt(hidden) to the checkpoint dtype; a bf16 folder is read that way, and the
// reference, reading the same rounded weights, agrees.
TEST(Gemma3, Bf16FolderUsesTheRoundedEmbeddingScale) {
  const std::string scratch = test::tmpdir("gemma3_bf16");
  auto mem = make_synthetic_model(gemma_config(), 8);
  write_hf_model(*mem, scratch + "/model", DType::BF16);
  auto m = load_hf_model(scratch + "/model");
  EXPECT_EQ(m->cfg.embed_scale, bf16_to_f32(f32_to_bf16(std::sqrt(48.f))));
  EXPECT_NE(m->cfg.embed_scale, std::sqrt(48.f));
  const auto seqs = random_seqs(1, 11, 97, 9);
  const auto ref = test::numpy_reference(LOWBIT_TEST_PYTHON, scratch + "/model", seqs, scratch);
  ASSERT_TRUE(ref.ok);
  EXPECT_LT(max_diff_vs(*m, seqs, ref.logits), tol::kLogitsVsNumpy);
}

// Incremental decoding (what generate does) keeps the window: token-by-token logits through the
// KV cache equal the full pass, for a sequence 3x longer than the window.
TEST(Gemma3, KvCacheKeepsTheSlidingWindow) {
  auto m = make_synthetic_model(gemma_config(), 4);
  const auto seqs = random_seqs(1, 17, 97, 2);
  Tensor full;
  forward_logits(*m, seqs[0].data(), 1, 17, full);
  KVCache cache;
  cache.init(m->cfg, 32);
  double d = 0;
  // A 7-token prefill, then one token at a time.
  Tensor part;
  forward_logits(*m, seqs[0].data(), 1, 7, part, nullptr, &cache);
  for (int64_t i = 0; i < part.numel(); ++i) d = std::max(d, double(std::abs(part.data[size_t(i)] - full.data[size_t(i)])));
  for (int t = 7; t < 17; ++t) {
    forward_logits(*m, seqs[0].data() + t, 1, 1, part, nullptr, &cache);
    for (int64_t i = 0; i < part.numel(); ++i)
      d = std::max(d, double(std::abs(part.data[size_t(i)] - full.row(t)[i])));
  }
  EXPECT_LT(d, tol::kLogitsF32);
}

// Attention probabilities: a local layer puts no mass outside the window, a global one does.
TEST(Gemma3, LocalLayersAttendInsideTheWindowOnly) {
  auto m = make_synthetic_model(gemma_config(), 6);
  const auto seqs = random_seqs(1, 12, 97, 3);
  ForwardHooks h;
  h.capture_attention = true;
  std::vector<Tensor> probs(4);
  h.attention = [&](int layer, const Tensor& p) { probs[size_t(layer)] = p; };
  Tensor logits;
  forward_logits(*m, seqs[0].data(), 1, 12, logits, &h);
  for (int l = 0; l < 4; ++l) {
    const Tensor& p = probs[size_t(l)];
    ASSERT_EQ(p.shape, (std::vector<int64_t>{1, 4, 12, 12}));
    double outside = 0;
    for (int hd = 0; hd < 4; ++hd)
      for (int t = 0; t < 12; ++t) {
        double sum = 0;
        for (int j = 0; j < 12; ++j) {
          const double v = p.data[size_t((hd * 12 + t) * 12 + j)];
          sum += v;
          if (j > t) EXPECT_EQ(v, 0.0);
          if (t - j >= 5) outside += v;
        }
        EXPECT_NEAR(sum, 1.0, tol::kSoftmaxRowSum);
      }
    if (m->cfg.is_local_layer(l))
      EXPECT_EQ(outside, 0.0) << "layer " << l;
    else
      EXPECT_GT(outside, 0.1) << "layer " << l;
  }
}

TEST(Gemma3, HfConfigRefusesWhatLowbitDoesNotImplement) {
  auto base = [] {
    return nlohmann::json{{"model_type", "gemma3_text"}, {"hidden_size", 48},          {"intermediate_size", 80},
                          {"num_hidden_layers", 4},      {"num_attention_heads", 4},  {"num_key_value_heads", 2},
                          {"head_dim", 16},              {"vocab_size", 97},          {"max_position_embeddings", 64},
                          {"sliding_window", 5},         {"query_pre_attn_scalar", 16}};
  };
  auto c = parse_hf_config(base().dump(), "config.json");
  EXPECT_EQ(c.sliding_pattern, 6);  // transformers' default when layer_types is absent
  EXPECT_EQ(c.rope_theta, 1e6f);
  EXPECT_EQ(c.rope_theta_local, 1e4f);
  EXPECT_TRUE(c.tie_embeddings);
  auto j = base();
  j["layer_types"] = {"sliding_attention", "full_attention", "sliding_attention", "full_attention"};
  EXPECT_EQ(parse_hf_config(j.dump(), "config.json").sliding_pattern, 2);
  auto expect_refused = [](const nlohmann::json& jj, const char* key) {
    try {
      parse_hf_config(jj.dump(), "config.json");
      ADD_FAILURE() << "accepted " << key;
    } catch (const ConfigError& e) {
      EXPECT_NE(std::string(e.what()).find(key), std::string::npos) << e.what();
    }
  };
  j["layer_types"] = {"full_attention", "sliding_attention", "sliding_attention", "full_attention"};
  expect_refused(j, "layer_types");
  j = base();
  j["rope_scaling"] = {{"rope_type", "linear"}, {"factor", 8.0}};
  expect_refused(j, "rope_scaling");
  j = base();
  j["final_logit_softcapping"] = 30.0;
  expect_refused(j, "final_logit_softcapping");
}

// A LLaMA/Qwen2/OPT config that carries Gemma features cannot be written as that HF architecture.
TEST(Gemma3, HfWriterRefusesGemmaFeaturesOnOtherArchitectures) {
  DecoderConfig c = gemma_config();
  c.arch = Arch::Llama;
  auto m = make_synthetic_model(c, 1);
  const std::string scratch = test::tmpdir("gemma3_refuse");
  EXPECT_THROW(write_hf_model(*m, scratch + "/x", DType::F32), ConfigError);
  EXPECT_FALSE(file_exists(scratch + "/x/config.json"));
}
