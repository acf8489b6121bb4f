// lowbit/io/tokenizer_llama2c.cpp — the llama2.c tokenizer (tokenizer.bin / tok512.bin).
// defines: lowbit::parse_llama2c_tokenizer (and the Llama2cTokenizer class behind it)
//
// File: int32 max_token_length, then per token float32 score, int32 length, `length` bytes, up to
// the end of the file (the vocabulary size is not stored). Token 0 is <unk>, 1 BOS, 2 EOS and
// 3..258 the byte-fallback tokens <0xXX>.
//
// Encoding reproduces encode() of llama2.c's run.c id for id: optional BOS, the dummy-prefix " "
// token for non-empty text, UTF-8 code points looked up whole with byte fallback (id = byte + 3),
// then repeated merging of the adjacent pair whose concatenation is in the vocabulary with the
// highest score (leftmost on ties). run.c rescans every pair after each merge, O(n^2); here a heap
// of candidate pairs over a linked list picks the same pair at every step in O(n log n), so long
// texts (a whole corpus line) stay fast.
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <queue>
#include <unordered_map>

#include "lowbit/core/error.hpp"
#include "lowbit/io/tokenizer_impl.hpp"

namespace lowbit {
namespace {

static_assert(std::endian::native == std::endian::little, "llama2.c files are little-endian");

constexpr int kBos = 1;
constexpr int kEos = 2;
constexpr int kByteOffset = 3;               // id of <0x00>
constexpr int kMinVocab = 3 + 256;           // <unk>, <s>, </s> and the byte tokens
constexpr int32_t kMaxTokenBytes = 1 << 16;  // sanity bound; real files have 7..~50
// run.c starts its search with `float best_score = -1e10` and merges only on `score > best`.
constexpr float kNoMergeScore = -1e10f;

int32_t read_i32(std::string_view b, size_t off) {
  int32_t v;
  std::memcpy(&v, b.data() + off, sizeof v);
  return v;
}
float read_f32(std::string_view b, size_t off) {
  float v;
  std::memcpy(&v, b.data() + off, sizeof v);
  return v;
}

class Llama2cTokenizer final : public Tokenizer {
 public:
  Llama2cTokenizer(std::vector<std::string> vocab, std::vector<float> scores, std::string name)
      : vocab_(std::move(vocab)), scores_(std::move(scores)), name_(std::move(name)) {
    index_.reserve(vocab_.size());
    // Keys view into vocab_, which never changes after this point. On duplicates the lowest id
    // wins (run.c's bsearch over a qsort-ed copy picks an arbitrary one).
    for (int i = 0; i < static_cast<int>(vocab_.size()); ++i) index_.emplace(vocab_[i], i);
    space_id_ = lookup(" ");
  }
  Llama2cTokenizer(const Llama2cTokenizer&) = delete;
  Llama2cTokenizer& operator=(const Llama2cTokenizer&) = delete;

  std::vector<int> encode(std::string_view text, bool add_bos) const override {
    // run.c takes a C string: the text ends at the first NUL byte.
    text = text.substr(0, text.find('\0'));
    std::vector<int> tokens;
    tokens.reserve(text.size() + 2);
    if (add_bos) tokens.push_back(kBos);
    // run.c would push -1 if " " were missing from the vocabulary; fall back to its byte token.
    if (!text.empty()) tokens.push_back(space_id_ >= 0 ? space_id_ : ' ' + kByteOffset);

    // Same grouping as run.c: a code point is a lead byte plus up to 3 continuation bytes; a
    // group not in the vocabulary becomes its byte tokens (invalid UTF-8 included).
    std::string cp;
    for (size_t i = 0; i < text.size(); ++i) {
      const auto c = static_cast<unsigned char>(text[i]);
      if ((c & 0xC0) != 0x80) cp.clear();
      cp.push_back(static_cast<char>(c));
      const auto next = i + 1 < text.size() ? static_cast<unsigned char>(text[i + 1]) : 0u;
      if ((next & 0xC0) == 0x80 && cp.size() < 4) continue;
      const int id = lookup(cp);
      if (id != -1) {
        tokens.push_back(id);
      } else {
        for (unsigned char b : cp) tokens.push_back(b + kByteOffset);
      }
      cp.clear();
    }
    merge(tokens);
    return tokens;
  }

  std::string decode_token(int prev, int token) const override {
    LB_INPUT_CHECK(token >= 0 && token < vocab_size(), name_, ": token id ", token, " out of range [0, ", vocab_size(),
                   ")");
    std::string_view piece = vocab_[token];
    if (prev == kBos && !piece.empty() && piece[0] == ' ') piece.remove_prefix(1);
    // run.c: sscanf(piece, "<0x%02hhX>", &byte) == 1, i.e. "<0x" and one or two hex digits.
    if (piece.size() >= 4 && piece.substr(0, 3) == "<0x") {
      int value = 0, digits = 0;
      for (size_t i = 3; i < piece.size() && digits < 2; ++i, ++digits) {
        const int d = hex_digit(piece[i]);
        if (d < 0) break;
        value = value * 16 + d;
      }
      if (digits > 0) return std::string(1, static_cast<char>(value));
    }
    return std::string(piece);
  }

