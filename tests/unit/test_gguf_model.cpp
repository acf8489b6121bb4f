// tests/unit/test_gguf_model.cpp — GGUF files as lowbit models: the decoder description from the
// metadata of the two real models (SmolLM2-135M, llama; Gemma-3-270M, gemma3), their logits against
// the independent numpy float64 reference on weights dequantised by gguf-py (llama.cpp's own Python
// package), one Gemma sequence longer than its 512-token sliding window, blocks materialised one at a
// time from the mapping.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <random>
#include <sys/wait.h>

#include "lowbit/core/error.hpp"
#include "lowbit/core/mapped_file.hpp"
#include "lowbit/io/gguf.hpp"
#include "lowbit/io/gguf_model.hpp"
#include "lowbit/io/hf.hpp"
#include "lowbit/io/load.hpp"
#include "lowbit/model/synthetic.hpp"
#include "lowbit/model/forward.hpp"
#include "lowbit/model/model.hpp"
#include "numpy_ref.hpp"
#include "paths.hpp"
#include "tolerances.hpp"
#include "tolerances_gemma.hpp"

using namespace lowbit;

namespace {

// The real models come from `bash .ci/models`; a missing one is a failure, not a skip.
std::string need(const char* file) {
  const std::string p = test::real_model(file);
  if (!file_exists(p)) ADD_FAILURE() << p << " is missing: run `bash .ci/models` (fetches the GGUF models)";
  if (!file_exists(test::venv_python()))
    ADD_FAILURE() << test::venv_python() << " is missing: run `bash .ci/models` (makes the venv with gguf-py)";
  return p;
}

std::vector<int> random_ids(int n, int V, unsigned seed) {
  std::mt19937 rng(seed);
  std::vector<int> s(static_cast<size_t>(n));
  for (auto& t : s) t = int(rng() % unsigned(V));
  return s;
}

// lowbit's final-normed hidden states [T, D] and logits at `positions` [P, V] of one sequence.
void lowbit_run(const Model& m, const std::vector<int>& ids, const std::vector<int>& positions, Tensor& hidden,
                Tensor& logits) {
  const int T = int(ids.size());
  embed_tokens(m, ids.data(), 1, T, 0, hidden);
  for (int l = 0; l < m.cfg.n_layers; ++l) {
    block_forward(m.cfg, m.load_block(l), l, hidden, 1, T);
    m.drop_source_pages(l);
  }
  final_norm(m, hidden);
  Tensor rows({int64_t(positions.size()), hidden.cols()});
  for (size_t i = 0; i < positions.size(); ++i)
    std::copy(hidden.row(positions[i]), hidden.row(positions[i]) + hidden.cols(), rows.row(int64_t(i)));
  lm_logits(m, rows, logits);
}

struct Agreement {
  double logits = 0, hidden = 0, logit_scale = 0;
  int top1_same = 0, rows = 0;
};

// Compares one sequence with the numpy reference at `positions`.
Agreement compare(const Model& m, const std::string& file, const std::vector<int>& ids,
                  const std::vector<int>& positions, const std::string& scratch) {
  Agreement a;
  Tensor hidden, logits;
  lowbit_run(m, ids, positions, hidden, logits);
  const auto ref = test::numpy_reference(test::venv_python(), file, {ids}, scratch, positions, true);
  if (!ref.ok) return a;
  EXPECT_EQ(ref.logits.size(), logits.data.size());
  EXPECT_EQ(ref.hidden.size(), hidden.data.size());
  if (ref.logits.size() != logits.data.size() || ref.hidden.size() != hidden.data.size()) return a;
  a.logits = test::max_abs_diff(ref.logits, logits.ptr(), ref.logits.size());
  a.hidden = test::max_abs_diff(ref.hidden, hidden.ptr(), ref.hidden.size());
  a.logit_scale = test::max_abs(ref.logits);
  const int64_t V = m.cfg.vocab_size;
  for (size_t r = 0; r < positions.size(); ++r) {
    int64_t best_l = 0, best_r = 0;
    for (int64_t v = 1; v < V; ++v) {
      if (logits.row(int64_t(r))[v] > logits.row(int64_t(r))[best_l]) best_l = v;
      if (ref.logits[r * size_t(V) + size_t(v)] > ref.logits[r * size_t(V) + size_t(best_r)]) best_r = v;
    }
    a.top1_same += best_l == best_r;
    ++a.rows;
  }
  return a;
}

// A synthetic model written as llama.cpp would: F32 tensors under llama.cpp's names, metadata under
// `arch.`; for llama the q/k rows permuted to the interleaved order (convert_hf_to_gguf's
// LlamaModel.permute). `kv` and `tensors` can be edited before writing (bad-input tests).
struct GgufSpec {
  std::vector<std::pair<std::string, GgufValue>> kv;
  std::vector<std::pair<std::string, Tensor>> tensors;
  void set(const std::string& k, GgufValue v) {
    for (auto& e : kv)
      if (e.first == k) {
        e.second = std::move(v);
        return;
      }
    kv.emplace_back(k, std::move(v));
  }
  void erase(const std::string& k) {
    std::erase_if(kv, [&](const auto& e) { return e.first == k; });
    std::erase_if(tensors, [&](const auto& e) { return e.first == k; });
  }
  void write(const std::string& path) const {
    GgufWriter w;
    for (const auto& [k, v] : kv) w.set(k, v);
    for (const auto& [n, t] : tensors) w.add_f32(n, t);
    w.write(path);
  }
};

GgufSpec gguf_spec(const Model& m) {
  const DecoderConfig& c = m.cfg;
  const std::string a = c.arch == Arch::Gemma3 ? "gemma3" : "llama";
  GgufSpec s;
  auto u32 = [](int64_t v) { return GgufValue::make_uint(GgufType::U32, uint64_t(v)); };
  auto f32 = [](double v) { return GgufValue::make_float(GgufType::F32, v); };
  s.set("general.architecture", GgufValue::make_string(a));
  s.set("general.file_type", u32(0));
  s.set(a + ".block_count", u32(c.n_layers));
  s.set(a + ".context_length", u32(c.max_seq_len));
  s.set(a + ".embedding_length", u32(c.dim));
  s.set(a + ".feed_forward_length", u32(c.hidden_dim));
  s.set(a + ".attention.head_count", u32(c.n_heads));
  s.set(a + ".attention.head_count_kv", u32(c.n_kv_heads));
  s.set(a + ".attention.key_length", u32(c.head_dim));
  s.set(a + ".attention.value_length", u32(c.head_dim));
  s.set(a + ".rope.freq_base", f32(c.rope_theta));
  s.set(a + ".attention.layer_norm_rms_epsilon", f32(c.norm_eps));
  if (c.arch == Arch::Gemma3) {
    s.set(a + ".attention.sliding_window", u32(c.sliding_window));
    s.set(a + ".attention.sliding_window_pattern", u32(c.sliding_pattern));
    s.set(a + ".rope.freq_base_swa", f32(c.rope_theta_local));
  }
  std::vector<GgufValue> toks;
  for (int i = 0; i < c.vocab_size; ++i) toks.push_back(GgufValue::make_string("t" + std::to_string(i)));
  s.set("tokenizer.ggml.tokens", GgufValue::make_array(GgufType::STRING, toks));
  s.set("tokenizer.ggml.bos_token_id", u32(c.bos_id));
  s.set("tokenizer.ggml.eos_token_id", u32(c.eos_id));
  s.tensors.push_back({"token_embd.weight", m.tok_embed});
  s.tensors.push_back({"output_norm.weight", m.final_norm_w});
  if (!c.tie_embeddings) s.tensors.push_back({"output.weight", m.lm_head});
  for (int l = 0; l < c.n_layers; ++l) {
    const BlockWeights& b = m.block(l);
    auto put = [&](const std::string& canon, Tensor t) {
      if (!t.empty()) s.tensors.push_back({gguf_tensor_name(block_weight_name(l, canon)), std::move(t)});
    };
    for (const auto& [suffix, t] : b.norm_tensors()) put(suffix, *t);
    const bool llama = c.arch == Arch::Llama;
    put("attn.q.weight", llama ? permute_rope_rows(b.q.w, c.n_heads, false) : b.q.w);
    put("attn.k.weight", llama ? permute_rope_rows(b.k.w, c.n_kv_heads, false) : b.k.w);
    put("attn.v.weight", b.v.w);
    put("attn.o.weight", b.o.w);
    put("mlp.gate.weight", b.gate.w);
    put("mlp.up.weight", b.up.w);
    put("mlp.down.weight", b.down.w);
  }
  return s;
}

DecoderConfig small_llama() {
  DecoderConfig c;
  c.arch = Arch::Llama;
  c.dim = 48;
  c.hidden_dim = 80;
  c.n_layers = 2;
  c.n_heads = 4;
  c.n_kv_heads = 2;
  c.head_dim = 12;
  c.vocab_size = 97;
  c.max_seq_len = 64;
  c.rope = RopeStyle::Half;  // the HF layout; the GGUF file gets the interleaved rows
  c.rope_theta = 1e5f;
  c.norm_eps = 1e-5f;
  c.tie_embeddings = false;
  return c;
}

DecoderConfig small_gemma() {
  DecoderConfig c = small_llama();
  c.arch = Arch::Gemma3;
  c.n_layers = 4;
  c.head_dim = 16;  // q_dim 64 != dim 48
  c.rope_theta = 1e6f;
  c.rope_theta_local = 2e4f;
  c.act = Activation::GELUTanh;
  c.post_norms = c.qk_norm = true;
  c.embed_scale = std::sqrt(48.f);
  c.attn_scale = 0.25f;  // llama.cpp: 1/sqrt(key_length)
  c.sliding_window = 4;
  c.sliding_pattern = 3;
  c.tie_embeddings = true;
  c.norm_eps = 1e-6f;
  return c;
}

double logits_diff(const Model& a, const Model& b, const std::vector<int>& ids) {
  Tensor la, lb;
  forward_logits(a, ids.data(), 1, int(ids.size()), la);
  forward_logits(b, ids.data(), 1, int(ids.size()), lb);
  double d = 0;
  for (size_t i = 0; i < la.data.size(); ++i) d = std::max(d, double(std::abs(la.data[i] - lb.data[i])));
  return d;
}

std::vector<int> all_positions(int T) {
  std::vector<int> p(static_cast<size_t>(T));
  for (int t = 0; t < T; ++t) p[size_t(t)] = t;
  return p;
}

}  // namespace

