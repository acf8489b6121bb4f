// tests/unit/test_gguf_util.hpp — shared helpers of the GGUF tests: gguf-py reference data
// (tests/data/gguf_ref.py run with the venv python), cached under the model cache.
// defines: lowbit::test::gguf_synth_dir, gguf_real_ref, read_f32_file, weighted_hash, file_hash
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "lowbit/core/mapped_file.hpp"
#include "paths.hpp"

namespace lowbit::test {

inline std::string hex64(uint64_t h) {
  char b[17];
  std::snprintf(b, sizeof b, "%016llx", static_cast<unsigned long long>(h));
  return b;
}

// A fast 64-bit hash of bytes (8-byte words, multiply-xorshift), for cache keys only.
inline uint64_t bytes_hash(const uint8_t* p, size_t n) {
  uint64_t h = 0x9e3779b97f4a7c15ull ^ n;
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t w;
    std::memcpy(&w, p + i, 8);
    h = (h ^ w) * 0xff51afd7ed558ccdull;
    h ^= h >> 29;
  }
  for (; i < n; ++i) h = (h ^ p[i]) * 0x100000001b3ull;
  return h;
}
inline uint64_t file_hash(const std::string& path) {
  auto m = MappedFile::open(path);
  return bytes_hash(m->data(), m->size());
}

// gguf_ref.py's hash of dequantised values: sum_i u32(x_i) * (2i + 1) mod 2^64.
inline uint64_t weighted_hash(const float* x, size_t n) {
  uint64_t h = 0;
  for (size_t i = 0; i < n; ++i) {
    uint32_t u;
    std::memcpy(&u, x + i, 4);
    h += uint64_t(u) * (2 * uint64_t(i) + 1);
  }
  return h;
}

inline std::vector<float> read_f32_file(const std::string& path) {
  auto m = MappedFile::open(path);
  std::vector<float> v(m->size() / 4);
  if (!v.empty()) std::memcpy(v.data(), m->data(), v.size() * 4);
  return v;
}

inline void require_venv() {
  ASSERT_TRUE(std::filesystem::exists(venv_python()))
      << venv_python() << " is missing: run `bash .ci/models` (it makes the venv with gguf-py)";
}
inline void require_model(const std::string& path) {
  ASSERT_TRUE(std::filesystem::exists(path)) << path << " is missing: run `bash .ci/models`";
}

// Runs `gguf_ref.py ARGS` into a cache folder named by `key` unless it is there already; the
// folder is built under a temporary name and renamed, so concurrent tests never see half of it.
inline std::string cached_ref(const std::string& key, const std::string& args_with_outdir_placeholder) {
  namespace fs = std::filesystem;
  const std::string dir = model_cache() + "/gguf_ref/" + key;
  if (fs::exists(dir + "/done")) return dir;
  fs::create_directories(model_cache() + "/gguf_ref");
  const std::string tmp = dir + ".tmp." + std::to_string(::getpid());
  fs::remove_all(tmp);
  fs::create_directories(tmp);
  std::string args = args_with_outdir_placeholder;
  for (size_t p; (p = args.find("{OUT}")) != std::string::npos;) args.replace(p, 5, tmp);
  const std::string cmd = venv_python() + " " + source("tests/data/gguf_ref.py") + " " + args + " > " + tmp +
                          "/log.txt 2>&1";
  const int rc = std::system(cmd.c_str());
  if (rc != 0) {
    std::ifstream lf(tmp + "/log.txt");
    std::stringstream ss;
    ss << lf.rdbuf();
    ADD_FAILURE() << "gguf_ref.py failed (rc " << rc << "): " << cmd << "\n" << ss.str();
    return "";
  }
  std::ofstream(tmp + "/done") << "ok\n";
  std::error_code ec;
  fs::rename(tmp, dir, ec);
  if (ec) fs::remove_all(tmp);  // another process made it first
  return dir;
}

// The synthetic files and their gguf-py references, keyed by the script's own bytes.
inline std::string gguf_synth_dir() {
  auto s = MappedFile::open(source("tests/data/gguf_ref.py"));
  return cached_ref("synth-" + hex64(bytes_hash(s->data(), s->size())), "synth {OUT}");
}

// The gguf-py reference of a real model: every tensor (per_type = 0) or the per_type smallest of
// each type with raw values; keyed by the model file's and the script's bytes.
inline std::string gguf_real_ref(const std::string& model, int per_type) {
  auto s = MappedFile::open(source("tests/data/gguf_ref.py"));
  const std::string key = "real-" + hex64(file_hash(model) ^ bytes_hash(s->data(), s->size())) + "-" +
                          std::to_string(per_type);
  std::string args = "real " + model + " {OUT}/ref.json";
  if (per_type > 0) args += " --per-type " + std::to_string(per_type);
  return cached_ref(key, args);
}

}  // namespace lowbit::test
