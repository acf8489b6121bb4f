// tests/unit/test_gptq_pack.cpp — packed GPTQ checkpoints (lowbit/io/gptq_pack): pack -> unpack
// is exact for every bit-width / grouping / zero layout; the int32 words match values worked out
// by hand from AutoGPTQ's format and a transcription of its 3-bit packing loop; a packed
// checkpoint loads to exactly the logits of the f32 fake-quantized checkpoint (LLaMA, Qwen2, OPT,
// and stories260K with its llama2.c q/k row permutation); shapes the format cannot hold are
// refused before any work; broken checkpoints give InputErrors naming the file/tensor/key.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <random>

#include "lowbit/compress/quant.hpp"
#include "lowbit/core/error.hpp"
#include "lowbit/core/mapped_file.hpp"
#include "lowbit/io/gptq_pack.hpp"
#include "lowbit/io/hf.hpp"
#include "lowbit/io/load.hpp"
#include "lowbit/io/safetensors.hpp"
#include "lowbit/model/forward.hpp"
#include "lowbit/model/model.hpp"
#include "lowbit/model/synthetic.hpp"
#include "paths.hpp"
#include "test_configs.hpp"

using namespace lowbit;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

template <class E, class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const E& e) {
    return e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "wrong exception type: " << e.what();
    return "";
  }
  ADD_FAILURE() << "no exception thrown";
  return "";
}

// W [out, in] with N(0,1) entries. kind 0: plain; 1: every group also holds +-max|group| (so
// asymmetric zeros are never 0: v1-representable); 2: like 0 but the first rows are all positive
// (asymmetric zero 0 there: needs v2).
Tensor random_matrix(int64_t out, int64_t in, int64_t group, int kind, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> nd(0.f, 1.f);
  Tensor w({out, in});
  for (auto& v : w.data) v = nd(rng);
  const int64_t gs = group > 0 ? group : in;
  if (kind == 1)
    for (int64_t o = 0; o < out; ++o)
      for (int64_t g = 0; g * gs < in; ++g) {  // the last group may be ragged (>= 2 columns here)
        float m = 0;
        for (int64_t j = g * gs; j < std::min(in, (g + 1) * gs); ++j) m = std::max(m, std::fabs(w.row(o)[j]));
        w.row(o)[g * gs] = -m;
        w.row(o)[g * gs + 1] = m;
      }
  if (kind == 2)
    for (int64_t o = 0; o < 4; ++o)
      for (int64_t j = 0; j < in; ++j) w.row(o)[j] = std::fabs(w.row(o)[j]);
  return w;
}

// Write the packed tensors to a file and map them back.
std::map<std::string, TensorRef> pack_to_file(const std::string& path, const std::string& prefix,
                                              const QuantResult& r, const Tensor& bias, bool v1) {
  SafetensorsWriter w;
  pack_gptq_linear(w, prefix, r, bias, v1);
  w.write(path);
  auto f = SafetensorsFile::open(path);
  return f->tensors();
}

std::vector<uint32_t> words_of(const TensorRef& t) {
  EXPECT_EQ(t.dtype, DType::I32) << t.name;
  std::vector<uint32_t> v(static_cast<size_t>(t.numel()));
  std::memcpy(v.data(), t.data, t.nbytes);
  return v;
}

Tensor unpack(const std::map<std::string, TensorRef>& t, const std::string& p, int bits, int64_t out, int64_t in,
              bool v1) {
  return unpack_gptq_linear(t.at(p + ".qweight"), t.at(p + ".qzeros"), t.at(p + ".scales"), t.at(p + ".g_idx"), bits,
                            out, in, v1);
}

// Counts elements that differ bitwise; a false pass on all-zero data is refused.
void expect_bitwise_equal(const Tensor& a, const Tensor& b, const std::string& what) {
  ASSERT_EQ(a.shape, b.shape) << what;
  int64_t diff = 0, nonzero = 0;
  float maxd = 0;
  for (int64_t i = 0; i < a.numel(); ++i) {
    if (std::memcmp(&a.data[size_t(i)], &b.data[size_t(i)], 4) != 0) {
      ++diff;
      maxd = std::max(maxd, std::fabs(a.data[size_t(i)] - b.data[size_t(i)]));
    }
    nonzero += a.data[size_t(i)] != 0.f;
  }
  EXPECT_EQ(diff, 0) << what << ": " << diff << " of " << a.numel() << " differ, max |diff| " << maxd;
  EXPECT_GE(nonzero * 20, a.numel()) << what << ": suspiciously many zeros (false-pass guard)";
}

