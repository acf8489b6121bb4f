// tests/unit/test_gguf_export.cpp — lowbit Model -> GGUF (io/gguf_export) checked against its peers:
// gguf-py dequantises the export to lowbit's (fake-quantised) weights; llama.cpp (llama-cpp-python)
// loads it and its logits / per-token NLL agree with lowbit's; the llama2.c tokenizer converted to a
// "llama" vocabulary tokenises as lowbit's llama2.c tokenizer; q/k rows of half-split models are
// permuted into llama.cpp's LLaMA order; configurations llama.cpp cannot run are refused in one line.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <sstream>

#include "lowbit/compress/driver.hpp"
#include "lowbit/core/error.hpp"
#include "lowbit/core/ggml_blocks.hpp"
#include "lowbit/core/mapped_file.hpp"
#include "lowbit/io/gguf.hpp"
#include "lowbit/io/gguf_export.hpp"
#include "lowbit/io/gguf_model.hpp"
#include "lowbit/io/hf.hpp"
#include "lowbit/io/load.hpp"
#include "lowbit/io/tokenizer.hpp"
#include "lowbit/model/forward.hpp"
#include "lowbit/model/model.hpp"
#include "lowbit/model/synthetic.hpp"
#include "paths.hpp"
#include "test_configs.hpp"
#include "test_gguf_util.hpp"
#include "tolerances_export.hpp"

using namespace lowbit;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

const std::string kStories = test::source("models/stories260K/stories260K.bin");
const std::string kStoriesTok = test::source("models/stories260K/tok512.bin");

