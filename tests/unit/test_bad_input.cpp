// tests/unit/test_bad_input.cpp — every kind of bad input gives a typed error (exit code 2) whose
// one-line message names the file and the tensor/field: truncated and oversized files, malformed
// safetensors headers, unknown dtypes, shapes disagreeing with config.json, missing tensors, broken
// sharded indexes, missing tokenizers and NaN/Inf weights. The CLI side is tests/cli/bad_input.sh.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>

#include "lowbit/core/error.hpp"
#include "lowbit/core/mapped_file.hpp"
#include "lowbit/io/convert.hpp"
#include "lowbit/io/llama2c.hpp"
#include "lowbit/io/load.hpp"
#include "lowbit/io/safetensors.hpp"
#include "lowbit/io/tokenizer.hpp"
#include "lowbit/model/model.hpp"
#include "error_of.hpp"
#include "paths.hpp"

using namespace lowbit;
namespace fs = std::filesystem;
using nlohmann::json;
using test::error_of;

namespace {


void load_all(const std::string& path) {
  auto m = load_model(path);
  m->materialize_all();  // block tensors are checked (NaN/Inf) when materialised
}

std::string stories_bin() { return test::source("models/stories260K/stories260K.bin"); }

void write_bytes(const std::string& path, const std::string& bytes) { write_file_atomic(path, bytes); }

std::string u64le(uint64_t n) {
  std::string s(8, '\0');
  std::memcpy(s.data(), &n, 8);
  return s;
}

// A safetensors image: 8-byte length, the header text as given, then `data`.
std::string st_image(const std::string& header, const std::string& data) { return u64le(header.size()) + header + data; }

// ---------------------------------------------------------------------------------------------
// llama2.c checkpoints

// Byte offset of a float in stories260K.bin: `floats_before` floats after the 28-byte header.
struct Layout {
  int64_t D, H, L, V, KV;
  int64_t wq(int layer) const { return V * D + L * D + layer * D * D; }
  int64_t rms_final() const { return V * D + L * D + L * D * D + 2 * L * KV * D + L * D * D + L * D + 3 * L * H * D; }
};

Layout stories_layout() {
  std::string bytes = read_file(stories_bin());
  Llama2cHeader h = parse_llama2c_header(bytes, bytes.size(), "stories260K.bin");
  return {h.cfg.dim, h.cfg.hidden_dim, h.cfg.n_layers, h.cfg.vocab_size, h.cfg.kv_dim()};
}

std::string patched_float(const std::string& bytes, int64_t float_index, float v) {
  std::string b = bytes;
  std::memcpy(b.data() + 28 + 4 * float_index, &v, 4);
  return b;
}

TEST(BadInput, Llama2cValidFileLoads) {
  // Positive control for everything below.
  auto m = load_model(stories_bin());
  m->materialize_all();
  EXPECT_EQ(m->cfg.n_layers, 5);
}

TEST(BadInput, Llama2cTruncated) {
  const std::string dir = test::tmpdir("bad_trunc");
  const std::string full = read_file(stories_bin());
  const Layout lay = stories_layout();
  const size_t mid_tensor = size_t(28 + 4 * (lay.wq(2) + 7) + 2);  // inside wq[2], not float-aligned
  for (size_t n : {size_t(0), size_t(10), size_t(27), size_t(28), size_t(1000), mid_tensor, full.size() - 1}) {
    SCOPED_TRACE("truncated to " + std::to_string(n) + " bytes");
    const std::string p = dir + "/trunc_" + std::to_string(n) + ".bin";
    write_bytes(p, full.substr(0, n));
    std::string msg = error_of<InputError>([&] { load_all(p); });
    EXPECT_NAMES(msg, p);
    EXPECT_NAMES(msg, "truncated");
    if (n >= 28) EXPECT_NAMES(msg, std::to_string(full.size()));  // the size the header needs
    else EXPECT_NAMES(msg, "header");
  }
}

TEST(BadInput, Llama2cOversized) {
  const std::string dir = test::tmpdir("bad_over");
  const std::string p = dir + "/over.bin";
  write_bytes(p, read_file(stories_bin()) + std::string(12, '\x7f'));
  std::string msg = error_of<InputError>([&] { load_all(p); });
  EXPECT_NAMES(msg, p);
  EXPECT_NAMES(msg, "oversized");
  EXPECT_NAMES(msg, "12 trailing bytes");
}

TEST(BadInput, Llama2cHeaderZeroOrNegativeDims) {
  const std::string dir = test::tmpdir("bad_dims");
  const std::string full = read_file(stories_bin());
  const char* names[7] = {"dim", "hidden_dim", "n_layers", "n_heads", "n_kv_heads", "vocab_size", "seq_len"};
  for (int field = 0; field < 7; ++field) {
    for (int32_t v : {0, -3}) {
      if (field == 5 && v < 0) continue;  // negative vocab_size means an unshared classifier (valid)
      SCOPED_TRACE(std::string(names[field]) + " = " + std::to_string(v));
      std::string b = full;
      std::memcpy(b.data() + 4 * field, &v, 4);
      const std::string p = dir + "/" + names[field] + std::to_string(v) + ".bin";
      write_bytes(p, b);
      std::string msg = error_of<InputError>([&] { load_all(p); });
      EXPECT_NAMES(msg, p);
      EXPECT_NAMES(msg, names[field]);
      EXPECT_NAMES(msg, std::to_string(v));
    }
  }
}

TEST(BadInput, Llama2cInconsistentHeader) {
  const std::string dir = test::tmpdir("bad_incons");
  std::string b = read_file(stories_bin());
  int32_t kv = 3;  // n_heads 8 is not a multiple of 3
  std::memcpy(b.data() + 16, &kv, 4);
  const std::string p = dir + "/kv3.bin";
  write_bytes(p, b);
  std::string msg = error_of<InputError>([&] { load_all(p); });
  EXPECT_NAMES(msg, p);
  EXPECT_NAMES(msg, "n_kv_heads");
}

TEST(BadInput, Llama2cNaNInWeightNamesTensor) {
  const std::string dir = test::tmpdir("bad_nan");
  const Layout lay = stories_layout();
  const std::string p = dir + "/nan.bin";
  write_bytes(p, patched_float(read_file(stories_bin()), lay.wq(2) + 10, std::numeric_limits<float>::quiet_NaN()));
  std::string msg = error_of<InputError>([&] { load_all(p); });
  EXPECT_NAMES(msg, p);
  EXPECT_NAMES(msg, "'wq[2]'");
  EXPECT_NAMES(msg, "nan");
  EXPECT_NAMES(msg, "index 10");
}

TEST(BadInput, Llama2cInfInWeightNamesTensor) {
  const std::string dir = test::tmpdir("bad_inf");
  const Layout lay = stories_layout();
  const std::string p = dir + "/inf.bin";
  // rms_final_weight is a global tensor: the error comes at load, before any block is used.
  write_bytes(p, patched_float(read_file(stories_bin()), lay.rms_final() + 5, -std::numeric_limits<float>::infinity()));
  std::string msg = error_of<InputError>([&] { load_model(p); });
  EXPECT_NAMES(msg, p);
  EXPECT_NAMES(msg, "'rms_final_weight'");
  EXPECT_NAMES(msg, "inf");
}

TEST(BadInput, ModelPathMissing) {
  const std::string p = test::tmpdir("bad_missing") + "/nope.bin";
  std::string msg = error_of<InputError>([&] { load_model(p); });
  EXPECT_NAMES(msg, p);
  EXPECT_NAMES(msg, "not found");
}

// ---------------------------------------------------------------------------------------------
// safetensors headers

std::string open_st_error_kind_input(const std::string& path) {
  return error_of<InputError>([&] { SafetensorsFile::open(path); });
}

TEST(BadInput, SafetensorsValidImageParses) {
  const std::string dir = test::tmpdir("st_ok");
  SafetensorsWriter w;
  w.add("a", DType::F32, {2, 2}, std::string(16, '\0'));
  w.add("b", DType::U8, {0}, "");
  w.add("c", DType::F16, {3}, std::string(6, '\0'));
  w.write(dir + "/ok.safetensors");
  auto f = SafetensorsFile::open(dir + "/ok.safetensors");
  EXPECT_EQ(f->tensors().size(), 3u);
  EXPECT_EQ(f->tensors().at("c").shape, (std::vector<int64_t>{3}));
}

TEST(BadInput, SafetensorsTruncatedLength) {
  const std::string dir = test::tmpdir("st_trunc");
  for (size_t n : {size_t(0), size_t(5)}) {
    const std::string p = dir + "/t" + std::to_string(n) + ".safetensors";
    write_bytes(p, std::string(n, '\x01'));
    std::string msg = open_st_error_kind_input(p);
    EXPECT_NAMES(msg, p);
    EXPECT_NAMES(msg, "truncated");
  }
}

TEST(BadInput, SafetensorsHeaderLengthPastEnd) {
  const std::string dir = test::tmpdir("st_len");
  const std::string p = dir + "/len.safetensors";
  const std::string h = R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})";
  write_bytes(p, u64le(h.size() + 100) + h + std::string(4, '\0'));
  std::string msg = open_st_error_kind_input(p);
  EXPECT_NAMES(msg, p);
  EXPECT_NAMES(msg, "header length");
  EXPECT_NAMES(msg, "past the end");
}

