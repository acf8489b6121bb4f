// lowbit/io/tokenizer.hpp — one interface over the tokenizer file formats lowbit reads.
// defines: lowbit::Tokenizer, lowbit::load_tokenizer, lowbit::find_tokenizer_for,
//          lowbit::check_vocab_rows, lowbit::check_gguf_vocab
//
// Formats (chosen by load_tokenizer from the file):
//   *.bin            llama2.c tokenizer (tok512.bin style): int32 max_token_length, then per token
//                    float32 score, int32 len, bytes. Encoding = llama2.c's: dummy-prefix space,
//                    byte fallback (<0xXX> = id 3 + byte), greedy merge of the best-scoring pair.
//   *.model          SentencePiece protobuf, through libsentencepiece.
//   tokenizer.json   Hugging Face byte-level BPE (GPT-2 / OPT / Qwen2 style), pre-tokenizer regex
//                    taken from the file (PCRE2), merges by rank.
//   *.gguf           the tokenizer in a GGUF file's metadata (tokenizer.ggml.*): "gpt2" byte-level
//                    BPE or "llama" SentencePiece-style, encoded id for id as llama.cpp does
//                    (io/tokenizer_gguf.cpp).
#pragma once

#include <cstdint>
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
  // Whether encode(text, true) prepends the BOS. GGUF files say so themselves
  // (tokenizer.ggml.add_bos_token: Gemma 3 yes, SmolLM2 no, as llama.cpp's add_special); for the
  // other formats it is whether there is a BOS.
  virtual bool adds_bos() const { return bos_id() >= 0; }
  virtual std::string kind() const = 0;  // "llama2c", "sentencepiece", "hf-bpe", "gguf-bpe", "gguf-spm"
};

class GgufFile;

// Load a tokenizer file; throws lowbit::InputError naming the file and what is wrong for a
// missing, truncated or malformed file. `path` may also be a directory holding tokenizer.json,
// tokenizer.model or tokenizer.bin (HF checkpoint folders), or a .gguf model (the tokenizer lives in
// its metadata).
std::unique_ptr<Tokenizer> load_tokenizer(const std::string& path);
// The tokenizer of a model: a .gguf model is its own; otherwise one beside it: tokenizer.json,
// tokenizer.model, tokenizer.bin, tok*.bin (the first in that order). Throws InputError naming the
// model and folder when there is none.
std::string find_tokenizer_for(const std::string& model_path);

// Where a model and its tokenizer meet: InputError "<model>: tensor '<tensor>' has <rows> rows but
// the tokenizer has <n> tokens" when the tokenizer's ids run past the embedding's rows (an embedding
// padded beyond the vocabulary, as Qwen2's, is fine).
void check_vocab_rows(const Tokenizer& tok, int64_t rows, const std::string& model, const std::string& tensor);
// A GGUF file's own agreement, as llama.cpp requires it: token_embd.weight (and output.weight, when
// present) must have exactly as many rows as tokenizer.ggml.tokens has tokens. InputError naming the
// file, the tensor and both counts otherwise; nothing to check when the file has no tokenizer.
void check_gguf_vocab(const GgufFile& f);

}  // namespace lowbit