  int vocab_size() const override { return static_cast<int>(vocab_.size()); }
  int bos_id() const override { return kBos; }
  int eos_id() const override { return kEos; }
  std::string kind() const override { return "llama2c"; }

 private:
  int lookup(std::string_view s) const {
    auto it = index_.find(s);
    return it == index_.end() ? -1 : it->second;
  }
  static int hex_digit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  }

  struct Candidate {
    float score;
    int left, right;          // node indices
    int left_tok, right_tok;  // the tokens the pair was built from, to spot stale entries
    int merged;
  };
  struct Lower {  // max-heap on score; on equal scores the leftmost pair comes first, as in run.c
    bool operator()(const Candidate& a, const Candidate& b) const {
      if (a.score != b.score) return a.score < b.score;
      return a.left > b.left;
    }
  };

  // Node indices keep the original order, so "leftmost" among live pairs is "smallest left index".
  void merge(std::vector<int>& tokens) const {
    const int n = static_cast<int>(tokens.size());
    if (n < 2) return;
    std::vector<int> next(n), prev(n);
    std::vector<char> alive(n, 1);
    for (int i = 0; i < n; ++i) {
      next[i] = i + 1 < n ? i + 1 : -1;
      prev[i] = i - 1;
    }
    std::priority_queue<Candidate, std::vector<Candidate>, Lower> heap;
    std::string joined;
    auto consider = [&](int l, int r) {
      if (l < 0 || r < 0) return;
      joined.assign(vocab_[tokens[l]]);
      joined.append(vocab_[tokens[r]]);
      const int id = lookup(joined);
      if (id != -1 && scores_[id] > kNoMergeScore) heap.push({scores_[id], l, r, tokens[l], tokens[r], id});
    };
    for (int i = 0; i + 1 < n; ++i) consider(i, i + 1);
    while (!heap.empty()) {
      const Candidate c = heap.top();
      heap.pop();
      if (!alive[c.left] || !alive[c.right] || next[c.left] != c.right || tokens[c.left] != c.left_tok ||
          tokens[c.right] != c.right_tok)
        continue;
      tokens[c.left] = c.merged;
      alive[c.right] = 0;
      next[c.left] = next[c.right];
      if (next[c.right] >= 0) prev[next[c.right]] = c.left;
      consider(prev[c.left], c.left);
      consider(c.left, next[c.left]);
    }
    int out = 0;
    for (int i = 0; i >= 0 && i < n; i = next[i]) tokens[out++] = tokens[i];
    tokens.resize(out);
  }

  std::vector<std::string> vocab_;
  std::vector<float> scores_;
  std::unordered_map<std::string_view, int> index_;
  std::string name_;
  int space_id_ = -1;
};

}  // namespace

std::unique_ptr<Tokenizer> parse_llama2c_tokenizer(std::string_view bytes, const std::string& name) {
  LB_INPUT_CHECK(bytes.size() >= 4, name, ": llama2.c tokenizer: file is ", bytes.size(),
                 " bytes, too short for the int32 max_token_length header");
  const int32_t max_len = read_i32(bytes, 0);
  LB_INPUT_CHECK(max_len > 0 && max_len <= kMaxTokenBytes, name, ": llama2.c tokenizer header: max_token_length ",
                 max_len, " is not in [1, ", kMaxTokenBytes, "]");
  std::vector<std::string> vocab;
  std::vector<float> scores;
  size_t off = 4;
  while (off < bytes.size()) {
    const size_t index = vocab.size();
    const size_t left = bytes.size() - off;
    LB_INPUT_CHECK(left >= 8, name, ": token ", index, " at offset ", off,
                   ": truncated: score and length need 8 bytes, ", left, " left (file is ", bytes.size(), " bytes)");
    const float score = read_f32(bytes, off);
    const int32_t len = read_i32(bytes, off + 4);
    LB_INPUT_CHECK(std::isfinite(score), name, ": token ", index, " at offset ", off, ": score is not finite");
    LB_INPUT_CHECK(len >= 0, name, ": token ", index, " at offset ", off, ": negative length ", len);
    LB_INPUT_CHECK(static_cast<size_t>(len) <= left - 8, name, ": token ", index, " at offset ", off, ": length ", len,
                   " runs past end of file (", bytes.size(), " bytes)");
    LB_INPUT_CHECK(len <= max_len, name, ": token ", index, " at offset ", off, ": length ", len,
                   " exceeds the header's max_token_length ", max_len);
    std::string_view piece = bytes.substr(off + 8, static_cast<size_t>(len));
    // run.c keeps tokens as C strings, so an embedded NUL ends the token there.
    vocab.emplace_back(piece.substr(0, piece.find('\0')));
    scores.push_back(score);
    off += 8 + static_cast<size_t>(len);
  }
  LB_INPUT_CHECK(vocab.size() >= static_cast<size_t>(kMinVocab), name, ": the file (", bytes.size(),
                 " bytes) ends after ", vocab.size(), " tokens; a llama2.c tokenizer has at least ", kMinVocab,
                 " (<unk>, <s>, </s> and the 256 byte tokens): truncated?");
  return std::make_unique<Llama2cTokenizer>(std::move(vocab), std::move(scores), name);
}

}  // namespace lowbit
