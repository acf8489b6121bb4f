// lowbit/io/tokenizer_export.hpp — the tokenizer that goes into an exported model folder, so that the
// export loads on its own (`lowbit ppl --model <export>`, Hugging Face's AutoTokenizer, vLLM).
// defines: lowbit::TokenizerFile, lowbit::TokenizerExport, lowbit::export_tokenizer,
//          lowbit::prepare_tokenizer_export, lowbit::write_tokenizer_export, lowbit::gguf_tokenizer_to_hf
//
// What is written, by the kind of tokenizer the command used (its --tokenizer, or
// find_tokenizer_for(model)):
//   tokenizer.json / tokenizer.model in a folder (an HF checkpoint): every tokenizer file of that folder,
//     byte for byte (tokenizer.json, tokenizer_config.json, special_tokens_map.json, tokenizer.model,
//     vocab.json, merges.txt, added_tokens.json, chat_template.jinja, chat_template.json,
//     generation_config.json, tokenizer.bin), except a tokenizer.json beside a tokenizer.model that was the one used
//     (lowbit would pick the json in the export); a file of another name (gpt2_tiny_tokenizer.json)
//     is copied as tokenizer.json / tokenizer.model.
//   a llama2.c tokenizer (tok512.bin): copied as tokenizer.bin.
//   a GGUF model with tokenizer.ggml.model = gpt2: converted to tokenizer.json (BPE, vocabulary and
//     merges from the metadata, the pre-tokenizer's splits as Split regexes + ByteLevel, control and
//     unknown tokens as special added tokens, user-defined tokens as plain added tokens) and
//     tokenizer_config.json (bos/eos/unk/pad, add_bos/add_eos, chat template); lowbit's tokenizer.json
//     reader then gives the ids of the GGUF tokenizer (docs/TOKENIZERS.md "Exported tokenizers").
//   a GGUF model with tokenizer.ggml.model = llama (SentencePiece-style, Gemma 3): converted to a
//     SentencePiece tokenizer.model (BPE, the pieces with their scores and types, byte fallback, no
//     normalization beyond escaping spaces) and tokenizer_config.json; libsentencepiece then encodes it
//     as the GGUF tokenizer does.
// A vocabulary neither form holds exactly (a repeated token text, a gpt2 merge naming a text that is
// not a token, ...) gives no tokenizer: the export says so, and why, in one log line.
// Everything is read and converted in memory first (prepare_tokenizer_export), so a command can do it
// before its work and fail early; writing is one atomic file at a time, and a failed write removes
// what it wrote.
#pragma once

#include <string>
#include <vector>

namespace lowbit {

class GgufFile;

struct TokenizerFile {
  std::string name;   // file name inside the export folder
  std::string bytes;  // its contents
};

struct TokenizerExport {
  std::string source;                // the tokenizer path the command used
  std::string how;                   // "copied from <folder>", "converted from <file>'s GGUF gpt2 vocabulary", ...
  std::vector<TokenizerFile> files;  // empty when no tokenizer can be written: `missing` says why
  std::string missing;
};

// Reads (and converts where needed) the tokenizer at `tok_path`, all in memory. InputError/IoError
// naming the file when it cannot be read; a tokenizer that has no exportable form gives no files and
// a reason in `missing` (not an error: the model itself is still exported).
TokenizerExport prepare_tokenizer_export(const std::string& tok_path);
// Writes e.files into the folder `dir` (created when absent), each atomically, and logs one line:
// what was written, or that the export has no tokenizer and why. On a failure the files already
// written are removed and the error (naming the file) propagates.
void write_tokenizer_export(const TokenizerExport& e, const std::string& dir);
// Both: the tokenizer at `tok_path` into the export folder `dir`.
void export_tokenizer(const std::string& tok_path, const std::string& dir);

// A GGUF vocabulary as tokenizer.json (gpt2) or tokenizer.model (llama), + tokenizer_config.json;
// `missing` set instead when the format cannot hold it exactly (a repeated token text, a merge naming
// a text that is not a token, a byte-level character missing, no unknown token for SentencePiece).
TokenizerExport gguf_tokenizer_to_hf(const GgufFile& f);

}  // namespace lowbit
