// lowbit/io/gguf.hpp — llama.cpp's GGUF container (v2, v3): a validating, memory-mapped reader and
// an atomic writer. Block types and their dequantisation live in core/ggml_blocks.hpp.
// defines: lowbit::GgufValue, lowbit::GgufTensorInfo, lowbit::GgufFile, lowbit::read_gguf,
//          lowbit::parse_gguf, lowbit::GgufWriter
//
// Layout (little-endian; https://github.com/ggml-org/ggml/blob/master/docs/gguf.md):
//   magic "GGUF", u32 version (2 or 3), u64 n_tensors, u64 n_kv,
//   n_kv × { string key, u32 type, value }      (string = u64 length + bytes; arrays = u32 elem type,
//                                                u64 count, elements; arrays may nest)
//   n_tensors × { string name, u32 n_dims, u64 dims[n_dims] (ne0 = fastest, i.e. row length),
//                 u32 ggml_type, u64 offset (relative to the data section, aligned) }
//   padding to general.alignment (default 32), then the data section.
// A tensor's shape is reported row-major like safetensors: {ne[n-1], ..., ne[0]}.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "lowbit/core/tensor.hpp"

namespace lowbit {

// GGUF metadata value types (gguf_type).
enum class GgufType : uint32_t {
  U8 = 0, I8 = 1, U16 = 2, I16 = 3, U32 = 4, I32 = 5, F32 = 6, BOOL = 7, STRING = 8, ARRAY = 9,
  U64 = 10, I64 = 11, F64 = 12
};

struct GgufValue {
  GgufType type = GgufType::U32;
  // Scalars widen to int64/uint64/double; strings as std::string; arrays as a vector of values
  // (elem_type says what they hold, also for an empty array).
  std::variant<int64_t, uint64_t, double, bool, std::string, std::vector<GgufValue>> v;
  GgufType elem_type = GgufType::U8;  // for ARRAY

  // Typed access; each throws InputError naming `key` and the file when the value has another type.
  int64_t as_int(const std::string& file, const std::string& key) const;     // any integer type
  double as_float(const std::string& file, const std::string& key) const;    // any number
  bool as_bool(const std::string& file, const std::string& key) const;
  const std::string& as_string(const std::string& file, const std::string& key) const;
  const std::vector<GgufValue>& as_array(const std::string& file, const std::string& key) const;

  // Values for the writer. `t` must be an integer type for make_uint/make_int and F32/F64 for
  // make_float; the writer range-checks against the type (InternalError).
  static GgufValue make_uint(GgufType t, uint64_t x);
  static GgufValue make_int(GgufType t, int64_t x);
  static GgufValue make_float(GgufType t, double x);
  static GgufValue make_bool(bool x);
  static GgufValue make_string(std::string s);
  static GgufValue make_array(GgufType elem, std::vector<GgufValue> items);
};

struct GgufTensorInfo {
  std::string name;
  uint32_t ggml_type = 0;        // ggml_type id (0 = F32, 1 = F16, 2 = Q4_0, ... 30 = BF16)
  std::vector<int64_t> shape;    // row-major: {ne[n-1], ..., ne[0]}
  uint64_t offset = 0;           // from the start of the data section
  uint64_t nbytes = 0;           // computed from type and shape
};

class GgufFile {
 public:
  std::string path;
  uint32_t version = 0;
  uint64_t alignment = 32;
  std::map<std::string, GgufValue> kv;      // metadata, by key
  std::vector<std::string> kv_order;        // keys in file order (the writer keeps it)
  std::vector<GgufTensorInfo> tensors;      // in file order
  uint64_t data_offset = 0;                 // absolute file offset of the data section

  bool has(const std::string& key) const { return kv.count(key) != 0; }
  // Required key: InputError "<file>: missing metadata key '<key>'" when absent.
  const GgufValue& at(const std::string& key) const;
  // Optional key: nullptr when absent.
  const GgufValue* find(const std::string& key) const;
  const GgufTensorInfo* find_tensor(const std::string& name) const;
  // A typed, mapped view of one tensor (DType from its ggml_type; throws InputError naming the file,
  // tensor and type for a type lowbit does not read). The view keeps the mapping alive.
  TensorRef tensor_ref(const GgufTensorInfo& t) const;
  const uint8_t* base = nullptr;            // start of the mapping (or buffer)
  size_t size = 0;
  std::shared_ptr<const void> owner;        // the mapping / buffer
};

// Map and validate a .gguf file: magic, version, counts against the file size, every key and string,
// every tensor's type, dims, byte size and offset (aligned, inside the file, non-overlapping).
// Throws InputError naming the file and the key or tensor for anything malformed.
std::unique_ptr<GgufFile> read_gguf(const std::string& path);
// The same over bytes already in memory (fuzzer, tests). `name` is used in messages; the bytes must
// outlive the result unless `owner` keeps them.
std::unique_ptr<GgufFile> parse_gguf(std::string_view bytes, const std::string& name,
                                     std::shared_ptr<const void> owner = nullptr);

// Writes a GGUF v3 file atomically (temp file + rename): metadata in insertion order, then tensor
// infos and data, each aligned to `alignment`.
// `alignment` (a power of two) other than 32 is recorded as general.alignment (u32) so readers
// find it; setting general.alignment to anything else is an InternalError. Tensor names must be
// unique, non-empty and under 64 bytes (llama.cpp's GGML_MAX_NAME); the row length must be a
// whole number of blocks and `bytes` exactly the type's size for the shape (InternalError: the
// caller built them). A failed write leaves no file at `path` (IoError naming it).
class GgufWriter {
 public:
  explicit GgufWriter(uint64_t alignment = 32);
  // Sets a key; a key set again keeps its first position and takes the new value.
  void set(const std::string& key, GgufValue v);
  // Raw bytes of a tensor already in ggml layout (`ggml_type`, row-major `shape`).
  void add_tensor(const std::string& name, uint32_t ggml_type, std::vector<int64_t> shape,
                  std::vector<uint8_t> bytes);
  // Convenience: an f32 tensor stored as F32 or F16 (rounded to nearest even).
  void add_f32(const std::string& name, const Tensor& t, uint32_t ggml_type = 0);
  void write(const std::string& path) const;

 private:
  uint64_t alignment_;
  std::vector<std::pair<std::string, GgufValue>> kv_;
  struct Pending { GgufTensorInfo info; std::vector<uint8_t> bytes; };
  std::vector<Pending> tensors_;
};

}  // namespace lowbit
