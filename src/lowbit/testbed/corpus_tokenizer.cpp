// lowbit/testbed/corpus_tokenizer.cpp — the corpus's word-level tokenizer.json.
// defines: see corpus_tokenizer.hpp
#include "lowbit/testbed/corpus_tokenizer.hpp"

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "lowbit/io/tokenizer_impl.hpp"

namespace lowbit::testbed {

namespace {

// GPT-2's bytes_to_unicode as UTF-8 strings: printable bytes stand for themselves, the others
// are shifted to code points 256, 257, ... in byte order.
std::vector<std::string> byte_strings() {
  std::vector<std::string> out(256);
  int extra = 0;
  for (int b = 0; b < 256; ++b) {
    const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
    const unsigned cp = printable ? unsigned(b) : unsigned(256 + extra++);
    std::string s;
    if (cp < 0x80) {
      s += char(cp);
    } else {
      s += char(0xC0 | (cp >> 6));
      s += char(0x80 | (cp & 0x3F));
    }
    out[size_t(b)] = s;
  }
  return out;
}

}  // namespace

std::string corpus_tokenizer_json(const std::string& text, const std::vector<std::string>& extra) {
  using nlohmann::json;
  const auto bytes = byte_strings();
  auto mapped = [&](const std::string& piece) {
    std::string m;
    for (unsigned char ch : piece) m += bytes[ch];
    return m;
  };
  std::map<std::string, long long> count;
  // The training text holds documents separated by "<|endoftext|>" lines; the separator itself is
  // never tokenized (documents are split first), so it does not enter the vocabulary.
  for (const auto& piece : regex_split_isolated(kGpt2SplitPattern, text)) ++count[piece];
  for (const auto& s : extra)
    for (const auto& piece : regex_split_isolated(kGpt2SplitPattern, s)) ++count[piece];
  for (const char* sep : {"<|", "endoftext", "|>"}) count.erase(sep);
  std::vector<std::pair<std::string, long long>> pieces(count.begin(), count.end());
  std::stable_sort(pieces.begin(), pieces.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
  json vocab = json::object();
  int next = 0;
  for (const char* special : {"<unk>", "<s>", "</s>"}) vocab[special] = next++;
  for (const auto& [piece, n] : pieces) {
    const std::string m = mapped(piece);
    if (!vocab.contains(m)) vocab[m] = next++;
  }
  std::vector<int> byte_list = {'\t', '\n', '\r'};
  for (int b = 0x20; b < 0x7F; ++b) byte_list.push_back(b);
  for (int b : byte_list)
    if (!vocab.contains(bytes[size_t(b)])) vocab[bytes[size_t(b)]] = next++;
  auto added = [](int id, const char* content) {
    return json{{"id", id},         {"content", content}, {"single_word", false}, {"lstrip", false},
                {"rstrip", false},  {"normalized", false}, {"special", true}};
  };
  json j;
  j["version"] = "1.0";
  j["truncation"] = nullptr;
  j["padding"] = nullptr;
  j["added_tokens"] = json::array({added(0, "<unk>"), added(1, "<s>"), added(2, "</s>")});
  j["normalizer"] = nullptr;
  j["pre_tokenizer"] = {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true}, {"use_regex", true}};
  j["post_processor"] = {
      {"type", "TemplateProcessing"},
      {"single", json::array({{{"SpecialToken", {{"id", "<s>"}, {"type_id", 0}}}},
                              {{"Sequence", {{"id", "A"}, {"type_id", 0}}}}})},
      {"pair", json::array({{{"SpecialToken", {{"id", "<s>"}, {"type_id", 0}}}},
                            {{"Sequence", {{"id", "A"}, {"type_id", 0}}}},
                            {{"Sequence", {{"id", "B"}, {"type_id", 1}}}}})},
      {"special_tokens", {{"<s>", {{"id", "<s>"}, {"ids", json::array({1})}, {"tokens", json::array({"<s>"})}}}}}};
  j["decoder"] = {{"type", "ByteLevel"}, {"add_prefix_space", true}, {"trim_offsets", true}, {"use_regex", true}};
  j["model"] = {{"type", "BPE"},           {"dropout", nullptr},      {"unk_token", "<unk>"},
                {"continuing_subword_prefix", nullptr}, {"end_of_word_suffix", nullptr},
                {"fuse_unk", false},       {"byte_fallback", false},  {"ignore_merges", true},
                {"vocab", vocab},          {"merges", json::array()}};
  return j.dump(1) + "\n";
}

}  // namespace lowbit::testbed