std::string slurp(const std::string& p) {
  std::ifstream f(p);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// Runs tests/data/llama_peer.py ARGS with the venv python; false (and a test failure with its
// output) when it fails.
bool peer(const std::string& args, const std::string& log) {
  const std::string cmd =
      test::venv_python() + " " + test::source("tests/data/llama_peer.py") + " " + args + " > " + log + " 2>&1";
  const int rc = std::system(cmd.c_str());
  if (rc != 0) ADD_FAILURE() << "llama_peer.py failed (rc " << rc << "): " << cmd << "\n" << slurp(log);
  return rc == 0;
}

struct Nll {
  std::vector<double> nll;
  std::vector<int> argmax;
};

// Per-token NLL of `toks` (positions 1..T-1) from f32 logits [T, V], float64 log-softmax.
Nll nll_of(const Tensor& lg, const std::vector<int>& toks) {
  Nll r;
  const int64_t V = lg.dim(1);
  for (size_t t = 0; t + 1 < toks.size(); ++t) {
    const float* x = lg.row(int64_t(t));
    double mx = x[0];
    int64_t am = 0;
    for (int64_t v = 1; v < V; ++v)
      if (x[v] > mx) mx = x[v], am = v;
    double s = 0;
    for (int64_t v = 0; v < V; ++v) s += std::exp(double(x[v]) - mx);
    r.nll.push_back(mx + std::log(s) - double(x[toks[t + 1]]));
    r.argmax.push_back(int(am));
  }
  return r;
}
// lowbit's per-token NLL of `toks`; `logits_out` (optional) gets the logits.
Nll lowbit_nll(const Model& m, const std::vector<int>& toks, Tensor* logits_out = nullptr) {
  Tensor lg;
  forward_logits(m, toks.data(), 1, int(toks.size()), lg);
  Nll r = nll_of(lg, toks);
  if (logits_out) *logits_out = std::move(lg);
  return r;
}

// llama.cpp's NLL of each sequence; `logits` (optional) gets the first sequence's logits.
// kv: llama.cpp's KV cache type, "f32" for the F32 checks (its default f16 rounds K and V).
std::vector<Nll> llama_nll(const std::string& gguf, const std::vector<std::vector<int>>& seqs, const std::string& dir,
                           std::vector<float>* logits = nullptr, const std::string& kv = "f32") {
  std::ofstream(dir + "/tokens.json") << json(seqs).dump();
  std::string args = "nll " + gguf + " " + dir + "/tokens.json " + dir + "/nll.json --kv " + kv;
  if (logits) args += " --logits " + dir + "/logits.f32";
  std::vector<Nll> out;
  if (!peer(args, dir + "/peer.log")) return out;
  const json j = json::parse(slurp(dir + "/nll.json"));
  for (const auto& r : j["results"]) out.push_back({r["nll"].get<std::vector<double>>(), r["argmax"].get<std::vector<int>>()});
  if (logits) *logits = test::read_f32_file(dir + "/logits.f32");
  return out;
}

struct Agreement {
  double mean_abs = 0, max_abs = 0, top1 = 0;
  size_t n = 0;
};
Agreement compare(const Nll& a, const Nll& b) {
  Agreement g;
  g.n = std::min(a.nll.size(), b.nll.size());
  size_t same = 0;
  for (size_t i = 0; i < g.n; ++i) {
    const double d = std::fabs(a.nll[i] - b.nll[i]);
    g.mean_abs += d;
    g.max_abs = std::max(g.max_abs, d);
    same += a.argmax[i] == b.argmax[i];
  }
  if (g.n) {
    g.mean_abs /= double(g.n);
    g.top1 = double(same) / double(g.n);
  }
  return g;
}

// Token sequences from the TinyStories sample, encoded by `tok` with BOS, `len` tokens each.
std::vector<std::vector<int>> story_tokens(const Tokenizer& tok, int n, int len) {
  const auto docs = read_corpus_documents(test::source("jobs/data/tinystories_sample.txt"), "<|endoftext|>");
  std::vector<int> all;
  for (const auto& d : docs) {
    auto ids = tok.encode(d, true);
    all.insert(all.end(), ids.begin(), ids.end());
    if (all.size() >= size_t(n * len)) break;
  }
  std::vector<std::vector<int>> s;
  for (int i = 0; i < n && size_t((i + 1) * len) <= all.size(); ++i)
    s.emplace_back(all.begin() + i * len, all.begin() + (i + 1) * len);
  return s;
}

// The tensors gguf-py dequantised from `gguf`: name -> (type, values).
struct PyTensor {
  std::string type;
  std::vector<int64_t> shape;
  std::vector<float> v;
};
std::map<std::string, PyTensor> gguf_py_tensors(const std::string& gguf, const std::string& dir) {
  std::map<std::string, PyTensor> out;
  if (!peer("dequant " + gguf + " " + dir + "/deq", dir + "/deq.log")) return out;
  for (const auto& e : json::parse(slurp(dir + "/deq/index.json")))
    out[e["name"]] = {e["type"], e["shape"].get<std::vector<int64_t>>(),
                      test::read_f32_file(dir + "/deq/" + e["file"].get<std::string>())};
  return out;
}

CompressResult rtn(Model& m, const QuantSpec& s) {
  CompressOptions o;
  o.method = "rtn";
  o.spec = s;
  o.record_errors = false;
  return compress_model(m, CalibSet{}, o);
}

// A "llama" vocabulary of n tokens for synthetic models (no real text behind it).
std::string synthetic_vocab_gguf(const std::string& dir, int n) {
  GgufWriter w;
  std::vector<GgufValue> toks, scores, types;
  for (int i = 0; i < n; ++i) {
    toks.push_back(GgufValue::make_string(i == 0 ? "<unk>" : i == 1 ? "<s>" : i == 2 ? "</s>" : "t" + std::to_string(i)));
    scores.push_back(GgufValue::make_float(GgufType::F32, -double(i)));
    types.push_back(GgufValue::make_int(GgufType::I32, i == 0 ? 2 : i < 3 ? 3 : 1));
  }
  w.set("tokenizer.ggml.model", GgufValue::make_string("llama"));
  w.set("tokenizer.ggml.tokens", GgufValue::make_array(GgufType::STRING, toks));
  w.set("tokenizer.ggml.scores", GgufValue::make_array(GgufType::F32, scores));
  w.set("tokenizer.ggml.token_type", GgufValue::make_array(GgufType::I32, types));
  w.set("tokenizer.ggml.bos_token_id", GgufValue::make_uint(GgufType::U32, 1));
  w.set("tokenizer.ggml.eos_token_id", GgufValue::make_uint(GgufType::U32, 2));
  const std::string p = dir + "/vocab" + std::to_string(n) + ".gguf";
  w.write(p);
  return p;
}

template <class F>
std::string input_error(F&& f) {
  try {
    f();
  } catch (const InputError& e) {
    return e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "wrong exception type: " << e.what();
    return "";
  }
  ADD_FAILURE() << "no InputError thrown";
  return "";
}

}  // namespace