// AutoGPTQ's QuantLinear.pack loop (qlinear_cuda_old.py), transcribed: codes `v` of one column
// (32·k values along the input dimension) -> 3·k words.
std::vector<uint32_t> autogptq_pack3(const std::vector<uint32_t>& v) {
  std::vector<uint32_t> q(v.size() / 32 * 3, 0u);
  size_t i = 0, row = 0;
  while (row < q.size()) {
    for (size_t j = i; j < i + 10; ++j) q[row] |= v[j] << (3 * (j - i));
    i += 10;
    q[row] |= v[i] << 30;
    row += 1;
    q[row] |= (v[i] >> 2) & 1;
    i += 1;
    for (size_t j = i; j < i + 10; ++j) q[row] |= v[j] << (3 * (j - i) + 1);
    i += 10;
    q[row] |= v[i] << 31;
    row += 1;
    q[row] |= (v[i] >> 1) & 0x3;
    i += 1;
    for (size_t j = i; j < i + 10; ++j) q[row] |= v[j] << (3 * (j - i) + 2);
    i += 10;
    row += 1;
  }
  return q;
}

DecoderConfig small_config(Arch arch) { return test::small_config(arch, 64, 128, 16); }

// RTN-quantize every linear of m with spec(id), put the fake-quantized weights into m.
std::vector<BlockQuant> quantize_model(Model& m, const std::function<QuantSpec(LinearId)>& spec) {
  std::vector<BlockQuant> q(size_t(m.cfg.n_layers));
  for (int l = 0; l < m.cfg.n_layers; ++l) {
    BlockWeights b = m.block(l);
    for (auto id : kLinearIds) {
      Linear& lin = b.linear(id);
      if (lin.w.empty()) continue;
      QuantResult r = quantize_rtn(lin.w, spec(id));
      lin.w = r.w_hat;
      q[size_t(l)][size_t(id)] = std::move(r);
    }
    m.set_block(l, std::move(b));
  }
  return q;
}

Tensor logits_of(const Model& m) {
  std::vector<int> toks;
  for (int t = 0; t < 12; ++t) toks.push_back((7 * t + 3) % m.cfg.vocab_size);
  Tensor lg;
  forward_logits(m, toks.data(), 1, int(toks.size()), lg);
  return lg;
}

json read_json(const std::string& path) { return json::parse(read_file(path)); }

// Fake-quantize `m`, write it both ways, load both, compare logits bit for bit. Returns the
// packed folder.
std::string fake_vs_packed(Model& m, const std::string& name, const std::function<QuantSpec(LinearId)>& spec,
                           const GptqExportInfo& info = {}) {
  auto q = quantize_model(m, spec);
  const std::string dir = test::tmpdir("gptq_" + name);
  write_hf_model(m, dir + "/fake", DType::F32);
  write_gptq_checkpoint(m, q, dir + "/packed", info);
  auto fake = load_model(dir + "/fake");
  auto packed = load_model(dir + "/packed");
  // The packed checkpoint has no f32 linear weights: they came out of qweight/scales/qzeros.
  auto st = open_safetensors_set(dir + "/packed");
  EXPECT_EQ(st.count("model.layers.0.self_attn.q_proj.weight") + st.count("model.decoder.layers.0.self_attn.q_proj.weight"),
            0u) << name;
  expect_bitwise_equal(logits_of(*fake), logits_of(*packed), name + " logits (fake-quant vs packed)");
  // And the in-memory fake-quantized model agrees too (llama2.c models excepted: in memory they
  // use interleaved RoPE, the files half-split RoPE on permuted rows — a different summation order).
  if (m.cfg.rope != RopeStyle::Interleaved)
    expect_bitwise_equal(logits_of(*fake), logits_of(m), name + " logits (fake-quant file vs memory)");
  return dir + "/packed";
}

}  // namespace

// ---------------------------------------------------------------------------------------------

