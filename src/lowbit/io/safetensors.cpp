// lowbit/io/safetensors.cpp — safetensors validation, mapping and writing. defines: see safetensors.hpp
#include "lowbit/io/safetensors.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <nlohmann/json.hpp>
#include <set>

#include "lowbit/core/error.hpp"
#include "lowbit/core/mapped_file.hpp"

namespace lowbit {

using nlohmann::json;

namespace {
// Headers larger than this are refused (the format's reference implementation uses 100 MB).
constexpr uint64_t kMaxHeaderBytes = 100ull << 20;
}  // namespace

SafetensorsHeader parse_safetensors_header(std::string_view bytes, size_t file_size,
                                           const std::string& file) {
  LB_INPUT_CHECK(file_size >= 8 && bytes.size() >= 8, file, ": truncated safetensors file (",
                 file_size, " bytes, the 8-byte header length is missing)");
  uint64_t n = 0;
  std::memcpy(&n, bytes.data(), 8);
  LB_INPUT_CHECK(n <= kMaxHeaderBytes, file, ": safetensors header length ", n,
                 " exceeds the 100 MB limit (not a safetensors file?)");
  LB_INPUT_CHECK(8 + n <= file_size && 8 + n <= bytes.size(), file, ": safetensors header length ", n,
                 " runs past the end of the file (", file_size, " bytes)");
  SafetensorsHeader h;
  h.data_start = size_t(8 + n);
  const size_t data_size = file_size - h.data_start;
  json j;
  try {
    j = json::parse(bytes.substr(8, size_t(n)));
  } catch (const json::exception& e) {
    LB_FAIL_INPUT(file, ": safetensors header is not valid JSON: ", e.what());
  }
  LB_INPUT_CHECK(j.is_object(), file, ": safetensors header is not a JSON object");
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string& name = it.key();
    const json& v = it.value();
    if (name == "__metadata__") {
      LB_INPUT_CHECK(v.is_object(), file, ": __metadata__ is not an object");
      for (auto m = v.begin(); m != v.end(); ++m) {
        LB_INPUT_CHECK(m.value().is_string(), file, ": __metadata__.", m.key(), " is not a string");
        h.metadata[m.key()] = m.value().get<std::string>();
      }
      continue;
    }
    auto where = [&] { return cat(file, ": tensor '", name, "': "); };
    LB_INPUT_CHECK(v.is_object(), where(), "entry is not an object");
    LB_INPUT_CHECK(v.contains("dtype") && v["dtype"].is_string(), where(), "missing string 'dtype'");
    LB_INPUT_CHECK(v.contains("shape") && v["shape"].is_array(), where(), "missing array 'shape'");
    LB_INPUT_CHECK(v.contains("data_offsets") && v["data_offsets"].is_array() &&
                       v["data_offsets"].size() == 2,
                   where(), "missing 'data_offsets' [begin, end]");
    SafetensorsEntry e;
    e.name = name;
    auto dt = parse_safetensors_dtype(v["dtype"].get<std::string>());
    LB_INPUT_CHECK(dt.has_value(), where(), "unknown dtype '", v["dtype"].get<std::string>(), "'");
    e.dtype = *dt;
    uint64_t numel = 1;
    for (const auto& d : v["shape"]) {
      LB_INPUT_CHECK(d.is_number_unsigned() || (d.is_number_integer() && d.get<int64_t>() >= 0),
                     where(), "shape entries must be non-negative integers");
      uint64_t dim = d.get<uint64_t>();
      LB_INPUT_CHECK(dim < (1ull << 40) && (dim == 0 || numel <= (1ull << 48) / dim), where(),
                     "shape ", d.dump(), " is too large");
      numel *= dim;
      e.shape.push_back(int64_t(dim));
    }
    for (const auto& o : v["data_offsets"])
      LB_INPUT_CHECK(o.is_number_unsigned() || (o.is_number_integer() && o.get<int64_t>() >= 0),
                     where(), "data_offsets must be non-negative integers");
    uint64_t b = v["data_offsets"][0].get<uint64_t>(), en = v["data_offsets"][1].get<uint64_t>();
    LB_INPUT_CHECK(b <= en, where(), "data_offsets [", b, ", ", en, "] are reversed");
    LB_INPUT_CHECK(en <= data_size, where(), "data_offsets [", b, ", ", en,
                   "] run past the end of the data region (", data_size, " bytes)");
    LB_INPUT_CHECK(en - b == numel * dtype_size(e.dtype), where(), "holds ", en - b,
                   " bytes but shape ", shape_to_string(e.shape), " x ", dtype_name(e.dtype),
                   " needs ", numel * dtype_size(e.dtype));
    e.begin = size_t(b);
    e.end = size_t(en);
    h.entries.push_back(std::move(e));
  }
  std::sort(h.entries.begin(), h.entries.end(), [](const auto& a, const auto& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  // As the reference reader (safetensors' validate): sorted by offset, the tensors must tile the
  // data region exactly — no overlap, no gap, no trailing bytes (empty tensors take no bytes).
  size_t cursor = 0;
  const SafetensorsEntry* prev = nullptr;
  for (const auto& e : h.entries) {
    if (e.begin == e.end) continue;  // an empty tensor occupies no bytes (its offsets are in range)
    if (e.begin < cursor)
      LB_FAIL_INPUT(file, ": tensors '", prev->name, "' [", prev->begin, ", ", prev->end, ") and '", e.name, "' [",
                    e.begin, ", ", e.end, ") overlap");
    LB_INPUT_CHECK(e.begin == cursor, file, ": tensor '", e.name, "' starts at data offset ", e.begin,
                   " but the previous tensor ends at ", cursor, " (", e.begin - cursor, " bytes belong to no tensor)");
    cursor = e.end;
    prev = &e;
  }
  LB_INPUT_CHECK(cursor == data_size, file, ": oversized safetensors file: ", data_size - cursor,
                 " bytes after the last tensor belong to no tensor (data region ", data_size, " bytes, tensors end at ",
                 cursor, ")");
  return h;
}

std::shared_ptr<SafetensorsFile> SafetensorsFile::open(const std::string& path) {
  auto map = MappedFile::open(path);
  std::string_view all(reinterpret_cast<const char*>(map->data()), map->size());
  auto f = std::shared_ptr<SafetensorsFile>(new SafetensorsFile());
  f->path_ = path;
  f->header_ = parse_safetensors_header(all, map->size(), path);
  for (const auto& e : f->header_.entries) {
    TensorRef r;
    r.name = e.name;
    r.file = path;
    r.dtype = e.dtype;
    r.shape = e.shape;
    r.data = map->data() + f->header_.data_start + e.begin;
    r.nbytes = e.end - e.begin;
    r.owner = map;
    f->tensors_.emplace(e.name, std::move(r));
  }
  return f;
}

std::map<std::string, TensorRef> open_safetensors_set(const std::string& dir) {
  std::map<std::string, TensorRef> out;
  const std::string index = dir + "/model.safetensors.index.json";
  if (file_exists(index)) {
    json j;
    try {
      j = json::parse(read_file(index));
    } catch (const json::exception& e) {
      LB_FAIL_INPUT(index, ": not valid JSON: ", e.what());
    }
    LB_INPUT_CHECK(j.is_object() && j.contains("weight_map") && j["weight_map"].is_object(), index,
                   ": missing object 'weight_map'");
    std::map<std::string, std::vector<std::string>> by_shard;
    for (auto it = j["weight_map"].begin(); it != j["weight_map"].end(); ++it) {
      LB_INPUT_CHECK(it.value().is_string(), index, ": weight_map.", it.key(), " is not a string");
      std::string shard = it.value().get<std::string>();
      LB_INPUT_CHECK(shard.find('/') == std::string::npos && shard != "..", index, ": weight_map.",
                     it.key(), ": shard name '", shard, "' must be a file in the same folder");
      by_shard[shard].push_back(it.key());
    }
    for (const auto& [shard, names] : by_shard) {
      auto f = SafetensorsFile::open(dir + "/" + shard);
      for (const auto& n : names) {
        auto t = f->tensors().find(n);
        LB_INPUT_CHECK(t != f->tensors().end(), index, ": tensor '", n, "' is mapped to ", shard,
                       " but that file does not hold it");
        out.emplace(n, t->second);
      }
    }
    return out;
  }
  const std::string single = dir + "/model.safetensors";
  LB_INPUT_CHECK(file_exists(single), dir, ": no model.safetensors or model.safetensors.index.json");
  auto f = SafetensorsFile::open(single);
  return f->tensors();
}

void SafetensorsWriter::add(const std::string& name, DType dtype, std::vector<int64_t> shape,
                            std::string bytes) {
  LB_CHECK(size_t(Tensor::numel_of(shape)) * dtype_size(dtype) == bytes.size(), name);
  LB_CHECK(!items_.count(name), "duplicate tensor ", name);
  items_[name] = Item{dtype, std::move(shape), std::move(bytes)};
}

void SafetensorsWriter::add_view(const std::string& name, DType dtype, std::vector<int64_t> shape, const void* data,
                                 size_t bytes) {
  LB_CHECK(size_t(Tensor::numel_of(shape)) * dtype_size(dtype) == bytes, name);
  LB_CHECK(!items_.count(name), "duplicate tensor ", name);
  Item it{dtype, std::move(shape), {}};
  it.view = static_cast<const char*>(data);
  it.view_size = bytes;
  items_[name] = std::move(it);
}

namespace {
// A checkpoint lowbit writes must load again: no non-finite value, none that overflows the dtype.
void check_storable(const std::string& name, const Tensor& t, int64_t i, float stored, DType dtype) {
  const float v = t.data[size_t(i)];
  LB_INPUT_CHECK(std::isfinite(v), "tensor '", name, "' ", t.shape_str(), ": non-finite value ", v, " at flat index ", i,
                 "; nothing written");
  LB_INPUT_CHECK(std::isfinite(stored), "tensor '", name, "' ", t.shape_str(), ": value ", v, " at flat index ", i,
                 " overflows ", dtype_name(dtype), "; nothing written (store it as F32)");
}
}  // namespace

void SafetensorsWriter::add_f32(const std::string& name, const Tensor& t, DType dtype) {
  const int64_t n = t.numel();
  std::string bytes;
  if (dtype == DType::F32) {
    for (int64_t i = 0; i < n; ++i) check_storable(name, t, i, t.data[size_t(i)], dtype);
    bytes.assign(reinterpret_cast<const char*>(t.ptr()), size_t(n) * 4);
  } else if (dtype == DType::F16 || dtype == DType::BF16) {
    bytes.resize(size_t(n) * 2);
    for (int64_t i = 0; i < n; ++i) {
      const float v = t.data[size_t(i)];
      const uint16_t h = dtype == DType::F16 ? f32_to_f16(v) : f32_to_bf16(v);
      check_storable(name, t, i, dtype == DType::F16 ? f16_to_f32(h) : bf16_to_f32(h), dtype);
      std::memcpy(bytes.data() + 2 * i, &h, 2);
    }
  } else {
    LB_FAIL_INTERNAL("add_f32: unsupported dtype ", dtype_name(dtype));
  }
  add(name, dtype, t.shape, std::move(bytes));
}

std::string SafetensorsWriter::header() const {
  json h = json::object();
  size_t off = 0;
  for (const auto& [name, it] : items_) {
    h[name] = {{"dtype", dtype_name(it.dtype)}, {"shape", it.shape}, {"data_offsets", {off, off + it.size()}}};
    off += it.size();
  }
  if (!metadata_.empty()) h["__metadata__"] = metadata_;
  std::string hs = h.dump();
  while ((8 + hs.size()) % 8) hs.push_back(' ');  // align the data region, as the reference does
  uint64_t n = hs.size();
  std::string out(8, '\0');
  std::memcpy(out.data(), &n, 8);
  out += hs;
  return out;
}

std::string SafetensorsWriter::serialize() const {
  std::string out = header();
  for (const auto& [name, it] : items_) out.append(it.data(), it.size());
  return out;
}

void SafetensorsWriter::write(const std::string& path) const {
  AtomicFileWriter f(path);
  const std::string h = header();
  f.append(h.data(), h.size());
  for (const auto& [name, it] : items_) f.append(it.data(), it.size());
  f.commit();
}

}  // namespace lowbit
