// tests/unit/test_tokenizer_gguf.cpp — tokenizers read from GGUF metadata, against llama.cpp.
// defines: TEST(GgufTokenizer, *)
//
// Independent reference: llama.cpp itself, through llama-cpp-python (tests/data/llama_tokenize.py,
// run with the venv python of .ci/models): llama_tokenize(add_special = false, parse_special = false)
// ids and llama_detokenize(remove_special = true) text for the same bytes, cached under
// $LOWBIT_CACHE/tokref by (model sha256, text sha256, llama-cpp-python version). Corpora: the
// WikiText-2 test set and the TinyStories sample (../shared/data), each as one document, and edge
// cases; for both real models (SmolLM2-135M: gpt2 BPE, pre "smollm"; Gemma-3-270M: llama/SPM), and
// SmolLM2's vocabulary re-labelled with the "gpt-2" and "default" pre-tokenizers.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "lowbit/core/error.hpp"
#include "lowbit/io/gguf.hpp"
#include "lowbit/io/tokenizer.hpp"
#include "lowbit/io/tokenizer_impl.hpp"
#include "paths.hpp"

namespace lowbit {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("test: cannot open " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string hex(std::string_view s) {
  static constexpr char d[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 * s.size());
  for (unsigned char c : s) {
    out += d[c >> 4];
    out += d[c & 15];
  }
  return out;
}

std::string unhex(const std::string& h) {
  std::string out;
  for (size_t i = 0; i + 1 < h.size(); i += 2) out += static_cast<char>(std::stoi(h.substr(i, 2), nullptr, 16));
  return out;
}

// The real model, or a failure naming the set-up command.
std::string need_model(const char* file) {
  const std::string p = test::real_model(file);
  if (!fs::exists(p)) ADD_FAILURE() << p << " is missing: run `bash .ci/models`";
  return p;
}

struct Ref {
  std::vector<int> ids;
  std::string text;  // llama_detokenize(ids)
};
struct RefSet {
  json vocab;
  std::vector<Ref> results;
};

// llama.cpp's ids for each text (cached); fails the test when the venv is missing.
RefSet llama_reference(const std::string& model, const std::vector<std::string>& texts) {
  RefSet out;
  const std::string py = test::venv_python();
  if (!fs::exists(py)) {
    ADD_FAILURE() << py << " is missing: run `bash .ci/models` (it builds llama-cpp-python)";
    return out;
  }
  const std::string dir = test::tmpdir("tokgguf");
  json in = json::array();
  for (const auto& t : texts) in.push_back(hex(t));
  std::ofstream(dir + "/in.json") << in.dump();
  const std::string cmd = "'" + py + "' '" + test::source("tests/data/llama_tokenize.py") + "' '" + model + "' '" +
                          dir + "/in.json' '" + dir + "/out.json' 2> '" + dir + "/err.txt'";
  if (std::system(cmd.c_str()) != 0) {
    std::string err;
    try {
      err = read_all(dir + "/err.txt");
    } catch (...) {
    }
    ADD_FAILURE() << "llama_tokenize.py failed (needs llama-cpp-python from `bash .ci/models`): " << cmd << "\n"
                  << err.substr(err.size() > 2000 ? err.size() - 2000 : 0);
    return out;
  }
  const json j = json::parse(read_all(dir + "/out.json"));
  out.vocab = j.at("vocab");
  for (const auto& r : j.at("results")) out.results.push_back({r.at("ids").get<std::vector<int>>(), unhex(r.at("text_hex"))});
  EXPECT_EQ(out.results.size(), texts.size());
  return out;
}

std::vector<std::string> edge_cases() {
  return {
      "",
      " ",
      "  ",
      "     ",
      "\n",
      "\n\n",
      "\n\n\n \n",
      "\t",
      "\t\t x",
      " \t\n \r\n",
      "Hello world",
      " Hello world",
      "Hello  world   !  ",
      "hello\nworld\n",
      "12345",
      "1234567890 3.14159 -42 1,000,000 2024-01-31",
      "\xD9\xA3\xD9\xA4\xD9\xA5 \xD9\xA6 \xE2\x85\xAB \xC2\xBD \xC2\xB2",  // Arabic-Indic digits, Roman XII, 1/2, superscript 2
      "I'm you're we've they'll he'd it's DON'T O'Neil 'quoted' ''",
      "na\xC3\xAFve caf\xC3\xA9 r\xC3\xA9sum\xC3\xA9 Z\xC3\xBCrich \xC3\x85ngstr\xC3\xB6m",
      "\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E\xE3\x81\xAE\xE3\x83\x86\xE3\x82\xAD\xE3\x82\xB9\xE3\x83\x88 \xE4\xB8\xAD\xE6\x96\x87 "
      "\xED\x95\x9C\xEA\xB5\xAD\xEC\x96\xB4",  // Japanese, Chinese, Korean
      "emoji \xF0\x9F\x98\x80\xF0\x9F\x91\x8D\xF0\x9F\x8F\xBD \xF0\x9F\x87\xA9\xF0\x9F\x87\xAA \xE2\x9D\xA4\xEF\xB8\x8F!",
      "<|endoftext|> <|im_start|>user\nhi<|im_end|>",
      "<bos><eos> <start_of_turn>user\n<end_of_turn> </s> <b>bold</b>  <table><tr> [multimodal]",
      "    indented()\n\tif x:\n\t\treturn y\n",
      "a  b   c    d\t\te",
      "nbsp\xC2\xA0" "em\xE2\x80\x83" "ideo\xE3\x80\x80" "end",
      "~!@#$%^&*()_+`-={}[]|\\:;\"'<>,.?/",
      "e\xCC\x81 x\xCC\x81\xCC\xA3 combining",
      "\xFF\xFE invalid \xC3 utf8 \xED\xA0\x80 \xF8\x88\x80\x80",
      std::string("zero\0byte", 9),
      "\xC3\xBF \xC4\x80 \xC4\xA0\xC4\x8A byte-level look-alikes",
      "\xE2\x96\x81 U+2581 lower one eighth block",
      "ABCdefGHI camelCaseWords snake_case_words",
      " = = Heading = = \n @-@ wikitext @,@ 1 @.@ 5 \n",
      "End with space ",
  };
}

bool valid_utf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    const auto b = static_cast<unsigned char>(s[i]);
    const size_t n = b < 0x80 ? 1 : (b >> 5) == 6 ? 2 : (b >> 4) == 14 ? 3 : (b >> 3) == 30 ? 4 : 0;
    if (n == 0 || i + n > s.size()) return false;
    for (size_t k = 1; k < n; ++k)
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
    if (n == 3 && b == 0xED && static_cast<unsigned char>(s[i + 1]) >= 0xA0) return false;  // surrogate
    i += n;
  }
  return true;
}

