// lowbit/io/gguf.cpp — the GGUF reader and writer. defines: see gguf.hpp
#include "lowbit/io/gguf.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <limits>
#include <numeric>
#include <type_traits>

#include "lowbit/core/error.hpp"
#include "lowbit/core/ggml_blocks.hpp"
#include "lowbit/core/mapped_file.hpp"

namespace lowbit {

namespace {

constexpr uint32_t kMaxDims = 4;          // GGML_MAX_DIMS
constexpr int kMaxArrayDepth = 8;         // nested arrays deeper than this are refused
constexpr uint64_t kMaxAlignment = 1ull << 30;

const char* type_name(GgufType t) {
  switch (t) {
    case GgufType::U8: return "u8";
    case GgufType::I8: return "i8";
    case GgufType::U16: return "u16";
    case GgufType::I16: return "i16";
    case GgufType::U32: return "u32";
    case GgufType::I32: return "i32";
    case GgufType::F32: return "f32";
    case GgufType::BOOL: return "bool";
    case GgufType::STRING: return "string";
    case GgufType::ARRAY: return "array";
    case GgufType::U64: return "u64";
    case GgufType::I64: return "i64";
    case GgufType::F64: return "f64";
  }
  return "?";
}

bool is_int_type(GgufType t) {
  switch (t) {
    case GgufType::U8: case GgufType::I8: case GgufType::U16: case GgufType::I16:
    case GgufType::U32: case GgufType::I32: case GgufType::U64: case GgufType::I64: return true;
    default: return false;
  }
}

// Smallest encoding of one value of type t (for bounding counts by the bytes left).
uint64_t min_value_bytes(GgufType t) {
  switch (t) {
    case GgufType::U8: case GgufType::I8: case GgufType::BOOL: return 1;
    case GgufType::U16: case GgufType::I16: return 2;
    case GgufType::U32: case GgufType::I32: case GgufType::F32: return 4;
    case GgufType::U64: case GgufType::I64: case GgufType::F64: case GgufType::STRING: return 8;
    case GgufType::ARRAY: return 12;
  }
  return 1;
}

// Bounds-checked little-endian reads over the file image. Every failure names the file, what was
// being read (`what`, e.g. "metadata key 'general.name'") and the offset.
class Reader {
 public:
  Reader(const uint8_t* p, size_t n, const std::string& file) : p_(p), n_(n), file_(file) {}
  size_t pos() const { return pos_; }
  size_t left() const { return n_ - pos_; }

