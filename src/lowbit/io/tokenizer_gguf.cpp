// lowbit/io/tokenizer_gguf.cpp — the tokenizer stored in a GGUF file's metadata, encoded id for id
// as llama.cpp (src/llama-vocab.cpp, unicode.cpp) encodes it with add_special = false and
// parse_special = false.
// defines: lowbit::parse_gguf_tokenizer, lowbit::check_gguf_vocab, lowbit::describe_gguf_tokenizer
//          (and the GgufTokenizer class)
//
// Metadata read (llama.cpp's keys and defaults):
//   tokenizer.ggml.model        "gpt2" (byte-level BPE) or "llama" (SentencePiece-style); others are
//                               refused with one line naming the file and the value
//   tokenizer.ggml.pre          gpt2 only: the pre-tokenizer; the regex families below, others refused
//   tokenizer.ggml.tokens       the vocabulary (an empty token is renamed "[EMPTY_<id>]" as llama.cpp does)
//   tokenizer.ggml.scores       llama: merge priority of each token (absent: 0)
//   tokenizer.ggml.token_type   1 normal, 2 unknown, 3 control, 4 user-defined, 5 unused, 6 byte
//   tokenizer.ggml.merges       gpt2: "left right" strings, rank = position
//   tokenizer.ggml.{bos,eos,unknown,eot,eom}_token_id, add_bos_token, add_eos_token, add_space_prefix
//
// Encoding, as llama_vocab::impl::tokenize:
//  1. Special-token partition. Tokens of type control, user-defined or unknown, longest text first,
//     cut their occurrences out of the text; with parse_special = false the control and unknown ones
//     are skipped, so only user-defined tokens (Gemma: runs of spaces, newlines and tabs, HTML tags)
//     are matched. llama.cpp also marks tokens whose text is on its end-of-generation lists
//     ("</s>", "<|im_end|>", ...) as control at load time, so they are not matched either.
//  2. gpt2: each remaining fragment is split by the pre-tokenizer into words (invalid UTF-8 becomes
//     U+FFFD first), every byte of a word becomes its GPT-2 byte-level character, and the merges of
//     lowest rank apply (leftmost on ties). A final symbol that is not a token falls back to the
//     one-byte tokens of its bytes (dropped when none exists).
//     llama: spaces become U+2581 ("▁"), a space is prefixed when add_space_prefix (Gemma 3: false),
//     the text is split into UTF-8 characters and the adjacent pair whose concatenation is a token
//     with the highest score merges first (leftmost on ties); a final symbol that is not a token
//     becomes its byte tokens <0xXX>.
//  3. BOS is prepended when the caller asks for it and add_bos_token says so (llama.cpp's
//     add_special); EOS is never appended by encode().
//
// Pre-tokenizers (tokenizer.ggml.pre), each a sequence of splits like llama.cpp's regex_exprs:
//   smollm, starcoder, refact, command-r, codeshell, exaone, minerva-7b, mellum2:
//        \p{N}  then the GPT-2 pattern
//   gpt-2, phi-2, jina-es, jina-de, gigachat, a.x-4.0, mellum, exaone4, mpt, olmo, jais, trillion,
//   granite-docling:   the GPT-2 pattern 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
//   default (or no key):  [\p{P}\$\+<=>\^~\|]+, the GPT-2 pattern, \p{N}+, [0-9][0-9][0-9]
// Code point classes come from tokenizer_unicode.inc (Unicode 15.1, the version of llama.cpp's tables;
// equal to them for every code point). The splitting is written here as llama.cpp evaluates it (its
// hand-written GPT-2 matcher, std::regex over a category-collapsed text for the others), not through a
// regex engine.
//
// Decoding follows llama_vocab::detokenize(remove_special = true, unparse_special = false): control
// and unknown tokens print nothing, user-defined tokens print their text, byte tokens their byte,
// normal tokens their text with ▁ -> space (llama) or byte-level characters -> bytes (gpt2); a
// leading BOS (add_bos) and a trailing EOS (add_eos) are dropped; the leading space of the first piece
// is dropped when add_space_prefix; "clean_spaces" (gpt2 pre-tokenizers other than smollm,
// command-r, trillion, granite-docling) removes the space before ?!., and in front of contractions.
//
// Not reproduced (llama.cpp special cases none of which applies to a supported vocabulary unless
// noted): per-model-name token attributes (phi-3 rstrip, jina/modern-bert lstrip of <mask>), and of
// the fill-in-the-middle name lists llama.cpp marks only the first match in hash order as control,
// here every match.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <limits>
#include <queue>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <variant>

#include "lowbit/core/error.hpp"
#include "lowbit/io/gguf.hpp"
#include "lowbit/io/tokenizer_bpe_core.hpp"
#include "lowbit/io/tokenizer_impl.hpp"

