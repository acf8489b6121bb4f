// tests/unit/test_gguf_bad.cpp — malformed GGUF files: every one is refused with one InputError line
// that names the file and the key or tensor. The images are built byte by byte here (not with
// lowbit's writer), so each field can be broken on its own.
#include <gtest/gtest.h>

#include <cstring>
#include <functional>
#include <string>

#include "lowbit/core/error.hpp"
#include "lowbit/core/mapped_file.hpp"
#include "lowbit/io/gguf.hpp"
#include "paths.hpp"

namespace lowbit {
namespace {

// A GGUF image under construction.
struct Img {
  std::string b;
  void u8(uint8_t v) { b.push_back(char(v)); }
  void u32(uint32_t v) { b.append(reinterpret_cast<const char*>(&v), 4); }
  void u64(uint64_t v) { b.append(reinterpret_cast<const char*>(&v), 8); }
  void str(const std::string& s) {
    u64(s.size());
    b += s;
  }
  void pad(size_t a) {
    while (b.size() % a) b.push_back('\0');
  }
};

// What a test can change in the otherwise valid file below.
struct Spec {
  std::string magic = "GGUF";
  uint32_t version = 3;
  int64_t n_tensors = -1, n_kv = -1;  // -1: the true counts
  std::function<void(Img&)> extra_kv;  // appended metadata entries (count them in extra_kv_count)
  int extra_kv_count = 0;
  bool with_arch = true;
  // tensor "a": F32 [4] at 0; tensor "blk.0.w": `b_type` with row `b_ne0` x 2 rows at `b_offset`
  uint32_t b_type = 8;  // Q8_0
  uint64_t b_ne0 = 32;
  uint64_t b_offset = 32;
  uint32_t b_ndims = 2;
  std::string b_name = "blk.0.w";
  size_t alignment = 32;
  int64_t cut = -1;  // truncate the image to this many bytes
};

std::string build(const Spec& s) {
  Img m;
  m.b += s.magic;
  m.u32(s.version);
  const int kv = (s.with_arch ? 1 : 0) + 1 + s.extra_kv_count;
  m.u64(s.n_tensors >= 0 ? uint64_t(s.n_tensors) : 2);
  m.u64(s.n_kv >= 0 ? uint64_t(s.n_kv) : uint64_t(kv));
  if (s.with_arch) {
    m.str("general.architecture");
    m.u32(8);
    m.str("llama");
  }
  m.str("llama.block_count");
  m.u32(4);
  m.u32(1);
  if (s.extra_kv) s.extra_kv(m);
  m.str("a");
  m.u32(1);
  m.u64(4);
  m.u32(0);
  m.u64(0);
  m.str(s.b_name);
  m.u32(s.b_ndims);
  m.u64(s.b_ne0);
  for (uint32_t d = 1; d < s.b_ndims; ++d) m.u64(2);
  m.u32(s.b_type);
  m.u64(s.b_offset);
  m.pad(s.alignment);
  // data: a at 0 (16 bytes), padding, then blk.0.w: 2 rows of Q8_0 [32] = 68 bytes
  for (int i = 0; i < 4; ++i) {
    float f = float(i);
    m.b.append(reinterpret_cast<const char*>(&f), 4);
  }
  m.pad(32);
  for (int r = 0; r < 2; ++r) {
    uint16_t d = 0x3c00;  // 1.0
    m.b.append(reinterpret_cast<const char*>(&d), 2);
    for (int j = 0; j < 32; ++j) m.u8(uint8_t(j));
  }
  m.pad(32);
  if (s.cut >= 0) m.b.resize(size_t(s.cut));
  return m.b;
}

// Parses `bytes` as "bad.gguf" and returns the InputError message ("" if none was thrown).
std::string error_of(const std::string& bytes, const std::function<void(const GgufFile&)>& use = nullptr) {
  try {
    auto f = parse_gguf(bytes, "bad.gguf");
    if (use) use(*f);
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

void expect_error(const std::string& msg, const std::string& want) {
  ASSERT_FALSE(msg.empty()) << "no InputError; wanted one with: " << want;
  EXPECT_EQ(msg.rfind("bad.gguf: ", 0), 0u) << msg;
  EXPECT_NE(msg.find(want), std::string::npos) << msg;
  EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
}

TEST(GgufBad, TheBaseImageIsValid) {
  const std::string img = build({});
  auto f = parse_gguf(img, "good.gguf");
  ASSERT_EQ(f->tensors.size(), 2u);
  EXPECT_EQ(f->tensors[1].shape, (std::vector<int64_t>{2, 32}));
  const Tensor t = f->tensor_ref(f->tensors[1]).to_f32();
  EXPECT_EQ(t.data[33], 1.f);
  EXPECT_EQ(f->tensor_ref(f->tensors[0]).to_f32().data[3], 3.f);
}

TEST(GgufBad, EveryTruncationIsRefused) {
  const std::string img = build({});
  // The last tensor's bytes end 28 bytes before the end: the trailing padding is not needed.
  const size_t end_of_data = img.size() - 28;
  EXPECT_EQ(error_of(img.substr(0, end_of_data)), "");
  for (size_t n = 0; n < end_of_data; ++n) {
    const std::string msg = error_of(img.substr(0, n));
    ASSERT_FALSE(msg.empty()) << "a " << n << "-byte prefix of a " << img.size() << "-byte file was accepted";
    EXPECT_EQ(msg.rfind("bad.gguf: ", 0), 0u) << msg;
    EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
  }
  expect_error(error_of(img.substr(0, 30)), "metadata count 2 cannot fit in the 6 bytes after the header");
  expect_error(error_of(img.substr(0, 3)), "truncated: the magic needs 4 bytes");
  // cut inside a string value: the message names the key and the offset
  Spec s;
  s.extra_kv_count = 1;
  s.extra_kv = [](Img& m) {
    m.str("general.name");
    m.u32(8);
    m.str(std::string(200, 'n'));
  };
  // header 24, general.architecture 45, llama.block_count 33, key 20 + type 4 + length 8
  expect_error(error_of(build(s).substr(0, 134 + 100)),
               "truncated: metadata key 'general.name' (200-byte string) needs 200 bytes at offset 134");
  // cut in the last tensor's data
  expect_error(error_of(img.substr(0, img.size() - 40)), "tensor 'blk.0.w'");
}

TEST(GgufBad, MagicAndVersion) {
  Spec s;
  s.magic = "GGUX";
  expect_error(error_of(build(s)), "not a GGUF file (magic 'GGUX'");
  s.magic = std::string("\x00\x01\x02\x03", 4);
  expect_error(error_of(build(s)), "magic '\\x00\\x01\\x02\\x03'");
  for (uint32_t v : {0u, 1u, 4u, 0x03000000u}) {
    Spec t;
    t.version = v;
    expect_error(error_of(build(t)), "GGUF version " + std::to_string(v));
  }
  Spec be;
  be.version = 0x03000000u;
  expect_error(error_of(build(be)), "big-endian");
  Spec v2;
  v2.version = 2;
  EXPECT_EQ(error_of(build(v2)), "");
}

TEST(GgufBad, CountsPastTheFile) {
  Spec s;
  s.n_kv = int64_t(1) << 40;
  expect_error(error_of(build(s)), "metadata count 1099511627776 cannot fit");
  Spec t;
  t.n_tensors = int64_t(1) << 40;
  expect_error(error_of(build(t)), "tensor count 1099511627776 cannot fit");
  Spec u;
  u.n_tensors = 3;  // one more tensor info than there is: reads into the padding / data
  EXPECT_FALSE(error_of(build(u)).empty());
  // a string length past the end
  Spec w;
  w.extra_kv_count = 1;
  w.extra_kv = [](Img& m) {
    m.str("general.name");
    m.u32(8);
    m.u64(uint64_t(1) << 50);
  };
  expect_error(error_of(build(w)), "metadata key 'general.name' (1125899906842624-byte string)");
  // an array count past the end
  Spec a;
  a.extra_kv_count = 1;
  a.extra_kv = [](Img& m) {
    m.str("tokenizer.ggml.scores");
    m.u32(9);
    m.u32(6);
    m.u64(uint64_t(1) << 60);
  };
  expect_error(error_of(build(a)), "metadata key 'tokenizer.ggml.scores': array of 1152921504606846976 f32");
}

TEST(GgufBad, OffsetsPastTheFileAndMisaligned) {
  Spec s;
  s.b_offset = 4096;
  expect_error(error_of(build(s)), "tensor 'blk.0.w' (Q8_0 [2, 32], 68 bytes at data offset 4096) runs past the end");
  Spec t;
  t.b_offset = uint64_t(-32);  // aligned, but offset + size wraps around
  expect_error(error_of(build(t)), "tensor 'blk.0.w'");
  Spec m;
  m.b_offset = 20;
  expect_error(error_of(build(m)), "tensor 'blk.0.w': offset 20 is not a multiple of the alignment 32");
  Spec al;
  al.extra_kv_count = 1;
  al.extra_kv = [](Img& i) {
    i.str("general.alignment");
    i.u32(4);
    i.u32(24);
  };
  expect_error(error_of(build(al)), "metadata key 'general.alignment' is 24, expected a power of two");
  Spec als;
  als.extra_kv_count = 1;
  als.extra_kv = [](Img& i) {
    i.str("general.alignment");
    i.u32(8);
    i.str("32");
  };
  expect_error(error_of(build(als)), "metadata key 'general.alignment' is string");
  // general.alignment 64: the data section moves, the 32-aligned offset of blk.0.w is now misaligned
  Spec a64;
  a64.extra_kv_count = 1;
  a64.alignment = 64;
  a64.extra_kv = [](Img& i) {
    i.str("general.alignment");
    i.u32(4);
    i.u32(64);
  };
  expect_error(error_of(build(a64)), "offset 32 is not a multiple of the alignment 64");
}

TEST(GgufBad, ByteSizeAgainstTypeAndShape) {
  Spec s;
  s.b_ne0 = 33;  // not a whole number of Q8_0 blocks
  expect_error(error_of(build(s)), "tensor 'blk.0.w': row length 33 is not a multiple of the Q8_0 block size 32");
  Spec k;
  k.b_type = 12;  // Q4_K needs rows of 256
  expect_error(error_of(build(k)), "row length 32 is not a multiple of the Q4_K block size 256");
  Spec big;
  big.b_ne0 = 64;  // twice the bytes the data section holds for it
  expect_error(error_of(build(big)), "tensor 'blk.0.w' (Q8_0 [2, 64], 136 bytes at data offset 32) runs past");
  Spec neg;
  neg.b_ne0 = uint64_t(-32);
  expect_error(error_of(build(neg)), "tensor 'blk.0.w': dimension 0 is 18446744073709551584");
  Spec dims;
  dims.b_ndims = 5;
  expect_error(error_of(build(dims)), "tensor 'blk.0.w': n_dims 5");
  Spec dims0;
  dims0.b_ndims = 0;
  expect_error(error_of(build(dims0)), "tensor 'blk.0.w': n_dims 0");
  Spec ovf;
  ovf.b_ndims = 4;  // 2^62 x 2 x 2 x 2 elements overflow int64
  ovf.b_ne0 = uint64_t(1) << 62;
  expect_error(error_of(build(ovf)), "tensor 'blk.0.w': element count overflows int64");
}

TEST(GgufBad, UnknownMetadataTypes) {
  Spec s;
  s.extra_kv_count = 1;
  s.extra_kv = [](Img& m) {
    m.str("x.weird");
    m.u32(13);
    m.u32(0);
  };
  expect_error(error_of(build(s)), "metadata key 'x.weird': unknown metadata value type 13");
  Spec a;
  a.extra_kv_count = 1;
  a.extra_kv = [](Img& m) {
    m.str("x.arr");
    m.u32(9);
    m.u32(77);
    m.u64(1);
  };
  expect_error(error_of(build(a)), "metadata key 'x.arr': unknown array element type 77");
  Spec b;
  b.extra_kv_count = 1;
  b.extra_kv = [](Img& m) {
    m.str("x.flag");
    m.u32(7);
    m.u8(2);
  };
  expect_error(error_of(build(b)), "metadata key 'x.flag': bool byte 2");
  Spec deep;
  deep.extra_kv_count = 1;
  deep.extra_kv = [](Img& m) {
    m.str("x.deep");
    m.u32(9);
    for (int i = 0; i < 20; ++i) {
      m.u32(9);
      m.u64(1);
    }
    m.u32(0);
    m.u64(0);
  };
  expect_error(error_of(build(deep)), "metadata key 'x.deep': arrays nested deeper than 8");
  Spec dup;
  dup.extra_kv_count = 1;
  dup.extra_kv = [](Img& m) {
    m.str("llama.block_count");
    m.u32(4);
    m.u32(2);
  };
  expect_error(error_of(build(dup)), "duplicate metadata key 'llama.block_count'");
  Spec empty;
  empty.extra_kv_count = 1;
  empty.extra_kv = [](Img& m) {
    m.str("");
    m.u32(4);
    m.u32(2);
  };
  expect_error(error_of(build(empty)), "metadata entry 2 has an empty key");
  // an empty array is valid (gguf-py cannot write one; llama.cpp can)
  Spec ea;
  ea.extra_kv_count = 1;
  ea.extra_kv = [](Img& m) {
    m.str("x.empty");
    m.u32(9);
    m.u32(8);
    m.u64(0);
  };
  auto f = parse_gguf(build(ea), "ok.gguf");
  EXPECT_EQ(f->at("x.empty").as_array(f->path, "x.empty").size(), 0u);
  EXPECT_EQ(f->at("x.empty").elem_type, GgufType::STRING);
}

TEST(GgufBad, MissingRequiredKeyAndWrongValueType) {
  Spec s;
  s.with_arch = false;
  expect_error(error_of(build(s), [](const GgufFile& f) { f.at("general.architecture"); }),
               "missing metadata key 'general.architecture'");
  expect_error(error_of(build({}), [](const GgufFile& f) { f.at("general.architecture").as_int(f.path, "general.architecture"); }),
               "metadata key 'general.architecture' is string, expected an integer");
  expect_error(error_of(build({}), [](const GgufFile& f) { f.at("llama.block_count").as_string(f.path, "llama.block_count"); }),
               "metadata key 'llama.block_count' is u32, expected string");
}

TEST(GgufBad, UnsupportedAndUnknownQuantTypes) {
  // IQ2_XXS (16): 256-element blocks of 66 bytes; a [2, 256] tensor needs 132 bytes, so give it room.
  Spec s;
  s.b_type = 16;
  s.b_ne0 = 256;
  s.b_ndims = 1;
  s.b_offset = 32;
  std::string img = build(s);
  img.resize(img.size() + 128, '\0');
  const std::string msg = error_of(img, [](const GgufFile& f) { f.tensor_ref(*f.find_tensor("blk.0.w")); });
  expect_error(msg, "tensor 'blk.0.w': ggml type IQ2_XXS (16) is not supported");
  Spec u;
  u.b_type = 99;
  expect_error(error_of(build(u)), "tensor 'blk.0.w': unknown ggml type 99");
  Spec removed;
  removed.b_type = 4;  // Q4_2, removed from ggml
  expect_error(error_of(build(removed)), "tensor 'blk.0.w': unknown ggml type 4");
}

TEST(GgufBad, OverlappingAndDuplicateTensors) {
  Spec s;
  s.b_offset = 0;
  expect_error(error_of(build(s)), "tensors 'a' (data bytes 0-16) and 'blk.0.w' (from 0) overlap");
  Spec d;
  d.b_name = "a";
  expect_error(error_of(build(d)), "duplicate tensor 'a'");
  Spec e;
  e.b_name = "";
  expect_error(error_of(build(e)), "tensor info 1 has an empty name");
}

TEST(GgufBad, ReadGgufNamesThePath) {
  const std::string dir = test::tmpdir("gguf_bad");
  Spec s;
  s.b_offset = 4096;
  write_file_atomic(dir + "/broken.gguf", build(s));
  try {
    read_gguf(dir + "/broken.gguf");
    FAIL();
  } catch (const InputError& e) {
    EXPECT_EQ(std::string(e.what()).rfind(dir + "/broken.gguf: tensor 'blk.0.w'", 0), 0u) << e.what();
  }
  EXPECT_THROW(read_gguf(dir + "/missing.gguf"), IoError);
}

}  // namespace
}  // namespace lowbit
