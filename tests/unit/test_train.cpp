// tests/unit/test_train.cpp — the trainer end to end: its forward equals lowbit's inference forward
// on the saved checkpoint, a tiny model overfits a tiny corpus, a resumed run is bit-identical to
// an uninterrupted one, AdamW and the schedule against their closed forms, checkpoint errors.
#include <gtest/gtest.h>

#include <omp.h>

#include <cmath>
#include <cstring>
#include <random>

#include "lowbit/core/error.hpp"
#include "lowbit/core/mapped_file.hpp"
#include "lowbit/io/hf.hpp"
#include "lowbit/io/llama2c.hpp"
#include "lowbit/io/load.hpp"
#include "lowbit/model/forward.hpp"
#include "lowbit/train/trainer.hpp"
#include "paths.hpp"
#include "tolerances.hpp"

using namespace lowbit;
using namespace lowbit::train;

namespace {

std::vector<float> noisy_params(const DecoderConfig& c, uint64_t seed, float scale) {
  auto p = init_parameters(c, make_layout(c), seed);
  std::mt19937_64 rng(seed + 1);
  std::normal_distribution<float> nd(0.f, scale);
  for (auto& v : p) v += nd(rng);
  return p;
}

std::shared_ptr<const std::vector<int>> sequence_stream(int n, int vocab, uint64_t seed) {
  std::mt19937_64 rng(seed);
  auto s = std::make_shared<std::vector<int>>();
  for (int i = 0; i < n; ++i) s->push_back(int(rng() % uint64_t(vocab)));
  return s;
}

// Tiny tensors gain nothing from threads, and on a loaded machine every OpenMP barrier of a
// 300-step run can cost milliseconds; these tests run on one thread and restore the setting.
struct OneThread {
  int saved = omp_get_max_threads();
  OneThread() { omp_set_num_threads(1); }
  ~OneThread() { omp_set_num_threads(saved); }
};

}  // namespace

TEST(Train, ForwardEqualsInferenceForwardOnSavedCheckpoint) {
  const DecoderConfig c = llama_train_config(32, 48, 2, 4, 37, 24, true);
  const auto p = noisy_params(c, 3, 0.1f);
  const int B = 2, T = 24;
  std::vector<int> tok(size_t(B) * T), tgt(size_t(B) * T, -1);
  for (size_t i = 0; i < tok.size(); ++i) tok[i] = int((i * 7 + 3) % 37);
  TrainableDecoder dec(c);
  Tensor train_logits;
  dec.forward_backward(p, tok.data(), tgt.data(), B, T, nullptr, &train_logits);
  const std::string dir = test::tmpdir("train_fwd");
  write_llama2c_model(*to_model(c, p), dir + "/m.bin");
  write_hf_model(*to_model(c, p), dir + "/hf");
  for (const std::string path : {dir + "/m.bin", dir + "/hf"}) {
    auto m = load_model(path);
    Tensor ref;
    forward_logits(*m, tok.data(), B, T, ref);
    ASSERT_EQ(ref.shape, train_logits.shape);
    float max_diff = 0, max_abs = 0;
    for (size_t i = 0; i < ref.data.size(); ++i) {
      max_diff = std::max(max_diff, std::abs(ref.data[i] - train_logits.data[i]));
      max_abs = std::max(max_abs, std::abs(ref.data[i]));
    }
    EXPECT_GT(max_abs, 0.1f) << path;  // not a trivially zero model
    EXPECT_LE(max_diff, tol::kLogitsF32) << path;
    // And back: the loaded weights are the trained parameters exactly.
    if (path.ends_with(".bin")) EXPECT_EQ(parameters_from_model(*m), p);
  }
}

TEST(Train, TinyModelOverfitsTinyCorpus) {
  // 40 distinct tokens in a fixed order: each token determines the next, so a model that
  // memorises the sequence reaches ~0 loss.
  auto s = std::make_shared<std::vector<int>>();
  for (int r = 0; r < 1; ++r)
    for (int i = 0; i < 41; ++i) s->push_back((i * 17) % 41);
  const DecoderConfig c = llama_train_config(32, 64, 1, 2, 41, 8, true);
  TrainOptions o;
  o.seq_len = 8;
  o.batch = 5;
  o.steps = 300;
  o.lr = 1e-2;
  o.warmup = 10;
  o.adamw.weight_decay = 0;
  o.log_every = 50;
  OneThread one;
  Trainer tr(c, o, s);
  const double first = tr.step();
  tr.train();
  const auto sum = tr.summary();
  ASSERT_FALSE(sum.history.empty());
  EXPECT_NEAR(first, std::log(41.0), tol::kInitLossVsChance);    // started at chance
  EXPECT_LT(sum.history.back().loss, 0.02);   // and memorised it
}

TEST(Train, ResumedRunIsBitIdentical) {
  auto s = sequence_stream(3000, 29, 5);
  const DecoderConfig c = llama_train_config(16, 40, 2, 2, 29, 12, true);
  TrainOptions o;
  o.seq_len = 12;
  o.batch = 6;
  o.steps = 24;
  o.warmup = 4;
  o.log_every = 5;
  OneThread one;
  Trainer straight(c, o, s);
  straight.train();
  const std::string ck = test::tmpdir("train_resume") + "/ck.bin";
  {
    Trainer first(c, o, s);
    first.train(11);  // stop mid-run, mid log interval
    EXPECT_EQ(first.current_step(), 11);
    first.save_checkpoint(ck);
  }
  auto resumed = Trainer::resume(ck, s);
  EXPECT_EQ(resumed->current_step(), 11);
  resumed->train();
  ASSERT_EQ(resumed->params().size(), straight.params().size());
  EXPECT_EQ(std::memcmp(resumed->params().data(), straight.params().data(), straight.params().size() * 4), 0);
  const auto a = straight.summary().history, b = resumed->summary().history;
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_EQ(a[i].loss, b[i].loss) << "record " << i;
  // The weights moved: a resumed run that silently restarted or froze would differ from init.
  EXPECT_NE(straight.params(), init_parameters(c, make_layout(c), o.seed));
}