namespace lowbit {
namespace {

// ---- Unicode classes ---------------------------------------------------------------------------

enum : uint16_t {
  kUndefined = 0x01,
  kNumber = 0x02,
  kLetter = 0x04,
  kSeparator = 0x08,
  kMark = 0x10,
  kPunctuation = 0x20,
  kSymbol = 0x40,
  kControlCat = 0x80,
  kCategories = 0xFF,
  kWhitespace = 0x100,
};

struct FlagRange {
  uint32_t first;
  uint16_t flags;
};
constexpr FlagRange kFlagRanges[] = {
#include "lowbit/io/tokenizer_unicode.inc"
};
constexpr uint32_t kMaxCodepoint = 0x110000;

uint16_t flags_of(uint32_t cp) {
  static const auto ascii = [] {
    std::array<uint16_t, 128> t{};
    size_t r = 0;
    for (uint32_t c = 0; c < 128; ++c) {
      while (r + 1 < std::size(kFlagRanges) && kFlagRanges[r + 1].first <= c) ++r;
      t[c] = kFlagRanges[r].flags;
    }
    return t;
  }();
  if (cp < 128) return ascii[cp];
  if (cp >= kMaxCodepoint) return kUndefined;
  const auto* it = std::upper_bound(std::begin(kFlagRanges), std::end(kFlagRanges), cp,
                                    [](uint32_t c, const FlagRange& r) { return c < r.first; });
  return (it - 1)->flags;
}

constexpr uint32_t kReplacement = 0xFFFD;

// UTF-8 to code points as llama.cpp's unicode_cpts_from_utf8: the lead byte's high bits give the
// length, continuation bytes must be 10xxxxxx, and anything else becomes U+FFFD for one byte. (It
// does not reject overlong forms or surrogates; neither does this. Code points past U+10FFFF, on
// which llama.cpp throws, become U+FFFD here.)
std::vector<uint32_t> to_codepoints(std::string_view s) {
  std::vector<uint32_t> out;
  out.reserve(s.size());
  auto cont = [&](size_t i) { return i < s.size() && (static_cast<unsigned char>(s[i]) & 0xC0) == 0x80; };
  size_t i = 0;
  while (i < s.size()) {
    const auto b0 = static_cast<unsigned char>(s[i]);
    uint32_t cp = kReplacement;
    size_t len = 1;
    if (b0 < 0x80) {
      cp = b0;
    } else if ((b0 & 0xE0) == 0xC0) {
      if (cont(i + 1)) {
        cp = ((b0 & 0x1Fu) << 6) | (static_cast<unsigned char>(s[i + 1]) & 0x3Fu);
        len = 2;
      }
    } else if ((b0 & 0xF0) == 0xE0) {
      if (cont(i + 1) && cont(i + 2)) {
        cp = ((b0 & 0x0Fu) << 12) | ((static_cast<unsigned char>(s[i + 1]) & 0x3Fu) << 6) |
             (static_cast<unsigned char>(s[i + 2]) & 0x3Fu);
        len = 3;
      }
    } else if ((b0 & 0xF8) == 0xF0) {
      if (cont(i + 1) && cont(i + 2) && cont(i + 3)) {
        cp = ((b0 & 0x07u) << 18) | ((static_cast<unsigned char>(s[i + 1]) & 0x3Fu) << 12) |
             ((static_cast<unsigned char>(s[i + 2]) & 0x3Fu) << 6) | (static_cast<unsigned char>(s[i + 3]) & 0x3Fu);
        len = 4;
        if (cp >= kMaxCodepoint) {
          cp = kReplacement;
          len = 1;
        }
      }
    }
    out.push_back(cp);
    i += len;
  }
  return out;
}

// llama.cpp's unicode_len_utf8: the length a lead byte announces (1 for continuation bytes).
size_t utf8_len(char c) {
  static constexpr size_t lookup[] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4};
  return lookup[static_cast<unsigned char>(c) >> 4];
}

// ---- pre-tokenizer splits ------------------------------------------------------------------------
// Each split refines a list of pieces, given as code point counts over the whole text, as llama.cpp's
// unicode_regex_split passes offsets from one regex to the next; a split never crosses a piece.

using Pieces = std::vector<size_t>;

// Every match of a one-code-point class (run = false: each match is one code point, as \p{N}) or of
// its maximal runs (run = true: [...]+) is a piece, and so is every gap between matches.
template <class Pred>
Pieces split_class(const std::vector<uint32_t>& cps, const Pieces& in, Pred pred, bool run) {
  Pieces out;
  out.reserve(in.size());
  size_t start = 0;
  for (size_t len : in) {
    const size_t end = start + len;
    size_t last = start;
    for (size_t p = start; p < end;) {
      if (!pred(cps[p])) {
        ++p;
        continue;
      }
      size_t q = p + 1;
      if (run)
        while (q < end && pred(cps[q])) ++q;
      if (p > last) out.push_back(p - last);
      out.push_back(q - p);
      last = p = q;
    }
    if (end > last) out.push_back(end - last);
    start = end;
  }
  return out;
}

// [0-9][0-9][0-9]: successive groups of three ASCII digits, scanning left to right.
Pieces split_digit_triples(const std::vector<uint32_t>& cps, const Pieces& in) {
  auto digit = [&](size_t p) { return cps[p] >= '0' && cps[p] <= '9'; };
  Pieces out;
  out.reserve(in.size());
  size_t start = 0;
  for (size_t len : in) {
    const size_t end = start + len;
    size_t last = start;
    for (size_t p = start; p + 3 <= end;) {
      if (digit(p) && digit(p + 1) && digit(p + 2)) {
        if (p > last) out.push_back(p - last);
        out.push_back(3);
        last = p = p + 3;
      } else {
        ++p;
      }
    }
    if (end > last) out.push_back(end - last);
    start = end;
  }
  return out;
}

// The GPT-2 pattern 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+ with the
// semantics of llama.cpp's unicode_regex_split_custom_gpt2: contractions are case-sensitive, and a
// position past the end of the piece has no class at all.
Pieces split_gpt2(const std::vector<uint32_t>& cps, const Pieces& in) {
  Pieces out;
  out.reserve(in.size() * 2);
  size_t start = 0;
  for (size_t len : in) {
    const size_t end = start + len;
    constexpr uint32_t kOut = 0xFFFFFFFFu;
    auto cpt = [&](size_t p) { return p < end ? cps[p] : kOut; };
    auto fl = [&](size_t p) -> uint16_t { return p < end ? flags_of(cps[p]) : 0; };
    size_t prev = start;
    auto emit = [&](size_t e) {
      if (e > prev) out.push_back(e - prev);
      prev = e;
    };
    size_t pos = start;
    while (pos < end) {
      const uint32_t c = cps[pos];
      if (c == '\'' && pos + 1 < end) {
        const uint32_t n1 = cps[pos + 1];
        if (n1 == 's' || n1 == 't' || n1 == 'm' || n1 == 'd') {
          emit(pos += 2);
          continue;
        }
        if (pos + 2 < end) {
          const uint32_t n2 = cps[pos + 2];
          if ((n1 == 'r' && n2 == 'e') || (n1 == 'v' && n2 == 'e') || (n1 == 'l' && n2 == 'l')) {
            emit(pos += 3);
            continue;
          }
        }
      }
      uint16_t f = c == ' ' ? fl(pos + 1) : fl(pos);
      if (f & kLetter) {  // ' ?\p{L}+'
        pos += c == ' ';
        while (f & kLetter) f = fl(++pos);
        emit(pos);
        continue;
      }
      if (f & kNumber) {  // ' ?\p{N}+'
        pos += c == ' ';
        while (f & kNumber) f = fl(++pos);
        emit(pos);
        continue;
      }
      auto other = [](uint16_t x) { return x != 0 && !(x & (kWhitespace | kLetter | kNumber)); };
      if (other(f)) {  // ' ?[^\s\p{L}\p{N}]+'
        pos += c == ' ';
        while (other(f)) f = fl(++pos);
        emit(pos);
        continue;
      }
      size_t ws = 0;
      while (fl(pos + ws) & kWhitespace) ++ws;
      if (ws > 1 && cpt(pos + ws) != kOut) {  // '\s+(?!\S)': leave the last space to the next word
        emit(pos += ws - 1);
        continue;
      }
      if (ws > 0) {  // '\s+'
        emit(pos += ws);
        continue;
      }
      emit(++pos);  // no match
    }
    start = end;
  }
  return out;
}

enum class PreSplit { EachNumber, Gpt2, PunctRuns, NumberRuns, DigitTriples };

bool is_number_cp(uint32_t c) { return (flags_of(c) & kCategories) == kNumber; }
// [\p{P}\$\+<=>\^~\|] over llama.cpp's collapsed text: Unicode punctuation (not whitespace) or one of
// the eight ASCII symbols listed.
bool is_punct_run_cp(uint32_t c) {
  const uint16_t f = flags_of(c);
  if (!(f & kWhitespace) && (f & kCategories) == kPunctuation) return true;
  return c < 128 && std::strchr("$+<=>^~|", static_cast<int>(c)) != nullptr && c != 0;
}

Pieces apply_split(PreSplit s, const std::vector<uint32_t>& cps, const Pieces& in) {
  switch (s) {
    case PreSplit::EachNumber:
      return split_class(cps, in, is_number_cp, false);
    case PreSplit::Gpt2:
      return split_gpt2(cps, in);
    case PreSplit::PunctRuns:
      return split_class(cps, in, is_punct_run_cp, true);
    case PreSplit::NumberRuns:
      return split_class(cps, in, is_number_cp, true);
    case PreSplit::DigitTriples:
      return split_digit_triples(cps, in);
  }
  return in;
}

struct PreTokenizer {
  std::vector<PreSplit> splits;
  bool clean_spaces = true;
};

// tokenizer.ggml.pre -> splits; false for a value lowbit does not implement.
bool pre_tokenizer_for(const std::string& pre, PreTokenizer& out) {
  static const std::unordered_set<std::string> digits_then_gpt2 = {
      "smollm", "starcoder", "refact", "command-r", "codeshell", "exaone", "minerva-7b", "mellum2"};
  static const std::unordered_set<std::string> gpt2 = {"gpt-2", "phi-2", "jina-es", "jina-de", "gigachat",
                                                       "a.x-4.0", "mellum", "exaone4", "mpt", "olmo",
                                                       "jais", "trillion", "granite-docling"};
  static const std::unordered_set<std::string> no_clean = {"smollm", "command-r", "trillion", "granite-docling"};
  if (pre.empty() || pre == "default") {
    out.splits = {PreSplit::PunctRuns, PreSplit::Gpt2, PreSplit::NumberRuns, PreSplit::DigitTriples};
  } else if (digits_then_gpt2.count(pre)) {
    out.splits = {PreSplit::EachNumber, PreSplit::Gpt2};
  } else if (gpt2.count(pre)) {
    out.splits = {PreSplit::Gpt2};
  } else {
    return false;
  }
  out.clean_spaces = no_clean.count(pre) == 0;
  return true;
}

// The regex each split stands for, in the tokenizers library's syntax: llama.cpp's regex_exprs for
// these pre-tokenizers (kGpt2Pattern is tokenizers' ByteLevel regex).
const char* split_regex(PreSplit s) {
  switch (s) {
    case PreSplit::EachNumber: return "\\p{N}";
    case PreSplit::Gpt2: return kGpt2Pattern;
    case PreSplit::PunctRuns: return "[\\p{P}\\$\\+<=>\\^~\\|]+";
    case PreSplit::NumberRuns: return "\\p{N}+";
    case PreSplit::DigitTriples: return "[0-9][0-9][0-9]";
  }
  return "";
}

// One tokenizer.ggml.merges entry "left right" as llama.cpp splits it (at the first space after the
// first byte); false for an entry that never matches (no space, empty right side).
bool split_merge(const std::string& w, std::string& left, std::string& right) {
  const size_t sp = w.size() > 1 ? w.find(' ', 1) : std::string::npos;
  if (sp == std::string::npos) return false;  // llama.cpp files it under ("", ""), which never matches
  left = w.substr(0, sp);
  right = w.substr(sp + 1);
  return !right.empty();  // an empty symbol never exists
}

// ---- metadata access -----------------------------------------------------------------------------

// llama.cpp's token types (tokenizer.ggml.token_type) and attributes (llama_token_attr).
enum TokenType : int64_t { kTypeUndefined = 0, kTypeNormal, kTypeUnknown, kTypeControl, kTypeUserDefined, kTypeUnused, kTypeByte };
enum Attr : uint32_t {
  kAttrUndefined = 0,
  kAttrUnknown = 1u << 0,
  kAttrUnused = 1u << 1,
  kAttrNormal = 1u << 2,
  kAttrControl = 1u << 3,
  kAttrUserDefined = 1u << 4,
  kAttrByte = 1u << 5,
  kAttrLstrip = 1u << 7,
  kAttrRstrip = 1u << 8,
};

class Meta {
 public:
  explicit Meta(const GgufFile& f) : f_(f) {}
  const GgufValue* find(const std::string& key) const {
    auto it = f_.kv.find(key);
    return it == f_.kv.end() ? nullptr : &it->second;
  }
  const std::string& string(const std::string& key) const { return f_.at(key).as_string(f_.path, key); }
  bool boolean(const std::string& key, bool fallback) const {
    const GgufValue* v = find(key);
    return v ? v->as_bool(f_.path, key) : fallback;
  }
  // An array of `elem` values (strings, integers or floats); InputError naming the key otherwise.
  const std::vector<GgufValue>& array(const std::string& key, std::initializer_list<GgufType> elem) const {
    const GgufValue& v = f_.at(key);
    const auto& a = v.as_array(f_.path, key);
    if (std::find(elem.begin(), elem.end(), v.elem_type) == elem.end())
      LB_FAIL_INPUT(f_.path, ": metadata key '", key, "': array of type ", static_cast<uint32_t>(v.elem_type),
                    " where ", elem.size() == 1 && *elem.begin() == GgufType::STRING ? "strings" : "numbers",
                    " are expected");
    return a;
  }
  const std::string& path() const { return f_.path; }

