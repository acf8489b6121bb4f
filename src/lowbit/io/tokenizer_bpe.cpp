// lowbit/io/tokenizer_bpe.cpp — Hugging Face tokenizer.json byte-level BPE (GPT-2, OPT, Qwen2).
// defines: lowbit::parse_hf_tokenizer_json, lowbit::regex_split_isolated
//          (and the HfBpeTokenizer class behind them); the byte-level BPE core of
//          tokenizer_bpe_core.hpp (byte alphabet, UTF-8 helpers, MergeTable), shared with GGUF
//
// Encoding follows the tokenizers library: added tokens are cut out of the text first (leftmost,
// longest match); each remaining segment goes through the pre-tokenizer chain (Split with a regex
// taken verbatim from the file, run by PCRE2 with UTF + UCP; ByteLevel with its own GPT-2 regex
// and add_prefix_space), every piece is mapped byte-wise to GPT-2's printable code points, and BPE
// merges the adjacent pair of lowest merge rank (leftmost on ties) until none applies.
// post_processor decides the BOS: TemplateProcessing's special tokens before $A, or Roberta's cls.
//
// Not supported (rejected with an InputError naming the field): model types other than BPE,
// pre-tokenizers other than Split/ByteLevel (a ByteLevel step is required and must come last),
// Split behaviours other than Isolated/Removed, subword prefixes/suffixes, normalizers other than
// NFC. NFC is applied as the identity: lowbit has no Unicode normalization tables, and text that
// is already NFC (nearly all real text) is unchanged by it; decomposed input (e + U+0301) can
// therefore encode differently from the tokenizers library.
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <queue>
#include <unordered_map>

#include "lowbit/core/error.hpp"
#include "lowbit/io/tokenizer_bpe_core.hpp"
#include "lowbit/io/tokenizer_impl.hpp"

namespace lowbit {
namespace {

using nlohmann::json;

constexpr int64_t kMaxId = 1 << 24;  // far above any real vocabulary; bounds allocations

// ---- PCRE2 ---------------------------------------------------------------------------------------

class Regex {
 public:
  // `literal` compiles the pattern as a plain string (tokenizers' Split {String: ...}).
  Regex(const std::string& pattern, bool literal, const std::string& where) : where_(where) {
    int err = 0;
    PCRE2_SIZE err_off = 0;
    // MATCH_INVALID_UTF: text with broken UTF-8 must still encode (byte-level BPE covers every
    // byte); invalid sequences simply never match and end up in the gaps between matches.
    uint32_t options = PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF;
    if (literal) options |= PCRE2_LITERAL;
    pcre2_code* code =
        pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(), options, &err, &err_off, nullptr);
    if (!code) LB_FAIL_INPUT(where_, ": cannot compile regex at offset ", err_off, ": ", error_text(err));
    code_.reset(code);
    pcre2_jit_compile(code_.get(), PCRE2_JIT_COMPLETE);  // optional speed-up; falls back silently
  }

  // Non-empty matches of the pattern in `subject`, as [begin, end) byte ranges, in order.
  std::vector<std::pair<size_t, size_t>> matches(std::string_view subject) const {
    std::vector<std::pair<size_t, size_t>> out;
    if (subject.empty()) return out;
    std::unique_ptr<pcre2_match_data, decltype(&pcre2_match_data_free)> md(
        pcre2_match_data_create_from_pattern(code_.get(), nullptr), &pcre2_match_data_free);
    LB_CHECK(md != nullptr, "pcre2_match_data_create_from_pattern: out of memory");
    const auto* data = reinterpret_cast<PCRE2_SPTR>(subject.data());
    size_t off = 0;
    while (off < subject.size()) {
      int rc = pcre2_match(code_.get(), data, subject.size(), off, 0, md.get(), nullptr);
      // The JIT has a small fixed stack; the interpreter does not, so retry there.
      if (rc == PCRE2_ERROR_JIT_STACKLIMIT)
        rc = pcre2_match(code_.get(), data, subject.size(), off, PCRE2_NO_JIT, md.get(), nullptr);
      if (rc == PCRE2_ERROR_NOMATCH) break;
      if (rc < 0) LB_FAIL_INPUT(where_, ": regex match failed at byte ", off, ": ", error_text(rc));
      const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(md.get());
      const size_t b = ov[0], e = ov[1];
      if (e > b && b >= off) {
        out.emplace_back(b, e);
        off = e;
      } else {
        // An empty match (or a \K oddity) yields no piece; step over one character so the scan
        // always advances.
        off = std::max(off, b) + 1;
        while (off < subject.size() && (static_cast<unsigned char>(subject[off]) & 0xC0) == 0x80) ++off;
      }
    }
    return out;
  }