TEST(Train, CheckpointRefusesOtherDataAndTruncation) {
  auto s = sequence_stream(500, 11, 6);
  const DecoderConfig c = llama_train_config(8, 16, 1, 2, 11, 8, true);
  TrainOptions o;
  o.seq_len = 8;
  o.batch = 2;
  o.steps = 4;
  o.warmup = 1;
  Trainer t(c, o, s);
  t.train(2);
  const std::string dir = test::tmpdir("train_ckpt");
  t.save_checkpoint(dir + "/ck.bin");
  EXPECT_THROW(Trainer::resume(dir + "/ck.bin", sequence_stream(500, 11, 7)), InputError);
  std::string bytes = read_file(dir + "/ck.bin");
  write_file_atomic(dir + "/short.bin", bytes.substr(0, bytes.size() - 4));
  EXPECT_THROW(Trainer::resume(dir + "/short.bin", s), InputError);
  write_file_atomic(dir + "/junk.bin", "not a checkpoint at all");
  EXPECT_THROW(Trainer::resume(dir + "/junk.bin", s), InputError);
}

TEST(Train, AdamWMatchesClosedForm) {
  DecoderConfig c = llama_train_config(4, 8, 1, 2, 5, 4, true);
  const ParamLayout L = make_layout(c);
  std::vector<float> p(L.total, 0.5f), g(L.total);
  for (size_t i = 0; i < g.size(); ++i) g[i] = float(int(i % 7) - 3) * 0.1f;
  AdamWConfig cfg;
  cfg.weight_decay = 0.1;
  AdamWState st;
  const double lr = 0.01;
  auto p1 = p;
  adamw_step(L, cfg, lr, p1, g, st);
  auto p2 = p1;
  adamw_step(L, cfg, lr, p2, g, st);
  // Closed form for a constant gradient: after t steps m̂ = g and v̂ = g², so each step moves by
  // lr·g/(|g|+eps) plus the decay lr·wd·p on decayed entries.
  const ParamEntry& emb = L.at(kTokEmbed);
  const ParamEntry& norm = L.at(kFinalNormW);
  for (const ParamEntry* e : {&emb, &norm}) {
    for (size_t i = e->offset; i < e->offset + e->size; ++i) {
      const double decay = e->decay ? 1 - lr * cfg.weight_decay : 1.0;
      const double step = g[i] == 0 ? 0 : lr * g[i] / (std::abs(double(g[i])) + cfg.eps);
      const double want1 = 0.5 * decay - step;
      const double want2 = want1 * decay - step;
      EXPECT_NEAR(p1[i], want1, tol::kFewF32Ops) << e->name << " " << i;
      EXPECT_NEAR(p2[i], want2, tol::kFewF32Ops) << e->name << " " << i;
    }
  }
}

TEST(Train, ScheduleAndClipping) {
  EXPECT_DOUBLE_EQ(lr_at(0, 100, 10, 1.0, 0.1), 0.1);   // warm-up: (step+1)/warmup
  EXPECT_DOUBLE_EQ(lr_at(9, 100, 10, 1.0, 0.1), 1.0);
  EXPECT_NEAR(lr_at(10, 100, 10, 1.0, 0.1), 1.0, tol::kF64ClosedForm);  // cosine starts at the peak
  EXPECT_NEAR(lr_at(55, 100, 10, 1.0, 0.1), 0.55, tol::kF64ClosedForm); // halfway: (lr + min) / 2
  EXPECT_DOUBLE_EQ(lr_at(100, 100, 10, 1.0, 0.1), 0.1);
  std::vector<float> g = {3.f, 4.f};
  EXPECT_DOUBLE_EQ(clip_grad_norm(g, 1.0), 5.0);
  EXPECT_NEAR(g[0], 0.6f, tol::kFewF32Ops);
  EXPECT_NEAR(g[1], 0.8f, tol::kFewF32Ops);
  std::vector<float> h = {0.3f, 0.4f};
  clip_grad_norm(h, 1.0);  // under the bound: unchanged
  EXPECT_EQ(h[0], 0.3f);
}

TEST(Train, RejectsBadOptionsAndConfigs) {
  TrainOptions o;
  o.steps = 10;
  o.warmup = 20;
  EXPECT_THROW(o.validate("train"), ConfigError);
  DecoderConfig c = llama_train_config(30, 40, 1, 4, 10, 8, true);  // 30 not divisible by 4 heads
  EXPECT_THROW(check_trainable_config(c, "x"), ConfigError);
  DecoderConfig g = llama_train_config(32, 40, 1, 4, 10, 8, true);
  g.n_kv_heads = 2;
  EXPECT_THROW(check_trainable_config(g, "x"), ConfigError);
  auto s = std::make_shared<const std::vector<int>>(std::vector<int>{1, 2, 99});
  TrainOptions ok;
  ok.steps = 1;
  ok.warmup = 0;
  ok.seq_len = 2;
  EXPECT_THROW(Trainer(llama_train_config(8, 16, 1, 2, 10, 2, true), ok, s), InputError);  // id 99 >= vocab
}