// stories260K (llama2.c, interleaved RoPE) as an F32 GGUF: llama.cpp's logits equal lowbit's up to
// summation order, and the converted tok512 vocabulary tokenises as lowbit's llama2.c tokenizer.
TEST(GgufExport, Stories260KF32RunsInLlamaCpp) {
  test::require_venv();
  const std::string dir = test::tmpdir("gguf_export_f32");
  auto m = load_model(kStories);
  GgufExportOptions o;
  o.dtype = GgufPlainDType::F32;
  const GgufExportReport rep = write_gguf_model(*m, nullptr, dir + "/s.gguf", o);
  EXPECT_EQ(rep.tensors_by_type.at("F32"), 47);  // 5 blocks x 9 + embedding + final norm
  EXPECT_EQ(rep.packed_linears, 0);
  EXPECT_NE(rep.tokenizer.find("converted from llama2.c"), std::string::npos);

  auto tok = load_tokenizer(kStoriesTok);
  const auto seqs = story_tokens(*tok, 2, 200);
  ASSERT_EQ(seqs.size(), 2u);
  std::vector<float> ll;
  const auto peer_nll = llama_nll(dir + "/s.gguf", seqs, dir, &ll);
  ASSERT_EQ(peer_nll.size(), 2u);
  Tensor lg;
  const Nll mine = lowbit_nll(*m, seqs[0], &lg);
  ASSERT_EQ(ll.size(), lg.data.size());
  float max_diff = 0;
  for (size_t i = 0; i < ll.size(); ++i) max_diff = std::max(max_diff, std::fabs(ll[i] - lg.data[i]));
  RecordProperty("max_abs_logit_diff", std::to_string(max_diff));
  EXPECT_LE(max_diff, tol::kLlamaCppF32Logits);
  for (size_t s = 0; s < seqs.size(); ++s) {
    const Agreement g = compare(lowbit_nll(*m, seqs[s]), peer_nll[s]);
    EXPECT_EQ(g.top1, 1.0) << "sequence " << s;
    EXPECT_LE(g.max_abs, tol::kLlamaCppF32Nll) << "sequence " << s;
  }

  // The vocabulary lowbit wrote, read by lowbit's GGUF tokenizer and by llama.cpp, encodes TinyStories
  // text id for id as the llama.2c tokenizer it came from.
  auto gtok = load_tokenizer(dir + "/s.gguf");
  EXPECT_EQ(gtok->kind(), "gguf-spm");
  const auto docs = read_corpus_documents(test::source("jobs/data/tinystories_sample.txt"), "<|endoftext|>");
  json texts = json::array();
  for (size_t i = 0; i < 40 && i < docs.size(); ++i) {
    std::string hex;
    for (unsigned char ch : docs[i]) {
      char b[3];
      std::snprintf(b, sizeof b, "%02x", ch);
      hex += b;
    }
    texts.push_back(hex);
    EXPECT_EQ(gtok->encode(docs[i], false), tok->encode(docs[i], false)) << "document " << i;
  }
  std::ofstream(dir + "/texts.json") << texts.dump();
  const std::string cmd = test::venv_python() + " " + test::source("tests/data/llama_tokenize.py") + " " + dir +
                          "/s.gguf " + dir + "/texts.json " + dir + "/tok.json > " + dir + "/tok.log 2>&1";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << slurp(dir + "/tok.log");
  const json tj = json::parse(slurp(dir + "/tok.json"));
  ASSERT_EQ(tj["results"].size(), texts.size());
  for (size_t i = 0; i < texts.size(); ++i)
    EXPECT_EQ(tj["results"][i]["ids"].get<std::vector<int>>(), tok->encode(docs[i], false)) << "document " << i;
}