struct Tally {
  size_t texts = 0, tokens = 0, mismatched_texts = 0;
  double encode_s = 0;  // lowbit's encode() time over all texts
};

// Compares lowbit with llama.cpp on `texts`; returns counts. `round_trip`: decode(encode(t)) == t
// for valid UTF-8 without U+2581 (which SPM decodes as a space).
Tally compare(const Tokenizer& tok, const std::vector<std::string>& texts, const RefSet& ref, const std::string& what,
              bool round_trip) {
  Tally t;
  if (ref.results.size() != texts.size()) return t;
  for (size_t i = 0; i < texts.size(); ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    const std::vector<int> ids = tok.encode(texts[i], false);
    t.encode_s += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const Ref& r = ref.results[i];
    ++t.texts;
    t.tokens += r.ids.size();
    const std::string label = what + " text " + std::to_string(i) + " (" + std::to_string(texts[i].size()) + " bytes)";
    if (ids != r.ids) {
      ++t.mismatched_texts;
      size_t k = 0;
      while (k < ids.size() && k < r.ids.size() && ids[k] == r.ids[k]) ++k;
      ADD_FAILURE() << label << ": lowbit " << ids.size() << " ids, llama.cpp " << r.ids.size()
                    << "; first difference at " << k << " (lowbit "
                    << (k < ids.size() ? std::to_string(ids[k]) : "end") << ", llama.cpp "
                    << (k < r.ids.size() ? std::to_string(r.ids[k]) : "end") << ")"
                    << (texts[i].size() < 200 ? "; text hex " + hex(texts[i]) : "");
    }
    EXPECT_EQ(hex(tok.decode(r.ids)), hex(r.text)) << label << ": decode differs from llama_detokenize";
    if (round_trip && valid_utf8(texts[i]) && texts[i].find("\xE2\x96\x81") == std::string::npos)
      EXPECT_EQ(hex(tok.decode(ids)), hex(texts[i])) << label << ": decode(encode(text)) != text";
  }
  return t;
}