 private:
  const GgufFile& f_;
};

const std::string& elem_string(const Meta& m, const std::vector<GgufValue>& a, size_t i, const char* key) {
  const auto* s = std::get_if<std::string>(&a[i].v);
  if (!s) LB_FAIL_INPUT(m.path(), ": metadata key '", key, "'[", i, "]: expected a string");
  return *s;
}
double elem_number(const Meta& m, const std::vector<GgufValue>& a, size_t i, const char* key) {
  if (const auto* x = std::get_if<double>(&a[i].v)) return *x;
  if (const auto* x = std::get_if<int64_t>(&a[i].v)) return static_cast<double>(*x);
  if (const auto* x = std::get_if<uint64_t>(&a[i].v)) return static_cast<double>(*x);
  LB_FAIL_INPUT(m.path(), ": metadata key '", key, "'[", i, "]: expected a number");
}

// ---- the tokenizer -------------------------------------------------------------------------------

constexpr std::string_view kSpm = "\xE2\x96\x81";  // U+2581, SentencePiece's escaped space

std::string escape_spaces(std::string_view s) {
  std::string out;
  out.reserve(s.size() + s.size() / 4);
  for (char c : s) {
    if (c == ' ') {
      out += kSpm;
    } else {
      out += c;
    }
  }
  return out;
}

std::string unescape_spaces(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    if (s.compare(i, kSpm.size(), kSpm) == 0) {
      out += ' ';
      i += kSpm.size();
    } else {
      out += s[i++];
    }
  }
  return out;
}