  void need(uint64_t bytes, const std::string& what) const {
    if (bytes > left()) {
      LB_FAIL_INPUT(file_, ": truncated: ", what, " needs ", bytes, " bytes at offset ", pos_, " but the file has ",
                    left(), " left (", n_, " bytes)");
    }
  }
  template <class T>
  T get(const std::string& what) {
    need(sizeof(T), what);
    T v;
    std::memcpy(&v, p_ + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }
  std::string str(const std::string& what) {
    const uint64_t len = get<uint64_t>(what + " (string length)");
    need(len, what + " (" + std::to_string(len) + "-byte string)");
    std::string s(reinterpret_cast<const char*>(p_ + pos_), size_t(len));
    pos_ += size_t(len);
    return s;
  }

 private:
  const uint8_t* p_;
  size_t n_;
  size_t pos_ = 0;
  const std::string& file_;
};

GgufValue read_value(Reader& r, GgufType t, const std::string& what, const std::string& file, int depth) {
  GgufValue v;
  v.type = t;
  switch (t) {
    case GgufType::U8: v.v = uint64_t(r.get<uint8_t>(what)); break;
    case GgufType::I8: v.v = int64_t(r.get<int8_t>(what)); break;
    case GgufType::U16: v.v = uint64_t(r.get<uint16_t>(what)); break;
    case GgufType::I16: v.v = int64_t(r.get<int16_t>(what)); break;
    case GgufType::U32: v.v = uint64_t(r.get<uint32_t>(what)); break;
    case GgufType::I32: v.v = int64_t(r.get<int32_t>(what)); break;
    case GgufType::U64: v.v = r.get<uint64_t>(what); break;
    case GgufType::I64: v.v = r.get<int64_t>(what); break;
    case GgufType::F32: v.v = double(r.get<float>(what)); break;
    case GgufType::F64: v.v = r.get<double>(what); break;
    case GgufType::BOOL: {
      const size_t at = r.pos();
      const uint8_t b = r.get<uint8_t>(what);
      LB_INPUT_CHECK(b <= 1, file, ": ", what, ": bool byte ", unsigned(b), " at offset ", at, " (must be 0 or 1)");
      v.v = b != 0;
      break;
    }
    case GgufType::STRING: v.v = r.str(what); break;
    case GgufType::ARRAY: {
      const size_t at = r.pos();
      const uint32_t et = r.get<uint32_t>(what + " (array element type)");
      LB_INPUT_CHECK(et <= uint32_t(GgufType::F64), file, ": ", what, ": unknown array element type ", et,
                     " at offset ", at);
      v.elem_type = GgufType(et);
      LB_INPUT_CHECK(v.elem_type != GgufType::ARRAY || depth < kMaxArrayDepth, file, ": ", what,
                     ": arrays nested deeper than ", kMaxArrayDepth);
      const uint64_t count = r.get<uint64_t>(what + " (array length)");
      const uint64_t min = min_value_bytes(v.elem_type);
      LB_INPUT_CHECK(count <= r.left() / min, file, ": ", what, ": array of ", count, " ", type_name(v.elem_type),
                     " values cannot fit in the ", r.left(), " bytes left of the file");
      std::vector<GgufValue> items;
      items.reserve(size_t(count));
      for (uint64_t i = 0; i < count; ++i) items.push_back(read_value(r, v.elem_type, what, file, depth + 1));
      v.v = std::move(items);
      break;
    }
    default:
      LB_FAIL_INPUT(file, ": ", what, ": unknown metadata value type ", uint32_t(t));
  }
  return v;
}

uint64_t align_up(uint64_t x, uint64_t a) { return (x + a - 1) / a * a; }

}  // namespace

// ---- GgufValue ----

int64_t GgufValue::as_int(const std::string& file, const std::string& key) const {
  LB_INPUT_CHECK(is_int_type(type), file, ": metadata key '", key, "' is ", type_name(type), ", expected an integer");
  if (auto* u = std::get_if<uint64_t>(&v)) {
    LB_INPUT_CHECK(*u <= uint64_t(std::numeric_limits<int64_t>::max()), file, ": metadata key '", key, "': ", *u,
                   " is too large");
    return int64_t(*u);
  }
  return std::get<int64_t>(v);
}

double GgufValue::as_float(const std::string& file, const std::string& key) const {
  if (auto* d = std::get_if<double>(&v)) return *d;
  if (auto* u = std::get_if<uint64_t>(&v)) return double(*u);
  if (auto* i = std::get_if<int64_t>(&v)) return double(*i);
  LB_FAIL_INPUT(file, ": metadata key '", key, "' is ", type_name(type), ", expected a number");
}

bool GgufValue::as_bool(const std::string& file, const std::string& key) const {
  LB_INPUT_CHECK(type == GgufType::BOOL, file, ": metadata key '", key, "' is ", type_name(type), ", expected bool");
  return std::get<bool>(v);
}

const std::string& GgufValue::as_string(const std::string& file, const std::string& key) const {
  LB_INPUT_CHECK(type == GgufType::STRING, file, ": metadata key '", key, "' is ", type_name(type),
                 ", expected string");
  return std::get<std::string>(v);
}

const std::vector<GgufValue>& GgufValue::as_array(const std::string& file, const std::string& key) const {
  LB_INPUT_CHECK(type == GgufType::ARRAY, file, ": metadata key '", key, "' is ", type_name(type),
                 ", expected array");
  return std::get<std::vector<GgufValue>>(v);
}

// ---- GgufFile ----

const GgufValue& GgufFile::at(const std::string& key) const {
  auto it = kv.find(key);
  LB_INPUT_CHECK(it != kv.end(), path, ": missing metadata key '", key, "'");
  return it->second;
}

const GgufValue* GgufFile::find(const std::string& key) const {
  auto it = kv.find(key);
  return it == kv.end() ? nullptr : &it->second;
}

const GgufTensorInfo* GgufFile::find_tensor(const std::string& name) const {
  for (const auto& t : tensors)
    if (t.name == name) return &t;
  return nullptr;
}

TensorRef GgufFile::tensor_ref(const GgufTensorInfo& t) const {
  auto dt = dtype_from_ggml(t.ggml_type);
  if (!dt) {
    LB_FAIL_INPUT(path, ": tensor '", t.name, "': ggml type ", ggml_type_name(t.ggml_type), " (", t.ggml_type,
                  ") is not supported (lowbit reads F32, F16, BF16, F64, I8-I64, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, "
                  "Q2_K, Q3_K, Q4_K, Q5_K, Q6_K)");
  }
  TensorRef r;
  r.name = t.name;
  r.file = path;
  r.dtype = *dt;
  r.shape = t.shape;
  r.data = base + data_offset + t.offset;
  r.nbytes = size_t(t.nbytes);
  r.owner = owner;
  return r;
}

// ---- reader ----

std::unique_ptr<GgufFile> parse_gguf(std::string_view bytes, const std::string& name,
                                     std::shared_ptr<const void> owner) {
  auto f = std::make_unique<GgufFile>();
  f->path = name;
  f->base = reinterpret_cast<const uint8_t*>(bytes.data());
  f->size = bytes.size();
  f->owner = std::move(owner);
  const std::string& file = f->path;
  Reader r(f->base, f->size, file);

  r.need(4, "the magic");
  if (std::memcmp(f->base, "GGUF", 4) != 0) {
    std::string m;
    for (int i = 0; i < 4; ++i) {
      const unsigned char c = f->base[i];
      m += (c >= 32 && c < 127) ? std::string(1, char(c)) : "\\x" + std::string(1, "0123456789abcdef"[c >> 4]) +
                                                                std::string(1, "0123456789abcdef"[c & 15]);
    }
    LB_FAIL_INPUT(file, ": not a GGUF file (magic '", m, "', expected 'GGUF')");
  }
  r.get<uint32_t>("the magic");
  f->version = r.get<uint32_t>("the version");
  if (f->version != 2 && f->version != 3) {
    const uint32_t v = f->version;
    const bool swapped = v != 0 && (v & 0xffffu) == 0;
    LB_FAIL_INPUT(file, ": GGUF version ", v, swapped ? " (a big-endian file?)" : "",
                  " is not supported (lowbit reads versions 2 and 3)");
  }
  const uint64_t n_tensors = r.get<uint64_t>("the tensor count");
  const uint64_t n_kv = r.get<uint64_t>("the metadata count");
  // Each metadata entry takes at least 13 bytes (key length, type, a 1-byte value), each tensor info
  // at least 24 (name length, n_dims, type, offset): counts the file cannot hold are refused before
  // anything is allocated for them.
  LB_INPUT_CHECK(n_kv <= r.left() / 13, file, ": metadata count ", n_kv, " cannot fit in the ", r.left(),
                 " bytes after the header");
  LB_INPUT_CHECK(n_tensors <= r.left() / 24, file, ": tensor count ", n_tensors, " cannot fit in the ", r.left(),
                 " bytes after the header");

  for (uint64_t i = 0; i < n_kv; ++i) {
    const std::string what_key = "metadata entry " + std::to_string(i) + " key";
    std::string key = r.str(what_key);
    LB_INPUT_CHECK(!key.empty(), file, ": metadata entry ", i, " has an empty key");
    const std::string what = "metadata key '" + key + "'";
    LB_INPUT_CHECK(!f->kv.count(key), file, ": duplicate ", what);
    const size_t at = r.pos();
    const uint32_t t = r.get<uint32_t>(what + " (value type)");
    LB_INPUT_CHECK(t <= uint32_t(GgufType::F64), file, ": ", what, ": unknown metadata value type ", t,
                   " at offset ", at);
    GgufValue v = read_value(r, GgufType(t), what, file, 0);
    f->kv_order.push_back(key);
    f->kv.emplace(std::move(key), std::move(v));
  }

  if (const GgufValue* a = f->find("general.alignment")) {
    LB_INPUT_CHECK(is_int_type(a->type), file, ": metadata key 'general.alignment' is ", type_name(a->type),
                   ", expected u32");
    const int64_t al = a->as_int(file, "general.alignment");
    LB_INPUT_CHECK(al > 0 && uint64_t(al) <= kMaxAlignment && (al & (al - 1)) == 0, file,
                   ": metadata key 'general.alignment' is ", al, ", expected a power of two up to ", kMaxAlignment);
    f->alignment = uint64_t(al);
  }

  std::map<std::string, size_t> seen;
  f->tensors.reserve(size_t(n_tensors));
  for (uint64_t i = 0; i < n_tensors; ++i) {
    GgufTensorInfo t;
    t.name = r.str("tensor info " + std::to_string(i) + " name");
    LB_INPUT_CHECK(!t.name.empty(), file, ": tensor info ", i, " has an empty name");
    const std::string what = "tensor '" + t.name + "'";
    LB_INPUT_CHECK(!seen.count(t.name), file, ": duplicate ", what);
    const uint32_t n_dims = r.get<uint32_t>(what + " (n_dims)");
    LB_INPUT_CHECK(n_dims >= 1 && n_dims <= kMaxDims, file, ": ", what, ": n_dims ", n_dims, " (must be 1 to ",
                   kMaxDims, ")");
    std::vector<int64_t> ne(n_dims);
    uint64_t numel = 1;
    for (uint32_t d = 0; d < n_dims; ++d) {
      const uint64_t e = r.get<uint64_t>(what + " (dims)");
      LB_INPUT_CHECK(e <= uint64_t(std::numeric_limits<int64_t>::max()), file, ": ", what, ": dimension ", d, " is ",
                     e, " (negative as int64)");
      if (e != 0 && numel > uint64_t(std::numeric_limits<int64_t>::max()) / e) {
        LB_FAIL_INPUT(file, ": ", what, ": element count overflows int64");
      }
      numel *= e;
      ne[d] = int64_t(e);
    }
    const size_t type_at = r.pos();
    t.ggml_type = r.get<uint32_t>(what + " (type)");
    auto blk = ggml_type_block(t.ggml_type);
    LB_INPUT_CHECK(blk.has_value(), file, ": ", what, ": unknown ggml type ", t.ggml_type, " at offset ", type_at);
    LB_INPUT_CHECK(ne[0] % blk->elems == 0, file, ": ", what, ": row length ", ne[0], " is not a multiple of the ",
                   ggml_type_name(t.ggml_type), " block size ", blk->elems);
    const uint64_t nblocks = numel / uint64_t(blk->elems);
    LB_INPUT_CHECK(nblocks <= std::numeric_limits<uint64_t>::max() / blk->bytes, file, ": ", what,
                   ": byte size overflows");
    t.nbytes = nblocks * blk->bytes;
    t.offset = r.get<uint64_t>(what + " (offset)");
    LB_INPUT_CHECK(t.offset % f->alignment == 0, file, ": ", what, ": offset ", t.offset,
                   " is not a multiple of the alignment ", f->alignment);
    t.shape.assign(ne.rbegin(), ne.rend());
    seen.emplace(t.name, f->tensors.size());
    f->tensors.push_back(std::move(t));
  }

  f->data_offset = align_up(r.pos(), f->alignment);
  if (f->data_offset > f->size) {
    // A file without tensor data may end right after the tensor infos.
    const bool any_data = std::any_of(f->tensors.begin(), f->tensors.end(), [](auto& t) { return t.nbytes > 0; });
    LB_INPUT_CHECK(!any_data, file, ": truncated: the data section starts at offset ", f->data_offset,
                   " (after padding to ", f->alignment, ") but the file has ", f->size, " bytes");
    f->data_offset = f->size;
  }
  const uint64_t data_size = f->size - f->data_offset;
  for (const auto& t : f->tensors) {
    if (t.offset > data_size || t.nbytes > data_size - t.offset) {
      LB_FAIL_INPUT(file, ": tensor '", t.name, "' (", ggml_type_name(t.ggml_type), " ", shape_to_string(t.shape),
                    ", ", t.nbytes, " bytes at data offset ", t.offset, ") runs past the end of the data section (",
                    data_size, " bytes)");
    }
  }
  std::vector<size_t> order(f->tensors.size());
  std::iota(order.begin(), order.end(), size_t(0));
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return f->tensors[a].offset < f->tensors[b].offset; });
  const GgufTensorInfo* prev = nullptr;
  for (size_t i : order) {
    const GgufTensorInfo& t = f->tensors[i];
    if (t.nbytes == 0) continue;
    if (prev && prev->offset + prev->nbytes > t.offset) {
      LB_FAIL_INPUT(file, ": tensors '", prev->name, "' (data bytes ", prev->offset, "-", prev->offset + prev->nbytes,
                    ") and '", t.name, "' (from ", t.offset, ") overlap");
    }
    prev = &t;
  }
  return f;
}

