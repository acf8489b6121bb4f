// tests/unit/test_quantize.cpp — the RTN grid, calibration sampling, AWQ folding and the
// layer-wise driver on the real stories260K (GPTQ's error ≤ RTN's on every linear layer).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <random>

#include "lowbit/compress/driver.hpp"
#include "lowbit/compress/stats.hpp"
#include "lowbit/core/error.hpp"
#include "lowbit/core/mapped_file.hpp"
#include "lowbit/eval/perplexity.hpp"
#include "lowbit/io/load.hpp"
#include "lowbit/model/forward.hpp"
#include "paths.hpp"
#include "tolerances.hpp"

using namespace lowbit;

namespace {

Tensor random_matrix(int64_t r, int64_t c, uint64_t seed) {
  Tensor t({r, c});
  std::mt19937_64 g(seed);
  std::normal_distribution<float> nd;
  for (auto& v : t.data) v = nd(g);
  return t;
}

TEST(Rtn, CodesAndReconstructionFollowTheGrid) {
  Tensor w = random_matrix(16, 64, 1);
  for (int bits : {2, 3, 4, 8})
    for (int group : {0, 16, 32})
      for (bool sym : {false, true}) {
        QuantSpec s{bits, group, sym};
        QuantResult q = quantize_rtn(w, s);
        const int64_t gs = s.group_size(64);
        ASSERT_EQ(q.n_groups, 64 / gs);
        for (int64_t o = 0; o < 16; ++o)
          for (int64_t j = 0; j < 64; ++j) {
            const int64_t g = q.g_idx[size_t(j)];
            const float sc = q.scales.data[size_t(o * q.n_groups + g)];
            const int32_t z = q.zeros[size_t(o * q.n_groups + g)];
            const int32_t code = q.q[size_t(o * 64 + j)];
            ASSERT_LE(code, s.maxq());
            ASSERT_EQ(q.w_hat.row(o)[j], dequant_code(code, sc, z));
            ASSERT_EQ(sc, f16_to_f32(f32_to_f16(sc)));  // exactly representable in f16
            if (sym) ASSERT_EQ(z, (s.maxq() + 1) / 2);
            // Round to nearest: the error is at most half a step (plus f16 rounding of the scale
            // pulling the range edge by at most one step at the clamp).
            ASSERT_LE(std::fabs(q.w_hat.row(o)[j] - w.row(o)[j]), sc * tol::kRtnMaxErrorSteps) << s.str();
          }
      }
}

TEST(Rtn, ValuesOnTheGridAreExact) {
  // Integers 0..15 times 0.25 are exactly on a 4-bit asymmetric grid with scale 0.25, zero 0.
  Tensor w({2, 16});
  for (int j = 0; j < 16; ++j) w.row(0)[j] = w.row(1)[j] = 0.25f * float(j);
  QuantResult q = quantize_rtn(w, QuantSpec{4, 0, false});
  EXPECT_EQ(q.w_hat.data, w.data);
}

TEST(Rtn, BadSpecsAreRefusedBeforeWork) {
  Tensor w = random_matrix(4, 48, 2);
  EXPECT_THROW(quantize_rtn(w, QuantSpec{9, 0, false}), InputError);
  EXPECT_THROW(quantize_rtn(w, QuantSpec{1, 0, false}), InputError);
  try {
    quantize_rtn(w, QuantSpec{4, -2, false});
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("group size -2 must be positive or -1 (per channel)"), std::string::npos)
        << e.what();
  }
}