TEST(BadInput, SafetensorsHeaderLengthAbsurd) {
  const std::string dir = test::tmpdir("st_huge");
  const std::string p = dir + "/huge.safetensors";
  write_bytes(p, u64le(~0ull) + "{}");
  std::string msg = open_st_error_kind_input(p);
  EXPECT_NAMES(msg, p);
  EXPECT_NAMES(msg, "header length");
}

TEST(BadInput, SafetensorsHeaderNotJson) {
  const std::string dir = test::tmpdir("st_json");
  const std::string p = dir + "/notjson.safetensors";
  write_bytes(p, st_image(R"({"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]})", std::string(4, '\0')));
  std::string msg = open_st_error_kind_input(p);
  EXPECT_NAMES(msg, p);
  EXPECT_NAMES(msg, "not valid JSON");
}

TEST(BadInput, SafetensorsHeaderNotObject) {
  const std::string dir = test::tmpdir("st_obj");
  const std::string p = dir + "/array.safetensors";
  write_bytes(p, st_image("[1, 2, 3]", ""));
  std::string msg = open_st_error_kind_input(p);
  EXPECT_NAMES(msg, p);
  EXPECT_NAMES(msg, "not a JSON object");
}

TEST(BadInput, SafetensorsEntryMalformed) {
  const std::string dir = test::tmpdir("st_entry");
  struct Case {
    const char* header;
    const char* says;
  } cases[] = {
      {R"({"w": 5})", "not an object"},
      {R"({"w": {"shape": [1], "data_offsets": [0, 4]}})", "dtype"},
      {R"({"w": {"dtype": "F32", "data_offsets": [0, 4]}})", "shape"},
      {R"({"w": {"dtype": "F32", "shape": [1], "data_offsets": [0]}})", "data_offsets"},
      {R"({"w": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}})", "shape"},
      {R"({"w": {"dtype": "F32", "shape": [1.5], "data_offsets": [0, 4]}})", "shape"},
      {R"({"w": {"dtype": "F32", "shape": [1], "data_offsets": [-4, 4]}})", "data_offsets"},
      {R"({"w": {"dtype": "F32", "shape": [1099511627776, 1099511627776], "data_offsets": [0, 4]}})", "too large"},
      {R"({"__metadata__": {"format": 7}, "w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}})", "format"},
  };
  int i = 0;
  for (const auto& c : cases) {
    SCOPED_TRACE(c.header);
    const std::string p = dir + "/e" + std::to_string(i++) + ".safetensors";
    write_bytes(p, st_image(c.header, std::string(4, '\0')));
    std::string msg = open_st_error_kind_input(p);
    EXPECT_NAMES(msg, p);
    EXPECT_NAMES(msg, c.says);
    if (std::string(c.header).find("__metadata__") == std::string::npos) EXPECT_NAMES(msg, "'w'");
  }
}