// Quantised models: each grid goes to the block type that holds it, gguf-py dequantises every tensor
// to lowbit's weights (Q4_0/Q8_0/F32 bit for bit; Q4_1 in all but the groups the report counts, and
// those within half an f16 ulp of z·s), and what no block holds is stored fake-quantised with the
// reason: stories260K's down projection (172 inputs: not whole 32-blocks, per channel or with a
// ragged last group), groups of 4.
TEST(GgufExport, PackedTypesDequantiseToLowbitWeightsInGgufPy) {
  test::require_venv();
  struct Case {
    bool stories;  // else a synthetic LLaMA 64/128 (every dimension whole 32-blocks)
    QuantSpec spec;
    const char* type;  // of the packed linears
    int packed;
    const char* reason;  // of the unpacked ones
  };
  for (const Case& cs : {Case{false, {4, 32, true}, "Q4_0", 14, ""}, Case{false, {4, 32, false}, "Q4_1", 14, ""},
                         Case{false, {8, 32, true}, "Q8_0", 14, ""}, Case{false, {3, 64, true}, "Q4_0", 14, ""},
                         Case{true, {4, 0, true}, "Q4_0", 30, "per-channel rows of 172"},
                         Case{true, {6, 0, false}, "Q8_0", 30, "per-channel rows of 172"},
                         Case{true, {4, 4, true}, "F32", 0, "group size 4 is not a multiple of 32"},
                         // 172 = 5·32 + 12: groups of 32 with a ragged last one; the down projection's
                         // rows are still not whole 32-value blocks, every other linear packs.
                         Case{true, {4, 32, true}, "Q4_0", 30, "rows of 172 columns (a ragged last group of 12)"}}) {
    SCOPED_TRACE((cs.stories ? "stories260K " : "synthetic ") + cs.spec.str());
    const std::string dir = test::tmpdir("gguf_export_packed");
    std::unique_ptr<Model> m;
    if (cs.stories) {
      m = load_model(kStories);
    } else {  // compress_model reads blocks from a checkpoint: write the synthetic one first
      write_hf_model(*make_synthetic_model(test::small_config(Arch::Llama, 64, 128, 16), 3), dir + "/hf");
      m = load_model(dir + "/hf");
    }
    const int n_lin = 7 * m->cfg.n_layers;
    CompressResult r = rtn(*m, cs.spec);
    GgufExportOptions o;
    o.dtype = GgufPlainDType::F32;
    if (!cs.stories) o.tokenizer = synthetic_vocab_gguf(dir, m->cfg.vocab_size);
    const GgufExportReport rep = write_gguf_model(*m, &r.quant, dir + "/q.gguf", o);
    RecordProperty((cs.stories ? "stories260K_" : "synthetic_") + cs.spec.str(), rep.summary());
    EXPECT_EQ(rep.linears, n_lin);
    EXPECT_EQ(rep.packed_linears, cs.packed);
    EXPECT_EQ(rep.fallback_linears, n_lin - cs.packed);
    if (cs.packed) EXPECT_EQ(rep.tensors_by_type.at(cs.type), cs.packed);
    if (cs.packed < n_lin) {
      ASSERT_EQ(rep.fallback_reasons.size(), 1u);
      EXPECT_NE(rep.fallback_reasons.begin()->first.find(cs.reason), std::string::npos)
          << rep.fallback_reasons.begin()->first;
    }
    if (std::string(cs.type) != "Q4_1") EXPECT_EQ(rep.inexact_groups, 0);

    const auto py = gguf_py_tensors(dir + "/q.gguf", dir);
    ASSERT_FALSE(py.empty());
    int64_t differ = 0;
    for (int l = 0; l < m->cfg.n_layers; ++l) {
      const BlockWeights& b = m->block(l);
      for (auto id : kLinearIds) {
        static const std::map<std::string, std::string> n = {{"attn.q", "attn_q"},     {"attn.k", "attn_k"},
                                                             {"attn.v", "attn_v"},     {"attn.o", "attn_output"},
                                                             {"mlp.gate", "ffn_gate"}, {"mlp.up", "ffn_up"},
                                                             {"mlp.down", "ffn_down"}};
        const std::string name = "blk." + std::to_string(l) + "." + n.at(linear_name(id)) + ".weight";
        ASSERT_TRUE(py.count(name)) << name;
        const PyTensor& t = py.at(name);
        // GGUF LLaMA holds q/k rows in the interleaved order; the synthetic model is half-split.
        const bool rope_rows = !cs.stories && (id == LinearId::Q || id == LinearId::K);
        const int heads = id == LinearId::Q ? m->cfg.n_heads : m->cfg.n_kv_heads;
        const Tensor w = rope_rows ? permute_rope_rows(b.linear(id).w, heads, false) : b.linear(id).w;
        QuantResult q = r.quant[size_t(l)][size_t(id)];
        if (rope_rows) {  // the grid's rows alike
          Tensor sc = permute_rope_rows(q.scales, heads, false);
          Tensor z({q.scales.dim(0), q.n_groups});
          for (size_t i = 0; i < z.data.size(); ++i) z.data[i] = float(q.zeros[i]);
          z = permute_rope_rows(z, heads, false);
          q.scales = sc;
          for (size_t i = 0; i < z.data.size(); ++i) q.zeros[i] = int32_t(z.data[i]);
        }
        ASSERT_EQ(t.shape, w.shape) << name;
        const bool packed = cs.packed && (cs.stories ? id != LinearId::Down : true);
        EXPECT_EQ(t.type, packed ? cs.type : "F32") << name;
        const int64_t in = w.dim(1), gs = q.spec.group_size(in);
        for (int64_t g = 0; g < w.numel() / 32; ++g) {
          if (std::memcmp(t.v.data() + 32 * g, w.data.data() + 32 * g, 128) == 0) continue;
          ++differ;
          const int64_t row = g * 32 / in, col = g * 32 % in;
          const float s = q.scales.data[size_t(row * q.n_groups + col / gs)];
          const int32_t z = q.zeros[size_t(row * q.n_groups + col / gs)];
          // half an f16 ulp of z*s: 2^(floor(log2(z*s)) - 11)
          const float bound = std::ldexp(1.f, int(std::floor(std::log2(float(z) * s))) - 11);
          for (int j = 0; j < 32; ++j)
            EXPECT_LE(std::fabs(t.v[size_t(32 * g + j)] - w.data[size_t(32 * g + j)]), bound) << name;
        }
      }
    }
    EXPECT_EQ(differ, rep.inexact_groups) << "the report counts exactly the groups gguf-py finds inexact";
    if (std::string(cs.type) == "Q4_1")
      RecordProperty("q4_1_inexact_groups", std::to_string(differ) + " of " + std::to_string(rep.groups));
    for (const auto& [name, t] : py)
      if (name.find("norm") != std::string::npos) EXPECT_EQ(t.type, "F32") << name;
  }
}

// A small Gemma 3: sandwich and q/k norms, GeGLU, embeddings times sqrt(64), 6 layers (5 local with
// a window of 8 tokens, RoPE base 10000; 1 global, base 1e6).
DecoderConfig small_gemma3() {
  DecoderConfig c = test::small_config(Arch::Llama, 64, 128, 16);
  c.arch = Arch::Gemma3;
  c.n_layers = 6;
  c.tie_embeddings = true;
  c.post_norms = c.qk_norm = true;
  c.act = Activation::GELUTanh;
  c.embed_scale = 8.f;
  c.sliding_window = 8;
  c.sliding_pattern = 6;
  c.rope_theta = 1e6f;
  c.rope_theta_local = 10000.f;
  return c;
}