TEST(GptqPack, PackUnpackIsExactForEveryLayout) {
  const std::string dir = test::tmpdir("gptq_roundtrip");
  const int64_t out = 96, in = 128;  // out·3 and in·3 are multiples of 32
  int cases = 0;
  for (int bits : {2, 3, 4, 8})
    for (int group : {0, 32, 48})  // 48: 128 = 48 + 48 + 32, a ragged last group (ceil(in/g) scale rows)
      for (bool sym : {false, true})
        for (int kind : {1, 2}) {
          QuantSpec s;
          s.bits = bits;
          s.group = group;
          s.sym = sym;
          const std::string label = s.str() + (kind == 2 ? "_zero0" : "");
          QuantResult r = quantize_rtn(random_matrix(out, in, group, kind, 1000 + bits * 10 + group + sym), s);
          ASSERT_EQ(r.n_groups, group == 0 ? 1 : (in + group - 1) / group) << label;
          const bool v1ok = gptq_v1_representable(r);
          if (sym || kind == 1) {
            EXPECT_TRUE(v1ok) << label;
          } else {
            EXPECT_FALSE(v1ok) << label << ": all-positive rows must give a zero of 0";
          }
          for (bool v1 : {true, false}) {
            if (v1 && !v1ok) {
              // v1 cannot hold a zero of 0: the packer refuses rather than writing -1.
              EXPECT_THROW(pack_to_file(dir + "/x.safetensors", "p", r, Tensor(), true), InternalError) << label;
              continue;
            }
            auto t = pack_to_file(dir + "/" + label + (v1 ? "_v1" : "_v2") + ".safetensors", "p", r, Tensor(), v1);
            EXPECT_EQ(t.at("p.qweight").shape, (std::vector<int64_t>{in * bits / 32, out}));
            EXPECT_EQ(t.at("p.qzeros").shape, (std::vector<int64_t>{r.n_groups, out * bits / 32}));
            EXPECT_EQ(t.at("p.scales").shape, (std::vector<int64_t>{r.n_groups, out}));
            EXPECT_EQ(t.at("p.scales").dtype, DType::F16);
            EXPECT_EQ(t.at("p.g_idx").shape, (std::vector<int64_t>{in}));
            expect_bitwise_equal(unpack(t, "p", bits, out, in, v1), r.w_hat, label + (v1 ? " v1" : " v2"));
            ++cases;
          }
        }
  EXPECT_EQ(cases, 4 * 3 * 2 * 2 * 2 - 4 * 3);  // every (asym, zero-0) case has no v1 layout
}

TEST(GptqPack, ActOrderGIdxIsHonoured) {
  // Permute the columns of an RTN result: g_idx is no longer i/group, the codes stay per column.
  QuantSpec s;
  s.bits = 4;
  s.group = 32;
  const int64_t out = 64, in = 128;
  QuantResult r = quantize_rtn(random_matrix(out, in, 32, 0, 7), s);
  std::vector<int64_t> perm(static_cast<size_t>(in));
  for (int64_t j = 0; j < in; ++j) perm[size_t(j)] = j;
  std::shuffle(perm.begin(), perm.end(), std::mt19937_64(3));
  QuantResult p = r;
  for (int64_t j = 0; j < in; ++j) {
    p.g_idx[size_t(j)] = r.g_idx[size_t(perm[size_t(j)])];
    for (int64_t o = 0; o < out; ++o) {
      p.q[size_t(o * in + j)] = r.q[size_t(o * in + perm[size_t(j)])];
      p.w_hat.row(o)[j] = r.w_hat.row(o)[perm[size_t(j)]];
    }
  }
  const std::string dir = test::tmpdir("gptq_actorder");
  auto t = pack_to_file(dir + "/a.safetensors", "p", p, Tensor(), gptq_v1_representable(p));
  expect_bitwise_equal(unpack(t, "p", 4, out, in, gptq_v1_representable(p)), p.w_hat, "act-order");
}

