// lowbit/io/tokenizer_bpe_core.hpp — internal: the byte-level BPE core that the Hugging Face
// tokenizer.json reader (tokenizer_bpe.cpp) and the GGUF reader (tokenizer_gguf.cpp) both feed.
// defines: lowbit::append_utf8, lowbit::next_utf8, lowbit::byte_to_char, lowbit::byte_level_decode,
//          lowbit::shown, lowbit::MergeTable, lowbit::kGpt2Pattern
//
// GPT-2's byte-level alphabet gives every byte a printable code point (the printable Latin-1 bytes
// stand for themselves, the other 68 map to U+0100..U+0143); vocabularies and merges are spelled in
// it. MergeTable is the merge loop over symbol ids: repeatedly the adjacent pair of lowest merge
// rank, leftmost on equal rank, as both the tokenizers library and llama.cpp's llm_tokenizer_bpe do.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace lowbit {

// The pre-tokenizer regex of GPT-2 (and of tokenizers' ByteLevel with use_regex = true).
inline constexpr const char* kGpt2Pattern = R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

void append_utf8(std::string& out, uint32_t cp);
// Decodes one UTF-8 sequence at s[i]; returns its length (1 for a byte that does not start a
// well-formed sequence, reported as code point 0xFFFFFFFF).
size_t next_utf8(std::string_view s, size_t i, uint32_t& cp);

// The UTF-8 of the byte-level character that stands for byte `b`.
const std::string& byte_to_char(unsigned char b);
// Maps byte-level characters back to bytes; characters outside the alphabet are kept as written.
std::string byte_level_decode(std::string_view text);

// Quotes a token for an error message without letting control bytes through (first 40 bytes).
std::string shown(std::string_view s);

class MergeTable {
 public:
  void reserve(size_t n) { merges_.reserve(n); }
  bool empty() const { return merges_.empty(); }
  // Registers the merge (left, right) -> merged with `rank`; a pair seen before keeps its first
  // (best) rank, as both tokenizers and llama.cpp do.
  void add(int left, int right, int rank, int merged);
  // The BPE result of a sequence of initial symbols.
  std::vector<int> apply(std::vector<int> sym) const;

 private:
  struct Merge {
    int rank;
    int merged;
  };
  static uint64_t key(int a, int b) { return (static_cast<uint64_t>(a) << 32) | static_cast<uint32_t>(b); }
  std::unordered_map<uint64_t, Merge> merges_;
};

}  // namespace lowbit