TEST(BadInput, SafetensorsUnknownDtype) {
  const std::string dir = test::tmpdir("st_dtype");
  const std::string p = dir + "/q7.safetensors";
  write_bytes(p, st_image(R"({"w": {"dtype": "Q7", "shape": [4], "data_offsets": [0, 4]}})", std::string(4, '\0')));
  std::string msg = open_st_error_kind_input(p);
  EXPECT_NAMES(msg, p);
  EXPECT_NAMES(msg, "'w'");
  EXPECT_NAMES(msg, "unknown dtype 'Q7'");
}

TEST(BadInput, SafetensorsOffsetsReversed) {
  const std::string dir = test::tmpdir("st_rev");
  const std::string p = dir + "/rev.safetensors";
  write_bytes(p, st_image(R"({"w": {"dtype": "F32", "shape": [1], "data_offsets": [4, 0]}})", std::string(8, '\0')));
  std::string msg = open_st_error_kind_input(p);
  EXPECT_NAMES(msg, p);
  EXPECT_NAMES(msg, "'w'");
  EXPECT_NAMES(msg, "reversed");
}

TEST(BadInput, SafetensorsOffsetsPastEnd) {
  const std::string dir = test::tmpdir("st_past");
  const std::string p = dir + "/past.safetensors";
  write_bytes(p, st_image(R"({"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}})", std::string(12, '\0')));
  std::string msg = open_st_error_kind_input(p);
  EXPECT_NAMES(msg, p);
  EXPECT_NAMES(msg, "'w'");
  EXPECT_NAMES(msg, "past the end");
}

