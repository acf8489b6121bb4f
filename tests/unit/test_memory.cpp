// tests/unit/test_memory.cpp — the peak memory model of layer-wise compression (docs/ARCHITECTURE.md
// "Memory"): with streaming (spill_dir), compressing a model keeps one FP block, one compressed
// block, the local calibration activations and the statistics resident — not the model. Measured
// as the growth of the peak resident set (VmHWM, reset after loading) of a forked child, on a
// synthetic 32-block model.
#include <gtest/gtest.h>
#include <malloc.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <cstring>
#include <fstream>
#include <random>

#include "lowbit/compress/driver.hpp"
#include "lowbit/core/error.hpp"
#include "lowbit/eval/perplexity.hpp"
#include "lowbit/model/forward.hpp"
#include "lowbit/io/hf.hpp"
#include "lowbit/model/synthetic.hpp"
#include "paths.hpp"
#include "test_configs.hpp"

using namespace lowbit;

namespace {
long status_kb(const char* key) {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind(key, 0) == 0) return std::stol(line.substr(std::strlen(key)));
  return -1;
}
// Reset the peak resident set to the current one (Linux >= 4.0: "5" > /proc/self/clear_refs).
void reset_peak() { std::ofstream("/proc/self/clear_refs") << "5"; }

// Runs setup() then work() in a child; returns the growth of the peak resident set during work()
// over the resident set after setup(), in bytes (or -1).
template <class S, class F>
long long peak_growth(S&& setup, F&& work) {
  int fd[2];
  if (pipe(fd) != 0) return -1;
  const pid_t pid = fork();
  if (pid == 0) {
    close(fd[0]);
    auto state = setup();
    reset_peak();
    const long before = status_kb("VmRSS:");
    work(state);
    const long long grow = (long long)(status_kb("VmHWM:") - before) * 1024;
    if (write(fd[1], &grow, sizeof grow) != sizeof grow) _exit(3);
    _exit(0);
  }
  close(fd[1]);
  long long grow = -1;
  if (read(fd[0], &grow, sizeof grow) != sizeof grow) grow = -1;
  close(fd[0]);
  int st = 0;
  waitpid(pid, &st, 0);
  return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? grow : -1;
}
}  // namespace

// Peak growth while compressing a model of `layers` blocks (RTN 4-bit with error records, so the
// Hessian statistics are accumulated too), streamed or not. A warm-up compression in the child
// first allocates the allocator arenas and OpenBLAS buffers, which do not depend on the model.
long long compress_growth(const std::string& dir, int layers, bool stream, long long* predicted) {
  DecoderConfig c = test::small_config(Arch::Llama, 128, 384, 32);
  c.n_layers = layers, c.n_kv_heads = 4, c.vocab_size = 64;
  const std::string path = dir + "/model" + std::to_string(layers);
  if (!std::filesystem::exists(path)) write_hf_model(*make_synthetic_model(c, 3), path);
  CalibSet calib;
  calib.spec.seqlen = 32;
  std::mt19937 rng(1);
  for (int i = 0; i < 8; ++i) {
    std::vector<int> s(32);
    for (auto& t : s) t = int(rng() % 64);
    calib.samples.push_back(s);
  }
  CompressOptions o;
  o.method = "rtn";
  o.spec.bits = 4;
  o.micro_batch = 4;
  o.keep_results = false;
  {
    auto m = load_model(path);
    *predicted = compress_memory_model(*m, 8, 32, o, 2);
  }
  return peak_growth(
      [&] {
        // Fixed mmap threshold: large buffers go back to the system when freed (glibc's dynamic
        // threshold would otherwise move them to the heap, whose fragmentation is not the model's).
        ::mallopt(M_MMAP_THRESHOLD, 256 * 1024);
        auto warm = load_model(path);
        CompressOptions w = o;
        w.spill_dir = dir + "/warm";
        std::filesystem::create_directories(w.spill_dir);
        compress_model(*warm, calib, w);
        warm.reset();
        ::malloc_trim(0);  // hand the warm-up's freed memory back, so the baseline is honest
        return load_model(path);
      },
      [&](std::unique_ptr<Model>& m) {
        CompressOptions r = o;
        if (stream) {
          r.spill_dir = dir + "/spill" + std::to_string(layers);
          std::filesystem::create_directories(r.spill_dir);
        }
        compress_model(*m, calib, r);
      });
}

TEST(Memory, StreamingKeepsOneBlockResident) {
  const std::string dir = test::tmpdir("memory");
  const long long block = (4LL * 128 * 128 + 3LL * 128 * 384) * 4;  // f32 bytes of one block
  long long pred8 = 0, pred32 = 0;
  const long long s8 = compress_growth(dir, 8, true, &pred8), s32 = compress_growth(dir, 32, true, &pred32);
  const long long r8 = compress_growth(dir, 8, false, &pred8), r32 = compress_growth(dir, 32, false, &pred32);
  std::printf("block %.2f MB; peak growth streamed: 8 blocks %.1f MB, 32 blocks %.1f MB; resident: %.1f MB, "
              "%.1f MB; memory model %.1f MB\n",
              block / 1e6, s8 / 1e6, s32 / 1e6, r8 / 1e6, r32 / 1e6, pred32 / 1e6);
  ASSERT_GT(s8, 0);
  ASSERT_GT(r8, 0);
  // Not streamed, the compressed model stays: 24 more blocks cost about 24 blocks.
  EXPECT_GT(r32 - r8, 20 * block);
  // Streamed, the peak barely grows with the number of blocks (24 more blocks cost less than 6:
  // what remains is allocator fragmentation and the records) and stays within the memory model
  // plus the allocator's and the mappings' slack.
  EXPECT_LT(s32 - s8, 6 * block);
  EXPECT_LT(s32, pred32 + (10 << 20));
}

TEST(Memory, SpilledBlocksGiveTheSameModel) {
  const std::string dir = test::tmpdir("spill");
  DecoderConfig c = test::small_config(Arch::Llama, 32, 64, 8);
  auto a = make_synthetic_model(c, 5);
  write_hf_model(*a, dir + "/model");
  auto m1 = load_model(dir + "/model"), m2 = load_model(dir + "/model");
  CalibSet calib;
  calib.spec.seqlen = 16;
  for (int i = 0; i < 4; ++i) calib.samples.push_back(std::vector<int>(16, i + 1));
  CompressOptions o;
  o.method = "gptq";
  o.spec.bits = 3;
  compress_model(*m1, calib, o);
  o.spill_dir = dir + "/spill";
  std::filesystem::create_directories(o.spill_dir);
  compress_model(*m2, calib, o);
  m2->stream_blocks = true;
  std::vector<int> toks(24);
  for (int i = 0; i < 24; ++i) toks[size_t(i)] = (i * 7) % c.vocab_size;
  Tensor l1, l2;
  forward_logits(*m1, toks.data(), 2, 12, l1);
  forward_logits(*m2, toks.data(), 2, 12, l2);
  EXPECT_EQ(l1.data, l2.data);
  for (int l = 0; l < c.n_layers; ++l) EXPECT_FALSE(m2->has_block(l)) << "block " << l << " stayed resident";
  EXPECT_THROW(m1->release_block(0), InternalError);  // replaced, not spilled
}