 private:
  static std::string error_text(int code) {
    PCRE2_UCHAR buf[256];
    const int n = pcre2_get_error_message(code, buf, sizeof buf);
    return n < 0 ? cat("PCRE2 error ", code) : std::string(reinterpret_cast<char*>(buf), static_cast<size_t>(n));
  }
  struct CodeFree {
    void operator()(pcre2_code* c) const { pcre2_code_free(c); }
  };
  std::unique_ptr<pcre2_code, CodeFree> code_;
  std::string where_;
};

// ---- JSON access with error messages that carry the key path ------------------------------------

class JsonReader {
 public:
  explicit JsonReader(const std::string& name) : name_(name) {}

  // The member, or nullptr when it is absent or null (tokenizers writes null for "none").
  const json* member(const json& obj, const char* key) const {
    auto it = obj.find(key);
    return it == obj.end() || it->is_null() ? nullptr : &*it;
  }
  const json& require(const json& obj, const char* key, const std::string& path) const {
    const json* v = member(obj, key);
    if (!v) fail(path, ": missing \"", key, "\"");
    return *v;
  }
  const json& object(const json& v, const std::string& path) const {
    if (!v.is_object()) fail(path, ": expected an object, got ", v.type_name());
    return v;
  }
  const json& array(const json& v, const std::string& path) const {
    if (!v.is_array()) fail(path, ": expected an array, got ", v.type_name());
    return v;
  }
  std::string string(const json& v, const std::string& path) const {
    if (!v.is_string()) fail(path, ": expected a string, got ", v.type_name());
    return v.get<std::string>();
  }
  bool boolean(const json& obj, const char* key, bool fallback, const std::string& path) const {
    const json* v = member(obj, key);
    if (!v) return fallback;
    if (!v->is_boolean()) fail(path, ".", key, ": expected true or false, got ", v->type_name());
    return v->get<bool>();
  }
  int id(const json& v, const std::string& path) const {
    if (!v.is_number_integer()) fail(path, ": expected an integer token id, got ", v.type_name());
    const bool in_range = v.is_number_unsigned() ? v.get<uint64_t>() < static_cast<uint64_t>(kMaxId)
                                                 : v.get<int64_t>() >= 0 && v.get<int64_t>() < kMaxId;
    if (!in_range) fail(path, ": token id ", v.dump(), " out of range [0, ", kMaxId, ")");
    return static_cast<int>(v.get<int64_t>());
  }
  std::string type_of(const json& obj, const std::string& path) const {
    return string(require(object(obj, path), "type", path), path + ".type");
  }

  template <class... A>
  [[noreturn]] void fail(const std::string& path, const A&... a) const {
    LB_FAIL_INPUT(name_, ": ", path, a...);
  }