std::unique_ptr<GgufFile> read_gguf(const std::string& path) {
  auto m = MappedFile::open(path);
  std::string_view bytes(reinterpret_cast<const char*>(m->data()), m->size());
  return parse_gguf(bytes, path, m);
}

// ---- values for the writer ----

GgufValue GgufValue::make_uint(GgufType t, uint64_t x) {
  LB_CHECK(is_int_type(t), "make_uint: ", type_name(t));
  GgufValue v;
  v.type = t;
  if (t == GgufType::I8 || t == GgufType::I16 || t == GgufType::I32 || t == GgufType::I64) {
    LB_CHECK(x <= uint64_t(std::numeric_limits<int64_t>::max()), "make_uint: ", x, " as ", type_name(t));
    v.v = int64_t(x);
  } else {
    v.v = x;
  }
  return v;
}
GgufValue GgufValue::make_int(GgufType t, int64_t x) {
  LB_CHECK(is_int_type(t), "make_int: ", type_name(t));
  GgufValue v;
  v.type = t;
  if (t == GgufType::U8 || t == GgufType::U16 || t == GgufType::U32 || t == GgufType::U64) {
    LB_CHECK(x >= 0, "make_int: ", x, " as ", type_name(t));
    v.v = uint64_t(x);
  } else {
    v.v = x;
  }
  return v;
}
GgufValue GgufValue::make_float(GgufType t, double x) {
  LB_CHECK(t == GgufType::F32 || t == GgufType::F64, "make_float: ", type_name(t));
  GgufValue v;
  v.type = t;
  v.v = x;
  return v;
}
GgufValue GgufValue::make_bool(bool x) {
  GgufValue v;
  v.type = GgufType::BOOL;
  v.v = x;
  return v;
}
GgufValue GgufValue::make_string(std::string s) {
  GgufValue v;
  v.type = GgufType::STRING;
  v.v = std::move(s);
  return v;
}
GgufValue GgufValue::make_array(GgufType elem, std::vector<GgufValue> items) {
  GgufValue v;
  v.type = GgufType::ARRAY;
  v.elem_type = elem;
  v.v = std::move(items);
  return v;
}

