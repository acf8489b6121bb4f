// tests/unit/test_gguf.cpp — the GGUF reader against gguf-py: synthetic files (every metadata value
// type, v2/v3, alignment, tensor infos) and the two real models (every tensor dequantised by gguf-py).
#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <nlohmann/json.hpp>

#include "lowbit/core/error.hpp"
#include "lowbit/core/ggml_blocks.hpp"
#include "lowbit/core/mapped_file.hpp"
#include "lowbit/io/gguf.hpp"
#include "test_gguf_util.hpp"
#include "tolerances.hpp"

namespace lowbit {
namespace {

using json = nlohmann::json;

// Compares one metadata value with gguf_ref.py's record of what it wrote ({type, value, sub_type}).
void expect_value(const GgufFile& f, const std::string& key, const GgufValue& v, GgufType type, const json& val) {
  ASSERT_EQ(v.type, type) << key;
  switch (type) {
    case GgufType::U8: case GgufType::U16: case GgufType::U32: case GgufType::U64:
      EXPECT_EQ(std::get<uint64_t>(v.v), val.get<uint64_t>()) << key;
      break;
    case GgufType::I8: case GgufType::I16: case GgufType::I32: case GgufType::I64:
      EXPECT_EQ(v.as_int(f.path, key), val.get<int64_t>()) << key;
      break;
    case GgufType::F32: case GgufType::F64:
      EXPECT_EQ(v.as_float(f.path, key), val.get<double>()) << key;
      break;
    case GgufType::BOOL: EXPECT_EQ(v.as_bool(f.path, key), val.get<bool>()) << key; break;
    case GgufType::STRING: EXPECT_EQ(v.as_string(f.path, key), val.get<std::string>()) << key; break;
    case GgufType::ARRAY: {
      const auto& a = v.as_array(f.path, key);
      ASSERT_EQ(a.size(), val.size()) << key;
      for (size_t i = 0; i < a.size(); ++i) {
        GgufType et = v.elem_type;
        EXPECT_EQ(a[i].type, et) << key << "[" << i << "]";
        if (et == GgufType::ARRAY) {
          // gguf-py writes inner arrays with the element type of their first item (int -> i32).
          const auto& inner = a[i].as_array(f.path, key);
          ASSERT_EQ(inner.size(), val[i].size());
          for (size_t j = 0; j < inner.size(); ++j) {
            const GgufType it = val[i][j].is_string() ? GgufType::STRING : GgufType::I32;
            EXPECT_EQ(a[i].elem_type, it);
            expect_value(f, key, inner[j], it, val[i][j]);
          }
        } else {
          expect_value(f, key, a[i], et, val[i]);
        }
      }
      break;
    }
  }
}

TEST(GgufSynth, MetadataAndTensorInfos) {
  test::require_venv();
  const std::string dir = test::gguf_synth_dir();
  ASSERT_FALSE(dir.empty());
  const json e = json::parse(read_file(dir + "/expect.json"));
  for (const std::string fname : {"synth.gguf", "synth_v2.gguf", "aligned64.gguf"}) {
    SCOPED_TRACE(fname);
    const json& fe = e["files"][fname];
    auto f = read_gguf(dir + "/" + fname);
    EXPECT_EQ(f->version, fe["version"].get<uint32_t>());
    EXPECT_EQ(f->alignment, fe["alignment"].get<uint64_t>());
    EXPECT_EQ(f->data_offset % f->alignment, 0u);
    ASSERT_EQ(f->kv.size(), fe["kv"].size());
    ASSERT_EQ(f->kv_order.size(), f->kv.size());
    for (const auto& [key, ve] : fe["kv"].items()) {
      ASSERT_TRUE(f->has(key)) << key;
      const GgufValue& v = f->at(key);
      expect_value(*f, key, v, GgufType(ve["type"].get<uint32_t>()), ve["value"]);
      if (ve.contains("sub_type")) EXPECT_EQ(v.elem_type, GgufType(ve["sub_type"].get<uint32_t>())) << key;
    }
    const auto& tes = fe["tensors"];
    ASSERT_EQ(f->tensors.size(), tes.size());
    for (size_t i = 0; i < tes.size(); ++i) {
      const GgufTensorInfo& t = f->tensors[i];
      EXPECT_EQ(t.name, tes[i]["name"].get<std::string>());
      EXPECT_EQ(t.ggml_type, tes[i]["type"].get<uint32_t>()) << t.name;
      EXPECT_EQ(ggml_type_name(t.ggml_type), tes[i]["type_name"].get<std::string>()) << t.name;
      EXPECT_EQ(t.shape, tes[i]["shape"].get<std::vector<int64_t>>()) << t.name;
      EXPECT_EQ(t.nbytes, tes[i]["nbytes"].get<uint64_t>()) << t.name;
      EXPECT_EQ(f->data_offset + t.offset, tes[i]["abs_offset"].get<uint64_t>()) << t.name;
    }
  }
}

TEST(GgufSynth, ParseFromMemoryAndTensorRef) {
  test::require_venv();
  const std::string dir = test::gguf_synth_dir();
  ASSERT_FALSE(dir.empty());
  auto bytes = std::make_shared<std::string>(read_file(dir + "/synth.gguf"));
  auto f = parse_gguf(*bytes, "mem.gguf", bytes);
  auto g = read_gguf(dir + "/synth.gguf");
  ASSERT_EQ(f->tensors.size(), g->tensors.size());
  EXPECT_EQ(f->kv_order, g->kv_order);
  EXPECT_EQ(f->at("general.architecture").as_string(f->path, "general.architecture"), "lowbittest");
  const GgufTensorInfo* ti = f->find_tensor("q4_k.rand");
  ASSERT_NE(ti, nullptr);
  TensorRef r = f->tensor_ref(*ti);
  EXPECT_EQ(r.dtype, DType::Q4_K);
  EXPECT_EQ(r.shape, (std::vector<int64_t>{3, 512}));
  EXPECT_EQ(r.nbytes, 3u * 2 * 144);
  EXPECT_EQ(r.file, "mem.gguf");
  EXPECT_EQ(std::memcmp(r.data, g->tensor_ref(*g->find_tensor("q4_k.rand")).data, r.nbytes), 0);
  // the mapping outlives the file object through the view
  f.reset();
  bytes.reset();
  EXPECT_EQ(r.to_f32(false).numel(), 3 * 512);
  EXPECT_EQ(g->find_tensor("nope"), nullptr);
  try {
    g->at("no.such.key");
    FAIL();
  } catch (const InputError& err) {
    EXPECT_NE(std::string(err.what()).find("missing metadata key 'no.such.key'"), std::string::npos) << err.what();
  }
  // typed access names the file and the key
  try {
    g->at("test.string").as_int(g->path, "test.string");
    FAIL();
  } catch (const InputError& err) {
    EXPECT_NE(std::string(err.what()).find("synth.gguf: metadata key 'test.string' is string"), std::string::npos)
        << err.what();
  }
}

TEST(GgufSynth, UnsupportedTypesNamed) {
  test::require_venv();
  const std::string dir = test::gguf_synth_dir();
  ASSERT_FALSE(dir.empty());
  auto f = read_gguf(dir + "/synth.gguf");  // the file itself is valid
  for (const auto& [name, type] : {std::pair<std::string, std::string>{"mxfp4.quant", "MXFP4"}, {"tq2_0.quant", "TQ2_0"}}) {
    const GgufTensorInfo* ti = f->find_tensor(name);
    ASSERT_NE(ti, nullptr) << name;
    try {
      f->tensor_ref(*ti);
      FAIL() << name;
    } catch (const InputError& err) {
      const std::string m = err.what();
      EXPECT_NE(m.find(dir + "/synth.gguf: tensor '" + name + "': ggml type " + type), std::string::npos) << m;
      EXPECT_EQ(m.find('\n'), std::string::npos) << m;
    }
  }
}

// ---- the real models ----

struct RealCase {
  const char* file;
  const char* arch;
};

void check_real_per_type(const RealCase& rc) {
  test::require_venv();
  const std::string model = test::real_model(rc.file);
  test::require_model(model);
  const std::string dir = test::gguf_real_ref(model, 2);
  ASSERT_FALSE(dir.empty());
  const json e = json::parse(read_file(dir + "/ref.json"));
  auto f = read_gguf(model);
  EXPECT_EQ(f->tensors.size(), e["n_tensors"].get<size_t>());
  EXPECT_EQ(f->kv.size(), e["n_kv"].get<size_t>());
  EXPECT_EQ(f->at("general.architecture").as_string(f->path, "general.architecture"), rc.arch);
  std::map<std::string, int> types;
  for (const auto& te : e["tensors"]) {
    const std::string name = te["name"];
    SCOPED_TRACE(name);
    const GgufTensorInfo* ti = f->find_tensor(name);
    ASSERT_NE(ti, nullptr);
    EXPECT_EQ(ti->shape, te["shape"].get<std::vector<int64_t>>());
    const Tensor t = f->tensor_ref(*ti).to_f32();
    const std::vector<float> ref = test::read_f32_file(dir + "/" + te["ref"].get<std::string>());
    ASSERT_EQ(size_t(std::min<int64_t>(t.numel(), 1 << 20)), ref.size());  // gguf_ref.py RAW_MAX
    size_t bad = 0;
    for (size_t i = 0; i < ref.size(); ++i) bad += std::memcmp(&ref[i], &t.data[i], 4) != 0;
    EXPECT_EQ(bad, 0u) << te["type_name"] << ": elements differing from gguf-py";
    EXPECT_EQ(test::hex64(test::weighted_hash(t.ptr(), size_t(t.numel()))),
              test::hex64(std::stoull(te["hash"].get<std::string>())));
    ++types[te["type_name"].get<std::string>()];
  }
  EXPECT_GE(types.size(), 2u);
}

void check_real_all(const RealCase& rc) {
  test::require_venv();
  const std::string model = test::real_model(rc.file);
  test::require_model(model);
  const std::string dir = test::gguf_real_ref(model, 0);
  ASSERT_FALSE(dir.empty());
  const json e = json::parse(read_file(dir + "/ref.json"));
  auto f = read_gguf(model);
  ASSERT_EQ(f->tensors.size(), e["tensors"].size());
  for (const auto& te : e["tensors"]) {
    const std::string name = te["name"];
    const GgufTensorInfo* ti = f->find_tensor(name);
    ASSERT_NE(ti, nullptr) << name;
    const Tensor t = f->tensor_ref(*ti).to_f32();
    double sum = 0;
    for (float x : t.data) sum += x;
    EXPECT_EQ(test::hex64(test::weighted_hash(t.ptr(), size_t(t.numel()))),
              test::hex64(std::stoull(te["hash"].get<std::string>())))
        << name << " (" << te["type_name"] << "): dequantised values differ from gguf-py";
    // numpy sums pairwise, we sequentially: same values, sums agree to rounding only
    EXPECT_NEAR(sum, te["sum"].get<double>(), tol::kSumOrderRel * (1 + std::abs(sum))) << name;
  }
}

TEST(GgufReal, SmolLM2FewTensorsPerType) { check_real_per_type({test::kSmolLM2, "llama"}); }
TEST(GgufReal, Gemma3FewTensorsPerType) { check_real_per_type({test::kGemma3, "gemma3"}); }
TEST(GgufRealAll, SmolLM2EveryTensor) { check_real_all({test::kSmolLM2, "llama"}); }
TEST(GgufRealAll, Gemma3EveryTensor) { check_real_all({test::kGemma3, "gemma3"}); }

}  // namespace
}  // namespace lowbit