// Synthetic LLaMA (half-split RoPE, untied head, GQA), Qwen2 (q/k/v biases, tied) and Gemma 3 on 40
// tokens (5 windows): llama.cpp's logits equal lowbit's, so the q/k rows (and biases) are in the
// order llama.cpp's graph expects and the metadata describes the model llama.cpp runs.
TEST(GgufExport, SyntheticArchitecturesRunInLlamaCpp) {
  test::require_venv();
  for (Arch a : {Arch::Llama, Arch::Qwen2, Arch::Gemma3}) {
    SCOPED_TRACE(arch_name(a));
    const std::string dir = test::tmpdir("gguf_export_arch");
    DecoderConfig c = a == Arch::Gemma3 ? small_gemma3() : test::small_config(a, 64, 128, 16);
    auto m = make_synthetic_model(c, 7);
    GgufExportOptions o;
    o.dtype = GgufPlainDType::F32;
    o.tokenizer = synthetic_vocab_gguf(dir, c.vocab_size);
    write_gguf_model(*m, nullptr, dir + "/m.gguf", o);
    std::vector<int> toks;
    for (int i = 0; i < 40; ++i) toks.push_back(1 + (i * 37) % (c.vocab_size - 1));
    std::vector<float> ll;
    const auto p = llama_nll(dir + "/m.gguf", {toks}, dir, &ll);
    ASSERT_EQ(p.size(), 1u);
    Tensor lg;
    lowbit_nll(*m, toks, &lg);
    ASSERT_EQ(ll.size(), lg.data.size());
    float max_diff = 0;
    for (size_t i = 0; i < ll.size(); ++i) max_diff = std::max(max_diff, std::fabs(ll[i] - lg.data[i]));
    RecordProperty(std::string(arch_name(a)) + "_max_abs_logit_diff", std::to_string(max_diff));
    EXPECT_LE(max_diff, a == Arch::Gemma3 ? tol::kLlamaCppGemmaF32Logits : tol::kLlamaCppF32Logits);
  }
}

// What llama.cpp cannot run, or lowbit cannot describe, is refused in one line before any file exists.
TEST(GgufExport, RefusalsNameTheProblem) {
  const std::string dir = test::tmpdir("gguf_export_bad");
  {
    auto m = make_synthetic_model(test::small_config(Arch::Opt, 64, 128, 16), 1);
    const std::string e = input_error([&] { write_gguf_model(*m, nullptr, dir + "/opt.gguf"); });
    EXPECT_NE(e.find("LayerNorm"), std::string::npos) << e;
    EXPECT_FALSE(fs::exists(dir + "/opt.gguf"));
  }
  {
    // An HF checkpoint whose tokenizer is a tokenizer.json: lowbit does not convert it.
    auto m = load_model(kStories);
    write_hf_model(*m, dir + "/hf");
    fs::copy_file(test::source("tests/data/gpt2_tiny_tokenizer.json"), dir + "/hf/tokenizer.json");
    auto h = load_model(dir + "/hf");
    const std::string e = input_error([&] { check_gguf_exportable(*h, {}); });
    EXPECT_NE(e.find("tokenizer.json"), std::string::npos) << e;
    EXPECT_NE(e.find("--tokenizer"), std::string::npos) << e;
    EXPECT_EQ(e.find('\n'), std::string::npos) << e;
  }
  {
    // A vocabulary that disagrees with the embedding.
    auto m = load_model(kStories);
    GgufExportOptions o;
    o.tokenizer = synthetic_vocab_gguf(dir, 97);
    const std::string e = input_error([&] { write_gguf_model(*m, nullptr, dir + "/v.gguf", o); });
    EXPECT_NE(e.find("97 tokens"), std::string::npos) << e;
    EXPECT_NE(e.find("512 rows"), std::string::npos) << e;
    EXPECT_FALSE(fs::exists(dir + "/v.gguf"));
  }
  {
    auto m = load_model(kStories);
    CompressResult r = rtn(*m, {4, 4, true});
    r.quant.pop_back();
    const std::string e = input_error([&] { write_gguf_model(*m, &r.quant, dir + "/q.gguf"); });
    EXPECT_NE(e.find("4 blocks"), std::string::npos) << e;
    EXPECT_FALSE(fs::exists(dir + "/q.gguf"));
  }
  for (auto [what, edit] : std::vector<std::pair<std::string, std::function<void(DecoderConfig&)>>>{
           {"sliding pattern 4", [](DecoderConfig& c) { c.sliding_pattern = 4; }},
           {"local RoPE base 20000", [](DecoderConfig& c) { c.rope_theta_local = 20000.f; }},
           {"embedding scale 2", [](DecoderConfig& c) { c.embed_scale = 2.f; }},
           {"attention scale 0.5", [](DecoderConfig& c) { c.attn_scale = 0.5f; }}}) {
    DecoderConfig c = small_gemma3();
    edit(c);
    const std::string e = input_error([&] { gguf_export_arch(c, "m"); });
    EXPECT_NE(e.find(what), std::string::npos) << e;
  }
  EXPECT_NO_THROW(gguf_export_arch(small_gemma3(), "m"));
  EXPECT_NE(input_error([] { parse_gguf_plain_dtype("bf16", "--dtype"); }).find("--dtype 'bf16'"), std::string::npos);
}