// ---- writer ----

namespace {

void put_bytes(std::string& o, const void* p, size_t n) { o.append(static_cast<const char*>(p), n); }
template <class T>
void put(std::string& o, T v) {
  put_bytes(o, &v, sizeof v);
}
void put_str(std::string& o, const std::string& s) {
  put<uint64_t>(o, s.size());
  o += s;
}

template <class T>
T checked_int(const GgufValue& v, const std::string& key) {
  int64_t lo;
  uint64_t hi;
  if constexpr (std::is_signed_v<T>) {
    lo = std::numeric_limits<T>::min();
    hi = uint64_t(std::numeric_limits<T>::max());
  } else {
    lo = 0;
    hi = uint64_t(std::numeric_limits<T>::max());
  }
  if (auto* u = std::get_if<uint64_t>(&v.v)) {
    LB_CHECK(*u <= hi, "gguf writer: key '", key, "': ", *u, " does not fit ", type_name(v.type));
    return T(*u);
  }
  const int64_t* i = std::get_if<int64_t>(&v.v);
  LB_CHECK(i != nullptr, "gguf writer: key '", key, "': ", type_name(v.type), " holds no integer");
  LB_CHECK(*i >= lo && (*i < 0 || uint64_t(*i) <= hi), "gguf writer: key '", key, "': ", *i, " does not fit ",
           type_name(v.type));
  return T(*i);
}

void put_value(std::string& o, const GgufValue& v, const std::string& key, int depth) {
  switch (v.type) {
    case GgufType::U8: put(o, checked_int<uint8_t>(v, key)); break;
    case GgufType::I8: put(o, checked_int<int8_t>(v, key)); break;
    case GgufType::U16: put(o, checked_int<uint16_t>(v, key)); break;
    case GgufType::I16: put(o, checked_int<int16_t>(v, key)); break;
    case GgufType::U32: put(o, checked_int<uint32_t>(v, key)); break;
    case GgufType::I32: put(o, checked_int<int32_t>(v, key)); break;
    case GgufType::U64: put(o, checked_int<uint64_t>(v, key)); break;
    case GgufType::I64: put(o, checked_int<int64_t>(v, key)); break;
    case GgufType::F32: case GgufType::F64: {
      const double* d = std::get_if<double>(&v.v);
      LB_CHECK(d != nullptr, "gguf writer: key '", key, "': ", type_name(v.type), " holds no number");
      if (v.type == GgufType::F32) put(o, float(*d));
      else put(o, *d);
      break;
    }
    case GgufType::BOOL: {
      const bool* b = std::get_if<bool>(&v.v);
      LB_CHECK(b != nullptr, "gguf writer: key '", key, "': bool holds no bool");
      put<uint8_t>(o, *b ? 1 : 0);
      break;
    }
    case GgufType::STRING: {
      const std::string* s = std::get_if<std::string>(&v.v);
      LB_CHECK(s != nullptr, "gguf writer: key '", key, "': string holds no string");
      put_str(o, *s);
      break;
    }
    case GgufType::ARRAY: {
      const auto* a = std::get_if<std::vector<GgufValue>>(&v.v);
      LB_CHECK(a != nullptr, "gguf writer: key '", key, "': array holds no items");
      LB_CHECK(depth < kMaxArrayDepth, "gguf writer: key '", key, "': arrays nested too deep");
      put<uint32_t>(o, uint32_t(v.elem_type));
      put<uint64_t>(o, a->size());
      for (const auto& it : *a) {
        LB_CHECK(it.type == v.elem_type, "gguf writer: key '", key, "': ", type_name(it.type), " item in an array of ",
                 type_name(v.elem_type));
        put_value(o, it, key, depth + 1);
      }
      break;
    }
  }
}

}  // namespace