TEST(GptqPack, FourBitWordsMatchHandComputedValues) {
  // in = 8 (one qweight row), out = 8 (one qzeros word), per-channel (one group).
  const int64_t out = 8, in = 8;
  QuantResult r;
  r.spec.bits = 4;
  r.spec.group = 0;
  r.spec.sym = false;
  r.n_groups = 1;
  r.q.assign(size_t(out * in), 0);
  const uint8_t codes[8][8] = {{1, 2, 3, 4, 5, 6, 7, 8},         {15, 14, 13, 12, 11, 10, 9, 0},
                               {0, 0, 0, 0, 0, 0, 0, 15},        {5, 5, 5, 5, 5, 5, 5, 5},
                               {0, 1, 2, 3, 4, 5, 6, 7},         {0, 1, 2, 3, 4, 5, 6, 7},
                               {0, 1, 2, 3, 4, 5, 6, 7},         {0, 1, 2, 3, 4, 5, 6, 7}};
  for (int o = 0; o < 8; ++o)
    for (int i = 0; i < 8; ++i) r.q[size_t(o * in + i)] = codes[o][i];
  r.zeros = {1, 2, 3, 4, 5, 6, 7, 8};
  r.scales.resize({out, 1});
  for (int o = 0; o < 8; ++o) r.scales.data[size_t(o)] = o == 1 ? 0.25f : 0.5f;
  r.g_idx.assign(size_t(in), 0);
  r.w_hat.resize({out, in});
  for (int o = 0; o < 8; ++o)
    for (int i = 0; i < 8; ++i) r.w_hat.row(o)[i] = r.scales.data[size_t(o)] * float(codes[o][i] - r.zeros[size_t(o)]);

  const std::string dir = test::tmpdir("gptq_hand4");
  auto t = pack_to_file(dir + "/v1.safetensors", "l", r, Tensor(), true);
  // qweight [1, 8]: column o = Σ_i code[o][i] << 4i (lowest nibble = input 0).
  EXPECT_EQ(words_of(t.at("l.qweight")), (std::vector<uint32_t>{0x87654321u, 0x09ABCDEFu, 0xF0000000u, 0x55555555u,
                                                                  0x76543210u, 0x76543210u, 0x76543210u,
                                                                  0x76543210u}));
  // qzeros [1, 1]: zeros 1..8 of outputs 0..7 stored as zero-1 (v1) = 0..7, output 0 lowest.
  EXPECT_EQ(words_of(t.at("l.qzeros")), (std::vector<uint32_t>{0x76543210u}));
  // scales [1, 8] f16: 0.5 = 0x3800, 0.25 = 0x3400.
  std::vector<uint16_t> sc(8);
  std::memcpy(sc.data(), t.at("l.scales").data, 16);
  EXPECT_EQ(sc, (std::vector<uint16_t>{0x3800, 0x3400, 0x3800, 0x3800, 0x3800, 0x3800, 0x3800, 0x3800}));
  EXPECT_EQ(words_of(t.at("l.g_idx")), std::vector<uint32_t>(8, 0u));
  // As int32, 0xF0000000 is what torch shows: -268435456.
  int32_t w2;
  std::memcpy(&w2, t.at("l.qweight").data + 8, 4);
  EXPECT_EQ(w2, -268435456);
  Tensor w = unpack(t, "l", 4, out, in, true);
  EXPECT_EQ(w.row(0)[7], 3.5f);    // 0.5·(8−1)
  EXPECT_EQ(w.row(1)[0], 3.25f);   // 0.25·(15−2)
  EXPECT_EQ(w.row(1)[7], -0.5f);   // 0.25·(0−2)

  // v2 stores the zeros as they are: 1..8.
  auto t2 = pack_to_file(dir + "/v2.safetensors", "l", r, Tensor(), false);
  EXPECT_EQ(words_of(t2.at("l.qzeros")), (std::vector<uint32_t>{0x87654321u}));
  expect_bitwise_equal(unpack(t2, "l", 4, out, in, false), r.w_hat, "hand 4-bit v2");
}

TEST(GptqPack, ThreeBitWordsMatchAutoGptqCrossWordScheme) {
  const int64_t out = 32, in = 64;  // two 3-word blocks per column; one qzeros block of 3 words
  QuantResult r;
  r.spec.bits = 3;
  r.spec.group = 0;
  r.n_groups = 1;
  r.q.assign(size_t(out * in), 0);
  auto code = [&](int64_t o, int64_t i) -> uint8_t& { return r.q[size_t(o * in + i)]; };
  // Hand-worked single codes (from the format: codes 0..9 at bits 0..29 of word 0, code 10 split
  // 2+1 over words 0/1, codes 11..20 at bits 1..30 of word 1, code 21 split 1+2 over words 1/2,
  // codes 22..31 at bits 2..31 of word 2).
  code(0, 10) = 7;  // word0 bits 30,31; word1 bit 0
  code(1, 21) = 7;  // word1 bit 31; word2 bits 0,1
  code(2, 11) = 5;  // word1 bits 1..3 = 0b1010
  code(3, 31) = 6;  // word2 bits 29..31 = 110
  code(4, 9) = 3;   // word0 bits 27..29
  for (int64_t i = 0; i < 32; ++i) code(5, i) = 7;  // every bit of the first block set
  code(6, 32 + 10) = 4;  // second block: only the high bit of code 10, which lands in word 1 bit 0
  std::mt19937_64 rng(5);
  for (int64_t o = 7; o < out; ++o)
    for (int64_t i = 0; i < in; ++i) code(o, i) = uint8_t(rng() % 8);
  r.zeros.resize(size_t(out));
  for (int64_t o = 0; o < out; ++o) r.zeros[size_t(o)] = int32_t(1 + rng() % 7);
  r.scales.resize({out, 1});
  for (auto& s : r.scales.data) s = 0.125f;
  r.g_idx.assign(size_t(in), 0);
  r.w_hat.resize({out, in});
  for (int64_t o = 0; o < out; ++o)
    for (int64_t i = 0; i < in; ++i) r.w_hat.row(o)[i] = 0.125f * float(code(o, i) - r.zeros[size_t(o)]);

  const std::string dir = test::tmpdir("gptq_hand3");
  auto t = pack_to_file(dir + "/a.safetensors", "l", r, Tensor(), true);
  ASSERT_EQ(t.at("l.qweight").shape, (std::vector<int64_t>{6, out}));
  const auto qw = words_of(t.at("l.qweight"));
  auto word = [&](int64_t row, int64_t o) { return qw[size_t(row * out + o)]; };
  const std::vector<std::vector<uint32_t>> hand = {{0xC0000000u, 0x00000001u, 0u},
                                                   {0u, 0x80000000u, 0x00000003u},
                                                   {0u, 0x0000000Au, 0u},
                                                   {0u, 0u, 0xC0000000u},
                                                   {0x18000000u, 0u, 0u},
                                                   {0xFFFFFFFFu, 0xFFFFFFFFu, 0xFFFFFFFFu}};
  for (int64_t o = 0; o < 6; ++o)
    for (int64_t k = 0; k < 3; ++k) {
      EXPECT_EQ(word(k, o), hand[size_t(o)][size_t(k)]) << "column " << o << " word " << k;
      EXPECT_EQ(word(3 + k, o), 0u) << "column " << o << " second block word " << k;
    }
  EXPECT_EQ(word(3, 6), 0u);
  EXPECT_EQ(word(4, 6), 1u);
  // Every column against the transcription of AutoGPTQ's pack loop.
  for (int64_t o = 0; o < out; ++o) {
    std::vector<uint32_t> col(static_cast<size_t>(in));
    for (int64_t i = 0; i < in; ++i) col[size_t(i)] = code(o, i);
    const auto ref = autogptq_pack3(col);
    for (int64_t k = 0; k < 6; ++k) EXPECT_EQ(word(k, o), ref[size_t(k)]) << "column " << o << " word " << k;
  }
  // qzeros (v1: zero-1) packed along the output dimension with the same scheme.
  std::vector<uint32_t> zm1(static_cast<size_t>(out));
  for (int64_t o = 0; o < out; ++o) zm1[size_t(o)] = uint32_t(r.zeros[size_t(o)] - 1);
  EXPECT_EQ(words_of(t.at("l.qzeros")), autogptq_pack3(zm1));
  expect_bitwise_equal(unpack(t, "l", 3, out, in, true), r.w_hat, "3-bit");
}