TEST(BadInput, SafetensorsOffsetsHuge) {
  // Offsets near 2^64: no wrap-around in begin/end arithmetic.
  const std::string dir = test::tmpdir("st_hugeoff");
  const std::string p = dir + "/hugeoff.safetensors";
  write_bytes(p, st_image(R"({"w": {"dtype": "U8", "shape": [4], "data_offsets": [18446744073709551614, 18446744073709551615]}})",
                          std::string(4, '\0')));
  std::string msg = open_st_error_kind_input(p);
  EXPECT_NAMES(msg, p);
  EXPECT_NAMES(msg, "'w'");
}

TEST(BadInput, SafetensorsOverlappingTensors) {
  const std::string dir = test::tmpdir("st_overlap");
  const std::string p = dir + "/overlap.safetensors";
  write_bytes(p, st_image(R"({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
                              "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}})",
                          std::string(12, '\0')));
  std::string msg = open_st_error_kind_input(p);
  EXPECT_NAMES(msg, p);
  EXPECT_NAMES(msg, "'a'");
  EXPECT_NAMES(msg, "'b'");
  EXPECT_NAMES(msg, "overlap");
}

TEST(BadInput, SafetensorsOverlapAcrossEmptyTensor) {
  // "big" [0, 16) contains "inner" [8, 12); an empty tensor sorted between them must not hide it.
  const std::string dir = test::tmpdir("st_overlap_empty");
  const std::string p = dir + "/overlap_empty.safetensors";
  write_bytes(p, st_image(R"({"big": {"dtype": "U8", "shape": [16], "data_offsets": [0, 16]},
                              "empty": {"dtype": "U8", "shape": [0], "data_offsets": [4, 4]},
                              "inner": {"dtype": "U8", "shape": [4], "data_offsets": [8, 12]}})",
                          std::string(16, '\0')));
  std::string msg = open_st_error_kind_input(p);
  EXPECT_NAMES(msg, p);
  EXPECT_NAMES(msg, "'big'");
  EXPECT_NAMES(msg, "'inner'");
  EXPECT_NAMES(msg, "overlap");
}

