// tests/unit/test_tokenizer_export.cpp — the tokenizer written into exported model folders
// (io/tokenizer_export.hpp): copies byte for byte, llama2.c's as tokenizer.bin, GGUF gpt2 vocabularies
// converted to a tokenizer.json that lowbit's reader encodes id for id like the GGUF tokenizer.
// defines: TEST(TokenizerExport, *), TEST(TokenizerExportPeer, *)
//
// Reference for the conversion: lowbit's GGUF tokenizer, which tests/unit/test_tokenizer_gguf.cpp
// checks against llama.cpp itself (0 differences on the same corpora). TokenizerExportPeer needs the
// real SmolLM2 GGUF of .ci/models (label peer); the Hugging Face `tokenizers` library is not in that
// venv, so the converted file is checked with lowbit's tokenizer.json reader only.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "error_of.hpp"
#include "lowbit/core/error.hpp"
#include "lowbit/core/mapped_file.hpp"
#include "lowbit/io/gguf.hpp"
#include "lowbit/io/tokenizer.hpp"
#include "lowbit/io/tokenizer_bpe_core.hpp"
#include "lowbit/io/tokenizer_export.hpp"
#include "lowbit/io/tokenizer_impl.hpp"
#include "paths.hpp"

namespace lowbit {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::string read_all(const std::string& path) { return read_file(path); }  // core/mapped_file.hpp

void write_all(const std::string& path, const std::string& bytes) { std::ofstream(path, std::ios::binary) << bytes; }

const TokenizerFile* file_named(const TokenizerExport& e, const std::string& name) {
  for (const auto& f : e.files)
    if (f.name == name) return &f;
  return nullptr;
}

GgufValue strings(const std::vector<std::string>& v) {
  std::vector<GgufValue> items;
  for (const auto& s : v) items.push_back(GgufValue::make_string(s));
  return GgufValue::make_array(GgufType::STRING, std::move(items));
}
GgufValue ints(const std::vector<int>& v) {
  std::vector<GgufValue> items;
  for (int x : v) items.push_back(GgufValue::make_int(GgufType::I32, x));
  return GgufValue::make_array(GgufType::I32, std::move(items));
}

// A small gpt2 vocabulary: a control token, a user-defined one, the 256 byte-level characters and a
// few merges (letters, a space-word, digits).
void write_tiny_gpt2(const std::string& path, const std::string& pre, bool add_bos) {
  std::vector<std::string> toks = {"<|endoftext|>", "<tag>"};
  std::vector<int> types = {3, 4};
  for (int b = 0; b < 256; ++b) {
    toks.push_back(byte_to_char(static_cast<unsigned char>(b)));
    types.push_back(1);
  }
  const std::string G = byte_to_char(' ');
  const std::vector<std::pair<std::string, std::string>> merges = {
      {"h", "e"}, {"l", "l"}, {"he", "ll"}, {"hell", "o"}, {G, "w"}, {G + "w", "o"}, {"1", "2"}, {"12", "3"}, {"!", "!"}};
  std::vector<std::string> ms;
  for (const auto& [l, r] : merges) {
    toks.push_back(l + r);
    types.push_back(1);
    ms.push_back(l + " " + r);
  }
  GgufWriter w;
  w.set("general.architecture", GgufValue::make_string("llama"));
  w.set("tokenizer.ggml.model", GgufValue::make_string("gpt2"));
  if (!pre.empty()) w.set("tokenizer.ggml.pre", GgufValue::make_string(pre));
  w.set("tokenizer.ggml.tokens", strings(toks));
  w.set("tokenizer.ggml.token_type", ints(types));
  w.set("tokenizer.ggml.merges", strings(ms));
  w.set("tokenizer.ggml.bos_token_id", GgufValue::make_uint(GgufType::U32, 0));
  w.set("tokenizer.ggml.eos_token_id", GgufValue::make_uint(GgufType::U32, 0));
  w.set("tokenizer.ggml.add_bos_token", GgufValue::make_bool(add_bos));
  w.set("tokenizer.chat_template", GgufValue::make_string("{{ messages }}"));
  w.write(path);
}

std::vector<std::string> tiny_texts() {
  return {"", "hello world", "hello  world!!! 12345 1231 ", "<tag>hello<tag> <tag>", "x\n\n  y\t\tz  ",
          "caf\xC3\xA9 na\xC3\xAFve \xE6\x97\xA5\xE6\x9C\xAC 1,000.5", "it's we'll DON'T", "a<tag", "$+<=>^~| ... ???"};
}

TEST(TokenizerExport, TinyGgufGpt2VocabularyEncodesAlike) {
  const std::string dir = test::tmpdir("tokexp_tiny");
  for (const char* pre : {"smollm", "gpt-2", "default"}) {
    for (bool add_bos : {false, true}) {
      SCOPED_TRACE(std::string("pre ") + pre + (add_bos ? ", add_bos" : ""));
      const std::string path = dir + "/tiny-" + pre + (add_bos ? "-bos" : "") + ".gguf";
      write_tiny_gpt2(path, pre, add_bos);
      const TokenizerExport e = prepare_tokenizer_export(path);
      ASSERT_TRUE(e.missing.empty()) << e.missing;
      ASSERT_NE(file_named(e, "tokenizer.json"), nullptr);
      ASSERT_NE(file_named(e, "tokenizer_config.json"), nullptr);
      const auto gguf = load_tokenizer(path);
      const auto hf = parse_hf_tokenizer_json(file_named(e, "tokenizer.json")->bytes, "tokenizer.json");
      EXPECT_EQ(hf->vocab_size(), gguf->vocab_size());
      EXPECT_EQ(hf->adds_bos(), gguf->adds_bos());
      for (const std::string& t : tiny_texts()) {
        EXPECT_EQ(hf->encode(t, false), gguf->encode(t, false)) << "text '" << t << "'";
        EXPECT_EQ(hf->encode(t, true), gguf->encode(t, true)) << "text '" << t << "'";
        // llama.cpp's clean_spaces (every pre here but smollm) makes the GGUF decode lossy; tokenizer.json
        // decodes to the text itself.
        if (std::string(pre) == "smollm")
          EXPECT_EQ(hf->decode(hf->encode(t, false)), gguf->decode(gguf->encode(t, false))) << "text '" << t << "'";
        EXPECT_EQ(hf->decode(hf->encode(t, false)), t);
      }
      EXPECT_GT(hf->encode("hello", false).size(), 0u);
      EXPECT_EQ(hf->encode("hello", false).size(), 1u);  // the merges took part
      const json cfg = json::parse(file_named(e, "tokenizer_config.json")->bytes);
      EXPECT_EQ(cfg.at("bos_token"), "<|endoftext|>");
      EXPECT_EQ(cfg.at("eos_token"), "<|endoftext|>");
      EXPECT_EQ(cfg.at("add_bos_token"), add_bos);
      EXPECT_EQ(cfg.at("chat_template"), "{{ messages }}");
      const json tj = json::parse(file_named(e, "tokenizer.json")->bytes);
      ASSERT_EQ(tj.at("added_tokens").size(), 2u);
      EXPECT_EQ(tj["added_tokens"][0].at("special"), true);   // control
      EXPECT_EQ(tj["added_tokens"][1].at("special"), false);  // user-defined: matched in text, printed
    }
  }
}

// A small SentencePiece-style vocabulary: unknown, control, the 256 byte pieces, a user-defined run of
// two spaces (stored with plain spaces, as Gemma's GGUF does) and scored pieces.
TEST(TokenizerExport, TinyGgufSpmVocabularyEncodesAlike) {
  const std::string dir = test::tmpdir("tokexp_spm");
  std::vector<std::string> toks = {"<unk>", "<s>", "</s>", "  "};
  std::vector<int> types = {2, 3, 3, 4};
  std::vector<float> scores = {0, 0, 0, 0};
  static constexpr char hex[] = "0123456789ABCDEF";
  for (int b = 0; b < 256; ++b) {
    toks.push_back(std::string("<0x") + hex[b >> 4] + hex[b & 15] + ">");
    types.push_back(6);
    scores.push_back(0);
  }
  const std::string S = "\xE2\x96\x81";
  for (const std::string& t : {S, std::string("a"), std::string("b"), std::string("ab"), S + "a", S + "ab", S + "b",
                               std::string("ba"), std::string("bab")}) {
    toks.push_back(t);
    types.push_back(1);
    scores.push_back(-float(toks.size()));
  }
  for (bool prefix : {false, true}) {
    SCOPED_TRACE(prefix ? "add_space_prefix" : "no space prefix");
    GgufWriter w;
    w.set("tokenizer.ggml.model", GgufValue::make_string("llama"));
    w.set("tokenizer.ggml.tokens", strings(toks));
    // llama.cpp adds the prefix space after every user-defined token, SentencePiece once: with a
    // prefix space, "  " is a normal token here (never matched: spaces are escaped first).
    std::vector<int> tt = types;
    if (prefix) tt[3] = 1;
    w.set("tokenizer.ggml.token_type", ints(tt));
    std::vector<GgufValue> sc;
    for (float x : scores) sc.push_back(GgufValue::make_float(GgufType::F32, x));
    w.set("tokenizer.ggml.scores", GgufValue::make_array(GgufType::F32, std::move(sc)));
    w.set("tokenizer.ggml.add_space_prefix", GgufValue::make_bool(prefix));
    const std::string path = dir + "/spm" + (prefix ? "1" : "0") + ".gguf";
    w.write(path);
    const TokenizerExport e = prepare_tokenizer_export(path);
    ASSERT_TRUE(e.missing.empty()) << e.missing;
    ASSERT_NE(file_named(e, "tokenizer.model"), nullptr);
    const auto gguf = load_tokenizer(path);
    const auto spm = parse_sentencepiece_model(file_named(e, "tokenizer.model")->bytes, "tokenizer.model");
    EXPECT_EQ(spm->vocab_size(), gguf->vocab_size());
    EXPECT_EQ(spm->bos_id(), gguf->bos_id());
    EXPECT_EQ(spm->eos_id(), gguf->eos_id());
    for (const std::string t : {"ab a", "a  b", "ab  ab   ba", "xyz", "caf\xC3\xA9", " a", "", "b a b a"}) {
      EXPECT_EQ(spm->encode(t, false), gguf->encode(t, false)) << "text '" << t << "'";
      EXPECT_EQ(spm->encode(t, true), gguf->encode(t, true)) << "text '" << t << "'";
    }
    if (prefix) {  // the same with "  " user-defined: refused, saying why
      w.set("tokenizer.ggml.token_type", ints(types));
      w.write(dir + "/spm-ud.gguf");
      const TokenizerExport ud = prepare_tokenizer_export(dir + "/spm-ud.gguf");
      EXPECT_TRUE(ud.files.empty());
      EXPECT_NAMES(ud.missing, "add_space_prefix");
    }
  }
}

// A vocabulary neither format holds exactly: no files, a reason naming the file; writing such an
// export writes nothing.
TEST(TokenizerExport, UnconvertibleGgufGivesNoTokenizerAndSaysWhy) {
  const std::string dir = test::tmpdir("tokexp_none");
  GgufWriter w;  // a repeated piece (llama.cpp maps the text to its last id; SentencePiece refuses it)
  w.set("tokenizer.ggml.model", GgufValue::make_string("llama"));
  w.set("tokenizer.ggml.tokens", strings({"<unk>", "<s>", "</s>", "\xE2\x96\x81" "a", "a", "a"}));
  w.write(dir + "/spm.gguf");
  TokenizerExport e = prepare_tokenizer_export(dir + "/spm.gguf");
  EXPECT_TRUE(e.files.empty());
  EXPECT_NAMES(e.missing, dir + "/spm.gguf");
  EXPECT_NAMES(e.missing, "'a' is both id 4 and id 5");
  write_tokenizer_export(e, dir + "/out");
  EXPECT_FALSE(fs::exists(dir + "/out/tokenizer.model"));

  GgufWriter w2;  // a merge whose result is not a token (llama.cpp merges by text; tokenizer.json cannot)
  w2.set("tokenizer.ggml.model", GgufValue::make_string("gpt2"));
  w2.set("tokenizer.ggml.pre", GgufValue::make_string("gpt-2"));
  std::vector<std::string> toks;
  for (int b = 0; b < 256; ++b) toks.push_back(byte_to_char(static_cast<unsigned char>(b)));
  w2.set("tokenizer.ggml.tokens", strings(toks));
  w2.set("tokenizer.ggml.merges", strings({"a b"}));
  w2.write(dir + "/virt.gguf");
  e = prepare_tokenizer_export(dir + "/virt.gguf");
  EXPECT_TRUE(e.files.empty());
  EXPECT_NAMES(e.missing, dir + "/virt.gguf");
  EXPECT_NAMES(e.missing, "'ab', which is not a token");
}

TEST(TokenizerExport, HfFolderCopiedByteForByte) {
  const std::string src = test::tmpdir("tokexp_hf_src"), out = test::tmpdir("tokexp_hf_out") + "/export";
  const std::string tj = read_all(test::source("tests/data/gpt2_tiny_tokenizer.json"));
  write_all(src + "/tokenizer.json", tj);
  write_all(src + "/tokenizer_config.json", "{\"eos_token\": \"<|endoftext|>\"}\n");
  write_all(src + "/special_tokens_map.json", "{\"bos_token\": \"<|endoftext|>\"}");
  write_all(src + "/merges.txt", "#version: 0.2\nl o\n");
  write_all(src + "/generation_config.json", "{\"eos_token_id\": 20}");
  write_all(src + "/config.json", "{}");  // the model's: not the tokenizer's
  write_all(src + "/README.md", "not a tokenizer file");
  export_tokenizer(find_tokenizer_for(src), out);
  for (const char* f : {"tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "merges.txt",
                        "generation_config.json"}) {
    ASSERT_TRUE(fs::exists(out + "/" + f)) << f;
    EXPECT_EQ(read_all(out + "/" + f), read_all(src + "/" + f)) << f;
  }
  EXPECT_FALSE(fs::exists(out + "/config.json"));
  EXPECT_FALSE(fs::exists(out + "/README.md"));
  EXPECT_EQ(find_tokenizer_for(out), out + "/tokenizer.json");

  // The source folder's tokenizer.model was the one used: the export must not resolve to its json.
  const std::string src2 = test::tmpdir("tokexp_hf_spm"), out2 = test::tmpdir("tokexp_hf_spm_out");
  write_all(src2 + "/tokenizer.model", read_all(test::shared("models/stories260K/tok512.model")));
  write_all(src2 + "/tokenizer.json", tj);
  export_tokenizer(src2 + "/tokenizer.model", out2);
  EXPECT_TRUE(fs::exists(out2 + "/tokenizer.model"));
  EXPECT_FALSE(fs::exists(out2 + "/tokenizer.json"));

  // A tokenizer.json of another name is copied as tokenizer.json.
  const std::string out3 = test::tmpdir("tokexp_hf_named");
  export_tokenizer(test::source("tests/data/gpt2_tiny_tokenizer.json"), out3);
  EXPECT_EQ(read_all(out3 + "/tokenizer.json"), tj);
}

TEST(TokenizerExport, Llama2cCopiedAsTokenizerBin) {
  const std::string out = test::tmpdir("tokexp_l2c");
  const std::string tok = test::source("models/stories260K/tok512.bin");
  const TokenizerExport e = prepare_tokenizer_export(tok);
  ASSERT_EQ(e.files.size(), 1u);
  EXPECT_EQ(e.files[0].name, "tokenizer.bin");
  write_tokenizer_export(e, out);
  EXPECT_EQ(read_all(out + "/tokenizer.bin"), read_all(tok));
  EXPECT_EQ(find_tokenizer_for(out + "/model.safetensors"), out + "/tokenizer.bin");
  const std::string text = read_all(test::source("jobs/data/tinystories_sample.txt"));
  EXPECT_EQ(load_tokenizer(out + "/tokenizer.bin")->encode(text, true), load_tokenizer(tok)->encode(text, true));
}

TEST(TokenizerExport, ErrorsNameTheFileAndLeaveNothing) {
  const std::string dir = test::tmpdir("tokexp_err");
  std::string e = test::error_of<InputError>([&] { prepare_tokenizer_export(dir + "/none.json"); });
  EXPECT_NAMES(e, dir + "/none.json");
  fs::create_directories(dir + "/empty");
  e = test::error_of<InputError>([&] { prepare_tokenizer_export(dir + "/empty"); });
  EXPECT_NAMES(e, dir + "/empty");

  // The second file cannot be written (a folder holds its name): the first one is removed again.
  const std::string src = dir + "/src";
  fs::create_directories(src);
  write_all(src + "/tokenizer.json", read_all(test::source("tests/data/gpt2_tiny_tokenizer.json")));
  write_all(src + "/tokenizer_config.json", "{}");
  const TokenizerExport ex = prepare_tokenizer_export(src + "/tokenizer.json");
  ASSERT_EQ(ex.files.size(), 2u);
  fs::create_directories(dir + "/out/tokenizer_config.json/x");
  try {
    write_tokenizer_export(ex, dir + "/out");
    ADD_FAILURE() << "no error";
  } catch (const Error& err) {
    const std::string w = err.what();
    EXPECT_NAMES(w, dir + "/out/tokenizer_config.json");
    EXPECT_EQ(w.find('\n'), std::string::npos) << w;
    EXPECT_EQ(err.exit_code(), 2) << w;
  }
  EXPECT_FALSE(fs::exists(dir + "/out/tokenizer.json"));
}

// ---- the real SmolLM2 vocabulary -------------------------------------------------------------------

struct Diff {
  size_t texts = 0, differ = 0, tokens = 0;
};

// Decoding checked: like the GGUF tokenizer's decode, or (where llama.cpp's clean_spaces makes that
// lossy) back to the text itself, or not at all.
enum class Decode { LikeGguf, ToText, None };

Diff compare_ids(const Tokenizer& gguf, const Tokenizer& hf, const std::vector<std::string>& texts,
                 const std::string& what, bool expect_equal, Decode decode = Decode::LikeGguf) {
  Diff d;
  for (size_t i = 0; i < texts.size(); ++i) {
    const std::vector<int> a = gguf.encode(texts[i], false), b = hf.encode(texts[i], false);
    ++d.texts;
    d.tokens += a.size();
    if (a == b) {
      if (!expect_equal) continue;
      if (decode == Decode::LikeGguf) EXPECT_EQ(hf.decode(b), gguf.decode(a)) << what << " text " << i;
      if (decode == Decode::ToText) EXPECT_EQ(hf.decode(b), texts[i]) << what << " text " << i;
      continue;
    }
    ++d.differ;
    size_t k = 0;
    while (k < a.size() && k < b.size() && a[k] == b[k]) ++k;
    if (expect_equal)
      ADD_FAILURE() << what << " text " << i << " (" << texts[i].size() << " bytes): GGUF " << a.size()
                    << " ids, tokenizer.json " << b.size() << "; first difference at " << k;
  }
  std::printf("[tok-export] %-34s %4zu texts, %8zu GGUF tokens, %zu texts differ\n", what.c_str(), d.texts, d.tokens,
              d.differ);
  return d;
}

TEST(TokenizerExportPeer, SmolLM2ConvertedTokenizerJsonEncodesLikeTheGguf) {
  const std::string model = test::real_model(test::kSmolLM2);
  ASSERT_TRUE(fs::exists(model)) << model << " is missing: run `bash .ci/models`";
  const std::string wiki = read_all(test::shared("data/wikitext2_raw/wiki.test.raw"));
  // The sample's documents, as lowbit's perplexity and calibration split them (its <|endoftext|>
  // separators are special text, which the two read differently by design: see below).
  std::vector<std::string> stories;
  {
    const std::string all = read_all(test::shared("data/tinystories_sample/tinystories_sample.txt"));
    const std::string sep = "<|endoftext|>";
    for (size_t a = 0;;) {
      const size_t b = all.find(sep, a);
      stories.push_back(all.substr(a, b == std::string::npos ? std::string::npos : b - a));
      if (b == std::string::npos) break;
      a = b + sep.size();
    }
  }
  ASSERT_GT(stories.size(), 1u);
  // Edge cases (as test_tokenizer_gguf.cpp's) that both must encode alike.
  const std::vector<std::string> edge = {
      "", " ", "     ", "\n\n\n \n", "\t\t x", " \t\n \r\n", "Hello  world   !  ", "hello\nworld\n",
      "1234567890 3.14159 -42 1,000,000 2024-01-31",
      "\xD9\xA3\xD9\xA4\xD9\xA5 \xD9\xA6 \xE2\x85\xAB \xC2\xBD \xC2\xB2",
      "I'm you're we've they'll he'd it's DON'T O'Neil 'quoted' ''",
      "na\xC3\xAFve caf\xC3\xA9 r\xC3\xA9sum\xC3\xA9 Z\xC3\xBCrich \xC3\x85ngstr\xC3\xB6m",
      "\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E \xE4\xB8\xAD\xE6\x96\x87 \xED\x95\x9C\xEA\xB5\xAD\xEC\x96\xB4",
      "emoji \xF0\x9F\x98\x80\xF0\x9F\x91\x8D\xF0\x9F\x8F\xBD \xF0\x9F\x87\xA9\xF0\x9F\x87\xAA \xE2\x9D\xA4\xEF\xB8\x8F!",
      "    indented()\n\tif x:\n\t\treturn y\n", "nbsp\xC2\xA0" "em\xE2\x80\x83" "ideo\xE3\x80\x80" "end",
      "~!@#$%^&*()_+`-={}[]|\\:;\"'<>,.?/", "e\xCC\x81 x\xCC\x81\xCC\xA3 combining", std::string("zero\0byte", 9),
      "\xC3\xBF \xC4\x80 \xC4\xA0\xC4\x8A byte-level look-alikes", "\xE2\x96\x81 U+2581",
      " = = Heading = = \n @-@ wikitext @,@ 1 @.@ 5 \n", "End with space "};
  // Known differences, by design: HF matches special tokens written in the text (what AutoTokenizer
  // and chat templates need), llama.cpp with parse_special = false does not; invalid UTF-8 becomes
  // U+FFFD in llama.cpp, raw bytes in lowbit's tokenizer.json reader (the tokenizers library only
  // takes valid UTF-8).
  const std::vector<std::string> differ_by_design = {"<|im_start|>user\nhi<|im_end|>", "one<|endoftext|>two",
                                                     "\xFF\xFE invalid \xC3 utf8 \xED\xA0\x80"};

  auto f = read_gguf(model);
  for (const char* pre : {"smollm", "gpt-2", "default"}) {
    SCOPED_TRACE(std::string("pre ") + pre);
    f->kv["tokenizer.ggml.pre"] = GgufValue::make_string(pre);  // SmolLM2's own is smollm
    const auto t0 = std::chrono::steady_clock::now();
    const TokenizerExport e = gguf_tokenizer_to_hf(*f);
    const double convert_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    ASSERT_TRUE(e.missing.empty()) << e.missing;
    const TokenizerFile* tj = file_named(e, "tokenizer.json");
    ASSERT_NE(tj, nullptr);
    const auto gguf = parse_gguf_tokenizer(*f);
    const auto hf = parse_hf_tokenizer_json(tj->bytes, "tokenizer.json");
    EXPECT_EQ(hf->vocab_size(), gguf->vocab_size());
    EXPECT_EQ(hf->adds_bos(), gguf->adds_bos());
    std::printf("[tok-export] pre %s: converted in %.2f s, tokenizer.json %zu bytes\n", pre, convert_s, tj->bytes.size());
    const std::string p = std::string("pre ") + pre + ": ";
    const Decode dec = std::string(pre) == "smollm" ? Decode::LikeGguf : Decode::ToText;
    const Diff w = compare_ids(*gguf, *hf, {wiki}, p + "WikiText-2 test", true, dec);
    EXPECT_EQ(w.differ, 0u);
    EXPECT_GT(w.tokens, 250000u);
    EXPECT_EQ(compare_ids(*gguf, *hf, stories, p + "TinyStories sample documents", true, dec).differ, 0u);
    EXPECT_EQ(compare_ids(*gguf, *hf, edge, p + "edge cases", true, dec).differ, 0u);
    EXPECT_EQ(compare_ids(*gguf, *hf, differ_by_design, p + "special text, invalid UTF-8", false).differ,
              differ_by_design.size());
    if (std::string(pre) == "smollm") {
      const json cfg = json::parse(file_named(e, "tokenizer_config.json")->bytes);
      EXPECT_EQ(cfg.at("bos_token"), "<|im_start|>");
      EXPECT_EQ(cfg.at("eos_token"), "<|im_end|>");
      EXPECT_EQ(cfg.at("add_bos_token"), false);
      EXPECT_TRUE(cfg.contains("chat_template"));
      ::testing::Test::RecordProperty("wikitext_tokens", std::to_string(w.tokens));
    }
  }
}

// Gemma 3's SentencePiece-style vocabulary as tokenizer.model, through libsentencepiece.
TEST(TokenizerExportPeer, Gemma3ConvertedTokenizerModelEncodesLikeTheGguf) {
  const std::string model = test::real_model(test::kGemma3);
  ASSERT_TRUE(fs::exists(model)) << model << " is missing: run `bash .ci/models`";
  const std::string wiki = read_all(test::shared("data/wikitext2_raw/wiki.test.raw"));
  const std::string stories = read_all(test::shared("data/tinystories_sample/tinystories_sample.txt"));
  const auto t0 = std::chrono::steady_clock::now();
  const TokenizerExport e = prepare_tokenizer_export(model);
  const double convert_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  ASSERT_TRUE(e.missing.empty()) << e.missing;
  const TokenizerFile* tm = file_named(e, "tokenizer.model");
  ASSERT_NE(tm, nullptr);
  std::printf("[tok-export] Gemma 3: converted in %.2f s, tokenizer.model %zu bytes\n", convert_s, tm->bytes.size());
  const auto gguf = load_tokenizer(model);
  const auto spm = parse_sentencepiece_model(tm->bytes, "tokenizer.model");
  EXPECT_EQ(spm->vocab_size(), gguf->vocab_size());
  EXPECT_EQ(spm->bos_id(), gguf->bos_id());
  EXPECT_EQ(spm->eos_id(), gguf->eos_id());
  EXPECT_EQ(spm->adds_bos(), gguf->adds_bos());
  const std::vector<std::string> edge = {
      "", " ", "     ", "\n\n\n \n", "\t\t x", " \t\n \r\n", "Hello  world   !  ", "hello\nworld\n",
      "1234567890 3.14159 -42 1,000,000", "I'm you're DON'T", "na\xC3\xAFve caf\xC3\xA9",
      "\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E \xE4\xB8\xAD\xE6\x96\x87",
      "emoji \xF0\x9F\x98\x80\xF0\x9F\x91\x8D\xF0\x9F\x8F\xBD", "    indented()\n\tif x:\n\t\treturn y\n",
      "<b>bold</b>  <table><tr>", "~!@#$%^&*()_+`-={}[]|\\:;\"'<>,.?/", " = = Heading = = \n @-@ wikitext @,@ 1 @.@ 5 \n",
      "End with space "};
  EXPECT_EQ(compare_ids(*gguf, *spm, {wiki}, "Gemma 3: WikiText-2 test", true).differ, 0u);
  EXPECT_EQ(compare_ids(*gguf, *spm, {stories}, "Gemma 3: TinyStories sample", true).differ, 0u);
  EXPECT_EQ(compare_ids(*gguf, *spm, edge, "Gemma 3: edge cases", true).differ, 0u);
}

}  // namespace
}  // namespace lowbit