 private:
  const std::string& name_;
};

// ---- the tokenizer -------------------------------------------------------------------------------

struct AddedToken {
  int id;
  std::string content;
  bool special, lstrip, rstrip, single_word;
};

// One step of the pre-tokenizer chain. Split: `regex` with `remove_matches` false (Isolated) or
// true (Removed). ByteLevel: optional GPT-2 regex and the prefix space.
struct PreStep {
  enum Kind { Split, ByteLevel } kind;
  std::shared_ptr<const Regex> regex;  // null for ByteLevel with use_regex = false
  bool remove_matches = false;
  bool add_prefix_space = false;
};

bool is_ascii_space(unsigned char c) { return c == ' ' || (c >= '\t' && c <= '\r'); }
bool is_word_byte(unsigned char c) { return c >= 0x80 || c == '_' || std::isalnum(c); }

class HfBpeTokenizer final : public Tokenizer {
 public:
  HfBpeTokenizer(const json& root, const std::string& name) : name_(name) {
    JsonReader r(name_);
    r.object(root, "top level");
    read_model(r, r.object(r.require(root, "model", "top level"), "model"));
    if (const json* at = r.member(root, "added_tokens")) read_added_tokens(r, r.array(*at, "added_tokens"));
    if (const json* n = r.member(root, "normalizer")) check_normalizer(r, *n, "normalizer");
    const json* pre = r.member(root, "pre_tokenizer");
    if (!pre) r.fail("pre_tokenizer", ": missing; only byte-level BPE (a ByteLevel pre-tokenizer) is supported");
    read_pre_tokenizer(r, *pre, "pre_tokenizer", /*top=*/true);
    if (steps_.empty() || steps_.back().kind != PreStep::ByteLevel)
      r.fail("pre_tokenizer", ": a ByteLevel pre-tokenizer must come last (only byte-level BPE is supported)");
    if (const json* pp = r.member(root, "post_processor")) read_post_processor(r, *pp, "post_processor");
    finish_tables();
  }
  HfBpeTokenizer(const HfBpeTokenizer&) = delete;
  HfBpeTokenizer& operator=(const HfBpeTokenizer&) = delete;

  std::vector<int> encode(std::string_view text, bool add_bos) const override {
    std::vector<int> ids;
    if (add_bos) ids.insert(ids.end(), bos_ids_.begin(), bos_ids_.end());
    // A word recurs often in running text; its BPE result is cached for this call only, so
    // concurrent encode() calls share nothing mutable.
    std::unordered_map<std::string, std::vector<int>> cache;
    size_t seg_begin = 0;
    size_t pos = 0;
    while (pos < text.size()) {
      size_t m_begin = 0, m_end = 0;
      const AddedToken* hit = match_added(text, pos, seg_begin, m_begin, m_end);
      if (!hit) {
        ++pos;
        continue;
      }
      encode_segment(text.substr(seg_begin, m_begin - seg_begin), ids, cache);
      ids.push_back(hit->id);
      seg_begin = pos = m_end;
    }
    encode_segment(text.substr(seg_begin), ids, cache);
    return ids;
  }

  std::string decode_token(int /*prev*/, int token) const override {
    LB_INPUT_CHECK(token >= 0 && token < vocab_size() && has_token_[token], name_, ": token id ", token,
                   " is not in the vocabulary (size ", vocab_size(), ")");
    if (is_added_[token]) return id_to_token_[token];
    return byte_level_decode(id_to_token_[token]);
  }

  std::string decode(const std::vector<int>& ids) const override {
    std::string out;
    int prev = -1;
    for (int id : ids) {
      const bool special = id >= 0 && id < vocab_size() && is_special_[id];
      if (!special) out += decode_token(prev, id);
      prev = id;
    }
    return out;
  }

  int vocab_size() const override { return static_cast<int>(id_to_token_.size()); }
  int bos_id() const override { return bos_ids_.empty() ? -1 : bos_ids_.front(); }
  int eos_id() const override { return eos_id_; }
  std::string kind() const override { return "hf-bpe"; }