bool c_isspace(char c) { return c == ' ' || (c >= '\t' && c <= '\r'); }

// Token texts that llama.cpp marks as control at load time (its end-of-turn, end-of-message and
// end-of-generation lists), fill-in-the-middle lists separately (they only apply when the file does
// not name that token).
const std::unordered_set<std::string>& eog_texts() {
  static const std::unordered_set<std::string> s = {
      "<|eot_id|>", "<|im_end|>", "<|end|>", "<|return|>", "<|call|>", "<|flush|>", "<|calls|>",
      "<end_of_turn>", "<|endoftext|>", "</s>", "<|eom_id|>", "<EOT>", "_<EOT>", "[EOT]", "[EOS]",
      "<|end_of_text|>", "<end_of_utterance>", "<eos>", "<turn|>", "<|tool_response>",
      "<\xEF\xBD\x9C" "end\xE2\x96\x81of\xE2\x96\x81sentence\xEF\xBD\x9C>", "[e~["};
  return s;
}
struct FimList {
  const char* key;
  std::vector<std::string> texts;
  bool eog;  // pad, rep and sep join the end-of-generation set
};
const std::vector<FimList>& fim_lists() {
  static const std::vector<FimList> l = {
      {"tokenizer.ggml.fim_pre_token_id",
       {"<|fim_prefix|>", "<fim-prefix>", "<fim_prefix>", "<\xEF\xBD\x9C" "fim\xE2\x96\x81" "begin\xEF\xBD\x9C>", "<PRE>",
        "\xE2\x96\x81<PRE>", "<|code_prefix|>", "<|prefix|>"},
       false},
      {"tokenizer.ggml.fim_suf_token_id",
       {"<|fim_suffix|>", "<fim-suffix>", "<fim_suffix>", "<\xEF\xBD\x9C" "fim\xE2\x96\x81hole\xEF\xBD\x9C>", "<SUF>",
        "\xE2\x96\x81<SUF>", "<|code_suffix|>", "<|suffix|>"},
       false},
      {"tokenizer.ggml.fim_mid_token_id",
       {"<|fim_middle|>", "<fim-middle>", "<fim_middle>", "<\xEF\xBD\x9C" "fim\xE2\x96\x81" "end\xEF\xBD\x9C>", "<MID>",
        "\xE2\x96\x81<MID>", "<|code_middle|>", "<|middle|>"},
       false},
      {"tokenizer.ggml.fim_pad_token_id", {"<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>", "[PAD]"}, true},
      {"tokenizer.ggml.fim_rep_token_id", {"<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>", "<reponame>"}, true},
      {"tokenizer.ggml.fim_sep_token_id", {"<|file_sep|>", "<file_sep>", "<fim-sep>", "<SEP>"}, true},
  };
  return l;
}

// Lets the vocabulary be searched with a string_view into the text (no copy per candidate pair).
struct TextHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

class GgufTokenizer final : public Tokenizer {
 public:
  enum class Model { Bpe, Spm };

  explicit GgufTokenizer(const GgufFile& f) : name_(f.path) {
    const Meta m(f);
    const std::string model = m.string("tokenizer.ggml.model");
    if (model == "gpt2") {
      model_ = Model::Bpe;
    } else if (model == "llama") {
      model_ = Model::Spm;
    } else {
      LB_FAIL_INPUT(name_, ": tokenizer.ggml.model '", model,
                    "' is not supported (lowbit reads 'gpt2' byte-level BPE and 'llama' SentencePiece-style)");
    }
    read_tokens(m);
    if (model_ == Model::Bpe) {
      std::string pre;
      if (const GgufValue* p = m.find("tokenizer.ggml.pre")) pre = p->as_string(name_, "tokenizer.ggml.pre");
      if (!pre_tokenizer_for(pre, pre_))
        LB_FAIL_INPUT(name_, ": tokenizer.ggml.pre '", pre,
                      "' is not a pre-tokenizer lowbit implements (smollm, starcoder, gpt-2, default, ... see "
                      "io/tokenizer_gguf.cpp)");
      read_merges(m);
      // llama.cpp's defaults for BPE vocabularies (before the file's keys apply).
      bos_ = 11;
      eos_ = 11;
      unk_ = -1;
      add_bos_ = false;
      add_space_prefix_ = false;
      clean_spaces_ = pre_.clean_spaces;
    } else {
      bos_ = 1;
      eos_ = 2;
      unk_ = 0;
      add_bos_ = true;
      add_space_prefix_ = true;
      clean_spaces_ = false;
    }
    add_space_prefix_ = m.boolean("tokenizer.ggml.add_space_prefix", add_space_prefix_);
    read_special_ids(m);
    add_bos_ = m.boolean("tokenizer.ggml.add_bos_token", add_bos_);
    add_eos_ = m.boolean("tokenizer.ggml.add_eos_token", false);
    LB_INPUT_CHECK(!add_bos_ || bos_ >= 0, name_, ": tokenizer.ggml.add_bos_token is true but there is no BOS token");
    LB_INPUT_CHECK(!add_eos_ || eos_ >= 0, name_, ": tokenizer.ggml.add_eos_token is true but there is no EOS token");
    adjust_attributes(m);
    build_special_cache();
    if (model_ == Model::Spm) {
      for (int b = 0; b < 256; ++b) byte_token_[b] = spm_byte_token(static_cast<unsigned char>(b));
    }
  }
  GgufTokenizer(const GgufTokenizer&) = delete;
  GgufTokenizer& operator=(const GgufTokenizer&) = delete;