void report(const std::string& what, const Tally& t) {
  std::printf("[gguf-tok] %-28s %5zu texts, %8zu llama.cpp tokens compared, %zu texts differ\n", what.c_str(),
              t.texts, t.tokens, t.mismatched_texts);
  ::testing::Test::RecordProperty(what + "_tokens", std::to_string(t.tokens));
  ::testing::Test::RecordProperty(what + "_mismatched_texts", std::to_string(t.mismatched_texts));
}

// One model end to end: metadata as llama.cpp reads it, edge cases, TinyStories, WikiText-2.
void check_model(const char* file, const std::string& kind, bool round_trip) {
  const std::string model = need_model(file);
  if (::testing::Test::HasFailure()) return;
  EXPECT_EQ(find_tokenizer_for(model), model);
  const auto t0 = std::chrono::steady_clock::now();
  const auto tok = load_tokenizer(model);
  const double load_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_EQ(tok->kind(), kind);

  const std::string wiki = read_all(test::shared("data/wikitext2_raw/wiki.test.raw"));
  const std::string stories = read_all(test::shared("data/tinystories_sample/tinystories_sample.txt"));
  std::vector<std::string> texts = edge_cases();
  const size_t n_edge = texts.size();
  texts.push_back(stories);
  texts.push_back(wiki);
  const RefSet ref = llama_reference(model, texts);
  if (::testing::Test::HasFailure()) return;

  EXPECT_EQ(tok->vocab_size(), ref.vocab.at("n_tokens").get<int>());
  EXPECT_EQ(tok->bos_id(), ref.vocab.at("bos").get<int>());
  EXPECT_EQ(tok->eos_id(), ref.vocab.at("eos").get<int>());
  EXPECT_EQ(tok->adds_bos(), ref.vocab.at("add_bos").get<bool>());
  // encode(text, true) prepends BOS exactly when llama.cpp's add_special would.
  const std::vector<int> with_bos = tok->encode("Hello", true), without = tok->encode("Hello", false);
  EXPECT_EQ(with_bos.size(), without.size() + (tok->adds_bos() ? 1 : 0));
  if (tok->adds_bos()) EXPECT_EQ(with_bos.front(), tok->bos_id());

  RefSet edge{ref.vocab, {ref.results.begin(), ref.results.begin() + std::ptrdiff_t(n_edge)}};
  report(kind + " edge cases", compare(*tok, {texts.begin(), texts.begin() + std::ptrdiff_t(n_edge)}, edge, "edge",
                                       round_trip));
  report(kind + " TinyStories", compare(*tok, {stories}, {ref.vocab, {ref.results[n_edge]}}, "TinyStories", round_trip));
  const Tally w = compare(*tok, {wiki}, {ref.vocab, {ref.results[n_edge + 1]}}, "WikiText-2", round_trip);
  report(kind + " WikiText-2 test", w);
  const double enc_s = w.encode_s;
  std::printf("[gguf-tok] %s: load %.2f s; WikiText-2 test (%zu bytes, %zu tokens) encoded in %.2f s (%.2f MB/s)\n",
              kind.c_str(), load_s, wiki.size(), w.tokens, enc_s, wiki.size() / enc_s / 1e6);
  ::testing::Test::RecordProperty("wikitext_encode_s", std::to_string(enc_s));
}