TEST(GgufModel, SmolLM2ConfigComesFromTheMetadata) {
  auto m = load_model(need(test::kSmolLM2));
  const DecoderConfig& c = m->cfg;
  EXPECT_EQ(c.arch, Arch::Llama);
  EXPECT_EQ(c.source_format, "gguf");
  EXPECT_EQ(c.source_dtype, "Q4_1");
  EXPECT_EQ(c.n_layers, 30);
  EXPECT_EQ(c.dim, 576);
  EXPECT_EQ(c.hidden_dim, 1536);
  EXPECT_EQ(c.n_heads, 9);
  EXPECT_EQ(c.n_kv_heads, 3);
  EXPECT_EQ(c.head_dim, 64);
  EXPECT_EQ(c.vocab_size, 49152);
  EXPECT_EQ(c.max_seq_len, 8192);
  EXPECT_EQ(c.rope, RopeStyle::Interleaved);  // llama.cpp's permuted q/k rows, kept as stored
  EXPECT_EQ(c.rope_theta, 100000.f);
  EXPECT_FLOAT_EQ(c.norm_eps, 1e-5f);
  EXPECT_TRUE(c.tie_embeddings);
  EXPECT_FALSE(c.post_norms || c.qk_norm || c.sliding_window);
  EXPECT_EQ(c.bos_id, 1);
  EXPECT_EQ(c.eos_id, 2);
  // Blocks stay in the mapping, in their block types, until used.
  for (int l = 0; l < c.n_layers; ++l) EXPECT_FALSE(m->has_block(l));
  EXPECT_EQ(m->source.at("layers.0.attn.q.weight").dtype, DType::Q4_1);
  EXPECT_EQ(m->source.at("layers.0.attn.q.weight").name, "blk.0.attn_q.weight");
  EXPECT_EQ(m->tok_embed.shape, (std::vector<int64_t>{49152, 576}));
}

