// lowbit/io/tokenizer_impl.hpp — internal: the per-format parsers behind load_tokenizer.
// defines: lowbit::parse_llama2c_tokenizer, lowbit::parse_sentencepiece_model,
//          lowbit::parse_hf_tokenizer_json, lowbit::parse_gguf_tokenizer, lowbit::regex_split_isolated,
//          lowbit::GgufVocabView, lowbit::describe_gguf_tokenizer
//
// Each parser works on the file's bytes already in memory, so the fuzzer and the unit tests can
// feed them buffers without touching the file system. `name` is only used in error messages
// (load_tokenizer passes the path). All of them throw lowbit::InputError for malformed input.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "lowbit/io/tokenizer.hpp"

namespace lowbit {

// llama2.c tokenizer.bin (tok512.bin): int32 max_token_length, then per token float32 score,
// int32 length, bytes; tokens run to the end of the buffer.
std::unique_ptr<Tokenizer> parse_llama2c_tokenizer(std::string_view bytes, const std::string& name);

// SentencePiece ModelProto (tokenizer.model / tok512.model), through libsentencepiece.
std::unique_ptr<Tokenizer> parse_sentencepiece_model(std::string_view bytes, const std::string& name);

// Hugging Face tokenizer.json holding a byte-level BPE model (GPT-2, OPT, Qwen2 style).
std::unique_ptr<Tokenizer> parse_hf_tokenizer_json(std::string_view json, const std::string& name);

// The tokenizer in a parsed GGUF file's metadata (tokenizer.ggml.*); messages name f.path.
std::unique_ptr<Tokenizer> parse_gguf_tokenizer(const GgufFile& f);

// A GGUF tokenizer as lowbit reads it (after llama.cpp's load-time adjustments), for writers that
// turn it into another format (io/tokenizer_export.cpp): one source of truth for which tokens are
// special, which are matched in the text, and which regexes the pre-tokenizer runs.
struct GgufVocabView {
  bool bpe = true;                  // tokenizer.ggml.model: gpt2 (true) or llama (false)
  std::string pre;                  // tokenizer.ggml.pre as written ("" when absent)
  // gpt2: the pre-tokenizer's splits in order, as regexes in the tokenizers library's syntax
  // (llama.cpp's regex_exprs); kGpt2Pattern stands for the GPT-2 pattern.
  std::vector<std::string> pre_regexes;
  bool clean_spaces = false;        // llama.cpp's clean_up_tokenization_spaces on decode
  std::vector<std::string> text;    // token texts by id (empty ones renamed [EMPTY_<id>])
  std::vector<float> score;         // llama: merge scores
  std::vector<int> type;            // tokenizer.ggml.token_type as written (1 normal .. 6 byte; 0 absent)
  // Whether encode() cuts the token out of the text (user-defined, not marked control at load) and
  // whether it is special (control or unknown after the adjustments: never matched, never printed).
  std::vector<char> matched, special;
  // gpt2: the merges that take part, in rank order (malformed entries skipped as the reader skips them).
  std::vector<std::pair<std::string, std::string>> merges;
  int bos = -1, eos = -1, unk = -1, pad = -1;
  bool add_bos = false, add_eos = false, add_space_prefix = false;
  std::string chat_template;        // tokenizer.chat_template, "" when absent
};
GgufVocabView describe_gguf_tokenizer(const GgufFile& f);

// Split `text` the way a tokenizers `Split{behavior: Isolated}` pre-tokenizer does: every match of
// `pattern` (PCRE2, UTF + UCP) is a piece, and so is every non-empty gap between matches.
// Exposed so tests can check a pattern from a file against hand-made splits.
std::vector<std::string> regex_split_isolated(const std::string& pattern, std::string_view text);

}  // namespace lowbit