TEST(BadInput, SafetensorsByteCountDisagreesWithShape) {
  const std::string dir = test::tmpdir("st_count");
  const std::string p = dir + "/count.safetensors";
  write_bytes(p, st_image(R"({"w": {"dtype": "BF16", "shape": [2, 3], "data_offsets": [0, 8]}})", std::string(8, '\0')));
  std::string msg = open_st_error_kind_input(p);
  EXPECT_NAMES(msg, p);
  EXPECT_NAMES(msg, "'w'");
  EXPECT_NAMES(msg, "[2, 3]");
  EXPECT_NAMES(msg, "needs 12");
}

TEST(BadInput, SafetensorsOversized) {
  // Bytes after the last tensor are not part of any tensor: the reference reader refuses them
  // (MetadataIncompleteBuffer), and so must we: the file is not what its header describes.
  const std::string dir = test::tmpdir("st_oversized");
  const std::string p = dir + "/oversized.safetensors";
  write_bytes(p, st_image(R"({"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}})", std::string(4 + 1000, '\0')));
  std::string msg = open_st_error_kind_input(p);
  EXPECT_NAMES(msg, p);
  EXPECT_NAMES(msg, "1000");
}

// ---------------------------------------------------------------------------------------------
// Hugging Face folders (config.json + safetensors), built from stories260K and then corrupted.

class BadHf : public ::testing::Test {
 protected:
  static std::string& good() {
    static std::string g;
    return g;
  }
  static void SetUpTestSuite() {
    good() = test::tmpdir("bad_hf_good") + "/hf";
    auto m = load_model(stories_bin());
    convert_to_hf(*m, good(), DType::F32);
  }
  // A fresh copy of the valid folder.
  std::string copy(const std::string& name) {
    std::string d = test::tmpdir("bad_hf_" + name) + "/hf";
    fs::copy(good(), d, fs::copy_options::recursive);
    return d;
  }
  static json config(const std::string& d) { return json::parse(read_file(d + "/config.json")); }
  static void set_config(const std::string& d, const json& j) { write_bytes(d + "/config.json", j.dump(2)); }
  // Rewrite model.safetensors as `files` (file name -> tensor names); returns all tensor names.
  static void reshard(const std::string& d, const std::map<std::string, std::vector<std::string>>& files) {
    auto f = SafetensorsFile::open(d + "/model.safetensors");
    for (const auto& [file, names] : files) {
      SafetensorsWriter w;
      for (const auto& n : names) {
        const TensorRef& r = f->tensors().at(n);
        w.add(n, r.dtype, r.shape, std::string(reinterpret_cast<const char*>(r.data), r.nbytes));
      }
      w.write(d + "/" + file + ".new");
    }
    f.reset();
    fs::remove(d + "/model.safetensors");
    for (const auto& [file, names] : files) fs::rename(d + "/" + file + ".new", d + "/" + file);
  }
  static std::vector<std::string> tensor_names(const std::string& d) {
    std::vector<std::string> n;
    auto f = SafetensorsFile::open(d + "/model.safetensors");  // must outlive the loop
    for (const auto& [k, v] : f->tensors()) n.push_back(k);
    return n;
  }
};

TEST_F(BadHf, ValidFolderLoads) {
  auto m = load_model(good());
  m->materialize_all();
  EXPECT_EQ(m->cfg.n_layers, 5);
}