TEST(GgufModel, NamesMapBothWays) {
  EXPECT_EQ(gguf_tensor_name("tok_embed"), "token_embd.weight");
  EXPECT_EQ(gguf_tensor_name("layers.12.attn.o.weight"), "blk.12.attn_output.weight");
  EXPECT_EQ(gguf_tensor_name("layers.0.mlp_norm.weight"), "blk.0.ffn_norm.weight");
  EXPECT_EQ(gguf_tensor_name("final_norm.weight"), "output_norm.weight");
  EXPECT_EQ(gguf_tensor_name("layers.0.attn.q.bias"), "blk.0.attn_q.bias");  // llama.cpp's optional bq
  EXPECT_EQ(gguf_tensor_name("layers.3.post_attn_norm.weight"), "blk.3.post_attention_norm.weight");
  EXPECT_EQ(gguf_tensor_name("layers.3.post_mlp_norm.weight"), "blk.3.post_ffw_norm.weight");
  EXPECT_EQ(gguf_tensor_name("layers.3.attn.k_norm.weight"), "blk.3.attn_k_norm.weight");
  EXPECT_EQ(gguf_tensor_name("layers.0.attn_norm.bias"), "");
  EXPECT_EQ(gguf_tensor_name("pos_embed"), "");
}

TEST(GgufModel, Gemma3ConfigComesFromTheMetadata) {
  auto m = load_model(need(test::kGemma3));
  const DecoderConfig& c = m->cfg;
  EXPECT_EQ(c.arch, Arch::Gemma3);
  EXPECT_EQ(c.source_dtype, "Q4_K_M");
  EXPECT_EQ(c.n_layers, 18);
  EXPECT_EQ(c.dim, 640);
  EXPECT_EQ(c.hidden_dim, 2048);
  EXPECT_EQ(c.n_heads, 4);
  EXPECT_EQ(c.n_kv_heads, 1);
  EXPECT_EQ(c.head_dim, 256);
  EXPECT_EQ(c.vocab_size, 262144);
  EXPECT_EQ(c.rope, RopeStyle::Half);
  EXPECT_EQ(c.rope_theta, 1e6f);
  EXPECT_EQ(c.rope_theta_local, 1e4f);
  EXPECT_EQ(c.sliding_window, 512);
  for (int l = 0; l < 18; ++l) EXPECT_EQ(c.is_local_layer(l), l != 5 && l != 11 && l != 17) << l;
  EXPECT_EQ(c.attn_scale, 1.f / 16.f);
  EXPECT_EQ(c.embed_scale, std::sqrt(640.f));
  EXPECT_TRUE(c.post_norms && c.qk_norm && c.tie_embeddings);
  EXPECT_EQ(c.act, Activation::GELUTanh);
  EXPECT_FLOAT_EQ(c.norm_eps, 1e-6f);
  EXPECT_EQ(c.bos_id, 2);
  EXPECT_EQ(c.eos_id, 1);
  const auto& b = m->block(0);
  EXPECT_EQ(b.q_norm_w.shape, (std::vector<int64_t>{256}));
  EXPECT_EQ(b.post_mlp_norm_w.shape, (std::vector<int64_t>{640}));
  EXPECT_EQ(b.q.w.shape, (std::vector<int64_t>{1024, 640}));
}

