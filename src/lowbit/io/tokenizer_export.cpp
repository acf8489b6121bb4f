// lowbit/io/tokenizer_export.cpp — the tokenizer of an exported model folder. defines: see
// tokenizer_export.hpp
#include "lowbit/io/tokenizer_export.hpp"

#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string_view>
#include <unordered_map>

#include "lowbit/core/error.hpp"
#include "lowbit/core/log.hpp"
#include "lowbit/core/mapped_file.hpp"
#include "lowbit/io/gguf.hpp"
#include "lowbit/io/tokenizer_bpe_core.hpp"
#include "lowbit/io/tokenizer_impl.hpp"

namespace lowbit {
namespace {

namespace fs = std::filesystem;
using ojson = nlohmann::ordered_json;

// The files of an HF checkpoint that belong to its tokenizer (AutoTokenizer reads them; vLLM reads
// generation_config.json for its stop tokens); tokenizer.bin is lowbit's own (a llama2.c tokenizer
// in a folder lowbit exported).
constexpr const char* kHfTokenizerFiles[] = {
    "tokenizer.json",      "tokenizer_config.json", "special_tokens_map.json", "tokenizer.model",
    "vocab.json",          "merges.txt",            "added_tokens.json",       "chat_template.jinja",
    "chat_template.json",  "generation_config.json", "tokenizer.bin"};

enum class Kind { Gguf, HfJson, SentencePiece, Llama2c };

// The same decision load_tokenizer makes: GGUF by extension or magic; then the extension; then the
// first bytes ('{' JSON, 0x0a a SentencePiece ModelProto, else llama2.c).
Kind kind_of(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  char head[64] = {};
  in.read(head, sizeof head);
  const std::string_view h(head, static_cast<size_t>(in.gcount()));
  const std::string ext = p.extension().string();
  if (ext == ".gguf" || h.substr(0, 4) == "GGUF") return Kind::Gguf;
  if (ext == ".json") return Kind::HfJson;
  if (ext == ".model") return Kind::SentencePiece;
  if (ext == ".bin") return Kind::Llama2c;
  const size_t i = h.find_first_not_of(" \t\r\n");
  if (i != std::string_view::npos && h[i] == '{') return Kind::HfJson;
  if (!h.empty() && h[0] == '\x0a') return Kind::SentencePiece;
  return Kind::Llama2c;
}

TokenizerFile copy_of(const fs::path& from, const std::string& name) {
  require_regular_file(from.string());
  return {name, read_file(from.string())};
}

// The folder of an HF checkpoint whose tokenizer.json or tokenizer.model was used.
void copy_hf_folder(const fs::path& used, TokenizerExport& e) {
  const fs::path dir = used.parent_path().empty() ? fs::path(".") : used.parent_path();
  const bool used_model = used.filename() == "tokenizer.model";
  std::error_code ec;
  for (const char* name : kHfTokenizerFiles) {
    const fs::path p = dir / name;
    if (!fs::is_regular_file(p, ec)) continue;
    if (used_model && std::strcmp(name, "tokenizer.json") == 0) {
      // lowbit (and AutoTokenizer) would take the json in the export, not the tokenizer this
      // command used.
      log_info("tokenizer: not copying ", p.string(), ": ", used.string(), " was the tokenizer used");
      continue;
    }
    e.files.push_back(copy_of(p, name));
  }
  e.how = "copied from " + dir.string();
}

std::string token_or_null_name(const GgufVocabView& v, int id) { return id >= 0 ? v.text[size_t(id)] : std::string(); }

ojson token_or_null(const GgufVocabView& v, int id) {
  if (id < 0) return nullptr;
  return v.text[size_t(id)];
}

// The pre-tokenizer of tokenizer.json that splits as the GGUF pre-tokenizer does: one Split (Isolated)
// per regex, then ByteLevel; a final GPT-2 split is ByteLevel's own regex (use_regex), as HF writes it.
// tokenizer_config.json's fields that both conversions write: special tokens, add_bos/add_eos and
// the chat template from the GGUF metadata.
ojson tokenizer_config(const GgufVocabView& v, bool clean_spaces) {
  ojson cfg;
  cfg["add_bos_token"] = v.add_bos;
  cfg["add_eos_token"] = v.add_eos;
  cfg["bos_token"] = token_or_null(v, v.bos);
  cfg["eos_token"] = token_or_null(v, v.eos);
  cfg["unk_token"] = token_or_null(v, v.unk);
  cfg["pad_token"] = token_or_null(v, v.pad);
  cfg["clean_up_tokenization_spaces"] = clean_spaces;
  if (!v.chat_template.empty()) cfg["chat_template"] = v.chat_template;
  return cfg;
}

ojson pre_tokenizer_json(const GgufVocabView& v) {
  std::vector<std::string> splits = v.pre_regexes;
  bool byte_level_regex = false;
  if (!splits.empty() && splits.back() == kGpt2Pattern) {
    byte_level_regex = true;
    splits.pop_back();
  }
  const ojson byte_level = {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true},
                            {"use_regex", byte_level_regex}};
  if (splits.empty()) return byte_level;
  ojson seq = ojson::array();
  for (const std::string& re : splits)
    seq.push_back({{"type", "Split"}, {"pattern", {{"Regex", re}}}, {"behavior", "Isolated"}, {"invert", false}});
  seq.push_back(byte_level);
  return {{"type", "Sequence"}, {"pretokenizers", seq}};
}

ojson special_token_entry(const std::string& text, int id) {
  return {{"id", text}, {"ids", {id}}, {"tokens", {text}}};
}

// add_bos / add_eos as a TemplateProcessing post-processor (what HF writes for such models); otherwise
// ByteLevel's (offsets only), as in SmolLM2's own tokenizer.json.
ojson post_processor_json(const GgufVocabView& v) {
  if (!v.add_bos && !v.add_eos)
    return {{"type", "ByteLevel"}, {"add_prefix_space", true}, {"trim_offsets", false}, {"use_regex", true}};
  auto special = [](const std::string& t) { return ojson{{"SpecialToken", {{"id", t}, {"type_id", 0}}}}; };
  auto seq = [](const char* id, int type) { return ojson{{"Sequence", {{"id", id}, {"type_id", type}}}}; };
  ojson single = ojson::array(), pair = ojson::array(), specials = ojson::object();
  const std::string bos = token_or_null_name(v, v.bos), eos = token_or_null_name(v, v.eos);
  if (v.add_bos) {
    single.push_back(special(bos));
    specials[bos] = special_token_entry(bos, v.bos);
  }
  single.push_back(seq("A", 0));
  if (v.add_eos) {
    single.push_back(special(eos));
    specials[eos] = special_token_entry(eos, v.eos);
  }
  pair = single;
  if (v.add_bos) pair.push_back(special(bos));
  pair.push_back(seq("B", 1));
  if (v.add_eos) pair.push_back(special(eos));
  return {{"type", "TemplateProcessing"}, {"single", single}, {"pair", pair}, {"special_tokens", specials}};
}

// Why tokenizer.json cannot hold this gpt2 vocabulary exactly, or "".
std::string unrepresentable(const GgufVocabView& v, const std::unordered_map<std::string, int>& id_of) {
  if (id_of.size() != v.text.size()) {
    std::unordered_map<std::string, int> first;
    for (size_t i = 0; i < v.text.size(); ++i) {
      auto [it, fresh] = first.emplace(v.text[i], int(i));
      if (!fresh)
        return cat("token text ", shown(v.text[i]), " is both id ", it->second, " and id ", i,
                   " (tokenizer.json maps a text to one id)");
    }
  }
  // A byte without its byte-level token is dropped by both (tokenizer.json without unk_token; llama.cpp
  // when no token is spelled as that raw byte either; SmolLM2 lacks 21 such bytes, 0x04 0x06 ... 0xff).
  for (int b = 0; b < 256; ++b)
    if (!id_of.count(byte_to_char(static_cast<unsigned char>(b))) && id_of.count(std::string(1, char(b))))
      return cat("byte 0x", "0123456789abcdef"[b >> 4], "0123456789abcdef"[b & 15],
                 " has no byte-level token but a raw one (llama.cpp falls back to it, tokenizer.json cannot)");
  for (size_t i = 0; i < v.merges.size(); ++i) {
    const auto& [l, r] = v.merges[i];
    if (l.find(' ') != std::string::npos || r.find(' ') != std::string::npos)
      return cat("merge ", shown(l + " " + r), " has a space inside a token");
    for (const std::string* t : {&l, &r})
      if (!id_of.count(*t)) return cat("merge ", shown(l + " " + r), " names ", shown(*t), ", which is not a token");
    if (!id_of.count(l + r)) return cat("merge ", shown(l + " " + r), " makes ", shown(l + r), ", which is not a token");
  }
  return "";
}

std::string dump(const ojson& j, const std::string& file, const std::string& what) {
  try {
    return j.dump(2) + "\n";
  } catch (const nlohmann::json::exception& e) {  // a token text that is not UTF-8
    LB_FAIL_INPUT(file, ": cannot write ", what, ": ", e.what());
  }
}

// ---- SentencePiece ModelProto (sentencepiece_model.proto), written field by field --------------

void put_varint(std::string& out, uint64_t x) {
  while (x >= 0x80) {
    out += static_cast<char>((x & 0x7F) | 0x80);
    x >>= 7;
  }
  out += static_cast<char>(x);
}
void put_tag(std::string& out, int field, int wire) { put_varint(out, (uint64_t(field) << 3) | uint64_t(wire)); }
void put_int(std::string& out, int field, int64_t x) {  // int32/enum/bool: negative as 10-byte two's complement
  put_tag(out, field, 0);
  put_varint(out, static_cast<uint64_t>(x));
}
void put_bytes(std::string& out, int field, std::string_view b) {
  put_tag(out, field, 2);
  put_varint(out, b.size());
  out.append(b);
}
void put_float(std::string& out, int field, float x) {
  put_tag(out, field, 5);
  char b[4];
  std::memcpy(b, &x, 4);  // little-endian hosts only, as the rest of lowbit's file formats
  out.append(b, 4);
}

constexpr std::string_view kSpmSpace = "\xE2\x96\x81";  // U+2581

// A llama (SentencePiece-style) GGUF vocabulary as the ModelProto libsentencepiece encodes with the
// same algorithm llama.cpp's SPM tokenizer runs: BPE over the whole text merging the highest-scoring
// pair, user-defined pieces matched first (and never merged), byte fallback, spaces escaped as U+2581,
// no normalization. llama.cpp stores user-defined pieces with plain spaces (Gemma's runs of spaces);
// SentencePiece matches them after escaping, so they are written with U+2581. Why not, or "".
std::string sentencepiece_model(const GgufVocabView& v, std::string& out) {
  const size_t n = v.text.size();
  if (v.unk < 0) return "it has no unknown token (SentencePiece needs one)";
  // llama.cpp cuts user-defined tokens out before it adds the prefix space, and adds one again after
  // each of them; SentencePiece adds one dummy prefix, then matches.
  if (v.add_space_prefix)
    for (size_t i = 0; i < n; ++i)
      if (v.matched[i])
        return cat("it adds a prefix space (tokenizer.ggml.add_space_prefix) and has user-defined tokens (",
                   shown(v.text[i]), "), which llama.cpp and SentencePiece then split differently");
  std::unordered_map<std::string, int> seen;
  std::string pieces;
  bool bytes = false;
  for (size_t i = 0; i < n; ++i) {
    int type = v.type[i];
    std::string piece = v.text[i];
    if (int(i) == v.unk) {
      type = 2;  // UNKNOWN: exactly one
    } else if (type == 2 || type < 1 || type > 6) {
      type = v.special[i] ? 3 : 1;
    }
    if (type == 4 && !v.matched[i]) type = 3;  // marked control at load (Gemma's "</s>"): never matched
    if (type == 4) {
      std::string esc;
      for (char c : piece) esc += c == ' ' ? std::string(kSpmSpace) : std::string(1, c);
      piece = std::move(esc);
    }
    if (type == 6) bytes = true;
    if (auto [it, fresh] = seen.emplace(piece, int(i)); !fresh)
      return cat("piece ", shown(piece), " is both id ", it->second, " and id ", i);
    std::string sp;
    put_bytes(sp, 1, piece);
    put_float(sp, 2, v.score[i]);
    put_int(sp, 3, type);
    put_bytes(pieces, 1, sp);
  }
  auto name = [&](int id, const char* fallback) { return id >= 0 ? v.text[size_t(id)] : std::string(fallback); };
  std::string trainer;
  put_int(trainer, 3, 2);  // model_type BPE
  put_int(trainer, 4, int64_t(n));
  put_int(trainer, 35, bytes);  // byte_fallback
  put_int(trainer, 40, v.unk);
  put_int(trainer, 41, v.bos);
  put_int(trainer, 42, v.eos);
  put_int(trainer, 43, v.pad);
  put_bytes(trainer, 45, name(v.unk, "<unk>"));
  put_bytes(trainer, 46, name(v.bos, "<s>"));
  put_bytes(trainer, 47, name(v.eos, "</s>"));
  put_bytes(trainer, 48, name(v.pad, "<pad>"));
  std::string norm;
  put_bytes(norm, 1, "identity");
  put_int(norm, 3, v.add_space_prefix);  // add_dummy_prefix
  put_int(norm, 4, 0);                   // remove_extra_whitespaces
  put_int(norm, 5, 1);                   // escape_whitespaces
  out = pieces;
  put_bytes(out, 2, trainer);
  put_bytes(out, 3, norm);
  return "";
}

}  // namespace