TEST(GptqPack, PackedLlamaLoadsToTheFakeQuantLogitsAtEveryBitWidth) {
  for (int bits : {2, 3, 4, 8})
    for (bool grouped : {true, false}) {
      auto m = make_synthetic_model(small_config(Arch::Llama), 11 + bits);
      QuantSpec s;
      s.bits = bits;
      s.group = grouped ? 32 : 0;
      s.sym = !grouped;  // g32 asym, per-channel sym
      const std::string dir = fake_vs_packed(*m, "llama_" + s.str(), [&](LinearId) { return s; });
      const json qc = read_json(dir + "/quantize_config.json");
      EXPECT_EQ(qc["bits"], bits);
      EXPECT_EQ(qc["group_size"], grouped ? 32 : -1);
      EXPECT_EQ(qc["sym"], !grouped);
      EXPECT_EQ(qc["desc_act"], false);
      EXPECT_EQ(qc["quant_method"], "gptq");
      EXPECT_EQ(qc["lowbit_method"], "rtn");
      if (!grouped) {
        EXPECT_EQ(qc["checkpoint_format"], "gptq") << "sym zeros are never 0";
      }
      const json cfg = read_json(dir + "/config.json");
      EXPECT_EQ(cfg["quantization_config"], qc);
      EXPECT_EQ(cfg["num_hidden_layers"], 2);
      EXPECT_EQ(cfg["torch_dtype"], "float32");  // f32 source: non-quantized tensors kept in f32
    }
}

TEST(GptqPack, ZeroPointOfZeroIsWrittenAsGptqV2AndLoadsTheSame) {
  auto m = make_synthetic_model(small_config(Arch::Llama), 21);
  BlockWeights b = m->block(0);
  for (int64_t j = 0; j < b.v.w.dim(1); ++j) b.v.w.row(3)[j] = std::fabs(b.v.w.row(3)[j]);  // min ≥ 0 → zero 0
  m->set_block(0, std::move(b));
  QuantSpec s;
  s.bits = 4;
  s.group = 32;
  GptqExportInfo info;
  info.method = "gptq";
  info.damp_percent = 0.05;
  const std::string dir = fake_vs_packed(*m, "llama_v2", [&](LinearId) { return s; }, info);
  const json qc = read_json(dir + "/quantize_config.json");
  EXPECT_EQ(qc["checkpoint_format"], "gptq_v2");
  EXPECT_EQ(qc["lowbit_method"], "gptq");
  EXPECT_EQ(qc["damp_percent"], 0.05);
}