TEST(GgufModel, SmolLM2MatchesNumpyOnGgufPyWeights) {
  const std::string f = need(test::kSmolLM2);
  auto m = load_model(f);
  const std::string scratch = test::tmpdir("gguf_smollm2");
  // "The capital of France is" (ids from the GGUF vocabulary), then 35 random ids.
  std::vector<int> ids = {504, 3575, 282, 4649, 314};
  for (int t : random_ids(35, 49152, 7)) ids.push_back(t);
  const auto a = compare(*m, f, ids, all_positions(int(ids.size())), scratch);
  std::printf("[gguf] SmolLM2 T=%zu: max |logit - numpy| %.3g (logits up to %.1f), hidden %.3g, top-1 %d/%d\n",
              ids.size(), a.logits, a.logit_scale, a.hidden, a.top1_same, a.rows);
  EXPECT_GT(a.logit_scale, 1.0);
  EXPECT_LT(a.logits, tol::kLogitsVsNumpy);
  EXPECT_EQ(a.top1_same, a.rows);
}

// One sequence of 530 tokens: "<bos>The capital of France is" then random ids. Past position 511
// the local layers' 512-token window cuts off the first keys; logits are compared at the prompt's
// positions and around the window's edge, hidden states at every position.
TEST(GgufModel, Gemma3MatchesNumpyPastTheSlidingWindow) {
  const std::string f = need(test::kGemma3);
  auto m = load_model(f);
  const std::string scratch = test::tmpdir("gguf_gemma3");
  std::vector<int> ids = {2, 818, 5279, 529, 7001, 563};
  for (int t : random_ids(530 - 6, 262144, 11)) ids.push_back(t);
  const std::vector<int> positions = {0, 1, 2, 3, 4, 5, 255, 510, 511, 512, 513, 529};
  const auto a = compare(*m, f, ids, positions, scratch);
  const auto ref_hidden = test::read_f64(scratch + "/ref_hidden.bin");
  const double hscale = test::max_abs(ref_hidden);
  std::printf("[gguf] Gemma3 T=530: max |logit - numpy| %.3g at %zu positions (logits up to %.1f), hidden %.3g "
              "(of %.1f), top-1 %d/%d\n",
              a.logits, positions.size(), a.logit_scale, a.hidden, hscale, a.top1_same, a.rows);
  EXPECT_GT(a.logit_scale, 1.0);
  EXPECT_LT(a.logits, tol::kLogitsVsNumpy);
  EXPECT_LT(a.hidden, tol::kHiddenVsNumpyRel * hscale);
  EXPECT_EQ(a.top1_same, a.rows);
  // That the comparison sees the window (lowbit without it misses numpy by O(1)) is shown on the
  // synthetic Gemma of test_gemma3.cpp, where it costs no second 530-token forward.
}