TokenizerExport gguf_tokenizer_to_hf(const GgufFile& f) {
  TokenizerExport e;
  e.source = f.path;
  const GgufVocabView v = describe_gguf_tokenizer(f);
  if (!v.bpe) {
    std::string model;
    if (std::string why = sentencepiece_model(v, model); !why.empty()) {
      e.missing = cat(f.path, ": its SentencePiece-style vocabulary has no tokenizer.model form: ", why);
      return e;
    }
    ojson cfg = tokenizer_config(v, false);
    cfg["legacy"] = false;
    e.files.push_back({"tokenizer.model", std::move(model)});
    e.files.push_back({"tokenizer_config.json", dump(cfg, f.path, "tokenizer_config.json")});
    e.how = cat("converted from ", f.path, "'s GGUF llama (SentencePiece-style) vocabulary");
    return e;
  }
  std::unordered_map<std::string, int> id_of;
  id_of.reserve(v.text.size());
  for (size_t i = 0; i < v.text.size(); ++i) id_of.emplace(v.text[i], int(i));
  if (std::string why = unrepresentable(v, id_of); !why.empty()) {
    e.missing = cat(f.path, ": its gpt2 vocabulary has no exact tokenizer.json form: ", why);
    return e;
  }

  ojson added = ojson::array();
  for (size_t i = 0; i < v.text.size(); ++i) {
    if (!v.special[i] && !v.matched[i]) continue;
    added.push_back({{"id", i}, {"content", v.text[i]}, {"single_word", false}, {"lstrip", false},
                     {"rstrip", false}, {"normalized", !v.special[i]}, {"special", bool(v.special[i])}});
  }
  // In id order, as HF writes it. ordered_json's operator[] searches linearly (49,152 tokens: seconds);
  // the texts are known to be unique, so they are appended to its vector directly.
  ojson vocab = ojson::object();
  auto& entries = static_cast<std::vector<std::pair<const std::string, ojson>>&>(vocab.get_ref<ojson::object_t&>());
  entries.reserve(v.text.size());
  for (size_t i = 0; i < v.text.size(); ++i) entries.emplace_back(v.text[i], i);
  ojson merges = ojson::array();
  for (const auto& [l, r] : v.merges) merges.push_back(l + " " + r);
  ojson tj;
  tj["version"] = "1.0";
  tj["truncation"] = nullptr;
  tj["padding"] = nullptr;
  tj["added_tokens"] = std::move(added);
  tj["normalizer"] = nullptr;
  tj["pre_tokenizer"] = pre_tokenizer_json(v);
  tj["post_processor"] = post_processor_json(v);
  tj["decoder"] = {{"type", "ByteLevel"}, {"add_prefix_space", true}, {"trim_offsets", true}, {"use_regex", true}};
  tj["model"] = {{"type", "BPE"},
                 {"dropout", nullptr},
                 {"unk_token", nullptr},  // llama.cpp's BPE has no unknown-token fallback
                 {"continuing_subword_prefix", nullptr},
                 {"end_of_word_suffix", nullptr},
                 {"fuse_unk", false},
                 {"byte_fallback", false},
                 {"ignore_merges", false},
                 {"vocab", std::move(vocab)},
                 {"merges", std::move(merges)}};

  ojson cfg = tokenizer_config(v, v.clean_spaces);
  cfg["tokenizer_class"] = "PreTrainedTokenizerFast";
  e.files.push_back({"tokenizer.json", dump(tj, f.path, "tokenizer.json")});
  e.files.push_back({"tokenizer_config.json", dump(cfg, f.path, "tokenizer_config.json")});
  int no_token = 0;
  for (int b = 0; b < 256; ++b) no_token += !id_of.count(byte_to_char(static_cast<unsigned char>(b)));
  e.how = cat("converted from ", f.path, "'s GGUF gpt2 vocabulary (pre-tokenizer '", v.pre.empty() ? "default" : v.pre, "'",
              no_token ? cat("; ", no_token, " bytes have no token and are dropped, as llama.cpp drops them") : "", ")");
  return e;
}

