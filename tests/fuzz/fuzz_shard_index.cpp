// tests/fuzz/fuzz_shard_index.cpp — libFuzzer target: arbitrary bytes as a sharded checkpoint's
// model.safetensors.index.json, beside two valid shards.
// defines: LLVMFuzzerTestOneInput
//
// open_safetensors_set must either map every tensor the index names to a shard that holds it or
// throw a user error naming the index and the entry; a shard name that leaves the folder ("../x",
// "/etc/passwd") must be refused, never opened. Every returned tensor lies inside its mapping.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

#include "fuzz_util.hpp"
#include "lowbit/core/tensor.hpp"
#include "lowbit/io/safetensors.hpp"

namespace {

// A valid safetensors image holding F32 tensors `a` [2] and `b` [1] (8-byte aligned header).
std::string shard(const std::string& a, const std::string& b) {
  std::string h = "{\"" + a + "\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"" + b +
                  "\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}";
  while ((8 + h.size()) % 8) h += ' ';
  std::string out(8, '\0');
  const uint64_t n = h.size();
  std::memcpy(out.data(), &n, 8);
  return out + h + std::string(12, '\x01');
}

const std::string& folder() {
  static const std::string dir = [] {
    lowbit::fuzz::write_scratch("model-00001-of-00002.safetensors", shard("w.0", "w.1"));
    lowbit::fuzz::write_scratch("model-00002-of-00002.safetensors", shard("w.2", "w.3"));
    return lowbit::fuzz::scratch_dir();
  }();
  return dir;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string& dir = folder();
  lowbit::fuzz::write_scratch("model.safetensors.index.json",
                              std::string_view(reinterpret_cast<const char*>(data), size));
  try {
    const auto tensors = lowbit::open_safetensors_set(dir);
    for (const auto& [name, t] : tensors) {
      if ((!t.data && t.nbytes) || t.name.empty() || name.empty()) std::abort();
      const lowbit::Tensor f = t.to_f32(false);  // reads every byte of the mapping
      if (size_t(f.numel()) * 4 != t.nbytes) std::abort();
    }
  } catch (const lowbit::Error& e) {
    lowbit::fuzz::expect_user_error(e);
  }
  return 0;
}