TEST_F(BadHf, MissingConfigJson) {
  std::string d = copy("noconfig");
  fs::remove(d + "/config.json");
  std::string msg = error_of<InputError>([&] { load_all(d); });
  EXPECT_NAMES(msg, d);
  EXPECT_NAMES(msg, "config.json");
}

TEST_F(BadHf, ConfigNotJson) {
  std::string d = copy("cfgjson");
  write_bytes(d + "/config.json", "{\"model_type\": \"llama\", ");
  std::string msg = error_of<InputError>([&] { load_all(d); });
  EXPECT_NAMES(msg, d + "/config.json");
  EXPECT_NAMES(msg, "not valid JSON");
}

TEST_F(BadHf, ConfigNotObject) {
  std::string d = copy("cfgobj");
  write_bytes(d + "/config.json", "[\"llama\"]");
  std::string msg = error_of<InputError>([&] { load_all(d); });
  EXPECT_NAMES(msg, d + "/config.json");
  EXPECT_NAMES(msg, "object");
}

TEST_F(BadHf, UnknownModelType) {
  std::string d = copy("mt");
  json j = config(d);
  j["model_type"] = "gpt_neox";
  set_config(d, j);
  std::string msg = error_of<InputError>([&] { load_all(d); });
  EXPECT_NAMES(msg, d + "/config.json");
  EXPECT_NAMES(msg, "model_type");
  EXPECT_NAMES(msg, "gpt_neox");
}

TEST_F(BadHf, MissingKey) {
  std::string d = copy("key");
  json j = config(d);
  j.erase("hidden_size");
  set_config(d, j);
  std::string msg = error_of<InputError>([&] { load_all(d); });
  EXPECT_NAMES(msg, d + "/config.json");
  EXPECT_NAMES(msg, "'hidden_size'");
}

TEST_F(BadHf, KeyOfWrongType) {
  std::string d = copy("keytype");
  json j = config(d);
  j["num_hidden_layers"] = "five";
  set_config(d, j);
  std::string msg = error_of<InputError>([&] { load_all(d); });
  EXPECT_NAMES(msg, d + "/config.json");
  EXPECT_NAMES(msg, "'num_hidden_layers'");
}

TEST_F(BadHf, NonPositiveConfigValue) {
  std::string d = copy("keyneg");
  json j = config(d);
  j["vocab_size"] = -512;
  set_config(d, j);
  std::string msg = error_of<InputError>([&] { load_all(d); });
  EXPECT_NAMES(msg, d + "/config.json");
  EXPECT_NAMES(msg, "vocab_size");
}

TEST_F(BadHf, ShapeDisagreesWithConfig) {
  std::string d = copy("shape");
  json j = config(d);
  j["intermediate_size"] = j["intermediate_size"].get<int>() + 4;
  set_config(d, j);
  std::string msg = error_of<InputError>([&] { load_all(d); });
  EXPECT_NAMES(msg, d + "/model.safetensors");
  EXPECT_NAMES(msg, "'model.layers.0.mlp.gate_proj.weight'");
  EXPECT_NAMES(msg, "[172, 64]");
  EXPECT_NAMES(msg, "[176, 64]");
}

TEST_F(BadHf, HugeHeadDim) {
  // n_heads x head_dim must not overflow int (it did: the error then claimed the config needs [0, 64]).
  std::string d = copy("headdim");
  json j = config(d);
  j["head_dim"] = 1 << 30;
  set_config(d, j);
  std::string msg = error_of<InputError>([&] { load_all(d); });
  EXPECT_NAMES(msg, d + "/config.json");
  EXPECT_NAMES(msg, "head_dim");
}

TEST_F(BadHf, VocabDisagreesWithConfig) {
  std::string d = copy("vocab");
  json j = config(d);
  j["vocab_size"] = 500;
  set_config(d, j);
  std::string msg = error_of<InputError>([&] { load_all(d); });
  EXPECT_NAMES(msg, d + "/model.safetensors");
  EXPECT_NAMES(msg, "'model.embed_tokens.weight'");
}