 private:
  void read_model(const JsonReader& r, const json& model) {
    if (const json* type = r.member(model, "type")) {
      const std::string t = r.string(*type, "model.type");
      if (t != "BPE") r.fail("model.type", ": '", t, "' is not supported (only BPE)");
    }
    for (const char* key : {"continuing_subword_prefix", "end_of_word_suffix"}) {
      if (const json* v = r.member(model, key); v && !r.string(*v, cat("model.", key)).empty())
        r.fail(cat("model.", key), ": non-empty values are not supported by byte-level BPE");
    }
    ignore_merges_ = r.boolean(model, "ignore_merges", false, "model");

    const json& vocab = r.object(r.require(model, "vocab", "model"), "model.vocab");
    LB_INPUT_CHECK(!vocab.empty(), name_, ": model.vocab is empty");
    vocab_.reserve(vocab.size());
    for (auto it = vocab.begin(); it != vocab.end(); ++it) {
      const int id = r.id(it.value(), cat("model.vocab[", shown(it.key()), "]"));
      auto [pos, fresh] = vocab_.emplace(it.key(), id);
      if (!fresh) r.fail("model.vocab", ": token ", shown(it.key()), " appears twice");
    }

    const json& merges = r.array(r.require(model, "merges", "model"), "model.merges");
    merges_.reserve(merges.size());
    for (size_t i = 0; i < merges.size(); ++i) {
      const std::string path = cat("model.merges[", i, "]");
      std::string a, b;
      if (merges[i].is_string()) {  // "a b": tokenizers requires exactly one space
        const std::string line = merges[i].get<std::string>();
        const size_t sp = line.find(' ');
        if (sp == std::string::npos || line.find(' ', sp + 1) != std::string::npos)
          r.fail(path, ": ", shown(line), " is not two tokens separated by one space");
        a = line.substr(0, sp);
        b = line.substr(sp + 1);
      } else if (merges[i].is_array() && merges[i].size() == 2) {  // ["a", "b"]: newer files
        a = r.string(merges[i][0], path + "[0]");
        b = r.string(merges[i][1], path + "[1]");
      } else {
        r.fail(path, ": expected \"a b\" or [\"a\", \"b\"], got ", merges[i].type_name());
      }
      const int ia = vocab_id(r, a, path);
      const int ib = vocab_id(r, b, path);
      const int im = vocab_id(r, a + b, path);
      // A repeated pair keeps its first (best) rank, as in tokenizers.
      merges_.add(ia, ib, static_cast<int>(i), im);
    }
    if (const json* unk = r.member(model, "unk_token")) {
      auto it = vocab_.find(r.string(*unk, "model.unk_token"));
      if (it != vocab_.end()) unk_id_ = it->second;
    }
  }

  int vocab_id(const JsonReader& r, const std::string& token, const std::string& path) const {
    auto it = vocab_.find(token);
    if (it == vocab_.end()) r.fail(path, ": names token ", shown(token), ", which is not in model.vocab");
    return it->second;
  }

  void read_added_tokens(const JsonReader& r, const json& arr) {
    for (size_t i = 0; i < arr.size(); ++i) {
      const std::string path = cat("added_tokens[", i, "]");
      const json& t = r.object(arr[i], path);
      AddedToken a;
      a.id = r.id(r.require(t, "id", path), path + ".id");
      a.content = r.string(r.require(t, "content", path), path + ".content");
      a.special = r.boolean(t, "special", false, path);
      a.lstrip = r.boolean(t, "lstrip", false, path);
      a.rstrip = r.boolean(t, "rstrip", false, path);
      a.single_word = r.boolean(t, "single_word", false, path);
      if (a.content.empty()) r.fail(path, ".content: empty");
      added_.push_back(std::move(a));
    }
  }

  void check_normalizer(const JsonReader& r, const json& n, const std::string& path) {
    const std::string type = r.type_of(n, path);
    if (type == "NFC") return;  // applied as the identity: see the top of this file
    if (type == "Sequence") {
      const json& list = r.array(r.require(n, "normalizers", path), path + ".normalizers");
      for (size_t i = 0; i < list.size(); ++i) check_normalizer(r, list[i], cat(path, ".normalizers[", i, "]"));
      return;
    }
    r.fail(path, ".type: normalizer '", type, "' is not supported (only NFC)");
  }