TEST(GgufTokenizer, SmolLM2MatchesLlamaCpp) { check_model(test::kSmolLM2, "gguf-bpe", true); }

TEST(GgufTokenizer, Gemma3MatchesLlamaCpp) { check_model(test::kGemma3, "gguf-spm", true); }

// SmolLM2's vocabulary and merges under the "gpt-2" and "default" pre-tokenizers (files written by
// llama_tokenize.py --variant: the same metadata, no tensors), so those splitters are checked too.
TEST(GgufTokenizer, PreTokenizerVariantsMatchLlamaCpp) {
  const std::string model = need_model(test::kSmolLM2);
  if (HasFailure()) return;
  const std::string py = test::venv_python();
  ASSERT_TRUE(fs::exists(py)) << py << " is missing: run `bash .ci/models`";
  const std::string wiki = read_all(test::shared("data/wikitext2_raw/wiki.test.raw")).substr(0, 200000);
  const std::string stories = read_all(test::shared("data/tinystories_sample/tinystories_sample.txt"));
  const std::string dir = test::tmpdir("tokgguf_variant");
  for (const char* pre : {"gpt-2", "default"}) {
    // A stable path, so the cached reference (keyed by the file's sha256) is found again.
    const std::string var = test::model_cache() + "/tokref/SmolLM2-vocab-pre-" + pre + ".gguf";
    if (!fs::exists(var)) {
      fs::create_directories(test::model_cache() + "/tokref");
      const std::string cmd = "'" + py + "' '" + test::source("tests/data/llama_tokenize.py") + "' --variant '" +
                              model + "' '" + var + ".tmp' '" + pre + "' && mv '" + var + ".tmp' '" + var + "'";
      ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
    }
    const auto tok = load_tokenizer(var);
    std::vector<std::string> texts = edge_cases();
    texts.push_back(stories);
    texts.push_back(wiki);
    const RefSet ref = llama_reference(var, texts);
    if (HasFailure()) return;
    // clean_spaces (on for these pre types) makes decode lossy, so no round trip; decode is still
    // compared with llama_detokenize.
    report(std::string("pre ") + pre, compare(*tok, texts, ref, std::string("pre=") + pre, false));
  }
}

// ---- bad input -------------------------------------------------------------------------------------

GgufValue strings(const std::vector<std::string>& v) {
  std::vector<GgufValue> items;
  for (const auto& s : v) items.push_back(GgufValue::make_string(s));
  return GgufValue::make_array(GgufType::STRING, std::move(items));
}

// A small gpt2 tokenizer file: every byte-level character of "abc" plus the merge "a b".
void write_tiny(const std::string& path, const std::string& model, const std::string& pre, int64_t embd_rows) {
  GgufWriter w;
  w.set("general.architecture", GgufValue::make_string("llama"));
  w.set("tokenizer.ggml.model", GgufValue::make_string(model));
  w.set("tokenizer.ggml.pre", GgufValue::make_string(pre));
  w.set("tokenizer.ggml.tokens", strings({"a", "b", "c", "ab"}));
  w.set("tokenizer.ggml.merges", strings({"a b"}));
  if (embd_rows > 0) {
    std::vector<uint8_t> bytes(static_cast<size_t>(embd_rows) * 2 * sizeof(float), 0);
    w.add_tensor("token_embd.weight", 0, {embd_rows, 2}, std::move(bytes));
  }
  w.write(path);
}

template <class F>
std::string input_error(F f) {
  try {
    f();
  } catch (const InputError& e) {
    return e.what();
  }
  return "(no InputError)";
}