TEST_F(BadHf, MissingTensorNamesHfName) {
  std::string d = copy("missing");
  std::vector<std::string> keep;
  for (const auto& n : tensor_names(d))
    if (n != "model.layers.3.self_attn.k_proj.weight") keep.push_back(n);
  reshard(d, {{"model.safetensors", keep}});
  std::string msg = error_of<InputError>([&] { load_all(d); });
  EXPECT_NAMES(msg, d);
  EXPECT_NAMES(msg, "missing tensor 'model.layers.3.self_attn.k_proj.weight'");
}

TEST_F(BadHf, MoreLayersInConfigThanInFile) {
  std::string d = copy("layers");
  json j = config(d);
  j["num_hidden_layers"] = 6;
  set_config(d, j);
  std::string msg = error_of<InputError>([&] { load_all(d); });
  EXPECT_NAMES(msg, d);
  EXPECT_NAMES(msg, "'model.layers.5.");
}

TEST_F(BadHf, TensorWithIntegerDtype) {
  std::string d = copy("intdtype");
  auto f = SafetensorsFile::open(d + "/model.safetensors");
  SafetensorsWriter w;
  for (const auto& [n, r] : f->tensors()) {
    std::string bytes(reinterpret_cast<const char*>(r.data), r.nbytes);
    w.add(n, n == "model.norm.weight" ? DType::I32 : r.dtype, r.shape, bytes);
  }
  f.reset();
  w.write(d + "/model.safetensors");
  std::string msg = error_of<InputError>([&] { load_all(d); });
  EXPECT_NAMES(msg, d + "/model.safetensors");
  EXPECT_NAMES(msg, "'model.norm.weight'");
  EXPECT_NAMES(msg, "I32");
}

TEST_F(BadHf, NaNInSafetensorsWeightNamesHfName) {
  std::string d = test::tmpdir("bad_hf_nan") + "/hf";
  convert_to_hf(*load_model(stories_bin()), d, DType::F16);
  std::string bytes = read_file(d + "/model.safetensors");
  SafetensorsHeader h = parse_safetensors_header(bytes, bytes.size(), "model.safetensors");
  size_t at = 0;
  for (const auto& e : h.entries)
    if (e.name == "model.layers.1.mlp.down_proj.weight") at = h.data_start + e.begin + 2 * 7;  // element 7
  ASSERT_GT(at, 0u);
  bytes[at] = '\x00';
  bytes[at + 1] = '\x7e';  // f16 0x7e00 = NaN
  write_bytes(d + "/model.safetensors", bytes);
  std::string msg = error_of<InputError>([&] { load_all(d); });
  EXPECT_NAMES(msg, d + "/model.safetensors");
  EXPECT_NAMES(msg, "'model.layers.1.mlp.down_proj.weight'");
  EXPECT_NAMES(msg, "index 7");
}

TEST_F(BadHf, ShardedValidFolderLoads) {
  std::string d = copy("shard_ok");
  std::vector<std::string> a, b;
  json wm = json::object();
  for (const auto& n : tensor_names(d)) {
    bool first = n < "model.layers.3";
    (first ? a : b).push_back(n);
    wm[n] = first ? "model-00001-of-00002.safetensors" : "model-00002-of-00002.safetensors";
  }
  reshard(d, {{"model-00001-of-00002.safetensors", a}, {"model-00002-of-00002.safetensors", b}});
  write_bytes(d + "/model.safetensors.index.json", json({{"metadata", json::object()}, {"weight_map", wm}}).dump());
  auto m = load_model(d);
  m->materialize_all();
  EXPECT_EQ(m->cfg.n_layers, 5);
}