GgufWriter::GgufWriter(uint64_t alignment) : alignment_(alignment) {
  LB_CHECK(alignment > 0 && alignment <= kMaxAlignment && (alignment & (alignment - 1)) == 0,
           "gguf writer: alignment ", alignment, " is not a power of two");
  if (alignment != 32) set("general.alignment", GgufValue::make_uint(GgufType::U32, alignment));
}

void GgufWriter::set(const std::string& key, GgufValue v) {
  LB_CHECK(!key.empty(), "gguf writer: empty key");
  if (key == "general.alignment") {
    LB_CHECK(v.type == GgufType::U32 && std::get_if<uint64_t>(&v.v) && std::get<uint64_t>(v.v) == alignment_,
             "gguf writer: general.alignment must be the writer's alignment ", alignment_, " as u32");
  }
  for (auto& [k, old] : kv_) {
    if (k == key) {
      old = std::move(v);
      return;
    }
  }
  kv_.emplace_back(key, std::move(v));
}

void GgufWriter::add_tensor(const std::string& name, uint32_t ggml_type, std::vector<int64_t> shape,
                            std::vector<uint8_t> bytes) {
  LB_CHECK(!name.empty() && name.size() < 64, "gguf writer: tensor name '", name, "' must be 1 to 63 bytes");
  for (const auto& p : tensors_) LB_CHECK(p.info.name != name, "gguf writer: duplicate tensor '", name, "'");
  LB_CHECK(!shape.empty() && shape.size() <= kMaxDims, "gguf writer: tensor '", name, "': ", shape.size(), " dims");
  auto blk = ggml_type_block(ggml_type);
  LB_CHECK(blk.has_value(), "gguf writer: tensor '", name, "': unknown ggml type ", ggml_type);
  int64_t numel = 1;
  for (int64_t d : shape) {
    LB_CHECK(d >= 0, "gguf writer: tensor '", name, "': negative dimension");
    numel *= d;
  }
  LB_CHECK(shape.back() % blk->elems == 0, "gguf writer: tensor '", name, "': row length ", shape.back(),
           " is not a multiple of the ", ggml_type_name(ggml_type), " block size ", blk->elems);
  const uint64_t nbytes = uint64_t(numel / blk->elems) * blk->bytes;
  LB_CHECK(bytes.size() == nbytes, "gguf writer: tensor '", name, "': ", bytes.size(), " bytes, ",
           ggml_type_name(ggml_type), " ", shape_to_string(shape), " needs ", nbytes);
  Pending p;
  p.info.name = name;
  p.info.ggml_type = ggml_type;
  p.info.shape = std::move(shape);
  p.info.nbytes = nbytes;
  p.bytes = std::move(bytes);
  tensors_.push_back(std::move(p));
}

