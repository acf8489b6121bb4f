// lowbit/testbed/corpus_tokenizer.hpp — a word-level tokenizer for the synthetic corpus, written as
// a Hugging Face byte-level BPE tokenizer.json that lowbit's load_tokenizer (and the tokenizers
// library) reads: GPT-2 pre-tokenization, `ignore_merges: true` and no merges, and a vocabulary of
// every pre-tokenized piece of the text (" Paris", " 1987", "'s", ".") plus the printable ASCII
// bytes. A piece in the vocabulary is one token; any other text falls back to its bytes (and to
// <unk> for bytes outside printable ASCII). Ids: 0 <unk>, 1 <s> (BOS, added by the template
// post-processor), 2 </s>, then the pieces by decreasing frequency, then the bytes.
// defines: lowbit::testbed::corpus_tokenizer_json, kGpt2SplitPattern
#pragma once

#include <string>
#include <vector>

namespace lowbit::testbed {

// The pre-tokenizer regex of GPT-2 (= tokenizers' ByteLevel with use_regex).
inline constexpr const char* kGpt2SplitPattern =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

// The tokenizer.json text for a vocabulary covering `text` and every string of `extra`.
std::string corpus_tokenizer_json(const std::string& text, const std::vector<std::string>& extra);

}  // namespace lowbit::testbed