  void read_pre_tokenizer(const JsonReader& r, const json& p, const std::string& path, bool top) {
    const std::string type = r.type_of(p, path);
    if (type == "Sequence" && top) {
      const json& list = r.array(r.require(p, "pretokenizers", path), path + ".pretokenizers");
      for (size_t i = 0; i < list.size(); ++i)
        read_pre_tokenizer(r, list[i], cat(path, ".pretokenizers[", i, "]"), false);
    } else if (type == "ByteLevel") {
      PreStep s{PreStep::ByteLevel, nullptr};
      s.add_prefix_space = r.boolean(p, "add_prefix_space", false, path);
      if (r.boolean(p, "use_regex", true, path))
        s.regex = std::make_shared<Regex>(kGpt2Pattern, false, name_ + ": " + path);
      steps_.push_back(std::move(s));
    } else if (type == "Split") {
      const json& pat = r.object(r.require(p, "pattern", path), path + ".pattern");
      PreStep s{PreStep::Split, nullptr};
      if (const json* re = r.member(pat, "Regex")) {
        s.regex = std::make_shared<Regex>(r.string(*re, path + ".pattern.Regex"), false,
                                          name_ + ": " + path + ".pattern.Regex");
      } else if (const json* str = r.member(pat, "String")) {
        s.regex = std::make_shared<Regex>(r.string(*str, path + ".pattern.String"), true,
                                          name_ + ": " + path + ".pattern.String");
      } else {
        r.fail(path, ".pattern: expected {\"Regex\": ...} or {\"String\": ...}");
      }
      const std::string behavior = r.string(r.require(p, "behavior", path), path + ".behavior");
      if (behavior == "Removed") {
        s.remove_matches = true;
      } else if (behavior != "Isolated") {
        r.fail(path, ".behavior: '", behavior, "' is not supported (only Isolated and Removed)");
      }
      if (r.boolean(p, "invert", false, path)) r.fail(path, ".invert: true is not supported");
      if (!steps_.empty() && steps_.back().kind == PreStep::ByteLevel)
        r.fail(path, ": a Split after ByteLevel is not supported");
      steps_.push_back(std::move(s));
    } else {
      r.fail(path, ".type: pre-tokenizer '", type, "' is not supported (only ByteLevel, Split and a Sequence of them)");
    }
  }

  int special_id(const JsonReader& r, const json& special_tokens, const std::string& key, const std::string& path,
                 std::vector<int>& out) const {
    const json& entry = r.object(r.require(special_tokens, key.c_str(), path), cat(path, "[", shown(key), "]"));
    const json& ids = r.array(r.require(entry, "ids", path), cat(path, "[", shown(key), "].ids"));
    for (size_t i = 0; i < ids.size(); ++i) out.push_back(r.id(ids[i], cat(path, "[", shown(key), "].ids[", i, "]")));
    return ids.empty() ? -1 : out.back();
  }

  void read_post_processor(const JsonReader& r, const json& pp, const std::string& path) {
    const std::string type = r.type_of(pp, path);
    if (type == "ByteLevel") return;  // offsets only
    if (type == "Sequence") {
      const json& list = r.array(r.require(pp, "processors", path), path + ".processors");
      for (size_t i = 0; i < list.size(); ++i) read_post_processor(r, list[i], cat(path, ".processors[", i, "]"));
    } else if (type == "TemplateProcessing") {
      // The special tokens before $A in the single-sequence template are what add_bos adds; the
      // first one after it is the EOS.
      const json& single = r.array(r.require(pp, "single", path), path + ".single");
      const json& specials = r.object(r.require(pp, "special_tokens", path), path + ".special_tokens");
      bool seen_sequence = false;
      std::vector<int> before;
      for (size_t i = 0; i < single.size(); ++i) {
        const std::string ipath = cat(path, ".single[", i, "]");
        const json& piece = r.object(single[i], ipath);
        if (r.member(piece, "Sequence")) {
          seen_sequence = true;
        } else if (const json* st = r.member(piece, "SpecialToken")) {
          const std::string key =
              r.string(r.require(r.object(*st, ipath + ".SpecialToken"), "id", ipath), ipath + ".SpecialToken.id");
          std::vector<int> ids;
          special_id(r, specials, key, path + ".special_tokens", ids);
          if (!seen_sequence) {
            before.insert(before.end(), ids.begin(), ids.end());
          } else if (!ids.empty() && template_eos_ < 0) {
            template_eos_ = ids.front();
          }
        } else {
          r.fail(ipath, ": expected {\"Sequence\": ...} or {\"SpecialToken\": ...}");
        }
      }
      bos_ids_ = std::move(before);
    } else if (type == "RobertaProcessing" || type == "BertProcessing") {
      auto pair_id = [&](const char* key) {
        const std::string kpath = cat(path, ".", key);
        const json& v = r.array(r.require(pp, key, path), kpath);
        if (v.size() != 2) r.fail(kpath, ": expected [token, id]");
        return r.id(v[1], kpath + "[1]");
      };
      bos_ids_ = {pair_id("cls")};
      template_eos_ = pair_id("sep");
    } else {
      r.fail(path, ".type: post-processor '", type, "' is not supported");
    }
  }