namespace {

// Logits of `toks` through `m`.
Tensor logits_of(const Model& m, const std::vector<int>& toks) {
  Tensor lg;
  forward_logits(m, toks.data(), 1, int(toks.size()), lg);
  return lg;
}

// gguf-py's weighted hash of every tensor of `gguf` (tests/data/gguf_ref.py dump), by name.
std::map<std::string, std::string> gguf_py_hashes(const std::string& gguf, const std::string& dir) {
  std::map<std::string, std::string> h;
  const std::string cmd = test::venv_python() + " " + test::source("tests/data/gguf_ref.py") + " dump " + gguf + " " +
                          dir + "/dump.json > " + dir + "/dump.log 2>&1";
  if (std::system(cmd.c_str()) != 0) {
    ADD_FAILURE() << cmd << "\n" << slurp(dir + "/dump.log");
    return h;
  }
  const json j = json::parse(slurp(dir + "/dump.json"));
  for (const auto& t : j["tensors"]) h[t["name"].get<std::string>()] = t["hash"].get<std::string>();
  return h;
}

bool same_value(const GgufValue& a, const GgufValue& b) {
  if (a.type != b.type || a.v.index() != b.v.index()) return false;
  if (a.type != GgufType::ARRAY) {
    if (auto* x = std::get_if<double>(&a.v)) return std::memcmp(x, &std::get<double>(b.v), sizeof(double)) == 0;
    return std::visit(
        [&](const auto& x) {
          using X = std::decay_t<decltype(x)>;
          if constexpr (std::is_same_v<X, std::vector<GgufValue>>) return false;
          else return x == std::get<X>(b.v);
        },
        a.v);
  }
  const auto &xa = std::get<std::vector<GgufValue>>(a.v), &xb = std::get<std::vector<GgufValue>>(b.v);
  if (a.elem_type != b.elem_type || xa.size() != xb.size()) return false;
  for (size_t i = 0; i < xa.size(); ++i)
    if (!same_value(xa[i], xb[i])) return false;
  return true;
}

// SmolLM2's sequences for the llama.cpp comparisons: n x len tokens of the TinyStories sample.
std::vector<std::vector<int>> smollm2_seqs(const std::string& model, int n, int len) {
  auto tok = load_tokenizer(model);
  return story_tokens(*tok, n, len);
}

}  // namespace

// SmolLM2-135M (read from its Q4_1/Q8_0 GGUF, dequantised to f32) written as an F32 GGUF: lowbit reads
// it back to bit-identical logits, the tokenizer and general.* metadata are the source's, and
// llama.cpp runs it to lowbit's logits within summation order.
TEST(GgufExport, SmolLM2F32ReadsBackBitEqualAndRunsInLlamaCpp) {
  const std::string src = test::real_model(test::kSmolLM2);
  test::require_model(src);
  test::require_venv();
  const std::string dir = test::tmpdir("gguf_export_smol_f32");
  auto m = load_model(src);
  GgufExportOptions o;
  o.dtype = GgufPlainDType::F32;
  const GgufExportReport rep = write_gguf_model(*m, nullptr, dir + "/f32.gguf", o);
  EXPECT_EQ(rep.tensors_by_type.at("F32"), 272);  // SmolLM2's 272 tensors, tied: no output.weight
  auto back = load_model(dir + "/f32.gguf");
  const auto seqs = smollm2_seqs(src, 1, 128);  // one short sequence: lowbit's forward is the cost here
  ASSERT_EQ(seqs.size(), 1u);
  const Tensor a = logits_of(*m, seqs[0]), b = logits_of(*back, seqs[0]);
  ASSERT_EQ(a.shape, b.shape);
  EXPECT_EQ(std::memcmp(a.data.data(), b.data.data(), a.data.size() * 4), 0) << "logits of the read-back export differ";

  auto sf = read_gguf(src), ef = read_gguf(dir + "/f32.gguf");
  for (const auto& k : sf->kv_order)
    if (k.rfind("tokenizer.", 0) == 0 || k == "general.name" || k == "general.license") {
      ASSERT_TRUE(ef->has(k)) << k;
      EXPECT_TRUE(same_value(ef->at(k), sf->at(k))) << k;
    }
  EXPECT_EQ(load_tokenizer(dir + "/f32.gguf")->encode("Once upon a time, Lily's cat ran.", false),
            load_tokenizer(src)->encode("Once upon a time, Lily's cat ran.", false));

  std::vector<float> ll;
  const auto p = llama_nll(dir + "/f32.gguf", seqs, dir, &ll);
  ASSERT_EQ(p.size(), 1u);
  ASSERT_EQ(ll.size(), a.data.size());
  float max_diff = 0;
  for (size_t i = 0; i < ll.size(); ++i) max_diff = std::max(max_diff, std::fabs(ll[i] - a.data[i]));
  RecordProperty("max_abs_logit_diff_vs_llama_cpp", std::to_string(max_diff));
  EXPECT_LE(max_diff, tol::kLlamaCppF32LogitsReal);
  const Agreement g = compare(nll_of(a, seqs[0]), p[0]);
  RecordProperty("mean_abs_dnll", std::to_string(g.mean_abs));
  EXPECT_EQ(g.top1, 1.0);
}

