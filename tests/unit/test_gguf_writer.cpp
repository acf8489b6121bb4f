// tests/unit/test_gguf_writer.cpp — GgufWriter round trips (read back by lowbit and by gguf-py),
// ggml's reference quantisers against gguf.quants.quantize byte for byte, and pack_exact (lowbit's
// RTN grid packed into Q4_0 / Q4_1 / Q8_0 blocks that dequantise to the fake-quantised weights).
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <random>

#include "lowbit/compress/quant.hpp"
#include "lowbit/core/error.hpp"
#include "lowbit/core/ggml_blocks.hpp"
#include "lowbit/core/mapped_file.hpp"
#include "lowbit/io/gguf.hpp"
#include "test_gguf_util.hpp"
#include "tolerances.hpp"

namespace lowbit {
namespace {

using json = nlohmann::json;
namespace fs = std::filesystem;

json gguf_py_dump(const std::string& file, const std::string& dir) {
  const std::string out = dir + "/dump.json";
  const std::string cmd = test::venv_python() + " " + test::source("tests/data/gguf_ref.py") + " dump " + file + " " +
                          out + " > " + dir + "/dump.log 2>&1";
  EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd << "\n" << read_file(dir + "/dump.log");
  return json::parse(read_file(out));
}

std::vector<uint8_t> to_bytes(const std::vector<float>& v) {
  std::vector<uint8_t> b(v.size() * 4);
  std::memcpy(b.data(), v.data(), b.size());
  return b;
}

// A writer holding every metadata type and a few tensors.
GgufWriter sample_writer(uint64_t alignment, std::vector<float>& f32_vals, std::vector<uint8_t>& q8_bytes) {
  GgufWriter w(alignment);
  w.set("general.architecture", GgufValue::make_string("llama"));
  w.set("t.u8", GgufValue::make_uint(GgufType::U8, 255));
  w.set("t.i8", GgufValue::make_int(GgufType::I8, -128));
  w.set("t.u16", GgufValue::make_uint(GgufType::U16, 65535));
  w.set("t.i16", GgufValue::make_int(GgufType::I16, -32768));
  w.set("t.u32", GgufValue::make_uint(GgufType::U32, 4294967295u));
  w.set("t.i32", GgufValue::make_int(GgufType::I32, -2147483647 - 1));
  w.set("t.u64", GgufValue::make_uint(GgufType::U64, 18446744073709551615ull));
  w.set("t.i64", GgufValue::make_int(GgufType::I64, INT64_MIN));
  w.set("t.f32", GgufValue::make_float(GgufType::F32, 0.1));  // stored as f32(0.1)
  w.set("t.f64", GgufValue::make_float(GgufType::F64, 0.1));
  w.set("t.bool", GgufValue::make_bool(true));
  w.set("t.str", GgufValue::make_string("tökens \n and more"));
  std::vector<GgufValue> strs, f32s, nested;
  for (const char* s : {"<s>", "", "\xe2\x96\x81the"}) strs.push_back(GgufValue::make_string(s));
  for (double d : {1.5, -2.25}) f32s.push_back(GgufValue::make_float(GgufType::F32, d));
  for (int i = 0; i < 2; ++i) {
    std::vector<GgufValue> inner;
    for (int j = 0; j <= i; ++j) inner.push_back(GgufValue::make_int(GgufType::I32, 10 * i + j));
    nested.push_back(GgufValue::make_array(GgufType::I32, std::move(inner)));
  }
  w.set("t.arr_str", GgufValue::make_array(GgufType::STRING, std::move(strs)));
  w.set("t.arr_f32", GgufValue::make_array(GgufType::F32, std::move(f32s)));
  w.set("t.arr_nested", GgufValue::make_array(GgufType::ARRAY, std::move(nested)));
  w.set("t.arr_empty", GgufValue::make_array(GgufType::U32, {}));
  w.set("t.u8", GgufValue::make_uint(GgufType::U8, 7));  // set again: keeps its place, new value
  f32_vals.resize(2 * 64);
  for (size_t i = 0; i < f32_vals.size(); ++i) f32_vals[i] = std::sin(float(i)) * 3.f;
  w.add_tensor("w.f32", 0, {2, 64}, to_bytes(f32_vals));
  q8_bytes.resize(2 * 2 * 34);
  quantize_row_q8_0_ref(f32_vals.data(), q8_bytes.data(), 128);
  w.add_tensor("w.q8_0", 8, {2, 64}, q8_bytes);
  Tensor t({3});
  t.data = {1.f, 0.5f, -65504.f};
  w.add_f32("w.f16", t, 1);
  w.add_tensor("w.empty", 0, {0, 4}, {});
  return w;
}

TEST(GgufWriter, RoundTripThroughLowbitAndGgufPy) {
  test::require_venv();
  for (uint64_t alignment : {32u, 64u}) {
    SCOPED_TRACE(alignment);
    const std::string dir = test::tmpdir("gguf_writer_" + std::to_string(alignment));
    std::vector<float> vals;
    std::vector<uint8_t> q8;
    GgufWriter w = sample_writer(alignment, vals, q8);
    const std::string path = dir + "/out.gguf";
    w.write(path);
    for (const auto& e : fs::directory_iterator(dir)) EXPECT_EQ(e.path().filename(), "out.gguf") << "left over";

    auto f = read_gguf(path);
    EXPECT_EQ(f->version, 3u);
    EXPECT_EQ(f->alignment, alignment);
    EXPECT_EQ(f->data_offset % alignment, 0u);
    EXPECT_EQ(f->kv_order.front(), alignment == 32 ? "general.architecture" : "general.alignment");
    EXPECT_EQ(f->at("t.u8").as_int(path, "t.u8"), 7);
    EXPECT_EQ(f->at("t.i8").as_int(path, "t.i8"), -128);
    EXPECT_EQ(std::get<uint64_t>(f->at("t.u64").v), 18446744073709551615ull);
    EXPECT_EQ(f->at("t.i64").as_int(path, "t.i64"), INT64_MIN);
    EXPECT_EQ(f->at("t.f32").as_float(path, "t.f32"), double(0.1f));
    EXPECT_EQ(f->at("t.f64").as_float(path, "t.f64"), 0.1);
    EXPECT_TRUE(f->at("t.bool").as_bool(path, "t.bool"));
    EXPECT_EQ(f->at("t.str").as_string(path, "t.str"), "tökens \n and more");
    EXPECT_EQ(f->at("t.arr_str").as_array(path, "t.arr_str")[2].as_string(path, ""), "\xe2\x96\x81the");
    const auto& nested = f->at("t.arr_nested").as_array(path, "t.arr_nested");
    ASSERT_EQ(nested.size(), 2u);
    EXPECT_EQ(nested[1].as_array(path, "")[1].as_int(path, ""), 11);
    EXPECT_EQ(f->at("t.arr_empty").elem_type, GgufType::U32);
    ASSERT_EQ(f->tensors.size(), 4u);
    for (const auto& t : f->tensors) EXPECT_EQ(t.offset % alignment, 0u) << t.name;
    const Tensor back = f->tensor_ref(*f->find_tensor("w.f32")).to_f32();
    EXPECT_EQ(std::memcmp(back.ptr(), vals.data(), vals.size() * 4), 0);
    const TensorRef q8ref = f->tensor_ref(*f->find_tensor("w.q8_0"));
    EXPECT_EQ(q8ref.dtype, DType::Q8_0);
    EXPECT_EQ(std::memcmp(q8ref.data, q8.data(), q8.size()), 0);
    EXPECT_EQ(f->tensor_ref(*f->find_tensor("w.f16")).to_f32().data[2], -65504.f);
    EXPECT_EQ(f->find_tensor("w.empty")->shape, (std::vector<int64_t>{0, 4}));

    // gguf-py reads the same file
    const json d = gguf_py_dump(path, dir);
    EXPECT_EQ(d["version"], 3);
    EXPECT_EQ(d["alignment"], alignment);
    EXPECT_EQ(d["kv"].size(), f->kv.size());
    EXPECT_EQ(d["kv"]["t.u64"]["value"].get<uint64_t>(), 18446744073709551615ull);
    EXPECT_EQ(d["kv"]["t.i64"]["value"].get<int64_t>(), INT64_MIN);
    EXPECT_EQ(d["kv"]["t.f32"]["value"].get<double>(), double(0.1f));
    EXPECT_EQ(d["kv"]["t.str"]["value"], "tökens \n and more");
    EXPECT_EQ(d["kv"]["t.arr_str"]["value"], json::array({"<s>", "", "\xe2\x96\x81the"}));
    EXPECT_EQ(d["kv"]["t.arr_f32"]["value"], json::array({1.5, -2.25}));
    EXPECT_EQ(d["kv"]["t.arr_nested"]["types"], json::array({9, 9, 5}));
    EXPECT_EQ(d["kv"]["t.u8"]["value"], 7);
    EXPECT_EQ(d["kv"]["t.bool"]["value"], true);
    ASSERT_EQ(d["tensors"].size(), 4u);
    for (const auto& te : d["tensors"]) {
      const GgufTensorInfo* t = f->find_tensor(te["name"]);
      ASSERT_NE(t, nullptr);
      EXPECT_EQ(te["type"].get<uint32_t>(), t->ggml_type);
      EXPECT_EQ(te["shape"].get<std::vector<int64_t>>(), t->shape);
      EXPECT_EQ(te["abs_offset"].get<uint64_t>(), f->data_offset + t->offset);
      const Tensor v = f->tensor_ref(*t).to_f32();
      EXPECT_EQ(std::stoull(te["hash"].get<std::string>()), test::weighted_hash(v.ptr(), size_t(v.numel())))
          << t->name;
    }
  }
}

TEST(GgufWriter, AtomicAndChecked) {
  const std::string dir = test::tmpdir("gguf_writer_atomic");
  GgufWriter w;
  w.set("general.architecture", GgufValue::make_string("llama"));
  w.add_tensor("x", 0, {2}, std::vector<uint8_t>(8, 0));
  EXPECT_THROW(w.write(dir + "/no/such/dir/out.gguf"), IoError);
  EXPECT_FALSE(fs::exists(dir + "/no"));
  write_file_atomic(dir + "/old.gguf", "old");
  w.write(dir + "/old.gguf");
  EXPECT_EQ(read_gguf(dir + "/old.gguf")->tensors.size(), 1u);
  size_t n = 0;
  for (const auto& e : fs::directory_iterator(dir)) n += e.is_regular_file();
  EXPECT_EQ(n, 1u);
  // the caller's mistakes are InternalErrors
  EXPECT_THROW(w.add_tensor("x", 0, {2}, std::vector<uint8_t>(8, 0)), InternalError);  // duplicate
  EXPECT_THROW(w.add_tensor("y", 8, {31}, std::vector<uint8_t>(34, 0)), InternalError);  // not whole blocks
  EXPECT_THROW(w.add_tensor("z", 8, {32}, std::vector<uint8_t>(33, 0)), InternalError);  // wrong byte count
  EXPECT_THROW(w.add_tensor(std::string(64, 'n'), 0, {1}, std::vector<uint8_t>(4, 0)), InternalError);
  EXPECT_THROW(w.set("general.alignment", GgufValue::make_uint(GgufType::U32, 64)), InternalError);
  EXPECT_THROW(GgufWriter(48), InternalError);
  GgufWriter bad;
  bad.set("k", GgufValue::make_uint(GgufType::U8, 300));
  EXPECT_THROW(bad.write(dir + "/bad.gguf"), InternalError);
  EXPECT_FALSE(fs::exists(dir + "/bad.gguf"));
}

// Values that exercise the quantisers' edge cases, groups of 32.
std::vector<float> quant_inputs() {
  std::mt19937 rng(7);
  std::normal_distribution<float> nd(0.f, 1.f);
  std::vector<float> x;
  for (int g = 0; g < 200; ++g)
    for (int j = 0; j < 32; ++j) x.push_back(nd(rng) * (g % 7 == 0 ? 1e-3f : 0.05f));
  for (int j = 0; j < 32; ++j) x.push_back(0.f);                       // all zero
  for (int j = 0; j < 32; ++j) x.push_back(0.75f);                     // constant
  for (int j = 0; j < 32; ++j) x.push_back(j == 5 ? -1.f : 1.f);       // |max| tie: first wins
  for (int j = 0; j < 32; ++j) x.push_back(float(j - 16) / 2.f);       // exact grid points
  for (int j = 0; j < 32; ++j) x.push_back((float(j % 16) + 0.5f) / 8);  // half-way points
  for (int j = 0; j < 32; ++j) x.push_back(j % 2 ? 1e-8f : -3e-8f);    // f16-subnormal scales
  for (int j = 0; j < 32; ++j) x.push_back(float(j) * 1000.f);        // large
  return x;
}

TEST(GgufQuantize, ReferenceQuantisersMatchGgufPy) {
  test::require_venv();
  const std::string dir = test::tmpdir("gguf_quant");
  const std::vector<float> x = quant_inputs();
  write_file_atomic(dir + "/in.f32", std::string(reinterpret_cast<const char*>(x.data()), x.size() * 4));
  const std::string cmd = test::venv_python() + " " + test::source("tests/data/gguf_ref.py") + " quant " + dir +
                          "/in.f32 " + dir + " > " + dir + "/log.txt 2>&1";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << read_file(dir + "/log.txt");
  const int64_t n = int64_t(x.size());
  for (auto [t, fn] : {std::pair{DType::Q4_0, &quantize_row_q4_0_ref}, std::pair{DType::Q4_1, &quantize_row_q4_1_ref},
                       std::pair{DType::Q8_0, &quantize_row_q8_0_ref}}) {
    std::vector<uint8_t> ours(dtype_nbytes(t, n));
    fn(x.data(), ours.data(), n);
    const std::string ref = read_file(dir + "/" + dtype_name(t) + ".bin");
    ASSERT_EQ(ref.size(), ours.size()) << dtype_name(t);
    const size_t bb = dtype_block_bytes(t);
    int64_t bad = 0;
    for (size_t b = 0; b < ours.size() / bb; ++b) {
      if (std::memcmp(ours.data() + b * bb, ref.data() + b * bb, bb) != 0 && bad++ < 3) {
        ADD_FAILURE() << dtype_name(t) << " block " << b << " differs from gguf-py";
      }
    }
    EXPECT_EQ(bad, 0) << dtype_name(t);
  }
}

// lowbit's RTN grid (compress/quant.hpp) packed exactly: the blocks dequantise (lowbit's ggml-exact
// dequantisation, and gguf-py's) to the fake-quantised weights.
TEST(GgufQuantize, PackExactHoldsTheFakeQuantisedWeights) {
  test::require_venv();
  std::mt19937 rng(3);
  std::normal_distribution<float> nd(0.f, 0.02f);
  Tensor w({8, 128});
  for (auto& v : w.data) v = nd(rng);
  struct Case {
    QuantSpec spec;
    DType type;
    uint32_t ggml;
  };
  const std::string dir = test::tmpdir("gguf_pack");
  GgufWriter gw;
  std::map<std::string, Tensor> want;
  for (const Case& c : {Case{{4, 32, true}, DType::Q4_0, 2}, Case{{4, 32, false}, DType::Q4_1, 3},
                        Case{{8, 32, true}, DType::Q8_0, 8}}) {
    SCOPED_TRACE(dtype_name(c.type));
    const QuantResult r = quantize_rtn(w, c.spec);
    std::vector<float> scales(r.scales.data.begin(), r.scales.data.end());
    std::vector<uint8_t> blocks(dtype_nbytes(c.type, w.numel()));
    const int64_t inexact =
        pack_exact(c.type, r.q.data(), scales.data(), r.zeros.data(), w.numel(), blocks.data());
    std::vector<float> got(size_t(w.numel()));
    dequantize_row(c.type, blocks.data(), got.data(), w.numel());
    int64_t groups_differ = 0;
    for (int64_t g = 0; g < w.numel() / 32; ++g) {
      groups_differ += std::memcmp(got.data() + 32 * g, r.w_hat.data.data() + 32 * g, 128) != 0;
    }
    EXPECT_EQ(groups_differ, inexact) << "pack_exact counts exactly the groups that differ";
    if (c.type == DType::Q4_1) {
      // m = f16(-z*s): exact only where z*s fits f16's 11 bits; report, and bound the rest
      RecordProperty("q4_1_inexact_groups", int(inexact));
      for (size_t i = 0; i < got.size(); ++i) {
        const float s = scales[i / 32];
        EXPECT_LE(std::fabs(got[i] - r.w_hat.data[i]), s * 15 * tol::kF16RoundRel) << i;
      }
    } else {
      EXPECT_EQ(inexact, 0) << "symmetric grids with f16 scales pack exactly";
    }
    const std::string name = std::string("w.") + dtype_name(c.type);
    gw.add_tensor(name, c.ggml, w.shape, blocks);
    Tensor g(w.shape);
    g.data = got;
    want[name] = g;
  }
  gw.write(dir + "/packed.gguf");
  const json d = gguf_py_dump(dir + "/packed.gguf", dir);
  for (const auto& te : d["tensors"]) {
    const Tensor& g = want.at(te["name"]);
    EXPECT_EQ(std::stoull(te["hash"].get<std::string>()), test::weighted_hash(g.ptr(), size_t(g.numel())))
        << te["name"] << ": gguf-py dequantises the packed blocks to other values";
  }
}

}  // namespace
}  // namespace lowbit
