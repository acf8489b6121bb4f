// tests/fuzz/fuzz_hf_config.cpp — libFuzzer target: arbitrary bytes as a Hugging Face config.json.
// defines: LLVMFuzzerTestOneInput
//
// parse_hf_config must either return a decoder description or throw a user error naming
// config.json and the key; nlohmann::json exceptions (type errors, out-of-range numbers) must not
// escape. An accepted description has positive sizes whose head layout divides the width.
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_util.hpp"
#include "lowbit/io/hf.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    const lowbit::DecoderConfig c = lowbit::parse_hf_config(text, "fuzz/config.json");
    if (c.dim <= 0 || c.n_layers <= 0 || c.n_heads <= 0 || c.n_kv_heads <= 0 || c.vocab_size <= 0) std::abort();
    if (c.n_heads % c.n_kv_heads != 0) std::abort();
  } catch (const lowbit::Error& e) {
    lowbit::fuzz::expect_user_error(e);
  }
  return 0;
}