// `lowbit quantize --method gptq --bits 4 --group 32 --sym` of SmolLM2 as a GGUF: every linear is
// Q4_0, exact; lowbit reads it back to bit-identical logits; gguf-py dequantises every tensor to
// lowbit's (fake-quantised) weights; llama.cpp runs it and its per-token NLL agrees with lowbit's on
// the same model within tol::kLlamaCppQ4_0MeanNll (llama.cpp multiplies Q4_0 weights with
// activations quantised to q8_0). Label peer: GPTQ of 30 blocks takes minutes on 2 busy cores.
TEST(GgufExportPeer, SmolLM2Gptq4bitRunsInLlamaCpp) {
  const std::string src = test::real_model(test::kSmolLM2);
  test::require_model(src);
  test::require_venv();
  const std::string dir = test::tmpdir("gguf_export_smol_gptq");
  auto m = load_model(src);
  auto tok = load_tokenizer(src);
  CalibSpec cs;
  cs.path = test::source("jobs/data/tinystories_sample.txt");
  cs.nsamples = 4;
  cs.seqlen = 64;
  const CalibSet calib = make_calibration(*tok, cs);
  CompressOptions co;
  co.method = "gptq";
  co.spec = {4, 32, true};
  co.record_errors = false;
  const CompressResult r = compress_model(*m, calib, co);
  GgufExportOptions o;
  o.dtype = GgufPlainDType::Auto;  // the Q8_0-dequantised embedding is not f16-exact: F32
  const GgufExportReport rep = write_gguf_model(*m, &r.quant, dir + "/q.gguf", o);
  RecordProperty("report", rep.summary());
  EXPECT_EQ(rep.packed_linears, 210);
  EXPECT_EQ(rep.tensors_by_type.at("Q4_0"), 210);
  EXPECT_EQ(rep.inexact_groups, 0);
  EXPECT_EQ(rep.file_type, "MOSTLY_Q4_0");

  // lowbit reads its own file back to the same logits.
  auto back = load_model(dir + "/q.gguf");
  const auto seqs = smollm2_seqs(src, 2, 256);
  ASSERT_EQ(seqs.size(), 2u);
  const Tensor a = logits_of(*m, seqs[0]), b = logits_of(*back, seqs[0]);
  EXPECT_EQ(std::memcmp(a.data.data(), b.data.data(), a.data.size() * 4), 0) << "logits of the read-back export differ";

  // gguf-py: every tensor dequantises to lowbit's weights (LLaMA rows as stored: no permutation).
  const auto h = gguf_py_hashes(dir + "/q.gguf", dir);
  ASSERT_EQ(h.size(), 272u);
  auto expect_hash = [&](const std::string& canon, const Tensor& t) {
    const std::string name = gguf_tensor_name(canon);
    ASSERT_TRUE(h.count(name)) << name;
    EXPECT_EQ(h.at(name), std::to_string(test::weighted_hash(t.data.data(), t.data.size()))) << name;
  };
  expect_hash(kTokEmbed, m->tok_embed);
  expect_hash(kFinalNormW, m->final_norm_w);
  for (int l = 0; l < m->cfg.n_layers; ++l) {
    const BlockWeights& bw = m->block(l);
    for (const auto& [suffix, t] : bw.norm_tensors())
      if (!t->empty()) expect_hash(block_weight_name(l, suffix), *t);
    for (auto id : kLinearIds) expect_hash(block_weight_name(l, std::string(linear_name(id)) + ".weight"), bw.linear(id).w);
  }

  // llama.cpp on the same tokens: F32 KV cache, so what differs is the q8_0 activations of its
  // Q4_0 matmuls; llama.cpp's default F16 cache is measured too, for the record.
  const std::vector<Nll> mine = {nll_of(a, seqs[0]), lowbit_nll(*m, seqs[1])};
  auto agree = [&](const std::vector<Nll>& p, double& shift) {
    Agreement all;
    double sum_l = 0, sum_p = 0;
    for (size_t s = 0; s < seqs.size(); ++s) {
      const Agreement g = compare(mine[s], p[s]);
      all.mean_abs += g.mean_abs * double(g.n);
      all.top1 += g.top1 * double(g.n);
      all.max_abs = std::max(all.max_abs, g.max_abs);
      all.n += g.n;
      for (size_t i = 0; i < g.n; ++i) sum_l += mine[s].nll[i], sum_p += p[s].nll[i];
    }
    all.mean_abs /= double(all.n);
    all.top1 /= double(all.n);
    shift = (sum_p - sum_l) / double(all.n);
    return all;
  };
  for (const std::string kv : {"f32", "f16"}) {
    const auto p = llama_nll(dir + "/q.gguf", seqs, dir, nullptr, kv);
    ASSERT_EQ(p.size(), 2u);
    double shift = 0;
    const Agreement all = agree(p, shift);
    RecordProperty("q4_0_kv_" + kv + "_mean_abs_dnll", std::to_string(all.mean_abs));
    RecordProperty("q4_0_kv_" + kv + "_max_abs_dnll", std::to_string(all.max_abs));
    RecordProperty("q4_0_kv_" + kv + "_top1_agreement", std::to_string(all.top1));
    RecordProperty("q4_0_kv_" + kv + "_mean_nll_shift", std::to_string(shift));
    if (kv == "f32") {
      EXPECT_LE(all.mean_abs, tol::kLlamaCppQ4_0MeanAbsNll);
      EXPECT_LE(std::fabs(shift), tol::kLlamaCppQ4_0NllShift);
      EXPECT_GE(all.top1, tol::kLlamaCppQ4_0Top1);
    }
  }
  // Control: the same weights as an F32 GGUF. llama.cpp then multiplies in f32 and agrees with lowbit
  // to summation order, so the Q4_0 difference above is llama.cpp's quantised matmul, not the file.
  write_gguf_model(*m, nullptr, dir + "/f32.gguf", {GgufPlainDType::F32, "", ""});
  const auto pf = llama_nll(dir + "/f32.gguf", seqs, dir, nullptr, "f32");
  ASSERT_EQ(pf.size(), 2u);
  double shift = 0;
  const Agreement fa = agree(pf, shift);
  RecordProperty("f32_control_mean_abs_dnll", std::to_string(fa.mean_abs));
  RecordProperty("f32_control_max_abs_dnll", std::to_string(fa.max_abs));
  EXPECT_LE(fa.max_abs, tol::kLlamaCppF32NllReal) << "F32 control";
  EXPECT_EQ(fa.top1, 1.0);
}

