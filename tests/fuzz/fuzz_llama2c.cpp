// tests/fuzz/fuzz_llama2c.cpp — libFuzzer target: arbitrary bytes as a llama2.c checkpoint.
// defines: LLVMFuzzerTestOneInput
//
// 1. parse_llama2c_header(bytes, size): the 28-byte header and the exact-size check. It must
//    return or throw a lowbit::Error; a header it accepts must describe exactly `size` bytes.
// 2. The same header against a file size the fuzzer chooses (the input's last 8 bytes), so the
//    size arithmetic is exercised far beyond the inputs' own lengths (overflow, huge files).
// 3. When (1) accepts the input, the full loader runs on it: the bytes go to a memfd once and
//    load_llama2c_model + materialize_all read every tensor (shape checks, NaN/Inf checks).
//    Only inputs whose size matches their header get here, so this costs little overall.
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>

#include "lowbit/core/error.hpp"
#include "lowbit/io/llama2c.hpp"
#include "lowbit/model/model.hpp"

namespace {

void load_from_memory(const uint8_t* data, size_t size) {
  int fd = ::memfd_create("fuzz_llama2c", MFD_CLOEXEC);
  if (fd < 0) return;
  size_t off = 0;
  while (off < size) {
    ssize_t n = ::write(fd, data + off, size - off);
    if (n <= 0) {
      ::close(fd);
      return;
    }
    off += size_t(n);
  }
  const std::string path = "/proc/self/fd/" + std::to_string(fd);
  try {
    auto m = lowbit::load_llama2c_model(path);
    m->materialize_all();
  } catch (const lowbit::Error&) {
  }
  ::close(fd);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // Exactly-sized copy: ASan catches a read one byte past the input.
  std::unique_ptr<char[]> buf(new char[size ? size : 1]);
  if (size) std::memcpy(buf.get(), data, size);
  const std::string_view bytes(buf.get(), size);

  bool accepted = false;
  try {
    lowbit::Llama2cHeader h = lowbit::parse_llama2c_header(bytes, size, "fuzz");
    if (h.expected_size != size) std::abort();  // accepted a file of the wrong size
    accepted = true;
  } catch (const lowbit::Error&) {
  }

  if (size >= 36) {
    uint64_t claimed = 0;
    std::memcpy(&claimed, buf.get() + size - 8, 8);
    try {
      lowbit::Llama2cHeader h = lowbit::parse_llama2c_header(bytes.substr(0, size - 8), claimed, "fuzz");
      if (h.expected_size != claimed) std::abort();
    } catch (const lowbit::Error&) {
    }
  }

  if (accepted) load_from_memory(data, size);
  return 0;
}
