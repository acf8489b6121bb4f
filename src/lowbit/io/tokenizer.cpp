// lowbit/io/tokenizer.cpp — picks the tokenizer format for a path and reads the file.
// defines: lowbit::load_tokenizer, lowbit::find_tokenizer_for, lowbit::check_vocab_rows,
//          lowbit::Tokenizer::decode (default)
#include "lowbit/io/tokenizer.hpp"

#include <dirent.h>

#include "lowbit/core/mapped_file.hpp"


#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "lowbit/core/error.hpp"
#include "lowbit/io/gguf.hpp"
#include "lowbit/io/tokenizer_impl.hpp"

namespace lowbit {

std::string Tokenizer::decode(const std::vector<int>& ids) const {
  std::string out;
  int prev = -1;  // no previous token: nothing to strip before the first piece
  for (int id : ids) {
    if (id != bos_id() && id != eos_id()) out += decode_token(prev, id);
    prev = id;
  }
  return out;
}

namespace {

namespace fs = std::filesystem;

enum class Format { Llama2c, SentencePiece, HfJson };

bool has_gguf_extension(const std::string& p) {
  return p.size() >= 5 && p.compare(p.size() - 5, 5, ".gguf") == 0;
}

// GGUF is recognised by its extension or its magic, before the whole file is read (it is mapped).
bool is_gguf(const fs::path& path) {
  if (has_gguf_extension(path.string())) return true;
  std::ifstream in(path, std::ios::binary);
  char magic[4] = {};
  return in.read(magic, 4) && std::memcmp(magic, "GGUF", 4) == 0;
}

std::string read_whole_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) LB_THROW(IoError, path.string(), ": cannot open: ", std::strerror(errno));
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) LB_THROW(IoError, path.string(), ": read failed: ", std::strerror(errno));
  return bytes;
}

// The extension decides when it is one we know; otherwise the first bytes do. A SentencePiece
// ModelProto starts with field 1 (pieces, length-delimited) = byte 0x0a; JSON starts with '{'.
Format detect_format(const fs::path& path, std::string_view bytes) {
  const std::string ext = path.extension().string();
  if (ext == ".json") return Format::HfJson;
  if (ext == ".model") return Format::SentencePiece;
  if (ext == ".bin") return Format::Llama2c;
  size_t i = 0;
  while (i < bytes.size() && (bytes[i] == ' ' || bytes[i] == '\t' || bytes[i] == '\r' || bytes[i] == '\n')) ++i;
  if (i < bytes.size() && bytes[i] == '{') return Format::HfJson;
  if (!bytes.empty() && bytes[0] == '\x0a') return Format::SentencePiece;
  return Format::Llama2c;
}

}  // namespace

std::unique_ptr<Tokenizer> load_tokenizer(const std::string& path_str) {
  fs::path path(path_str);
  std::error_code ec;
  const fs::file_status st = fs::status(path, ec);
  if (!fs::exists(st)) LB_FAIL_INPUT(path_str, ": no such tokenizer file or directory");
  if (fs::is_directory(st)) {
    // HF checkpoint folders: prefer the format that carries the most (json has the special tokens).
    for (const char* candidate : {"tokenizer.json", "tokenizer.model", "tokenizer.bin"}) {
      if (fs::is_regular_file(path / candidate, ec)) return load_tokenizer((path / candidate).string());
    }
    LB_FAIL_INPUT(path_str, ": directory holds none of tokenizer.json, tokenizer.model, tokenizer.bin");
  }
  if (is_gguf(path)) return parse_gguf_tokenizer(*read_gguf(path_str));
  const std::string bytes = read_whole_file(path);
  switch (detect_format(path, bytes)) {
    case Format::HfJson:
      return parse_hf_tokenizer_json(bytes, path_str);
    case Format::SentencePiece:
      return parse_sentencepiece_model(bytes, path_str);
    case Format::Llama2c:
      return parse_llama2c_tokenizer(bytes, path_str);
  }
  LB_FAIL_INTERNAL("unreachable tokenizer format for ", path_str);
}

std::string find_tokenizer_for(const std::string& model_path) {
  if (has_gguf_extension(model_path) && file_exists(model_path)) return model_path;  // the tokenizer is inside
  const size_t slash = model_path.find_last_of('/');
  const std::string dir = is_directory(model_path) ? model_path
                          : slash == std::string::npos || slash == 0 ? std::string(slash == 0 ? "/" : ".")
                                                                     : model_path.substr(0, slash);
  for (const char* n : {"tokenizer.json", "tokenizer.model", "tokenizer.bin"})
    if (file_exists(dir + "/" + n)) return dir + "/" + n;
  if (DIR* d = ::opendir(dir.c_str())) {
    std::string best;
    while (dirent* e = ::readdir(d)) {
      std::string n = e->d_name;
      if (n.rfind("tok", 0) == 0 && n.size() > 4 && n.substr(n.size() - 4) == ".bin" && (best.empty() || n < best))
        best = n;
    }
    ::closedir(d);
    if (!best.empty()) return dir + "/" + best;
  }
  LB_FAIL_INPUT(model_path, ": no tokenizer found beside the model (tokenizer.json, tokenizer.model, tokenizer.bin or "
                "tok*.bin in ", dir, "); pass --tokenizer PATH");
}

void check_vocab_rows(const Tokenizer& tok, int64_t rows, const std::string& model, const std::string& tensor) {
  LB_INPUT_CHECK(tok.vocab_size() <= rows, model, ": tensor '", tensor, "' has ", rows, " rows but the tokenizer has ",
                 tok.vocab_size(), " tokens");
}

}  // namespace lowbit
