// lowbit/io/tokenizer_sentencepiece.cpp — SentencePiece models (tokenizer.model, tok512.model).
// defines: lowbit::parse_sentencepiece_model (and the SentencePieceTokenizer class behind it)
//
// A thin wrapper over libsentencepiece, so encoding is the library's, normalizer included (for a
// model trained with remove_extra_whitespaces, runs of spaces collapse: llama2.c's own encoder on
// the same vocabulary keeps them). BOS/EOS ids come from the model (-1 when it has none).
#include <sentencepiece_processor.h>

#include "lowbit/core/error.hpp"
#include "lowbit/io/tokenizer_impl.hpp"

namespace lowbit {
namespace {

constexpr std::string_view kSpaceMarker = "\xE2\x96\x81";  // U+2581, SentencePiece's word boundary

class SentencePieceTokenizer final : public Tokenizer {
 public:
  SentencePieceTokenizer(std::string_view bytes, std::string name) : name_(std::move(name)) {
    const auto status = sp_.LoadFromSerializedProto(bytes);
    LB_INPUT_CHECK(status.ok(), name_, ": not a valid SentencePiece model: ", status.ToString());
    LB_INPUT_CHECK(sp_.GetPieceSize() > 0, name_, ": SentencePiece model has no pieces");
  }

  std::vector<int> encode(std::string_view text, bool add_bos) const override {
    std::vector<int> ids;
    const auto status = sp_.Encode(text, &ids);
    LB_INPUT_CHECK(status.ok(), name_, ": SentencePiece encode failed: ", status.ToString());
    if (add_bos && sp_.bos_id() >= 0) ids.insert(ids.begin(), sp_.bos_id());
    return ids;
  }

  // Mirrors the llama2.c decoder: the word-boundary marker prints as a space, dropped right after
  // BOS; byte pieces <0xXX> print as the raw byte; control tokens print as nothing.
  std::string decode_token(int prev, int token) const override {
    LB_INPUT_CHECK(token >= 0 && token < vocab_size(), name_, ": token id ", token, " out of range [0, ", vocab_size(),
                   ")");
    if (sp_.IsControl(token)) return {};
    const std::string& piece = sp_.IdToPiece(token);
    if (sp_.IsByte(token)) return std::string(1, byte_of_piece(piece));
    std::string out;
    for (size_t i = 0; i < piece.size();) {
      if (piece.compare(i, kSpaceMarker.size(), kSpaceMarker) == 0) {
        out += ' ';
        i += kSpaceMarker.size();
      } else {
        out += piece[i++];
      }
    }
    if (prev == sp_.bos_id() && !out.empty() && out[0] == ' ') out.erase(0, 1);
    return out;
  }

  // The library's decoder joins byte pieces into UTF-8 and undoes the dummy prefix, so
  // decode(encode(text)) gives the (normalized) text back.
  std::string decode(const std::vector<int>& ids) const override {
    std::vector<int> kept;
    kept.reserve(ids.size());
    for (int id : ids) {
      LB_INPUT_CHECK(id >= 0 && id < vocab_size(), name_, ": token id ", id, " out of range [0, ", vocab_size(), ")");
      if (!sp_.IsControl(id)) kept.push_back(id);
    }
    std::string text;
    const auto status = sp_.Decode(kept, &text);
    LB_INPUT_CHECK(status.ok(), name_, ": SentencePiece decode failed: ", status.ToString());
    return text;
  }

  int vocab_size() const override { return sp_.GetPieceSize(); }
  int bos_id() const override { return sp_.bos_id(); }
  int eos_id() const override { return sp_.eos_id(); }
  std::string kind() const override { return "sentencepiece"; }

 private:
  // Byte pieces are spelled "<0xXX>" (two upper-case hex digits) by every SentencePiece trainer.
  char byte_of_piece(const std::string& piece) const {
    LB_INPUT_CHECK(piece.size() == 6 && piece.compare(0, 3, "<0x") == 0 && piece[5] == '>', name_, ": byte piece '",
                   piece, "' is not of the form <0xXX>");
    int value = 0;
    for (size_t i = 3; i < 5; ++i) {
      const char c = piece[i];
      const int d = c >= '0' && c <= '9'   ? c - '0'
                    : c >= 'A' && c <= 'F' ? c - 'A' + 10
                    : c >= 'a' && c <= 'f' ? c - 'a' + 10
                                           : -1;
      LB_INPUT_CHECK(d >= 0, name_, ": byte piece '", piece, "' is not of the form <0xXX>");
      value = value * 16 + d;
    }
    return static_cast<char>(value);
  }

  sentencepiece::SentencePieceProcessor sp_;
  std::string name_;
};

}  // namespace

std::unique_ptr<Tokenizer> parse_sentencepiece_model(std::string_view bytes, const std::string& name) {
  return std::make_unique<SentencePieceTokenizer>(bytes, name);
}

}  // namespace lowbit