  // Ids index plain vectors, so they must be (nearly) dense, as in every real tokenizer.json; this
  // also keeps a 30-byte file claiming id 16000000 from allocating gigabytes.
  void build_id_table() {
    const size_t entries = vocab_.size() + added_.size();
    int max_id = -1;
    for (const auto& [text, id] : vocab_) max_id = std::max(max_id, id);
    for (const auto& a : added_) max_id = std::max(max_id, a.id);
    const size_t n = static_cast<size_t>(max_id) + 1;
    LB_INPUT_CHECK(n <= 2 * entries + 1024, name_, ": token ids run up to ", max_id, " but only ", entries,
                   " tokens are defined (model.vocab and added_tokens): ids must be nearly dense");
    id_to_token_.assign(n, std::string());
    has_token_.assign(n, 0);
    for (const auto& [text, id] : vocab_) {
      if (has_token_[id])
        LB_FAIL_INPUT(name_, ": model.vocab: id ", id, " is used by both ", shown(id_to_token_[id]), " and ",
                      shown(text));
      id_to_token_[id] = text;
      has_token_[id] = 1;
    }
    for (const auto& a : added_) {  // an added token may share its id with a vocab entry
      id_to_token_[a.id] = a.content;
      has_token_[a.id] = 1;
    }
  }

  void finish_tables() {
    build_id_table();
    const size_t n = id_to_token_.size();
    is_added_.assign(n, 0);
    is_special_.assign(n, 0);
    for (const auto& a : added_) {
      is_added_[a.id] = 1;
      is_special_[a.id] = a.special;
      added_by_first_byte_[static_cast<unsigned char>(a.content[0])].push_back(&a - added_.data());
    }
    // Longest first, so the first hit at a position is the leftmost-longest match.
    for (auto& list : added_by_first_byte_)
      std::stable_sort(list.begin(), list.end(),
                       [&](size_t x, size_t y) { return added_[x].content.size() > added_[y].content.size(); });
    for (int id : bos_ids_)
      LB_INPUT_CHECK(id < vocab_size() && has_token_[id], name_, ": post_processor: BOS id ", id,
                     " is not in the vocabulary");
    if (template_eos_ >= 0 && template_eos_ < vocab_size() && has_token_[template_eos_]) {
      eos_id_ = template_eos_;
    } else {
      // No template names one: the end-of-text token that these families declare in their
      // tokenizer_config.json is one of these special added tokens.
      for (const char* eos : {"<|endoftext|>", "</s>", "<|end_of_text|>", "<eos>"}) {
        auto it = std::find_if(added_.begin(), added_.end(),
                               [&](const AddedToken& a) { return a.special && a.content == eos; });
        if (it != added_.end()) {
          eos_id_ = it->id;
          break;
        }
      }
    }
    for (int b = 0; b < 256; ++b) {
      auto it = vocab_.find(byte_to_char(static_cast<unsigned char>(b)));
      byte_id_[b] = it == vocab_.end() ? -1 : it->second;
    }
  }

  // Finds an added token starting at `pos` (lstrip/rstrip widen the match over spaces, never back
  // past `floor`, the end of the previous match). Returns null if none matches at `pos`.
  const AddedToken* match_added(std::string_view text, size_t pos, size_t floor, size_t& begin, size_t& end) const {
    for (size_t idx : added_by_first_byte_[static_cast<unsigned char>(text[pos])]) {
      const AddedToken& a = added_[idx];
      if (text.compare(pos, a.content.size(), a.content) != 0) continue;
      size_t b = pos, e = pos + a.content.size();
      if (a.single_word) {
        const bool left_ok = b == 0 || !is_word_byte(static_cast<unsigned char>(text[b - 1]));
        const bool right_ok = e == text.size() || !is_word_byte(static_cast<unsigned char>(text[e]));
        if (!left_ok || !right_ok) continue;
      }
      if (a.lstrip)
        while (b > floor && is_ascii_space(static_cast<unsigned char>(text[b - 1]))) --b;
      if (a.rstrip)
        while (e < text.size() && is_ascii_space(static_cast<unsigned char>(text[e]))) ++e;
      begin = b;
      end = e;
      return &a;
    }
    return nullptr;
  }