// Synthetic llama and gemma3 files written as llama.cpp lays them out: lowbit reads them back to the
// in-memory model's logits (so the kept interleaved rows + interleaved RoPE equal HF's half-split
// function), and the numpy reference on the file (gguf-py, un-permuted rows) agrees.
TEST(GgufModel, SyntheticFilesMatchTheModelAndNumpy) {
  for (const DecoderConfig& c : {small_llama(), small_gemma()}) {
    const std::string scratch = test::tmpdir(std::string("gguf_synth_") + arch_name(c.arch));
    auto mem = make_synthetic_model(c, 17);
    const std::string f = scratch + "/m.gguf";
    gguf_spec(*mem).write(f);
    auto m = load_model(f);
    EXPECT_EQ(m->cfg.arch, c.arch);
    EXPECT_EQ(m->cfg.rope, c.arch == Arch::Llama ? RopeStyle::Interleaved : RopeStyle::Half);
    EXPECT_EQ(m->cfg.tie_embeddings, c.tie_embeddings);
    EXPECT_EQ(m->cfg.sliding_window, c.sliding_window);
    EXPECT_EQ(m->cfg.sliding_pattern, c.arch == Arch::Gemma3 ? 3 : 0);
    EXPECT_EQ(m->cfg.rope_theta_local, c.arch == Arch::Gemma3 ? 2e4f : 1e4f);
    const auto ids = random_ids(11, 97, 3);  // 11 > window 4
    EXPECT_LT(logits_diff(*mem, *m, ids), tol::kLogitsF32) << arch_name(c.arch);
    const auto ref = test::numpy_reference(test::venv_python(), f, {ids}, scratch);
    ASSERT_TRUE(ref.ok);
    EXPECT_GT(test::max_abs(ref.logits), 0.5);
    Tensor lg;
    forward_logits(*m, ids.data(), 1, 11, lg);
    ASSERT_EQ(ref.logits.size(), lg.data.size());
    EXPECT_LT(test::max_abs_diff(ref.logits, lg.ptr(), lg.data.size()), tol::kLogitsVsNumpy) << arch_name(c.arch);
    // A GGUF model written as an HF folder (q/k rows permuted back for llama, Gemma norms -1) is
    // the same function.
    write_hf_model(*m, scratch + "/hf", DType::F32);
    EXPECT_LT(logits_diff(*m, *load_model(scratch + "/hf"), ids), tol::kLogitsF32) << arch_name(c.arch);
  }
}