TEST(GgufTokenizer, TinyVocabularyEncodes) {
  const std::string dir = test::tmpdir("tokgguf_tiny");
  write_tiny(dir + "/t.gguf", "gpt2", "gpt-2", 4);
  const auto tok = load_tokenizer(dir + "/t.gguf");
  EXPECT_EQ(tok->encode("abc", true), (std::vector<int>{3, 2}));  // "ab" merged; no BOS (add_bos default off)
  EXPECT_EQ(tok->encode("cab", false), (std::vector<int>{2, 3}));
  EXPECT_EQ(tok->encode("a d", false), (std::vector<int>{0}));  // " " and "d" have no token: dropped, as llama.cpp
  EXPECT_EQ(tok->decode({3, 2}), "abc");
  EXPECT_NO_THROW(check_gguf_vocab(*read_gguf(dir + "/t.gguf")));
}

TEST(GgufTokenizer, BadInputNamesFileAndKey) {
  const std::string dir = test::tmpdir("tokgguf_bad");
  write_tiny(dir + "/model.gguf", "bert", "gpt-2", 0);
  std::string e = input_error([&] { load_tokenizer(dir + "/model.gguf"); });
  EXPECT_NE(e.find(dir + "/model.gguf"), std::string::npos) << e;
  EXPECT_NE(e.find("tokenizer.ggml.model 'bert'"), std::string::npos) << e;

  write_tiny(dir + "/pre.gguf", "gpt2", "llama-bpe", 0);
  e = input_error([&] { load_tokenizer(dir + "/pre.gguf"); });
  EXPECT_NE(e.find(dir + "/pre.gguf"), std::string::npos) << e;
  EXPECT_NE(e.find("tokenizer.ggml.pre 'llama-bpe'"), std::string::npos) << e;

  // A vocabulary that disagrees with the embedding (the check the model adapter calls).
  write_tiny(dir + "/rows.gguf", "gpt2", "gpt-2", 5);
  e = input_error([&] { check_gguf_vocab(*read_gguf(dir + "/rows.gguf")); });
  EXPECT_NE(e.find(dir + "/rows.gguf"), std::string::npos) << e;
  EXPECT_NE(e.find("token_embd.weight' has 5 rows"), std::string::npos) << e;
  EXPECT_NE(e.find("4 tokens"), std::string::npos) << e;
  const auto tok = load_tokenizer(dir + "/rows.gguf");
  EXPECT_NO_THROW(check_vocab_rows(*tok, 5, "m", "t"));  // padded embedding: fine
  e = input_error([&] { check_vocab_rows(*tok, 3, "m.safetensors", "model.embed_tokens.weight"); });
  EXPECT_NE(e.find("m.safetensors: tensor 'model.embed_tokens.weight' has 3 rows but the tokenizer has 4"),
            std::string::npos)
      << e;

  // A tokens array of the wrong type.
  GgufWriter w;
  w.set("tokenizer.ggml.model", GgufValue::make_string("gpt2"));
  w.set("tokenizer.ggml.tokens", GgufValue::make_array(GgufType::I32, {GgufValue::make_int(GgufType::I32, 1)}));
  w.write(dir + "/type.gguf");
  e = input_error([&] { load_tokenizer(dir + "/type.gguf"); });
  EXPECT_NE(e.find("tokenizer.ggml.tokens"), std::string::npos) << e;

  // No tokenizer at all.
  GgufWriter w2;
  w2.set("general.architecture", GgufValue::make_string("llama"));
  w2.write(dir + "/none.gguf");
  e = input_error([&] { load_tokenizer(dir + "/none.gguf"); });
  EXPECT_NE(e.find("tokenizer.ggml.model"), std::string::npos) << e;
}

TEST(GgufTokenizer, RealModelsAgreeWithTheirEmbeddings) {
  for (const char* f : {test::kSmolLM2, test::kGemma3}) {
    const std::string p = need_model(f);
    if (HasFailure()) return;
    EXPECT_NO_THROW(check_gguf_vocab(*read_gguf(p))) << p;
  }
}

}  // namespace
}  // namespace lowbit
