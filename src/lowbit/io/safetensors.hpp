// lowbit/io/safetensors.hpp — safetensors reader (single file or sharded index) and writer.
// defines: lowbit::SafetensorsFile, lowbit::SafetensorsWriter, lowbit::parse_safetensors_header,
//          lowbit::open_safetensors_set
//
// Format: u64 little-endian header length N, N bytes of JSON {name: {dtype, shape, data_offsets:
// [begin, end]}, "__metadata__": {str: str}}, then the data region; offsets are relative to it.
// The reader validates everything before any tensor is used: JSON syntax, dtypes, shapes,
// offsets within the data region, byte counts matching shape x dtype, no overlapping tensors.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "lowbit/core/tensor.hpp"

namespace lowbit {

struct SafetensorsEntry {
  std::string name;
  DType dtype;
  std::vector<int64_t> shape;
  size_t begin = 0, end = 0;  // relative to the data region
};

struct SafetensorsHeader {
  std::vector<SafetensorsEntry> entries;  // in file order of offsets
  std::map<std::string, std::string> metadata;
  size_t data_start = 0;  // 8 + N
};

// Parse and validate the header of a safetensors image of `file_size` bytes whose first bytes are
// `bytes` (at least min(file_size, 8 + N)). Throws InputError naming `file` and the problem.
SafetensorsHeader parse_safetensors_header(std::string_view bytes, size_t file_size,
                                           const std::string& file);

class SafetensorsFile {
 public:
  static std::shared_ptr<SafetensorsFile> open(const std::string& path);
  const std::map<std::string, TensorRef>& tensors() const { return tensors_; }
  const std::map<std::string, std::string>& metadata() const { return header_.metadata; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  SafetensorsHeader header_;
  std::map<std::string, TensorRef> tensors_;
};

// Every tensor of a checkpoint folder: model.safetensors, or the shards listed by
// model.safetensors.index.json (weight_map). Tensor names must be unique across shards.
std::map<std::string, TensorRef> open_safetensors_set(const std::string& dir);

// Collects tensors and writes one file atomically (temp file + rename).
class SafetensorsWriter {
 public:
  void add(const std::string& name, DType dtype, std::vector<int64_t> shape, std::string bytes);
  // Add bytes the caller owns (no copy): `data` must stay valid and unchanged until write(). For
  // large resident tensors (a 262K-row embedding) that must not be held twice.
  void add_view(const std::string& name, DType dtype, std::vector<int64_t> shape, const void* data, size_t bytes);
  // Convert an f32 tensor to dtype (F32, F16, BF16) and add it.
  void add_f32(const std::string& name, const Tensor& t, DType dtype = DType::F32);
  void set_metadata(const std::string& k, const std::string& v) { metadata_[k] = v; }
  // Streams the header and each tensor's bytes to PATH.tmp.<pid>, fsync, rename: no file image in memory.
  void write(const std::string& path) const;
  // Serialised image (for tests and fuzz seeds).
  std::string serialize() const;

 private:
  struct Item {
    DType dtype;
    std::vector<int64_t> shape;
    std::string bytes;             // owned, or
    const char* view = nullptr;    // borrowed (add_view)
    size_t view_size = 0;
    const char* data() const { return view ? view : bytes.data(); }
    size_t size() const { return view ? view_size : bytes.size(); }
  };
  std::string header() const;  // the 8-byte length, the JSON header, padding
  std::map<std::string, Item> items_;
  std::map<std::string, std::string> metadata_;
};

}  // namespace lowbit