  std::vector<int> encode(std::string_view text, bool add_bos) const override {
    std::vector<int> ids;
    if (add_bos && add_bos_) ids.push_back(bos_);
    if (text.empty()) return ids;
    const std::vector<Fragment> frags = partition(text);
    if (model_ == Model::Spm) {
      bool prev_special = true;  // llama.cpp: the text after BOS or a special token gets the prefix space
      for (const Fragment& fr : frags) {
        if (fr.token >= 0) {
          ids.push_back(fr.token);
          prev_special = true;
          continue;
        }
        std::string t;
        if (add_space_prefix_ && prev_special) t = " ";
        t.append(text.substr(fr.begin, fr.len));
        spm_tokenize(escape_spaces(t), ids);
        prev_special = false;
      }
    } else {
      std::unordered_map<std::string, std::vector<int>> cache;  // per call: encode() stays const and reentrant
      for (const Fragment& fr : frags) {
        if (fr.token >= 0) {
          ids.push_back(fr.token);
        } else {
          bpe_tokenize(text.substr(fr.begin, fr.len), ids, cache);
        }
      }
    }
    return ids;
  }

  std::string decode_token(int prev, int token) const override {
    std::string piece = token_to_piece(token);
    if (add_space_prefix_ && (prev < 0 || prev == bos_) && !piece.empty() && piece[0] == ' ') piece.erase(0, 1);
    return piece;
  }

  std::string decode(const std::vector<int>& ids_in) const override {
    size_t b = 0, e = ids_in.size();
    bool remove_space = add_space_prefix_;
    if (add_bos_ && e > b && ids_in[b] == bos_) {
      ++b;
      remove_space = false;  // as llama.cpp's detokenize
    }
    if (add_eos_ && e > b && ids_in[e - 1] == eos_) --e;
    std::string out;
    for (size_t i = b; i < e; ++i) {
      std::string piece = token_to_piece(ids_in[i]);
      if (remove_space && !piece.empty() && piece[0] == ' ') piece.erase(0, 1);
      remove_space = false;
      out += piece;
    }
    if (clean_spaces_) out = clean_up_spaces(out);
    return out;
  }

  int vocab_size() const override { return static_cast<int>(text_.size()); }
  int bos_id() const override { return bos_; }
  int eos_id() const override { return eos_; }
  bool adds_bos() const override { return add_bos_; }
  std::string kind() const override { return model_ == Model::Bpe ? "gguf-bpe" : "gguf-spm"; }

  // What describe_gguf_tokenizer reports from the tables built above (merges are read there).
  void describe(GgufVocabView& v) const {
    v.bpe = model_ == Model::Bpe;
    for (PreSplit s : pre_.splits) v.pre_regexes.emplace_back(split_regex(s));
    v.clean_spaces = clean_spaces_;
    v.text = text_;
    v.score = score_;
    v.matched.assign(text_.size(), 0);
    v.special.assign(text_.size(), 0);
    for (size_t i = 0; i < text_.size(); ++i) {
      const bool ctl = attr_[i] & (kAttrControl | kAttrUnknown);
      v.special[i] = ctl;
      v.matched[i] = !ctl && (attr_[i] & kAttrUserDefined);
    }
    v.bos = bos_;
    v.eos = eos_;
    v.unk = unk_;
    v.add_bos = add_bos_;
    v.add_eos = add_eos_;
    v.add_space_prefix = add_space_prefix_;
  }

 private:
  struct Fragment {
    size_t begin = 0, len = 0;
    int token = -1;  // >= 0: a special token; otherwise raw text [begin, begin + len)
  };

  // ---- loading ----

  void read_tokens(const Meta& m) {
    const auto& toks = m.array("tokenizer.ggml.tokens", {GgufType::STRING});
    const size_t n = toks.size();
    LB_INPUT_CHECK(n > 0, name_, ": metadata key 'tokenizer.ggml.tokens' is empty");
    LB_INPUT_CHECK(n < static_cast<size_t>(std::numeric_limits<int>::max() / 2), name_,
                   ": metadata key 'tokenizer.ggml.tokens' holds ", n, " tokens, too many");
    text_.resize(n);
    score_.assign(n, 0.0f);
    attr_.assign(n, kAttrNormal);
    token_to_id_.reserve(n);
    for (size_t i = 0; i < n; ++i) {
      std::string w = elem_string(m, toks, i, "tokenizer.ggml.tokens");
      if (w.empty()) w = cat("[EMPTY_", i, "]");
      token_to_id_[w] = static_cast<int>(i);  // a repeated text maps to its last id, as in llama.cpp
      text_[i] = std::move(w);
    }
    if (m.find("tokenizer.ggml.scores")) {
      const auto& sc = m.array("tokenizer.ggml.scores", {GgufType::F32, GgufType::I32});
      LB_INPUT_CHECK(sc.size() >= n, name_, ": metadata key 'tokenizer.ggml.scores' has ", sc.size(),
                     " entries for ", n, " tokens");
      for (size_t i = 0; i < n; ++i) {
        const float x = static_cast<float>(elem_number(m, sc, i, "tokenizer.ggml.scores"));
        // A NaN would break the merge queue's ordering (undefined behaviour in llama.cpp too); it
        // ranks last here.
        score_[i] = std::isnan(x) ? -std::numeric_limits<float>::infinity() : x;
      }
    }
    if (m.find("tokenizer.ggml.token_type")) {
      const auto& tt = m.array("tokenizer.ggml.token_type", {GgufType::I32});
      LB_INPUT_CHECK(tt.size() >= n, name_, ": metadata key 'tokenizer.ggml.token_type' has ", tt.size(),
                     " entries for ", n, " tokens");
      for (size_t i = 0; i < n; ++i) {
        switch (static_cast<int64_t>(elem_number(m, tt, i, "tokenizer.ggml.token_type"))) {
          case kTypeNormal: attr_[i] = kAttrNormal; break;
          case kTypeUnknown: attr_[i] = kAttrUnknown; break;
          case kTypeControl: attr_[i] = kAttrControl; break;
          case kTypeUserDefined: attr_[i] = kAttrUserDefined; break;
          case kTypeUnused: attr_[i] = kAttrUnused; break;
          case kTypeByte: attr_[i] = kAttrByte; break;
          default: attr_[i] = kAttrUndefined; break;
        }
      }
    }
  }