// Bad metadata and tensors: one InputError naming the file and the key or tensor.
TEST(GgufModel, BadFilesNameTheFileAndTheKeyOrTensor) {
  const std::string scratch = test::tmpdir("gguf_bad_model");
  auto mem = make_synthetic_model(small_gemma(), 2);
  struct Case {
    const char* what;
    std::function<void(GgufSpec&)> edit;
    const char* names;
  };
  auto u32 = [](int64_t v) { return GgufValue::make_uint(GgufType::U32, uint64_t(v)); };
  const std::vector<Case> cases = {
      {"no block_count", [](GgufSpec& s) { s.erase("gemma3.block_count"); }, "gemma3.block_count"},
      {"no rms eps", [](GgufSpec& s) { s.erase("gemma3.attention.layer_norm_rms_epsilon"); },
       "gemma3.attention.layer_norm_rms_epsilon"},
      {"other arch", [](GgufSpec& s) { s.set("general.architecture", GgufValue::make_string("qwen3")); },
       "general.architecture"},
      {"block_count as string",
       [](GgufSpec& s) { s.set("gemma3.block_count", GgufValue::make_string("4")); }, "gemma3.block_count"},
      {"vocabulary vs embedding",
       [](GgufSpec& s) {
         s.set("tokenizer.ggml.tokens", GgufValue::make_array(GgufType::STRING, {GgufValue::make_string("a")}));
       },
       "tokenizer.ggml.tokens"},
      {"partial rotary", [&](GgufSpec& s) { s.set("gemma3.rope.dimension_count", u32(8)); },
       "gemma3.rope.dimension_count"},
      {"soft-capping",
       [](GgufSpec& s) { s.set("gemma3.final_logit_softcapping", GgufValue::make_float(GgufType::F32, 30.0)); },
       "gemma3.final_logit_softcapping"},
      {"rope scaling",
       [](GgufSpec& s) {
         s.set("gemma3.rope.scaling.type", GgufValue::make_string("linear"));
         s.set("gemma3.rope.scaling.factor", GgufValue::make_float(GgufType::F32, 8.0));
       },
       "gemma3.rope.scaling.type"},
      {"missing tensor", [](GgufSpec& s) { s.erase("blk.1.ffn_up.weight"); }, "blk.1.ffn_up.weight"},
      {"missing q norm", [](GgufSpec& s) { s.erase("blk.3.attn_q_norm.weight"); }, "blk.3.attn_q_norm.weight"},
      {"unknown tensor", [](GgufSpec& s) { s.tensors.push_back({"rope_freqs.weight", Tensor({8})}); },
       "rope_freqs.weight"},
      {"tensor past the layers", [](GgufSpec& s) { s.tensors.push_back({"blk.9.attn_norm.weight", Tensor({48})}); },
       "blk.9.attn_norm.weight"},
      {"wrong shape",
       [](GgufSpec& s) {
         for (auto& [n, t] : s.tensors)
           if (n == "blk.0.attn_q.weight") t = Tensor({60, 48});
       },
       "blk.0.attn_q.weight"},
  };
  for (const auto& k : cases) {
    GgufSpec s = gguf_spec(*mem);
    k.edit(s);
    const std::string f = scratch + "/bad.gguf";
    s.write(f);
    try {
      load_model(f);
      ADD_FAILURE() << k.what << ": accepted";
    } catch (const InputError& e) {
      const std::string msg = e.what();
      EXPECT_NE(msg.find(f), std::string::npos) << k.what << ": " << msg;
      EXPECT_NE(msg.find(k.names), std::string::npos) << k.what << ": " << msg;
      EXPECT_EQ(msg.find('\n'), std::string::npos) << k.what << ": one line";
    }
  }
}

// `lowbit info` on a GGUF file describes it (exit 0); a broken one is exit 2 with one line.
TEST(GgufModel, InfoCommandReadsGguf) {
  const std::string scratch = test::tmpdir("gguf_info");
  auto mem = make_synthetic_model(small_gemma(), 3);
  gguf_spec(*mem).write(scratch + "/m.gguf");
  const std::string exe = std::string(LOWBIT_BINARY_DIR) + "/lowbit";
  ASSERT_EQ(std::system((exe + " info --model " + scratch + "/m.gguf --json > " + scratch + "/out.json").c_str()), 0);
  const std::string out = read_file(scratch + "/out.json");
  EXPECT_NE(out.find("\"gemma3\""), std::string::npos) << out;
  EXPECT_NE(out.find("\"layers_local_global\":\"LLGL\""), std::string::npos) << out;
  GgufSpec s = gguf_spec(*mem);
  s.erase("gemma3.block_count");
  s.write(scratch + "/bad.gguf");
  const int rc = std::system((exe + " info --model " + scratch + "/bad.gguf 2> " + scratch + "/err.txt").c_str());
  EXPECT_EQ(WEXITSTATUS(rc), 2);
  EXPECT_NE(read_file(scratch + "/err.txt").find("gemma3.block_count"), std::string::npos);
}
