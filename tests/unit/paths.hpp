// tests/unit/paths.hpp — where test data lives.
// defines: lowbit::test::shared, source, tmpdir, model_cache, real_model, venv_python
#pragma once

#include <unistd.h>

#include <cstdlib>
#include <string>

namespace lowbit::test {

inline std::string shared(const std::string& rel) { return std::string(LOWBIT_SHARED_DIR) + "/" + rel; }
inline std::string source(const std::string& rel) { return std::string(LOWBIT_SOURCE_DIR) + "/" + rel; }
// A fresh scratch folder for one test (removed by the OS's tmp cleaning, not by the test, so a
// failing case leaves its files for inspection).
inline std::string tmpdir(const std::string& name) {
  std::string t = std::string("/tmp/lowbit_test_") + name + "_" + std::to_string(::getpid());
  std::system(("rm -rf '" + t + "' && mkdir -p '" + t + "'").c_str());
  return t;
}

// The cache that .ci/models fills (LOWBIT_CACHE, default ~/.cache/lowbit): real GGUF models and a
// Python venv with gguf-py and llama-cpp-python. .ci/test runs .ci/models first, so tests that need
// them fail (not skip) when they are missing, with the command that fetches them.
inline std::string model_cache() {
  if (const char* c = std::getenv("LOWBIT_CACHE"); c && *c) return c;
  const char* h = std::getenv("HOME");
  return std::string(h && *h ? h : "/root") + "/.cache/lowbit";
}
// e.g. real_model("SmolLM2-135M-Instruct.Q4_1.gguf"), real_model("gemma-3-270m-q4_k_m.gguf")
inline std::string real_model(const std::string& file) { return model_cache() + "/models/" + file; }
inline std::string venv_python() { return model_cache() + "/venv/bin/python"; }
inline constexpr const char* kSmolLM2 = "SmolLM2-135M-Instruct.Q4_1.gguf";
inline constexpr const char* kGemma3 = "gemma-3-270m-q4_k_m.gguf";

}  // namespace lowbit::test