  // Runs the pre-tokenizer chain over one stretch of text between added tokens and appends the
  // BPE ids of every piece.
  void encode_segment(std::string_view seg, std::vector<int>& ids,
                      std::unordered_map<std::string, std::vector<int>>& cache) const {
    if (seg.empty()) return;
    std::vector<std::string> pieces{std::string(seg)};
    for (const PreStep& step : steps_) {
      std::vector<std::string> next;
      for (std::string& piece : pieces) {
        if (step.kind == PreStep::ByteLevel && step.add_prefix_space && piece[0] != ' ') piece.insert(0, 1, ' ');
        if (!step.regex) {
          next.push_back(std::move(piece));
          continue;
        }
        size_t last = 0;
        for (auto [b, e] : step.regex->matches(piece)) {
          if (b > last) next.emplace_back(piece, last, b - last);
          if (!step.remove_matches) next.emplace_back(piece, b, e - b);
          last = e;
        }
        if (last < piece.size()) next.emplace_back(piece, last, std::string::npos);
      }
      pieces = std::move(next);
    }
    for (const std::string& piece : pieces) {
      auto it = cache.find(piece);
      if (it == cache.end()) it = cache.emplace(piece, bpe(piece)).first;
      ids.insert(ids.end(), it->second.begin(), it->second.end());
    }
  }

  // BPE over one pre-tokenized piece (raw bytes; each byte starts as its byte-level symbol).
  std::vector<int> bpe(std::string_view piece) const {
    if (ignore_merges_) {
      std::string mapped;
      for (unsigned char c : piece) mapped += byte_to_char(c);
      if (auto it = vocab_.find(mapped); it != vocab_.end()) return {it->second};
    }
    std::vector<int> sym;
    sym.reserve(piece.size());
    for (unsigned char c : piece) {
      // A byte missing from the vocabulary (only in toy vocabularies) becomes unk, or is dropped
      // when there is none, as tokenizers does.
      const int id = byte_id_[c] >= 0 ? byte_id_[c] : unk_id_;
      if (id >= 0) sym.push_back(id);
    }
    return merges_.apply(std::move(sym));
  }

  std::string name_;
  std::unordered_map<std::string, int> vocab_;
  MergeTable merges_;
  std::vector<std::string> id_to_token_;
  std::vector<char> has_token_, is_added_, is_special_;
  std::vector<AddedToken> added_;
  std::array<std::vector<size_t>, 256> added_by_first_byte_;
  std::vector<PreStep> steps_;
  std::array<int, 256> byte_id_{};
  std::vector<int> bos_ids_;
  int template_eos_ = -1;
  int eos_id_ = -1;
  int unk_id_ = -1;
  bool ignore_merges_ = false;
};

}  // namespace

// ---- the byte-level BPE core (tokenizer_bpe_core.hpp) -------------------------------------------

void append_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

size_t next_utf8(std::string_view s, size_t i, uint32_t& cp) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  size_t len = b0 < 0x80 ? 1 : (b0 >> 5) == 0x6 ? 2 : (b0 >> 4) == 0xE ? 3 : (b0 >> 3) == 0x1E ? 4 : 0;
  if (len == 0 || i + len > s.size()) {
    cp = 0xFFFFFFFFu;
    return 1;
  }
  cp = len == 1 ? b0 : b0 & (0x7F >> len);
  for (size_t k = 1; k < len; ++k) {
    const auto b = static_cast<unsigned char>(s[i + k]);
    if ((b & 0xC0) != 0x80) {
      cp = 0xFFFFFFFFu;
      return 1;
    }
    cp = (cp << 6) | (b & 0x3F);
  }
  return len;
}

namespace {

struct ByteLevelMap {
  std::array<std::string, 256> byte_to_str;  // UTF-8 of the code point standing for each byte
  std::array<int, 324> cp_to_byte;           // inverse; code points run up to 256 + 67 = 323
  ByteLevelMap() {
    cp_to_byte.fill(-1);
    int extra = 0;
    for (int b = 0; b < 256; ++b) {
      const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
      const uint32_t cp = printable ? static_cast<uint32_t>(b) : static_cast<uint32_t>(256 + extra++);
      append_utf8(byte_to_str[b], cp);
      cp_to_byte[cp] = b;
    }
  }
};

const ByteLevelMap& byte_level_map() {
  static const ByteLevelMap map;  // immutable table, built once
  return map;
}

}  // namespace