void GgufWriter::add_f32(const std::string& name, const Tensor& t, uint32_t ggml_type) {
  LB_CHECK(ggml_type == uint32_t(GgmlType::F32) || ggml_type == uint32_t(GgmlType::F16),
           "gguf writer: add_f32 stores F32 or F16, not ", ggml_type_name(ggml_type));
  std::vector<uint8_t> b;
  if (ggml_type == uint32_t(GgmlType::F32)) {
    b.resize(t.data.size() * 4);
    if (!b.empty()) std::memcpy(b.data(), t.data.data(), b.size());
  } else {
    b.resize(t.data.size() * 2);
    for (size_t i = 0; i < t.data.size(); ++i) {
      const uint16_t h = f32_to_f16(t.data[i]);
      std::memcpy(b.data() + 2 * i, &h, 2);
    }
  }
  add_tensor(name, ggml_type, t.shape.empty() ? std::vector<int64_t>{1} : t.shape, std::move(b));
}

void GgufWriter::write(const std::string& path) const {
  // Header, metadata and tensor infos are built in memory (small); tensor data streams from the
  // pending buffers.
  std::string head;
  head += "GGUF";
  put<uint32_t>(head, 3);
  put<uint64_t>(head, tensors_.size());
  put<uint64_t>(head, kv_.size());
  for (const auto& [k, v] : kv_) {
    put_str(head, k);
    put<uint32_t>(head, uint32_t(v.type));
    put_value(head, v, k, 0);
  }
  uint64_t off = 0;
  for (const auto& p : tensors_) {
    put_str(head, p.info.name);
    put<uint32_t>(head, uint32_t(p.info.shape.size()));
    for (auto it = p.info.shape.rbegin(); it != p.info.shape.rend(); ++it) put<uint64_t>(head, uint64_t(*it));
    put<uint32_t>(head, p.info.ggml_type);
    put<uint64_t>(head, off);
    off = align_up(off + p.info.nbytes, alignment_);
  }
  head.resize(size_t(align_up(head.size(), alignment_)), '\0');

  AtomicFileWriter out(path);  // nothing is left on failure
  out.append(head.data(), head.size());
  static const char zeros[4096] = {};
  for (const auto& p : tensors_) {
    out.append(p.bytes.data(), p.bytes.size());
    size_t pad = size_t(align_up(p.bytes.size(), alignment_) - p.bytes.size());
    while (pad > 0) {
      const size_t n = std::min(pad, sizeof zeros);
      out.append(zeros, n);
      pad -= n;
    }
  }
  out.commit();
}

}  // namespace lowbit