// Gemma-3-270M (its Q4_K_M file, dequantised) re-exported as an F16/F32 GGUF: lowbit reads the F32
// file back to bit-identical logits, and llama.cpp runs it (gemma3 metadata regenerated from the
// config: window, key length, RoPE base, 262,144-token vocabulary copied) on 600 tokens, past the
// 512-token window, within ggml's f16 GELU table effect. Label peer: two 1 GB files and Gemma's
// 262K-row classifier on both engines.
TEST(GgufExportPeer, Gemma3ReadsBackBitEqualAndRunsInLlamaCpp) {
  const std::string src = test::real_model(test::kGemma3);
  test::require_model(src);
  test::require_venv();
  const std::string dir = test::tmpdir("gguf_export_gemma");
  auto m = load_model(src);
  GgufExportOptions o;
  o.dtype = GgufPlainDType::F32;
  const GgufExportReport rep = write_gguf_model(*m, nullptr, dir + "/g.gguf", o);
  EXPECT_EQ(rep.tensors_by_type.at("F32"), 236);
  auto back = load_model(dir + "/g.gguf");
  const auto seqs = smollm2_seqs(src, 1, 600);  // Gemma's tokenizer adds BOS itself
  ASSERT_EQ(seqs.size(), 1u);
  const Tensor a = logits_of(*m, seqs[0]);
  {
    const Tensor b = logits_of(*back, seqs[0]);
    EXPECT_EQ(std::memcmp(a.data.data(), b.data.data(), a.data.size() * 4), 0) << "logits of the read-back export differ";
  }
  back.reset();
  std::vector<float> ll;
  const auto p = llama_nll(dir + "/g.gguf", seqs, dir, &ll);
  ASSERT_EQ(p.size(), 1u);
  ASSERT_EQ(ll.size(), a.data.size());
  float max_diff = 0, max_logit = 0;
  for (size_t i = 0; i < ll.size(); ++i) {
    max_diff = std::max(max_diff, std::fabs(ll[i] - a.data[i]));
    max_logit = std::max(max_logit, std::fabs(a.data[i]));
  }
  const Agreement g = compare(nll_of(a, seqs[0]), p[0]);
  RecordProperty("max_abs_logit_diff_vs_llama_cpp", std::to_string(max_diff));
  RecordProperty("max_abs_logit", std::to_string(max_logit));
  RecordProperty("mean_abs_dnll", std::to_string(g.mean_abs));
  RecordProperty("max_abs_dnll", std::to_string(g.max_abs));
  RecordProperty("top1_agreement", std::to_string(g.top1));
  EXPECT_LE(g.mean_abs, tol::kLlamaCppGemmaRealMeanAbsNll);
  EXPECT_GE(g.top1, tol::kLlamaCppGemmaRealTop1);
}