const std::string& byte_to_char(unsigned char b) { return byte_level_map().byte_to_str[b]; }

std::string byte_level_decode(std::string_view tok) {
  const auto& map = byte_level_map();
  std::string out;
  out.reserve(tok.size());
  for (size_t i = 0; i < tok.size();) {
    uint32_t cp = 0;
    const size_t len = next_utf8(tok, i, cp);
    if (cp < map.cp_to_byte.size() && map.cp_to_byte[cp] >= 0) {
      out += static_cast<char>(map.cp_to_byte[cp]);
    } else {
      out.append(tok.substr(i, len));  // not a byte-level character: keep it as written
    }
    i += len;
  }
  return out;
}

std::string shown(std::string_view s) {
  std::string out = "'";
  for (unsigned char c : s.substr(0, 40)) {
    if (c < 0x20 || c == 0x7F) {
      out += cat("\\x", "0123456789abcdef"[c >> 4], "0123456789abcdef"[c & 15]);
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + (s.size() > 40 ? "...'" : "'");
}

void MergeTable::add(int left, int right, int rank, int merged) { merges_.emplace(key(left, right), Merge{rank, merged}); }

std::vector<int> MergeTable::apply(std::vector<int> sym) const {
  struct Candidate {
    int rank;
    int left, right;          // symbol indices
    int left_tok, right_tok;  // to recognise entries made stale by an earlier merge
    int merged;
  };
  struct Later {  // min-heap on rank; leftmost first on equal rank
    bool operator()(const Candidate& a, const Candidate& b) const {
      if (a.rank != b.rank) return a.rank > b.rank;
      return a.left > b.left;
    }
  };
  const int n = static_cast<int>(sym.size());
  if (n < 2) return sym;
  std::vector<int> next(n), prev(n);
  for (int i = 0; i < n; ++i) {
    next[i] = i + 1 < n ? i + 1 : -1;
    prev[i] = i - 1;
  }
  std::vector<char> alive(n, 1);
  std::priority_queue<Candidate, std::vector<Candidate>, Later> heap;
  auto consider = [&](int l, int r) {
    if (l < 0 || r < 0) return;
    auto it = merges_.find(key(sym[l], sym[r]));
    if (it != merges_.end()) heap.push({it->second.rank, l, r, sym[l], sym[r], it->second.merged});
  };
  for (int i = 0; i + 1 < n; ++i) consider(i, i + 1);
  while (!heap.empty()) {
    const Candidate c = heap.top();
    heap.pop();
    if (!alive[c.left] || !alive[c.right] || next[c.left] != c.right || sym[c.left] != c.left_tok ||
        sym[c.right] != c.right_tok)
      continue;
    sym[c.left] = c.merged;
    alive[c.right] = 0;
    next[c.left] = next[c.right];
    if (next[c.right] >= 0) prev[next[c.right]] = c.left;
    consider(prev[c.left], c.left);
    consider(c.left, next[c.left]);
  }
  std::vector<int> out;
  out.reserve(static_cast<size_t>(n));
  for (int i = 0; i >= 0; i = next[i]) out.push_back(sym[i]);
  return out;
}

std::unique_ptr<Tokenizer> parse_hf_tokenizer_json(std::string_view text, const std::string& name) {
  json root;
  try {
    root = json::parse(text.begin(), text.end());
  } catch (const json::exception& e) {
    LB_FAIL_INPUT(name, ": not valid JSON: ", e.what());
  }
  try {
    return std::make_unique<HfBpeTokenizer>(root, name);
  } catch (const json::exception& e) {  // a shape the reader above did not anticipate
    LB_FAIL_INPUT(name, ": malformed tokenizer.json: ", e.what());
  }
}

std::vector<std::string> regex_split_isolated(const std::string& pattern, std::string_view text) {
  const Regex re(pattern, false, "regex_split_isolated");
  std::vector<std::string> out;
  size_t last = 0;
  for (auto [b, e] : re.matches(text)) {
    if (b > last) out.emplace_back(text.substr(last, b - last));
    out.emplace_back(text.substr(b, e - b));
    last = e;
  }
  if (last < text.size()) out.emplace_back(text.substr(last));
  return out;
}

}  // namespace lowbit