TEST(GptqPack, PackedQwen2AndOptWithBiasesLoadToTheFakeQuantLogits) {
  for (Arch arch : {Arch::Qwen2, Arch::Opt}) {
    auto m = make_synthetic_model(small_config(arch), 31);
    QuantSpec s;
    s.bits = 4;
    s.group = 32;
    const std::string name = arch == Arch::Opt ? "opt" : "qwen2";
    const std::string dir = fake_vs_packed(*m, name, [&](LinearId) { return s; });
    auto st = open_safetensors_set(dir);
    const std::string p = arch == Arch::Opt ? "model.decoder.layers.1.self_attn.q_proj" : "model.layers.1.self_attn.q_proj";
    ASSERT_TRUE(st.count(p + ".qweight")) << name;
    ASSERT_TRUE(st.count(p + ".bias")) << name;
    EXPECT_EQ(st.at(p + ".bias").dtype, DType::F32) << "random f32 bias is not f16-exact";
    if (arch == Arch::Opt) {
      EXPECT_TRUE(st.count("model.decoder.layers.0.fc2.qweight"));
    }
  }
}

TEST(GptqPack, F16ExactTensorsAreWrittenF16) {
  // A model whose non-quantized tensors are all f16 values (as an f16 checkpoint's are) is written
  // with F16 embeddings/norms and torch_dtype float16 — and still loads to identical logits.
  auto m = make_synthetic_model(small_config(Arch::Qwen2), 41);
  auto round16 = [](Tensor& t) {
    for (auto& v : t.data) v = f16_to_f32(f32_to_f16(v));
  };
  round16(m->tok_embed);
  round16(m->final_norm_w);
  for (int l = 0; l < m->cfg.n_layers; ++l) {
    BlockWeights b = m->block(l);
    round16(b.attn_norm_w);
    round16(b.mlp_norm_w);
    for (auto id : kLinearIds) round16(b.linear(id).b);
    m->set_block(l, std::move(b));
  }
  QuantSpec s;
  s.bits = 8;
  const std::string dir = fake_vs_packed(*m, "qwen2_f16", [&](LinearId) { return s; });
  auto st = open_safetensors_set(dir);
  EXPECT_EQ(st.at("model.embed_tokens.weight").dtype, DType::F16);
  EXPECT_EQ(st.at("model.layers.0.input_layernorm.weight").dtype, DType::F16);
  EXPECT_EQ(st.at("model.layers.0.self_attn.k_proj.bias").dtype, DType::F16);
  EXPECT_EQ(read_json(dir + "/config.json")["torch_dtype"], "float16");
}

TEST(GptqPack, Stories260KPackedLoadsToTheFakeQuantLogits) {
  const std::string bin = test::shared("models/stories260K/stories260K.bin");
  {
    // dim 64, hidden 172: at 4 bits, mlp.gate/up have out·4 = 688 and mlp.down in·4 = 688, not
    // multiples of 32 — refused up front, before any quantization.
    auto m = load_model(bin);
    QuantSpec s;
    s.bits = 4;
    s.group = 32;
    const std::string e = error_of<InputError>([&] { check_gptq_exportable(m->cfg, s); });
    EXPECT_NE(e.find("mlp.gate"), std::string::npos) << e;
    EXPECT_NE(e.find("172"), std::string::npos) << e;
    EXPECT_NE(e.find("multiple of 32"), std::string::npos) << e;
    s.group = 0;
    const std::string e2 = error_of<InputError>([&] { check_gptq_exportable(m->cfg, s); });
    EXPECT_NE(e2.find("688"), std::string::npos) << e2;
    s.bits = 5;
    EXPECT_NE(error_of<InputError>([&] { check_gptq_exportable(m->cfg, s); }).find("5-bit"), std::string::npos);
    // write_gptq_checkpoint itself validates every linear before writing anything. (group 32
    // everywhere but mlp.down, which has 172 inputs: per-channel there.)
    QuantSpec g32;
    g32.bits = 4;
    g32.group = 32;
    QuantSpec pc = g32;
    pc.group = 0;
    auto q = quantize_model(*m, [&](LinearId id) { return id == LinearId::Down ? pc : g32; });
    const std::string out = test::tmpdir("gptq_stories_bad") + "/packed";
    const std::string e3 = error_of<InputError>([&] { write_gptq_checkpoint(*m, q, out); });
    EXPECT_NE(e3.find("layers.0.mlp.gate"), std::string::npos) << e3;
    EXPECT_FALSE(fs::exists(out)) << "nothing may be written when the export is refused";
  }
  {
    // Mixed group sizes cannot be described by one quantize_config.json.
    auto m = load_model(bin);
    QuantSpec a, b;
    a.bits = b.bits = 8;
    a.group = 4;
    b.group = 0;
    auto q = quantize_model(*m, [&](LinearId id) { return id == LinearId::Down ? b : a; });
    const std::string e = error_of<InputError>([&] { write_gptq_checkpoint(*m, q, test::tmpdir("gptq_mixed")); });
    EXPECT_NE(e.find("one bits/group_size"), std::string::npos) << e;
  }
  // 8 bits fits every dimension (172·8 = 43·32). llama2.c stores interleaved RoPE: both folders
  // are written with the q/k rows permuted (codes, scales and zeros of the packed one).
  for (bool sym : {true, false}) {
    auto m = load_model(bin);
    ASSERT_EQ(m->cfg.rope, RopeStyle::Interleaved);
    QuantSpec s;
    s.bits = 8;
    s.group = sym ? 0 : 48;  // 64 = 48 + 16, 172 = 3·48 + 28: a ragged last group in every linear
    s.sym = sym;
    check_gptq_exportable(m->cfg, s);
    const std::string dir = fake_vs_packed(*m, "stories_" + s.str(), [&](LinearId) { return s; });
    auto st = open_safetensors_set(dir);
    EXPECT_EQ(st.at("model.layers.0.mlp.down_proj.qweight").shape, (std::vector<int64_t>{43, 64}));
    EXPECT_EQ(st.at("model.embed_tokens.weight").dtype, DType::F32);
    // ceil(in / group) scale rows, as AutoGPTQ/GPTQModel size them: 172 -> 4, 64 -> 2 (per channel: 1).
    EXPECT_EQ(st.at("model.layers.0.mlp.down_proj.scales").shape, (std::vector<int64_t>{sym ? 1 : 4, 64}));
    EXPECT_EQ(st.at("model.layers.0.self_attn.q_proj.scales").shape, (std::vector<int64_t>{sym ? 1 : 2, 64}));
  }
}

