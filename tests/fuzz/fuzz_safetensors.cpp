// tests/fuzz/fuzz_safetensors.cpp — libFuzzer target: arbitrary bytes as a safetensors file image.
// defines: LLVMFuzzerTestOneInput
//
// The whole input is the file: parse_safetensors_header must either return a header whose every
// tensor lies inside the data region, or throw a lowbit::Error. Any other exception escapes and
// libFuzzer reports it as a crash; so does an out-of-bounds read, which ASan catches while the
// target sums the bytes of each entry. The input buffer is copied to an exactly-sized heap block
// so a read one past the end is caught too.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string_view>

#include "lowbit/core/dtype.hpp"
#include "lowbit/core/error.hpp"
#include "lowbit/io/safetensors.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::unique_ptr<char[]> buf(new char[size ? size : 1]);
  if (size) std::memcpy(buf.get(), data, size);
  const std::string_view bytes(buf.get(), size);
  try {
    lowbit::SafetensorsHeader h = lowbit::parse_safetensors_header(bytes, size, "fuzz");
    if (h.data_start > size) std::abort();
    const size_t data_size = size - h.data_start;
    const unsigned char* base = reinterpret_cast<const unsigned char*>(buf.get()) + h.data_start;
    volatile unsigned sum = 0;
    size_t prev_end = 0;
    for (const auto& e : h.entries) {
      // The validated invariants, checked independently of the parser.
      if (e.begin > e.end || e.end > data_size) std::abort();
      uint64_t numel = 1;
      for (int64_t d : e.shape) {
        if (d < 0) std::abort();
        numel *= uint64_t(d);
      }
      if (e.end - e.begin != numel * lowbit::dtype_size(e.dtype)) std::abort();
      if (e.begin != e.end) {
        if (e.begin < prev_end) std::abort();  // overlapping non-empty tensors
        prev_end = e.end;
      }
      for (size_t i = e.begin; i < e.end; ++i) sum = sum + base[i];
    }
    (void)sum;
  } catch (const lowbit::Error&) {
    // A typed error is the expected outcome for a bad file.
  }
  return 0;
}
