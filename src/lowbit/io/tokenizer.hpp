// lowbit/io/tokenizer.hpp — one interface over the three tokenizer file formats lowbit reads.
// defines: lowbit::Tokenizer, lowbit::load_tokenizer
//
// Formats (chosen by load_tokenizer from the file):
//   *.bin            llama2.c tokenizer (tok512.bin style): int32 max_token_length, then per token
//                    float32 score, int32 len, bytes. Encoding = llama2.c's: dummy-prefix space,
//                    byte fallback (<0xXX> = id 3 + byte), greedy merge of the best-scoring pair.
//   *.model          SentencePiece protobuf, through libsentencepiece.
//   tokenizer.json   Hugging Face byte-level BPE (GPT-2 / OPT / Qwen2 style), pre-tokenizer regex
//                    taken from the file (PCRE2), merges by rank.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace lowbit {

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;
  // Encode text to ids. With add_bos the model's BOS id is prepended (when the format has one).
  // Encoding follows the format's reference implementation exactly (e.g. llama2.c adds the
  // dummy-prefix space for non-empty text; SentencePiece applies its normalizer).
  virtual std::vector<int> encode(std::string_view text, bool add_bos) const = 0;
  // The text of one token as it should be printed after token `prev` (llama2.c strips the
  // leading space after BOS and turns <0xXX> into the raw byte; BPE maps byte-level chars back).
  virtual std::string decode_token(int prev, int token) const = 0;
  // Decode a whole id sequence (special tokens such as BOS/EOS are dropped).
  virtual std::string decode(const std::vector<int>& ids) const;
  virtual int vocab_size() const = 0;
  virtual int bos_id() const = 0;  // -1 if the format has none
  virtual int eos_id() const = 0;  // -1 if the format has none
  virtual std::string kind() const = 0;  // "llama2c", "sentencepiece", "hf-bpe"
};

// Load a tokenizer file; throws lowbit::InputError naming the file and what is wrong for a
// missing, truncated or malformed file. `path` may also be a directory holding tokenizer.json,
// tokenizer.model or tokenizer.bin (HF checkpoint folders).
std::unique_ptr<Tokenizer> load_tokenizer(const std::string& path);
// A tokenizer beside the model: tokenizer.json, tokenizer.model, tokenizer.bin, tok*.bin (the first
// in that order). Throws InputError naming the model and folder when there is none.
std::string find_tokenizer_for(const std::string& model_path);

}  // namespace lowbit