TEST(GptqPack, LinearLeftUnquantizedIsWrittenPlain) {
  // An empty QuantResult keeps the linear in floating point (.weight) and lists it as a GPTQModel
  // "dynamic" negative match; lowbit loads the mix to the same logits.
  auto m = make_synthetic_model(small_config(Arch::Llama), 71);
  const Tensor orig = m->block(1).down.w;
  QuantSpec s;
  s.bits = 4;
  s.group = 32;
  auto q = quantize_model(*m, [&](LinearId) { return s; });
  q[1][size_t(LinearId::Down)] = QuantResult();
  BlockWeights b = m->block(1);
  b.down.w = orig;
  m->set_block(1, std::move(b));
  const std::string dir = test::tmpdir("gptq_skip");
  write_hf_model(*m, dir + "/fake", DType::F32);
  write_gptq_checkpoint(*m, q, dir + "/packed");
  auto st = open_safetensors_set(dir + "/packed");
  EXPECT_TRUE(st.count("model.layers.1.mlp.down_proj.weight"));
  EXPECT_FALSE(st.count("model.layers.1.mlp.down_proj.qweight"));
  EXPECT_TRUE(st.count("model.layers.0.mlp.down_proj.qweight"));
  const json qc = read_json(dir + "/packed/quantize_config.json");
  ASSERT_TRUE(qc.contains("dynamic"));
  EXPECT_TRUE(qc["dynamic"].contains("-:^model\\.layers\\.1\\.mlp\\.down_proj$")) << qc["dynamic"].dump();
  expect_bitwise_equal(logits_of(*load_model(dir + "/fake")), logits_of(*load_model(dir + "/packed")), "skip");
}

TEST(GptqPack, ConfigJsonAloneIsEnough) {
  // transformers-style folders carry the settings only in config.json's quantization_config.
  auto m = make_synthetic_model(small_config(Arch::Llama), 51);
  QuantSpec s;
  s.bits = 3;
  s.group = 32;
  const std::string dir = fake_vs_packed(*m, "cfgonly", [&](LinearId) { return s; });
  auto before = logits_of(*load_model(dir));
  fs::remove(dir + "/quantize_config.json");
  ASSERT_TRUE(is_gptq_checkpoint(dir));
  expect_bitwise_equal(before, logits_of(*load_model(dir)), "config.json only");
}