TokenizerExport prepare_tokenizer_export(const std::string& tok_path) {
  fs::path p(tok_path);
  std::error_code ec;
  LB_INPUT_CHECK(fs::exists(p, ec), tok_path, ": no such tokenizer file or directory");
  if (fs::is_directory(p, ec)) {  // load_tokenizer's choice inside a folder
    fs::path found;
    for (const char* n : {"tokenizer.json", "tokenizer.model", "tokenizer.bin"})
      if (found.empty() && fs::is_regular_file(p / n, ec)) found = p / n;
    LB_INPUT_CHECK(!found.empty(), tok_path, ": directory holds none of tokenizer.json, tokenizer.model, tokenizer.bin");
    p = found;
  }
  require_regular_file(p.string());
  TokenizerExport e;
  const Kind kind = kind_of(p);
  switch (kind) {
    case Kind::Gguf:
      e = gguf_tokenizer_to_hf(*read_gguf(p.string()));
      break;
    case Kind::HfJson:
    case Kind::SentencePiece: {
      const std::string name = kind == Kind::HfJson ? "tokenizer.json" : "tokenizer.model";
      if (p.filename() == name) {
        copy_hf_folder(p, e);
      } else {
        e.files.push_back(copy_of(p, name));
        e.how = "copied from " + p.string();
      }
      break;
    }
    case Kind::Llama2c:
      e.files.push_back(copy_of(p, "tokenizer.bin"));
      e.how = "copied from " + p.string();
      break;
  }
  e.source = tok_path;
  return e;
}

void write_tokenizer_export(const TokenizerExport& e, const std::string& dir) {
  if (e.files.empty()) {
    log_warn("tokenizer: ", dir, " has no tokenizer: ", e.missing, "; pass --tokenizer to commands that load it");
    return;
  }
  std::error_code ec;
  fs::create_directories(dir, ec);
  LB_INPUT_CHECK(is_directory(dir), dir, ": cannot create the export folder for the tokenizer: ", ec.message());
  std::vector<std::string> written;
  try {
    for (const TokenizerFile& f : e.files) {
      const std::string to = dir + "/" + f.name;
      write_file_atomic(to, f.bytes);
      written.push_back(to);
    }
  } catch (...) {
    for (const std::string& w : written) fs::remove(w, ec);
    throw;
  }
  std::string names;
  for (const TokenizerFile& f : e.files) names += (names.empty() ? "" : ", ") + f.name;
  log_info("tokenizer: wrote ", names, " into ", dir, " (", e.how, ")");
}

void export_tokenizer(const std::string& tok_path, const std::string& dir) {
  write_tokenizer_export(prepare_tokenizer_export(tok_path), dir);
}

}  // namespace lowbit