  // Symbol id of a text: its token id, or a "virtual" id past the vocabulary for a merge operand or
  // result that is not itself a token (llama.cpp merges by text, so such a symbol can still take part
  // in later merges; one left at the end falls back to bytes).
  int symbol_id(const std::string& t) {
    if (auto it = token_to_id_.find(t); it != token_to_id_.end()) return it->second;
    auto [it, fresh] = virtual_id_.emplace(t, static_cast<int>(text_.size() + virtual_text_.size()));
    if (fresh) virtual_text_.push_back(t);
    return it->second;
  }

  void read_merges(const Meta& m) {
    const auto& merges = m.array("tokenizer.ggml.merges", {GgufType::STRING});
    merges_.reserve(merges.size());
    for (size_t i = 0; i < merges.size(); ++i) {
      const std::string& w = elem_string(m, merges, i, "tokenizer.ggml.merges");
      std::string left, right;
      if (!split_merge(w, left, right)) continue;
      const int l = symbol_id(left), r = symbol_id(right), merged = symbol_id(left + right);
      merges_.add(l, r, static_cast<int>(i), merged);
    }
    for (int b = 0; b < 256; ++b) byte_symbol_[b] = symbol_id(byte_to_char(static_cast<unsigned char>(b)));
    for (int b = 0; b < 256; ++b) {
      auto it = token_to_id_.find(std::string(1, static_cast<char>(b)));
      raw_byte_token_[b] = it == token_to_id_.end() ? -1 : it->second;
    }
  }

  void read_special_ids(const Meta& m) {
    const int n = vocab_size();
    auto read = [&](const char* key, int& id) {
      if (id >= n) id = -1;  // a default outside the vocabulary is disabled
      const GgufValue* v = m.find(key);
      if (!v) return;
      const int64_t x = v->as_int(name_, key);
      if (x >= 0 && x < n) id = static_cast<int>(x);  // llama.cpp keeps the default for a bad id
    };
    read("tokenizer.ggml.bos_token_id", bos_);
    read("tokenizer.ggml.eos_token_id", eos_);
    read("tokenizer.ggml.unknown_token_id", unk_);
    read("tokenizer.ggml.eot_token_id", eot_);
    read("tokenizer.ggml.eom_token_id", eom_);
  }

  // llama.cpp's load-time adjustments of token attributes (see the top of this file).
  void adjust_attributes(const Meta& m) {
    std::unordered_set<int> eog;
    const auto& names = eog_texts();
    for (size_t i = 0; i < text_.size(); ++i) {
      if (names.count(text_[i])) {
        attr_[i] |= kAttrControl;
        eog.insert(static_cast<int>(i));
      }
    }
    for (const FimList& l : fim_lists()) {
      if (m.find(l.key)) {
        const int64_t x = m.find(l.key)->as_int(name_, l.key);
        if (l.eog && x >= 0 && x < vocab_size()) eog.insert(static_cast<int>(x));
        continue;
      }
      for (const std::string& t : l.texts) {
        if (auto it = token_to_id_.find(t); it != token_to_id_.end()) {
          attr_[it->second] |= kAttrControl;
          if (l.eog) eog.insert(it->second);
        }
      }
    }
    for (size_t i = 0; i < text_.size(); ++i)
      if ((attr_[i] & kAttrControl) && text_[i].find("unused") != std::string::npos) attr_[i] |= kAttrUnused;
    for (const char* t : {"<|channel|>", "<|message|>", "<|start|>", "<|constrain|>"})
      if (auto it = token_to_id_.find(t); it != token_to_id_.end()) attr_[it->second] = kAttrUserDefined;
    for (int id : {eos_, eot_, eom_})
      if (id >= 0) eog.insert(id);
    auto in_eog = [&](const char* t) {
      auto it = token_to_id_.find(t);
      return it != token_to_id_.end() && eog.count(it->second) ? it->second : -1;
    };
    const int end_id = in_eog("<|end|>");
    if (end_id >= 0 && ((in_eog("<|return|>") >= 0 && in_eog("<|call|>") >= 0) ||
                        (in_eog("<|calls|>") >= 0 && in_eog("<|flush|>") >= 0)))
      attr_[end_id] = kAttrUserDefined;
    const int s_id = in_eog("</s>");
    if (s_id >= 0 && (in_eog("<|tool_response>") >= 0 || in_eog("<|plamo:eos|>") >= 0)) attr_[s_id] = kAttrNormal;
  }

  void build_special_cache() {
    for (int id = 0; id < vocab_size(); ++id)
      if (attr_[id] & (kAttrControl | kAttrUserDefined | kAttrUnknown)) special_.push_back(id);
    // The same call as llama.cpp's (std::sort on length alone), so tokens of equal length keep the
    // order that llama.cpp built with the same standard library gives them.
    std::sort(special_.begin(), special_.end(),
              [&](int a, int b) { return text_[a].size() > text_[b].size(); });
  }