TEST(GptqPack, BrokenCheckpointsGiveInputErrorsNamingFileTensorOrKey) {
  auto m = make_synthetic_model(small_config(Arch::Llama), 61);
  QuantSpec s;
  s.bits = 4;
  s.group = 32;
  const std::string good = fake_vs_packed(*m, "broken_src", [&](LinearId) { return s; });
  const std::string root = test::tmpdir("gptq_broken");
  // Copy the good folder, rewriting model.safetensors through `edit` (return false to drop a tensor).
  auto variant = [&](const std::string& name,
                     const std::function<bool(const std::string&, DType&, std::vector<int64_t>&, std::string&)>& edit) {
    const std::string d = root + "/" + name;
    fs::create_directories(d);
    fs::copy_file(good + "/config.json", d + "/config.json");
    fs::copy_file(good + "/quantize_config.json", d + "/quantize_config.json");
    auto f = SafetensorsFile::open(good + "/model.safetensors");
    SafetensorsWriter w;
    for (const auto& [n, t] : f->tensors()) {
      DType dt = t.dtype;
      std::vector<int64_t> shape = t.shape;
      std::string bytes(reinterpret_cast<const char*>(t.data), t.nbytes);
      if (edit(n, dt, shape, bytes)) w.add(n, dt, shape, bytes);
    }
    w.write(d + "/model.safetensors");
    return d;
  };
  const std::string qw = "model.layers.0.self_attn.q_proj.qweight";
  {
    // qweight one row short.
    const std::string d = variant("short_qweight", [&](const std::string& n, DType&, std::vector<int64_t>& sh,
                                                        std::string& b) {
      if (n == qw) {
        sh[0] -= 1;
        b.resize(b.size() - size_t(sh[1]) * 4);
      }
      return true;
    });
    const std::string e = error_of<InputError>([&] { load_model(d); });
    EXPECT_NE(e.find(qw), std::string::npos) << e;
    EXPECT_NE(e.find("model.safetensors"), std::string::npos) << e;
    EXPECT_NE(e.find("[7, 64]"), std::string::npos) << e;
  }
  {
    // qweight stored as F32 instead of I32.
    const std::string d = variant("f32_qweight", [&](const std::string& n, DType& dt, std::vector<int64_t>&,
                                                      std::string&) {
      if (n == qw) dt = DType::F32;
      return true;
    });
    const std::string e = error_of<InputError>([&] { load_model(d); });
    EXPECT_NE(e.find(qw), std::string::npos) << e;
    EXPECT_NE(e.find("dtype F32"), std::string::npos) << e;
  }
  {
    const std::string sc = "model.layers.1.mlp.down_proj.scales";
    const std::string d = variant("no_scales", [&](const std::string& n, DType&, std::vector<int64_t>&,
                                                   std::string&) { return n != sc; });
    const std::string e = error_of<InputError>([&] { load_model(d); });
    EXPECT_NE(e.find(sc), std::string::npos) << e;
    EXPECT_NE(e.find("missing"), std::string::npos) << e;
    EXPECT_NE(e.find("model.safetensors"), std::string::npos) << e;
  }
  {
    const std::string gi = "model.layers.0.mlp.up_proj.g_idx";
    const std::string d = variant("bad_gidx", [&](const std::string& n, DType&, std::vector<int64_t>&,
                                                  std::string& b) {
      if (n == gi) {
        const int32_t bad = 99;
        std::memcpy(b.data() + 4 * 5, &bad, 4);
      }
      return true;
    });
    const std::string e = error_of<InputError>([&] { load_model(d); });
    EXPECT_NE(e.find(gi), std::string::npos) << e;
    EXPECT_NE(e.find("99"), std::string::npos) << e;
  }
  auto with_config = [&](const std::string& name, const std::function<void(json&)>& edit) {
    const std::string d = variant(name, [](const std::string&, DType&, std::vector<int64_t>&, std::string&) {
      return true;
    });
    json qc = read_json(d + "/quantize_config.json");
    edit(qc);
    write_file_atomic(d + "/quantize_config.json", qc.dump(2));
    return error_of<InputError>([&] { load_model(d); });
  };
  {
    const std::string e = with_config("bits5", [](json& j) { j["bits"] = 5; });
    EXPECT_NE(e.find("quantize_config.json"), std::string::npos) << e;
    EXPECT_NE(e.find("'bits'"), std::string::npos) << e;
    EXPECT_NE(e.find("5"), std::string::npos) << e;
  }
  {
    // A group size that disagrees with the stored scales.
    const std::string e = with_config("group64", [](json& j) { j["group_size"] = 64; });
    EXPECT_NE(e.find(".scales"), std::string::npos) << e;
    EXPECT_NE(e.find("group_size 64"), std::string::npos) << e;
  }
  {
    const std::string e = with_config("marlin", [](json& j) { j["checkpoint_format"] = "marlin"; });
    EXPECT_NE(e.find("'checkpoint_format'"), std::string::npos) << e;
  }
  {
    const std::string e = with_config("awq", [](json& j) { j["quant_method"] = "awq"; });
    EXPECT_NE(e.find("'quant_method'"), std::string::npos) << e;
  }
  {
    const std::string e = with_config("nobits", [](json& j) { j.erase("bits"); });
    EXPECT_NE(e.find("quantize_config.json: missing key 'bits'"), std::string::npos) << e;
  }
}