// A group that does not divide the row leaves a ragged last group (GPTQ's reference, AutoGPTQ and
// GPTQModel: ceil(in / group) scales, g_idx = column // group): each group is exactly the
// per-channel RTN of its own columns, quantized on their own, and a group longer than the row is
// the row.
TEST(Rtn, RaggedLastGroupIsThePerChannelGridOfItsColumns) {
  const Tensor w = random_matrix(6, 48, 5);
  auto columns = [&](int64_t c0, int64_t c1) {
    Tensor t({w.dim(0), c1 - c0});
    for (int64_t o = 0; o < w.dim(0); ++o) std::copy(w.row(o) + c0, w.row(o) + c1, t.row(o));
    return t;
  };
  for (bool sym : {false, true}) {
    const QuantResult r = quantize_rtn(w, QuantSpec{3, 20, sym});  // 48 = 20 + 20 + 8
    ASSERT_EQ(r.n_groups, 3);
    ASSERT_EQ(r.scales.shape, (std::vector<int64_t>{6, 3}));
    for (int64_t j = 0; j < 48; ++j) EXPECT_EQ(r.g_idx[size_t(j)], int32_t(j / 20));
    for (int64_t g = 0; g < 3; ++g) {
      const int64_t c0 = 20 * g, c1 = std::min<int64_t>(48, c0 + 20);
      const QuantResult part = quantize_rtn(columns(c0, c1), QuantSpec{3, QuantSpec::kPerChannel, sym});
      for (int64_t o = 0; o < 6; ++o) {
        EXPECT_EQ(r.scales.row(o)[g], part.scales.row(o)[0]) << "group " << g << " row " << o;
        EXPECT_EQ(r.zeros[size_t(o * 3 + g)], part.zeros[size_t(o)]) << "group " << g << " row " << o;
        for (int64_t j = c0; j < c1; ++j) EXPECT_EQ(r.w_hat.row(o)[j], part.w_hat.row(o)[j - c0]) << j;
      }
    }
    const QuantResult wide = quantize_rtn(w, QuantSpec{3, 128, sym}), pc = quantize_rtn(w, QuantSpec{3, 0, sym});
    EXPECT_EQ(wide.n_groups, 1);
    EXPECT_EQ(wide.w_hat.data, pc.w_hat.data);
    EXPECT_EQ(wide.spec.group, 128);  // the configuration's value is kept, not rewritten to per channel
  }
}

// The f32 chunk Hessian against an exact-product f64 sum: symmetric bit for bit, and every element
// within its rounding bound (tol::hessian_f32_bound) of the f64 reference, on activations whose
// columns span four orders of magnitude (outlier channels, as real LLM inputs have).
TEST(Stats, F32ChunkHessianIsWithinItsRoundingBound) {
  const int64_t in = 131, rows = 4096;  // 131: not a multiple of any kernel tile
  Tensor x = random_matrix(rows, in, 77);
  for (int64_t j = 0; j < in; ++j) {
    const float sc = std::pow(10.f, float(j % 5) - 2.f);  // 0.01 .. 100
    for (int64_t r = 0; r < rows; ++r) x.row(r)[j] *= sc;
  }
  LinearStats st;
  st.init(in);
  st.add(x);
  std::vector<double> ref(size_t(in * in), 0.0);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t a = 0; a < in; ++a)
      for (int64_t b = 0; b < in; ++b) ref[size_t(a * in + b)] += double(x.row(r)[a]) * double(x.row(r)[b]);
  const double bound = tol::hessian_f32_bound(rows);
  double worst = 0;
  for (int64_t a = 0; a < in; ++a)
    for (int64_t b = 0; b < in; ++b) {
      ASSERT_EQ(st.xtx[size_t(a * in + b)], st.xtx[size_t(b * in + a)]) << a << "," << b;
      const double scale = std::sqrt(ref[size_t(a * in + a)] * ref[size_t(b * in + b)]);
      worst = std::max(worst, std::fabs(st.xtx[size_t(a * in + b)] - ref[size_t(a * in + b)]) / scale);
    }
  EXPECT_LE(worst, bound);
  EXPECT_GT(worst, 0) << "the f32 path rounds somewhere; an exact match would mean it is not the f32 path";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.3g of the bound %.3g", worst, bound);
  RecordProperty("worst_relative_to_sqrt_diag", buf);
}

TEST(Stats, HessianIsXtXAndMergesAcrossShards) {
  Tensor x = random_matrix(10, 6, 3);
  LinearStats all, a, b;
  all.init(6);
  a.init(6);
  b.init(6);
  all.add(x);
  Tensor x1({4, 6}), x2({6, 6});
  std::copy(x.data.begin(), x.data.begin() + 24, x1.data.begin());
  std::copy(x.data.begin() + 24, x.data.end(), x2.data.begin());
  a.add(x1);
  b.add(x2);
  a.merge(b);
  EXPECT_EQ(a.rows, 10);
  auto ref = [&](int i, int j) {
    double v = 0;
    for (int r = 0; r < 10; ++r) v += double(x.row(r)[i]) * x.row(r)[j];
    return v;
  };
  for (int i = 0; i < 6; ++i)
    for (int j = 0; j < 6; ++j) {
      const double tol = tol::hessian_f32_bound(10) * std::sqrt(ref(i, i) * ref(j, j));  // f32 chunks
      EXPECT_NEAR(all.xtx[size_t(i * 6 + j)], ref(i, j), tol);
      EXPECT_NEAR(a.xtx[size_t(i * 6 + j)], ref(i, j), tol);
    }
}

std::unique_ptr<Tokenizer> tok512() { return load_tokenizer(test::shared("models/stories260K/tok512.bin")); }