  int spm_byte_token(unsigned char b) const {
    static constexpr char hex[] = "0123456789ABCDEF";
    const char buf[7] = {'<', '0', 'x', hex[b >> 4], hex[b & 15], '>', 0};
    if (auto it = token_to_id_.find(buf); it != token_to_id_.end()) return it->second;
    if (auto it = token_to_id_.find(std::string(1, static_cast<char>(b))); it != token_to_id_.end()) return it->second;
    return -1;
  }

  // ---- encoding ----

  // llama.cpp's tokenizer_st_partition with parse_special = false.
  std::vector<Fragment> partition(std::string_view text) const {
    std::vector<Fragment> frags{{0, text.size(), -1}};
    std::vector<Fragment> next;
    for (int id : special_) {
      const uint32_t a = attr_[id];
      if (a & (kAttrControl | kAttrUnknown)) continue;
      const std::string& tok = text_[id];
      if (text.find(tok) == std::string_view::npos) continue;  // quick reject: nowhere in the text
      next.clear();
      for (const Fragment& fr : frags) {
        if (fr.token >= 0) {
          next.push_back(fr);
          continue;
        }
        size_t off = fr.begin, len = fr.len;
        while (true) {
          const size_t match = text.substr(0, off + len).find(tok, off);
          if (match == std::string_view::npos) {
            if (len > 0) next.push_back({off, len, -1});
            break;
          }
          size_t left_len = match - off;
          if (a & kAttrLstrip)
            while (left_len > 0 && c_isspace(text[off + left_len - 1])) --left_len;
          if (left_len > 0) next.push_back({off, left_len, -1});
          next.push_back({0, 0, id});
          size_t r_off = match + tok.size();
          size_t r_len = off + len - r_off;
          if (a & kAttrRstrip)
            while (r_len > 0 && c_isspace(text[r_off])) ++r_off, --r_len;
          off = r_off;
          len = r_len;
          if (len == 0) break;
        }
      }
      frags.swap(next);
    }
    return frags;
  }

  void bpe_tokenize(std::string_view raw, std::vector<int>& ids,
                    std::unordered_map<std::string, std::vector<int>>& cache) const {
    const std::vector<uint32_t> cps = to_codepoints(raw);
    Pieces pieces{cps.size()};
    for (PreSplit s : pre_.splits) pieces = apply_split(s, cps, pieces);
    size_t start = 0;
    std::string word;
    for (size_t len : pieces) {
      word.clear();
      for (size_t k = start; k < start + len; ++k) append_utf8(word, cps[k]);
      start += len;
      auto it = cache.find(word);
      if (it == cache.end()) it = cache.emplace(word, bpe_word(word)).first;
      ids.insert(ids.end(), it->second.begin(), it->second.end());
    }
  }

  std::vector<int> bpe_word(std::string_view word) const {
    std::vector<int> sym;
    sym.reserve(word.size());
    for (unsigned char c : word) sym.push_back(byte_symbol_[c]);
    sym = merges_.apply(std::move(sym));
    std::vector<int> out;
    out.reserve(sym.size());
    const int n = vocab_size();
    for (int s : sym) {
      if (s < n) {
        out.push_back(s);
        continue;
      }
      // Not a token: llama.cpp looks up each byte of the symbol's byte-level spelling on its own.
      for (unsigned char c : virtual_text_[static_cast<size_t>(s - n)])
        if (raw_byte_token_[c] >= 0) out.push_back(raw_byte_token_[c]);
    }
    return out;
  }

  // llama.cpp's llm_tokenizer_spm_session::tokenize over one escaped fragment.
  void spm_tokenize(const std::string& text, std::vector<int>& ids) const {
    struct Sym {
      int prev, next;
      size_t off, n;
    };
    std::vector<Sym> sym;
    sym.reserve(text.size());
    for (size_t off = 0; off < text.size();) {
      const size_t n = std::min(utf8_len(text[off]), text.size() - off);
      const int idx = static_cast<int>(sym.size());
      sym.push_back({idx - 1, off + n == text.size() ? -1 : idx + 1, off, n});
      off += n;
    }
    if (sym.empty()) return;
    struct Bigram {
      int left, right;
      float score;
      size_t size;
    };
    struct Lower {  // max-heap on score; leftmost first on equal score
      bool operator()(const Bigram& a, const Bigram& b) const {
        return a.score < b.score || (a.score == b.score && a.left > b.left);
      }
    };
    std::priority_queue<Bigram, std::vector<Bigram>, Lower> queue;
    auto try_add = [&](int l, int r) {
      if (l < 0 || r < 0) return;
      const std::string_view key(text.data() + sym[l].off, sym[l].n + sym[r].n);
      auto it = token_to_id_.find(key);
      if (it == token_to_id_.end()) return;
      queue.push({l, r, score_[it->second], key.size()});
    };
    for (int i = 1; i < static_cast<int>(sym.size()); ++i) try_add(i - 1, i);
    while (!queue.empty()) {
      const Bigram b = queue.top();
      queue.pop();
      Sym& l = sym[b.left];
      Sym& r = sym[b.right];
      if (l.n == 0 || r.n == 0 || l.n + r.n != b.size) continue;  // stale
      l.n += r.n;
      r.n = 0;
      l.next = r.next;
      if (r.next >= 0) sym[r.next].prev = b.left;
      try_add(l.prev, b.left);
      try_add(b.left, l.next);
    }
    // Every merged symbol is a token; a single character that is not becomes its bytes. (llama.cpp's
    // resegment also consults the merges it made, which only ever name tokens.)
    for (int i = 0; i >= 0; i = sym[i].next) {
      const std::string_view key(text.data() + sym[i].off, sym[i].n);
      if (auto it = token_to_id_.find(key); it != token_to_id_.end()) {
        ids.push_back(it->second);
        continue;
      }
      for (size_t k = 0; k < sym[i].n; ++k) {
        const int t = byte_token_[static_cast<unsigned char>(text[sym[i].off + k])];
        LB_INPUT_CHECK(t >= 0, name_, ": the vocabulary has no byte token <0x",
                       "0123456789ABCDEF"[static_cast<unsigned char>(text[sym[i].off + k]) >> 4],
                       "0123456789ABCDEF"[static_cast<unsigned char>(text[sym[i].off + k]) & 15],
                       "> for a character it cannot spell");
        ids.push_back(t);
      }
    }
  }

