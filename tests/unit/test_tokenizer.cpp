// tests/unit/test_tokenizer.cpp — the three tokenizers behind lowbit::load_tokenizer.
// defines: TEST(Tokenizer, *)
//
// Golden data: shared/models/stories260K (tok512.bin + tok512.model, the same 512-piece vocabulary)
// and shared/data (TinyStories sample, WikiText-2). Independent references: SentencePiece itself,
// tests/data/llama2c_tokenizer_ref.py (llama2.c's encode in Python) and tests/data/bpe_ref.py
// (GPT-2's encoder.py BPE in Python); ids published in transformers' GPT-2 and Qwen2 tokenizer
// tests (tests/data/SOURCES.md).
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <nlohmann/json.hpp>
#include <sstream>

#include "lowbit/core/error.hpp"
#include "lowbit/io/tokenizer.hpp"
#include "lowbit/io/tokenizer_impl.hpp"

namespace lowbit {
namespace {

namespace fs = std::filesystem;

#ifdef LOWBIT_TEST_PYTHON
constexpr const char* kPython = LOWBIT_TEST_PYTHON;
#else
constexpr const char* kPython = "/usr/bin/python3";
#endif

std::string shared_path(const std::string& rel) { return std::string(LOWBIT_SHARED_DIR) + "/" + rel; }
std::string source_path(const std::string& rel) { return std::string(LOWBIT_SOURCE_DIR) + "/" + rel; }
const std::string kTok512Bin = shared_path("models/stories260K/tok512.bin");
const std::string kTok512Model = shared_path("models/stories260K/tok512.model");

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("test: cannot open " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write_file(const fs::path& path, std::string_view bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// A fresh directory per test, removed at the end.
struct TempDir {
  fs::path path;
  TempDir() {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    path = fs::temp_directory_path() / ("lowbit_tok_" + std::to_string(::getpid()) + "_" + info->name());
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempDir() { fs::remove_all(path); }
};

std::string strip(std::string_view s) {
  const char* ws = " \t\r\n";
  const size_t b = s.find_first_not_of(ws);
  if (b == std::string_view::npos) return {};
  return std::string(s.substr(b, s.find_last_not_of(ws) - b + 1));
}

// The five TinyStories: split on <|endoftext|>, surrounding whitespace stripped, empty parts dropped.
std::vector<std::string> stories() {
  const std::string text = read_file(shared_path("data/tinystories_sample/tinystories_sample.txt"));
  const std::string sep = "<|endoftext|>";
  std::vector<std::string> out;
  for (size_t pos = 0;;) {
    const size_t next = text.find(sep, pos);
    std::string story =
        strip(std::string_view(text).substr(pos, next == std::string::npos ? std::string::npos : next - pos));
    if (!story.empty()) out.push_back(std::move(story));
    if (next == std::string::npos) break;
    pos = next + sep.size();
  }
  return out;
}

// The first n non-empty lines of wiki.test.raw, as they are (each has a leading and a trailing space).
std::vector<std::string> wiki_lines(size_t n) {
  std::istringstream in(read_file(shared_path("data/wikitext2_raw/wiki.test.raw")));
  std::vector<std::string> out;
  for (std::string line; out.size() < n && std::getline(in, line);)
    if (!strip(line).empty()) out.push_back(line);
  return out;
}

bool is_ascii(std::string_view s) {
  for (unsigned char c : s)
    if (c >= 0x80) return false;
  return true;
}

std::string hex(std::string_view s) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (unsigned char c : s) {
    out += digits[c >> 4];
    out += digits[c & 15];
  }
  return out;
}

// Runs a tests/data reference script on hex-encoded inputs and parses one id list per line.
std::vector<std::vector<int>> run_reference(const std::string& script, const std::string& tokenizer,
                                            const std::vector<std::string>& inputs, const fs::path& dir) {
  const fs::path in_file = dir / "ref_inputs.txt";
  {
    std::ofstream out(in_file);
    for (const auto& s : inputs) out << hex(s) << "\n";
  }
  const std::string cmd = std::string(kPython) + " '" + source_path("tests/data/" + script) + "' '" + tokenizer +
                          "' < '" + in_file.string() + "'";
  FILE* pipe = ::popen(cmd.c_str(), "r");
  if (!pipe) throw std::runtime_error("test: popen failed: " + cmd);
  std::string output;
  char buf[4096];
  for (size_t n; (n = std::fread(buf, 1, sizeof buf, pipe)) > 0;) output.append(buf, n);
  const int status = ::pclose(pipe);
  if (status != 0) throw std::runtime_error("test: reference failed (status " + std::to_string(status) + "): " + cmd);
  std::vector<std::vector<int>> result;
  std::istringstream lines(output);
  for (std::string line; std::getline(lines, line);) {
    std::istringstream ids(line);
    result.emplace_back();
    for (int id; ids >> id;) result.back().push_back(id);
  }
  return result;
}

// Expects `fn` to throw InputError whose message contains every one of `parts`.
template <class F>
void expect_input_error(F fn, const std::vector<std::string>& parts) {
  try {
    fn();
    ADD_FAILURE() << "no exception; expected InputError containing '" << parts.front() << "'";
  } catch (const InputError& e) {
    for (const auto& p : parts) EXPECT_NE(std::string(e.what()).find(p), std::string::npos) << e.what();
  }
}

// ---- llama2.c tok512.bin --------------------------------------------------------------------------

TEST(Tokenizer, Llama2cLoadsTok512) {
  auto tok = load_tokenizer(kTok512Bin);
  EXPECT_EQ(tok->kind(), "llama2c");
  EXPECT_EQ(tok->vocab_size(), 512);
  EXPECT_EQ(tok->bos_id(), 1);
  EXPECT_EQ(tok->eos_id(), 2);
  // Dummy prefix + "Once" merges to " Once"; llama2.c prints it without the space after BOS.
  const auto ids = tok->encode("Once", true);
  ASSERT_EQ(ids.size(), 2u);
  EXPECT_EQ(ids[0], 1);
  EXPECT_EQ(tok->decode_token(ids[0], ids[1]), "Once");
  EXPECT_EQ(tok->decode_token(42, ids[1]), " Once");
  EXPECT_EQ(tok->decode_token(1, 13), "\n");                  // <0x0A>
  EXPECT_TRUE(tok->encode("", true) == std::vector<int>{1});  // no dummy prefix for empty text
  EXPECT_TRUE(tok->encode("", false).empty());
}

TEST(Tokenizer, Llama2cByteFallback) {
  auto tok = load_tokenizer(kTok512Bin);
  const int space = tok->encode(" ", false).at(0);
  // U+65E5 (E6 97 A5) is not a piece: three byte tokens (id = byte + 3) after the dummy prefix.
  const std::vector<int> expected{space, 0xE6 + 3, 0x97 + 3, 0xA5 + 3};
  EXPECT_EQ(tok->encode("\xE6\x97\xA5", false), expected);
  EXPECT_EQ(tok->decode(tok->encode("\xE6\x97\xA5", true)), "\xE6\x97\xA5");
}

TEST(Tokenizer, Llama2cMatchesSentencePieceOnStories) {
  auto bin = load_tokenizer(kTok512Bin);
  auto spm = load_tokenizer(kTok512Model);
  const auto s = stories();
  ASSERT_EQ(s.size(), 5u);
  for (size_t i = 0; i < s.size(); ++i) {
    const auto a = bin->encode(s[i], true);
    EXPECT_GT(a.size(), 100u);
    EXPECT_EQ(a, spm->encode(s[i], true)) << "story " << i;
  }
}

// SOURCES.md: 5 stories, each with BOS, 1804 predicted tokens (sum of len(ids) - 1).
TEST(Tokenizer, Llama2cGoldenPredictedTokenCount) {
  auto tok = load_tokenizer(kTok512Bin);
  size_t predicted = 0;
  for (const auto& story : stories()) predicted += tok->encode(story, true).size() - 1;
  EXPECT_EQ(predicted, 1804u);
}

// tok512.model keeps SentencePiece's default remove_extra_whitespaces: its normalizer drops leading
// and trailing spaces and collapses runs, while llama2.c's encoder keeps every space. Each
// wiki.test.raw line starts and ends with a space, so the two agree on the line with those
// stripped (the first 200 lines have no inner runs; 59 of them have non-ASCII characters).
TEST(Tokenizer, Llama2cMatchesSentencePieceOnWikitext) {
  auto bin = load_tokenizer(kTok512Bin);
  auto spm = load_tokenizer(kTok512Model);
  const auto lines = wiki_lines(200);
  ASSERT_EQ(lines.size(), 200u);
  size_t non_ascii = 0;
  for (const auto& line : lines) {
    const std::string text = strip(line);
    ASSERT_EQ(text.find("  "), std::string::npos);
    non_ascii += !is_ascii(text);
    EXPECT_EQ(bin->encode(text, true), spm->encode(text, true)) << text;
  }
  EXPECT_GT(non_ascii, 10u);
}

TEST(Tokenizer, SentencePieceCollapsesWhitespaceLlama2cDoesNot) {
  auto bin = load_tokenizer(kTok512Bin);
  auto spm = load_tokenizer(kTok512Model);
  EXPECT_EQ(spm->encode("a  b ", true), spm->encode("a b", true));
  EXPECT_NE(bin->encode("a  b ", true), bin->encode("a b", true));
  EXPECT_EQ(bin->decode(bin->encode("a  b ", true)), "a  b ");
}

TEST(Tokenizer, Llama2cMatchesPythonReference) {
  TempDir dir;
  std::vector<std::string> inputs = {
      "",
      "Hello world",
      "Once upon a time, there was a little girl named Lily.",
      "  leading, trailing and  double  spaces  ",
      "tabs\tand\nnewlines\r\n",
      "Gr\xC3\xB6\xC3\x9F"
      "e, caf\xC3\xA9, \xE6\x97\xA5\xE6\x9C\xAC, \xF0\x9F\x99\x82 and \xE2\x80\x9Cquotes\xE2\x80\x9D",
      "invalid \xFF\xFE utf-8 \xC3( and a lone continuation \x80\x80\x80\x80\x80 byte run",
      "digits 0123456789 and punctuation !?;:@#$%^&*()[]{}<>",
  };
  inputs.push_back(stories().at(1));
  inputs.push_back(wiki_lines(200).at(7));
  for (const char* file : {"models/stories260K/tok512.bin", "models/aidreams260K/tok512.bin"}) {
    auto tok = load_tokenizer(shared_path(file));
    const auto ref = run_reference("llama2c_tokenizer_ref.py", shared_path(file), inputs, dir.path);
    ASSERT_EQ(ref.size(), inputs.size());
    for (size_t i = 0; i < inputs.size(); ++i)
      EXPECT_EQ(tok->encode(inputs[i], true), ref[i]) << file << " input " << i;
  }
}

TEST(Tokenizer, Llama2cRoundTrip) {
  auto tok = load_tokenizer(kTok512Bin);
  std::vector<std::string> texts = stories();
  for (const auto& line : wiki_lines(200)) texts.push_back(line);
  texts.push_back("bytes \xFF\xFE\x01 and \xE2\x82\xAC \xF0\x9F\x98\x80");
  for (const auto& text : texts) {
    // With BOS the decoder drops the dummy-prefix space; without BOS it stays.
    EXPECT_EQ(tok->decode(tok->encode(text, true)), text);
    EXPECT_EQ(tok->decode(tok->encode(text, false)), " " + text);
  }
}

// The whole 1.3 MB test set in one call: llama2.c's O(n^2) merge loop would take hours here.
TEST(Tokenizer, Llama2cEncodesWholeWikitextQuickly) {
  auto tok = load_tokenizer(kTok512Bin);
  const std::string text = read_file(shared_path("data/wikitext2_raw/wiki.test.raw"));
  const auto t0 = std::chrono::steady_clock::now();
  const auto ids = tok->encode(text, true);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_GT(ids.size(), text.size() / 4);
  EXPECT_LT(seconds, 15.0);  // ~0.5 s at -O2; generous for sanitizer and debug builds
  EXPECT_EQ(tok->decode(ids), text);
}

// ---- SentencePiece --------------------------------------------------------------------------------

TEST(Tokenizer, SentencePieceBasics) {
  auto tok = load_tokenizer(kTok512Model);
  EXPECT_EQ(tok->kind(), "sentencepiece");
  EXPECT_EQ(tok->vocab_size(), 512);
  EXPECT_EQ(tok->bos_id(), 1);
  EXPECT_EQ(tok->eos_id(), 2);
  const std::string text = "Lily saw a \xE6\x97\xA5 sign.";
  const auto ids = tok->encode(text, true);
  EXPECT_EQ(ids.front(), 1);
  EXPECT_EQ(tok->decode(ids), text);
  std::string joined;
  for (size_t i = 1; i < ids.size(); ++i) joined += tok->decode_token(ids[i - 1], ids[i]);
  EXPECT_EQ(joined, text);
}

// ---- Hugging Face tokenizer.json ------------------------------------------------------------------

// transformers tests/models/qwen2/test_tokenization_qwen2.py: vocabulary, merges and ids as published.
TEST(Tokenizer, HfQwen2MatchesTransformersTest) {
  auto tok = load_tokenizer(source_path("tests/data/qwen2_tiny_tokenizer.json"));
  EXPECT_EQ(tok->kind(), "hf-bpe");
  EXPECT_EQ(tok->bos_id(), -1);
  EXPECT_EQ(tok->eos_id(), 270);
  // The test feeds U+03D2 U+0301 and expects NFC to make it U+03D3; lowbit's NFC is the identity
  // (see tokenizer_bpe.cpp), so the already-composed U+03D3 is fed here: same pieces, same ids.
  const std::string text = "lower lower newer 010;}\n<|endoftext|>\xCF\x93";
  const std::vector<int> expected{75, 78, 86, 260, 259, 260, 220, 77, 68, 86, 260, 220, 15, 16, 15, 266, 270, 267};
  EXPECT_EQ(tok->encode(text, false), expected);
  EXPECT_EQ(tok->encode(text, true), expected);  // Qwen2 has no BOS
  EXPECT_EQ(tok->encode(" ###", false), (std::vector<int>{268, 269}));
  const std::vector<int> ids{259, 260, 270, 271, 26};
  std::string joined;
  for (int id : ids) joined += tok->decode_token(-1, id);
  EXPECT_EQ(joined, " lower<|endoftext|><|im_start|>;");
  EXPECT_EQ(tok->decode(ids), " lower;");  // special tokens dropped
  EXPECT_EQ(tok->decode(tok->encode(text, false)), "lower lower newer 010;}\n\xCF\x93");
}

// transformers tests/models/gpt2/test_tokenization_gpt2.py (add_prefix_space=True).
TEST(Tokenizer, HfGpt2MatchesTransformersTest) {
  auto tok = load_tokenizer(source_path("tests/data/gpt2_tiny_tokenizer.json"));
  EXPECT_EQ(tok->encode("lower newer", false), (std::vector<int>{14, 15, 10, 9, 3, 2, 15}));
  // A byte missing from this toy vocabulary becomes <unk> (19), as tokenizers does with unk_token.
  EXPECT_EQ(tok->encode("lowx", false), (std::vector<int>{14, 19}));
  EXPECT_EQ(tok->bos_id(), -1);
  EXPECT_EQ(tok->eos_id(), 20);
}

// Qwen2's pre-tokenizer regex, read verbatim from the file, against splits worked out by hand:
// letters of any script stay together (with one leading non-letter), digits go one by one.
TEST(Tokenizer, HfQwen2SplitRegexHandChecked) {
  const auto doc = nlohmann::json::parse(read_file(source_path("tests/data/qwen2_tiny_tokenizer.json")));
  const std::string pattern = doc["pre_tokenizer"]["pretokenizers"][0]["pattern"]["Regex"].get<std::string>();
  using V = std::vector<std::string>;
  EXPECT_EQ(regex_split_isolated(pattern,
                                 "Gr\xC3\xB6\xC3\x9F"
                                 "e 2024\xE5\xB9\xB4, na\xC3\xAFve \xCE\x91\xCE\x92\xCE\x93!"),
            (V{"Gr\xC3\xB6\xC3\x9F"
               "e",
               " ", "2", "0", "2", "4", "\xE5\xB9\xB4", ",", " na\xC3\xAFve", " \xCE\x91\xCE\x92\xCE\x93", "!"}));
  EXPECT_EQ(regex_split_isolated(pattern, "I'M here\n\n  x"), (V{"I", "'M", " here", "\n\n", " ", " x"}));
  EXPECT_EQ(regex_split_isolated(pattern, "x\xD9\xA3\xD9\xA4y"),
            (V{"x", "\xD9\xA3", "\xD9\xA4", "y"}));  // Arabic-Indic digits are \p{N}
  // GPT-2's own pattern (ByteLevel use_regex): digits stay together, a space joins the next word.
  const std::string gpt2 = R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";
  EXPECT_EQ(regex_split_isolated(gpt2, "Hello  world 123 don't"), (V{"Hello", " ", " world", " 123", " don", "'t"}));
}

// A byte-level BPE with 400 merges (OPT layout) against GPT-2's encoder.py algorithm in Python.
TEST(Tokenizer, HfBpeMatchesPythonReference) {
  TempDir dir;
  const std::string file = source_path("tests/data/bpe_trained_tokenizer.json");
  auto tok = load_tokenizer(file);
  std::vector<std::string> inputs;
  for (const auto& line : wiki_lines(200))
    if (is_ascii(line)) inputs.push_back(line);
  ASSERT_GT(inputs.size(), 100u);
  for (const auto& story : stories())
    if (is_ascii(story)) inputs.push_back(story);
  inputs.insert(inputs.end(), {"", "a", "   ", "It's 12:34 -- they'll've done it!!\n\n\tok  ", "x</s>y </s> z</s>",
                               "Numbers 1234567890 and   spaces\r\n"});
  const auto ref = run_reference("bpe_ref.py", file, inputs, dir.path);
  ASSERT_EQ(ref.size(), inputs.size());
  for (size_t i = 0; i < inputs.size(); ++i) EXPECT_EQ(tok->encode(inputs[i], false), ref[i]) << inputs[i];
}

TEST(Tokenizer, HfBpeOptStyleBosAndRoundTrip) {
  auto tok = load_tokenizer(source_path("tests/data/bpe_trained_tokenizer.json"));
  EXPECT_EQ(tok->bos_id(), 2);  // </s>, prepended by the TemplateProcessing post-processor
  EXPECT_EQ(tok->eos_id(), 2);
  EXPECT_EQ(tok->vocab_size(), 660);
  const auto ids = tok->encode("Once upon a time", true);
  ASSERT_GT(ids.size(), 1u);
  EXPECT_EQ(ids[0], 2);
  EXPECT_EQ(std::vector<int>(ids.begin() + 1, ids.end()), tok->encode("Once upon a time", false));
  auto qwen = load_tokenizer(source_path("tests/data/qwen2_tiny_tokenizer.json"));
  for (const std::string text : {"Once upon a time, Lily said \xE2\x80\x9Chi\xE2\x80\x9D.\n\n  Bye  ",
                                 "Gr\xC3\xB6\xC3\x9F"
                                 "e \xE6\x97\xA5\xE6\x9C\xAC 2024 \xF0\x9F\x99\x82",
                                 "broken \xFF\xFE utf-8 \xC3( end \x80"}) {
    EXPECT_EQ(tok->decode(tok->encode(text, true)), text);
    EXPECT_EQ(qwen->decode(qwen->encode(text, true)), text);
  }
}

// ---- dispatch and bad input -------------------------------------------------------------------------

TEST(Tokenizer, LoadTokenizerDispatch) {
  TempDir dir;
  const fs::path ckpt = dir.path / "ckpt";
  fs::create_directories(ckpt);
  expect_input_error([&] { load_tokenizer(ckpt.string()); }, {ckpt.string(), "tokenizer.json"});
  fs::copy_file(kTok512Bin, ckpt / "tokenizer.bin");
  EXPECT_EQ(load_tokenizer(ckpt.string())->kind(), "llama2c");
  fs::copy_file(kTok512Model, ckpt / "tokenizer.model");
  EXPECT_EQ(load_tokenizer(ckpt.string())->kind(), "sentencepiece");
  fs::copy_file(source_path("tests/data/qwen2_tiny_tokenizer.json"), ckpt / "tokenizer.json");
  EXPECT_EQ(load_tokenizer(ckpt.string())->kind(), "hf-bpe");
  // Unknown extensions: the content decides.
  fs::copy_file(kTok512Bin, dir.path / "a.dat");
  fs::copy_file(kTok512Model, dir.path / "b.dat");
  fs::copy_file(source_path("tests/data/qwen2_tiny_tokenizer.json"), dir.path / "c.dat");
  EXPECT_EQ(load_tokenizer((dir.path / "a.dat").string())->kind(), "llama2c");
  EXPECT_EQ(load_tokenizer((dir.path / "b.dat").string())->kind(), "sentencepiece");
  EXPECT_EQ(load_tokenizer((dir.path / "c.dat").string())->kind(), "hf-bpe");
}

TEST(Tokenizer, MissingFileIsInputError) {
  expect_input_error([] { load_tokenizer("/nonexistent/dir/tok512.bin"); }, {"/nonexistent/dir/tok512.bin", "no such"});
}

// Byte offset of token `index` in a llama2.c tokenizer file.
size_t llama2c_token_offset(const std::string& bytes, size_t index) {
  size_t off = 4;
  for (size_t i = 0; i < index; ++i) {
    int32_t len;
    std::memcpy(&len, bytes.data() + off + 4, 4);
    off += 8 + static_cast<size_t>(len);
  }
  return off;
}

TEST(Tokenizer, Llama2cBadFilesAreInputErrors) {
  TempDir dir;
  const std::string good = read_file(kTok512Bin);
  ASSERT_EQ(good.size(), 6227u);
  const size_t off37 = llama2c_token_offset(good, 37);
  auto check = [&](const std::string& file, const std::string& bytes, const std::vector<std::string>& parts) {
    const fs::path p = dir.path / file;
    write_file(p, bytes);
    std::vector<std::string> all{p.string()};
    all.insert(all.end(), parts.begin(), parts.end());
    expect_input_error([&] { load_tokenizer(p.string()); }, all);
  };
  // 100 bytes happens to end right after token 6.
  check("cut100.bin", good.substr(0, 100), {"(100 bytes) ends after 7 tokens", "truncated"});
  check("cut_in_token.bin", good.substr(0, off37 + 8 + 1), {"token 37", cat("offset ", off37)});
  check("cut_in_header.bin", good.substr(0, off37 + 5), {"token 37", "truncated"});
  check("tiny.bin", good.substr(0, 2), {"too short"});
  check("header_only.bin", good.substr(0, 4), {"0 tokens"});
  check("few_tokens.bin", good.substr(0, off37), {"37 tokens", "259"});
  std::string neg = good;
  const int32_t minus5 = -5, huge = 99999, zero = 0;
  std::memcpy(neg.data() + off37 + 4, &minus5, 4);
  check("negative.bin", neg, {"token 37", cat("offset ", off37), "negative length -5"});
  std::string big = good;
  std::memcpy(big.data() + off37 + 4, &huge, 4);
  check("huge.bin", big, {cat("token 37 at offset ", off37, ": length 99999 runs past end of file (6227 bytes)")});
  std::string bad_header = good;
  std::memcpy(bad_header.data(), &zero, 4);
  check("bad_header.bin", bad_header, {"max_token_length 0"});
  std::string nan_score = good;
  const float nan = std::numeric_limits<float>::quiet_NaN();
  std::memcpy(nan_score.data() + off37, &nan, 4);
  check("nan.bin", nan_score, {"token 37", "not finite"});
  check("garbage.model", "this is not a protobuf", {"SentencePiece"});
}

TEST(Tokenizer, HfBadFilesAreInputErrors) {
  TempDir dir;
  auto check = [&](const std::string& file, const std::string& text, const std::vector<std::string>& parts) {
    const fs::path p = dir.path / file;
    write_file(p, text);
    std::vector<std::string> all{p.string()};
    all.insert(all.end(), parts.begin(), parts.end());
    expect_input_error([&] { load_tokenizer(p.string()); }, all);
  };
  using nlohmann::json;
  // A valid minimal file; each case breaks one thing in it.
  const json base = json::parse(R"({"pre_tokenizer": {"type": "ByteLevel"},
      "model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2}, "merges": ["a b"]}})");
  ASSERT_NO_THROW(parse_hf_tokenizer_json(base.dump(), "base"));
  auto with = [&](const std::function<void(json&)>& edit) {
    json j = base;
    edit(j);
    return j.dump();
  };
  check("not_json.json", "{\"model\": [1, 2,", {"not valid JSON"});
  check("empty.json", "", {"not valid JSON"});
  check("array.json", "[1, 2]", {"top level", "expected an object"});
  check("no_model.json", with([](json& j) { j.erase("model"); }), {"missing \"model\""});
  check("unknown_merge.json", with([](json& j) { j["model"]["merges"].push_back("a zz"); }),
        {"model.merges[1]", "'zz'", "not in model.vocab"});
  check("merged_missing.json", with([](json& j) { j["model"]["merges"] = json::parse(R"([["b", "a"]])"); }),
        {"model.merges[0]", "'ba'"});
  check("bad_merge.json", with([](json& j) { j["model"]["merges"][0] = "a  b"; }), {"model.merges[0]", "one space"});
  check("bad_merge_shape.json", with([](json& j) { j["model"]["merges"][0] = 5; }), {"model.merges[0]", "number"});
  check("bad_id.json", with([](json& j) { j["model"]["vocab"]["a"] = -4; }), {"model.vocab['a']", "out of range"});
  check("huge_id.json", with([](json& j) { j["model"]["vocab"]["a"] = 3000000000u; }),
        {"model.vocab['a']", "out of range"});
  check("sparse_ids.json", with([](json& j) { j["model"]["vocab"]["a"] = 1000000; }), {"1000000", "dense"});
  check("shared_id.json", with([](json& j) { j["model"]["vocab"]["b"] = 0; }), {"model.vocab", "id 0"});
  check("wordpiece.json", with([](json& j) { j["model"]["type"] = "WordPiece"; }), {"model.type", "WordPiece"});
  check("whitespace.json", with([](json& j) { j["pre_tokenizer"]["type"] = "Whitespace"; }),
        {"pre_tokenizer.type", "Whitespace"});
  check("bad_regex.json", with([](json& j) {
          j["pre_tokenizer"] = json::parse(R"({"type": "Sequence", "pretokenizers": [
              {"type": "Split", "pattern": {"Regex": "(a"}, "behavior": "Isolated"}, {"type": "ByteLevel"}]})");
        }),
        {"pre_tokenizer.pretokenizers[0].pattern.Regex", "cannot compile"});
  check("no_pre.json", with([](json& j) { j.erase("pre_tokenizer"); }), {"pre_tokenizer", "missing"});
  check("nfkc.json", with([](json& j) { j["normalizer"] = {{"type", "NFKC"}}; }), {"normalizer.type", "NFKC"});
  check("bad_template.json", with([](json& j) {
          j["post_processor"] = json::parse(R"({"type": "TemplateProcessing",
              "single": [{"SpecialToken": {"id": "<s>"}}], "special_tokens": {}})");
        }),
        {"post_processor.special_tokens", "<s>"});
}

TEST(Tokenizer, DecodeTokenOutOfRangeIsInputError) {
  for (const std::string& file : {kTok512Bin, kTok512Model, source_path("tests/data/qwen2_tiny_tokenizer.json")}) {
    auto tok = load_tokenizer(file);
    expect_input_error([&] { tok->decode_token(-1, tok->vocab_size()); }, {file, "token id"});
    expect_input_error([&] { tok->decode_token(-1, -7); }, {file, "token id"});
  }
}

}  // namespace
}  // namespace lowbit