TEST(Calibration, ExactSizeSeededAndHeldOut) {
  auto tok = tok512();
  CalibSpec s;
  s.path = test::shared("data/wikitext2_raw/wiki.test.raw");
  s.doc_sep = "";
  s.nsamples = 7;
  s.seqlen = 33;
  s.seed = 5;
  CalibSet a = make_calibration(*tok, s), b = make_calibration(*tok, s);
  ASSERT_EQ(a.samples.size(), 7u);
  for (const auto& x : a.samples) EXPECT_EQ(x.size(), 33u);
  EXPECT_EQ(a.tokens(), 7 * 33);
  EXPECT_EQ(a.samples, b.samples);  // same seed, same draw
  s.seed = 6;
  EXPECT_NE(make_calibration(*tok, s).samples, a.samples);
  EXPECT_GT(a.holdout.size(), size_t(a.corpus_tokens / 20));
  s.seqlen = 1 << 30;
  EXPECT_THROW(make_calibration(*tok, s), InputError);
}

// More tokens than the calibration part holds (#16: 128 x 2048 from a 1,809-token corpus) still
// draws the set, but says so in one warning line with the numbers, and the set records it.
TEST(Calibration, OversampledCorpusIsWarnedAboutAndRecorded) {
  auto tok = tok512();
  CalibSpec s;
  s.path = test::source("jobs/data/tinystories_sample.txt");
  s.nsamples = 2;
  s.seqlen = 64;
  testing::internal::CaptureStderr();
  const CalibSet small = make_calibration(*tok, s);
  EXPECT_EQ(testing::internal::GetCapturedStderr(), "");
  EXPECT_FALSE(small.oversampled());
  EXPECT_GT(small.available_tokens, 128);
  EXPECT_EQ(small.available_tokens, (long long)(double(small.corpus_tokens) * 0.9));
  s.nsamples = int(small.available_tokens / 64) + 1;
  testing::internal::CaptureStderr();
  const CalibSet big = make_calibration(*tok, s);
  const std::string err = testing::internal::GetCapturedStderr();
  EXPECT_TRUE(big.oversampled());
  EXPECT_EQ(int64_t(big.samples.size()), s.nsamples);
  EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << err;
  EXPECT_NE(err.find("warning: calibration: " + std::to_string(s.nsamples) + " x 64 = "), std::string::npos) << err;
  EXPECT_NE(err.find(std::to_string(big.available_tokens) + "-token calibration part of"), std::string::npos) << err;
  EXPECT_NE(err.find("tinystories_sample.txt"), std::string::npos) << err;
}

CalibSet small_calib(int n, int L) {
  auto tok = tok512();
  CalibSpec s;
  s.path = test::shared("data/wikitext2_raw/wiki.test.raw");
  s.doc_sep = "";
  s.nsamples = n;
  s.seqlen = L;
  return make_calibration(*tok, s);
}

TEST(Driver, GptqErrorIsAtMostRtnOnEveryLinearOfStories260K) {
  CalibSet calib = small_calib(16, 128);
  for (int bits : {2, 3, 4}) {
    auto m = load_model(test::shared("models/stories260K/stories260K.bin"));
    CompressOptions o;
    o.method = "gptq";
    o.spec = QuantSpec{bits, 32, false};
    if (bits == 2) o.spec.group = 0;  // also per-channel
    // mlp.down has in = 172 = 5·32 + 12: its last group is ragged (the GPTQ reference's slices).
    CompressResult r = compress_model(*m, calib, o);
    ASSERT_EQ(r.records.size(), size_t(7 * m->cfg.n_layers));
    for (const auto& rec : r.records) {
      ASSERT_GE(rec.out_error, 0) << rec.linear;
      EXPECT_LE(rec.out_error, rec.rtn_error * (1 + 1e-9)) << "layer " << rec.layer << " " << rec.linear << " bits " << bits;
      EXPECT_GT(rec.rtn_error, 0);
    }
  }
}

TEST(Driver, QuantizedModelIsInstalledAndCloseAt8Bits) {
  CalibSet calib = small_calib(4, 128);
  auto fp = load_model(test::shared("models/stories260K/stories260K.bin"));
  PplOptions po;
  auto docs = tokenize_documents(*tok512(), read_file(test::shared("data/tinystories_sample/tinystories_sample.txt")), po);
  const double base = perplexity(*fp, docs, po).nll_per_token();
  std::map<std::string, double> nll;
  for (const char* method : {"rtn", "gptq", "awq"})
    for (int bits : {8, 2}) {
      auto m = load_model(test::shared("models/stories260K/stories260K.bin"));
      CompressOptions o;
      o.method = method;
      o.spec = QuantSpec{bits, 0, false};
      compress_model(*m, calib, o);
      nll[std::string(method) + std::to_string(bits)] = perplexity(*m, docs, po).nll_per_token();
    }
  for (const char* method : {"rtn", "gptq", "awq"}) {
    EXPECT_NEAR(nll[std::string(method) + "8"], base, tol::kNll8BitShift) << method;   // 8 bits: nearly lossless
    EXPECT_GT(nll[std::string(method) + "2"], base + 0.1) << method;     // 2 bits: clearly degraded
  }
  // No assertion that GPTQ beats RTN in perplexity: with an out-of-domain calibration corpus
  // (WikiText for a TinyStories model) it need not, and it does not at 2 bits per-channel here.
  // The guaranteed property is the layer-wise one (GptqErrorIsAtMostRtn…).
}