  // ---- decoding ----

  // llama.cpp's token_to_piece(special = false).
  std::string token_to_piece(int token) const {
    LB_INPUT_CHECK(token >= 0 && token < vocab_size(), name_, ": token id ", token, " out of range [0, ",
                   vocab_size(), ")");
    const uint32_t a = attr_[static_cast<size_t>(token)];
    const std::string& t = text_[static_cast<size_t>(token)];
    if (a & (kAttrControl | kAttrUnknown)) return {};
    if (a & kAttrUserDefined) return t;
    if (a & kAttrNormal) return model_ == Model::Spm ? unescape_spaces(t) : byte_level_decode(t);
    if (a & kAttrByte) {  // <0xXX>, in both models
      if (t.size() < 5) return {};
      return std::string(1, static_cast<char>(std::strtol(t.substr(3, 2).c_str(), nullptr, 16)));
    }
    return {};  // unused and undefined tokens print nothing
  }

  // llama.cpp's clean_up_tokenization_spaces: its three in-place passes over the decoded bytes,
  // ported as written (the second pass overwrites the space it drops with a NUL that the next
  // comparison sees).
  static std::string clean_up_spaces(std::string text) {
    char* t = text.data();
    size_t total = text.size();
    // " ?", " !", " .", " ,"
    size_t n = total;
    total = total ? 1 : 0;
    for (size_t i = 1; i < n; ++i) {
      const char x = t[i];
      if (t[i - 1] == ' ' && (x == '?' || x == '!' || x == '.' || x == ',')) --total;
      t[total++] = x;
    }
    // " ' " -> "'"
    n = total;
    total = total ? 1 : 0;
    for (size_t i = 1; i < n; ++i) {
      const char x = t[i];
      if (x == '\'' && i + 1 < n && t[i - 1] == ' ' && t[i + 1] == ' ') {
        --total;
        t[++i] = '\0';
      }
      t[total++] = x;
    }
    // " 's", " 'm", " 're", " 've" (not " 't", " 'd", " 'll")
    n = total;
    total = total ? 1 : 0;
    for (size_t i = 1; i < n; ++i) {
      const char x = t[i];
      if (t[i - 1] == ' ' && x == '\'' && i + 1 < n) {
        const char x1 = t[i + 1];
        if (x1 == 's' || x1 == 'm') {
          --total;
        } else if (i + 2 < n) {
          const char x2 = t[i + 2];
          if ((x1 == 'r' && x2 == 'e') || (x1 == 'v' && x2 == 'e')) --total;
        }
      }
      t[total++] = x;
    }
    text.resize(total);
    return text;
  }

  std::string name_;
  Model model_ = Model::Bpe;
  PreTokenizer pre_;
  std::vector<std::string> text_;
  std::vector<float> score_;
  std::vector<uint32_t> attr_;
  std::unordered_map<std::string, int, TextHash, std::equal_to<>> token_to_id_;
  std::vector<int> special_;  // control, user-defined and unknown tokens, longest first
  // gpt2
  MergeTable merges_;
  std::unordered_map<std::string, int> virtual_id_;
  std::vector<std::string> virtual_text_;
  std::array<int, 256> byte_symbol_{};
  std::array<int, 256> raw_byte_token_{};
  // llama
  std::array<int, 256> byte_token_{};
  int bos_ = -1, eos_ = -1, unk_ = -1, eot_ = -1, eom_ = -1;
  bool add_bos_ = false, add_eos_ = false, add_space_prefix_ = false, clean_spaces_ = false;
};

}  // namespace

std::unique_ptr<Tokenizer> parse_gguf_tokenizer(const GgufFile& f) { return std::make_unique<GgufTokenizer>(f); }

GgufVocabView describe_gguf_tokenizer(const GgufFile& f) {
  const GgufTokenizer tok(f);
  const Meta m(f);
  GgufVocabView v;
  tok.describe(v);
  if (const GgufValue* p = m.find("tokenizer.ggml.pre")) v.pre = p->as_string(f.path, "tokenizer.ggml.pre");
  v.type.assign(v.text.size(), 0);
  if (m.find("tokenizer.ggml.token_type")) {
    const auto& tt = m.array("tokenizer.ggml.token_type", {GgufType::I32});
    for (size_t i = 0; i < v.type.size(); ++i)
      v.type[i] = static_cast<int>(elem_number(m, tt, i, "tokenizer.ggml.token_type"));
  }
  if (v.bpe) {
    const auto& merges = m.array("tokenizer.ggml.merges", {GgufType::STRING});
    v.merges.reserve(merges.size());
    for (size_t i = 0; i < merges.size(); ++i) {
      std::string left, right;
      if (split_merge(elem_string(m, merges, i, "tokenizer.ggml.merges"), left, right))
        v.merges.emplace_back(std::move(left), std::move(right));
    }
  }
  if (const GgufValue* p = m.find("tokenizer.ggml.padding_token_id")) {
    const int64_t x = p->as_int(f.path, "tokenizer.ggml.padding_token_id");
    if (x >= 0 && x < static_cast<int64_t>(v.text.size())) v.pad = static_cast<int>(x);
  }
  if (const GgufValue* c = m.find("tokenizer.chat_template")) v.chat_template = c->as_string(f.path, "tokenizer.chat_template");
  return v;
}

void check_gguf_vocab(const GgufFile& f) {
  const GgufValue* toks = nullptr;
  if (auto it = f.kv.find("tokenizer.ggml.tokens"); it != f.kv.end()) toks = &it->second;
  if (!toks) return;  // no tokenizer in the file: nothing to agree with
  const size_t n = toks->as_array(f.path, "tokenizer.ggml.tokens").size();
  for (const char* name : {"token_embd.weight", "output.weight"}) {
    const GgufTensorInfo* t = f.find_tensor(name);
    if (!t || t->shape.empty()) continue;
    const int64_t rows = t->shape.front();
    LB_INPUT_CHECK(rows == static_cast<int64_t>(n), f.path, ": tensor '", name, "' has ", rows,
                   " rows but metadata key 'tokenizer.ggml.tokens' holds ", n, " tokens");
  }
}

}  // namespace lowbit
