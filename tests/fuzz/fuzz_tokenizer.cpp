// tests/fuzz/fuzz_tokenizer.cpp — libFuzzer target for the tokenizer file parsers.
// defines: LLVMFuzzerTestOneInput
//
// The input bytes go to the llama2.c parser and then to the tokenizer.json parser; whatever parses
// must encode and decode a fixed string with every id in range. lowbit::Error (bad input) is the
// expected way to refuse a file; any other exception, crash or sanitizer report is a bug.
// Seeds: shared/models/*/tok512.bin and tests/data/*_tokenizer.json.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "lowbit/core/error.hpp"
#include "lowbit/io/tokenizer_impl.hpp"

namespace {

// Mixed scripts, digits, an added-token lookalike and invalid UTF-8, to reach every encoder path.
constexpr std::string_view kText =
    "Once upon a time, Gr\xC3\xB6\xC3\x9F"
    "e 2024 \xE6\x97\xA5!\n\n <|endoftext|></s> \xFF\xC3";

void exercise(const lowbit::Tokenizer& tok) {
  for (bool bos : {false, true}) {
    const std::vector<int> ids = tok.encode(kText, bos);
    for (int id : ids)
      if (id < 0 || id >= tok.vocab_size()) __builtin_trap();
    (void)tok.decode(ids);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  for (auto parse : {&lowbit::parse_llama2c_tokenizer, &lowbit::parse_hf_tokenizer_json}) {
    try {
      exercise(*parse(bytes, "fuzz-input"));
    } catch (const lowbit::Error&) {
      // a refused file: expected
    }
  }
  return 0;
}