TEST_F(BadHf, ShardedIndexPointsToMissingShard) {
  std::string d = copy("shard_missing");
  std::vector<std::string> a, b;
  json wm = json::object();
  for (const auto& n : tensor_names(d)) {
    bool first = n < "model.layers.3";
    (first ? a : b).push_back(n);
    wm[n] = first ? "model-00001-of-00002.safetensors" : "model-00002-of-00002.safetensors";
  }
  reshard(d, {{"model-00001-of-00002.safetensors", a}, {"model-00002-of-00002.safetensors", b}});
  write_bytes(d + "/model.safetensors.index.json", json({{"weight_map", wm}}).dump());
  fs::remove(d + "/model-00002-of-00002.safetensors");
  std::string msg = error_of<Error>([&] { load_all(d); });
  EXPECT_NAMES(msg, "model-00002-of-00002.safetensors");
}

TEST_F(BadHf, ShardedIndexTensorNotInShard) {
  std::string d = copy("shard_notin");
  json wm = json::object();
  for (const auto& n : tensor_names(d)) wm[n] = "model.safetensors";
  wm["model.layers.9.self_attn.q_proj.weight"] = "model.safetensors";
  write_bytes(d + "/model.safetensors.index.json", json({{"weight_map", wm}}).dump());
  std::string msg = error_of<InputError>([&] { load_all(d); });
  EXPECT_NAMES(msg, d + "/model.safetensors.index.json");
  EXPECT_NAMES(msg, "'model.layers.9.self_attn.q_proj.weight'");
  EXPECT_NAMES(msg, "model.safetensors");
}

TEST_F(BadHf, ShardedIndexMalformed) {
  std::string d = copy("shard_bad");
  write_bytes(d + "/model.safetensors.index.json", "{\"weight_map\": [1, 2]}");
  std::string msg = error_of<InputError>([&] { load_all(d); });
  EXPECT_NAMES(msg, d + "/model.safetensors.index.json");
  EXPECT_NAMES(msg, "weight_map");
  write_bytes(d + "/model.safetensors.index.json", "{\"weight_map\": {\"x\": \"../model.safetensors\"}}");
  msg = error_of<InputError>([&] { load_all(d); });
  EXPECT_NAMES(msg, d + "/model.safetensors.index.json");
  EXPECT_NAMES(msg, "weight_map.x");
}

TEST_F(BadHf, NoSafetensorsAtAll) {
  std::string d = copy("nost");
  fs::remove(d + "/model.safetensors");
  std::string msg = error_of<InputError>([&] { load_all(d); });
  EXPECT_NAMES(msg, d);
  EXPECT_NAMES(msg, "model.safetensors");
}

// ---------------------------------------------------------------------------------------------
// Tokenizers

TEST(BadInput, MissingTokenizerFile) {
  const std::string p = test::tmpdir("tok_missing") + "/tok512.bin";
  std::string msg = error_of<InputError>([&] { load_tokenizer(p); });
  EXPECT_NAMES(msg, p);
}

TEST(BadInput, TokenizerFolderWithoutTokenizer) {
  const std::string d = test::tmpdir("tok_none");
  std::string msg = error_of<InputError>([&] { load_tokenizer(d); });
  EXPECT_NAMES(msg, d);
  EXPECT_NAMES(msg, "tokenizer.json");
}

TEST(BadInput, TruncatedTokenizer) {
  const std::string d = test::tmpdir("tok_trunc");
  const std::string full = read_file(test::source("models/stories260K/tok512.bin"));
  for (size_t n : {size_t(0), size_t(2), size_t(100), full.size() / 2}) {
    SCOPED_TRACE("tok512.bin truncated to " + std::to_string(n));
    const std::string p = d + "/tok_" + std::to_string(n) + ".bin";
    write_bytes(p, full.substr(0, n));
    std::string msg = error_of<InputError>([&] { load_tokenizer(p); });
    EXPECT_NAMES(msg, p);
  }
}

}  // namespace