TEST(Awq, ScalingIsFunctionPreservingAndNeverWorseThanRtn) {
  CalibSet calib = small_calib(4, 64);
  auto m = load_model(test::shared("models/stories260K/stories260K.bin"));
  const auto& c = m->cfg;
  std::vector<int> flat;
  for (const auto& s : calib.samples) flat.insert(flat.end(), s.begin(), s.end());
  Tensor x;
  embed_tokens(*m, flat.data(), 4, 64, 0, x);
  BlockWeights w = m->load_block(0);
  std::vector<LinearStats> st(7);
  for (auto id : {LinearId::Q, LinearId::O, LinearId::Up, LinearId::Down}) st[size_t(id)].init(w.linear(id).in());
  ForwardHooks h;
  h.linear_input = [&](int, LinearId id, const Tensor& xin) {
    if (id == LinearId::Q || id == LinearId::O || id == LinearId::Up || id == LinearId::Down) st[size_t(id)].add(xin);
  };
  Tensor y_ref = x;
  block_forward(c, w, 0, y_ref, 4, 64, 0, &h);
  std::vector<const LinearStats*> sp = {&st[0], &st[0], &st[0], &st[3], &st[5], &st[5], &st[6]};
  BlockWeights scaled = w;
  auto reps = awq_scale_block(c, scaled, sp, QuantSpec{3, 0, false}, AwqOptions{});
  Tensor y = x;
  block_forward(c, scaled, 0, y, 4, 64);
  double num = 0, den = 0;
  for (size_t i = 0; i < y.data.size(); ++i) {
    num += double(y.data[i] - y_ref.data[i]) * (y.data[i] - y_ref.data[i]);
    den += double(y_ref.data[i]) * y_ref.data[i];
  }
  EXPECT_LT(num / den, 1e-10);  // the folds change nothing but rounding
  for (const auto& r : reps) {
    if (!r.applied) continue;
    EXPECT_LE(r.loss, r.loss_unscaled) << r.group;  // α = 0 is on the grid
  }
  EXPECT_FALSE(reps[1].applied);  // v->o is skipped under GQA (stories260K: 8 heads, 4 kv heads)
}

}  // namespace

// output_error(W, Ŵ, H) with H = Σ_t x_t x_tᵀ is Σ_t ‖(W−Ŵ) x_t‖²: checked against that direct sum
// on a shape whose rows span two tiles (256 + 44) and a matrix with a zero row.
TEST(Quantize, OutputErrorEqualsTheDirectSumOverTokens) {
  const int64_t out = 300, in = 37, T = 50;
  std::mt19937 rng(7);
  std::normal_distribution<float> nd;
  Tensor w({out, in}), w_hat({out, in});
  for (int64_t i = 0; i < w.numel(); ++i) {
    w.ptr()[i] = nd(rng);
    w_hat.ptr()[i] = w.ptr()[i] + 0.1f * nd(rng);
  }
  for (int64_t j = 0; j < in; ++j) w_hat.row(5)[j] = w.row(5)[j];
  std::vector<double> x(size_t(T * in)), H(size_t(in * in), 0.0);
  for (auto& v : x) v = nd(rng);
  for (int64_t t = 0; t < T; ++t)
    for (int64_t a = 0; a < in; ++a)
      for (int64_t b = 0; b < in; ++b) H[size_t(a * in + b)] += x[size_t(t * in + a)] * x[size_t(t * in + b)];
  long double want = 0;
  for (int64_t t = 0; t < T; ++t)
    for (int64_t o = 0; o < out; ++o) {
      long double e = 0;
      for (int64_t j = 0; j < in; ++j) e += (double(w.row(o)[j]) - double(w_hat.row(o)[j])) * x[size_t(t * in + j)];
      want += e * e;
    }
  const double got = output_error(w, w_hat, H);
  EXPECT_NEAR(got, double(want), tol::kF64SumOrderRel * double(want));
  EXPECT_EQ(output_error(w, w, H), 0.0);
}
