// lowbit/io/haar_store.cpp — Haar coefficient store. defines: see haar_store.hpp
#include "lowbit/io/haar_store.hpp"

#include <cstring>

#include "lowbit/core/error.hpp"
#include "lowbit/io/safetensors.hpp"

namespace lowbit {

void write_haar_coeffs(const std::map<std::string, HaarLayer>& layers, const std::string& path) {
  SafetensorsWriter w;
  w.set_metadata("format", "lowbit-haar-v1");
  for (const auto& [name, l] : layers) {
    const int64_t out = l.coeffs.dim(0), in = l.coeffs.dim(1), n = out * in;
    std::string mask(size_t((n + 7) / 8), '\0'), values;
    for (int64_t i = 0; i < n; ++i) {
      const float v = l.coeffs.data[size_t(i)];
      if (v == 0.f) continue;
      mask[size_t(i / 8)] = char(uint8_t(mask[size_t(i / 8)]) | uint8_t(1u << (i % 8)));
      values.append(reinterpret_cast<const char*>(&v), 4);
    }
    const int64_t shape[3] = {out, in, l.levels};
    w.add(name + ".shape", DType::I64, {3}, std::string(reinterpret_cast<const char*>(shape), 24));
    const int64_t mask_bytes = int64_t(mask.size()), nnz = int64_t(values.size() / 4);
    w.add(name + ".mask", DType::U8, {mask_bytes}, std::move(mask));
    w.add(name + ".values", DType::F32, {nnz}, std::move(values));
  }
  w.write(path);
}

std::map<std::string, HaarLayer> read_haar_coeffs(const std::string& path) {
  auto f = SafetensorsFile::open(path);
  auto fmt = f->metadata().find("format");
  LB_INPUT_CHECK(fmt != f->metadata().end() && fmt->second == "lowbit-haar-v1", path,
                 ": not a lowbit Haar coefficient store (metadata format != lowbit-haar-v1)");
  std::map<std::string, HaarLayer> out;
  const auto& t = f->tensors();
  for (const auto& [tname, ref] : t) {
    const std::string suffix = ".shape";
    if (tname.size() <= suffix.size() || tname.compare(tname.size() - suffix.size(), suffix.size(), suffix) != 0) continue;
    const std::string name = tname.substr(0, tname.size() - suffix.size());
    LB_INPUT_CHECK(ref.dtype == DType::I64 && ref.numel() == 3, path, ": layer '", name, "': shape must be I64 [3]");
    int64_t shape[3];
    std::memcpy(shape, ref.data, 24);
    LB_INPUT_CHECK(shape[0] > 0 && shape[1] > 0 && shape[2] >= 1 && shape[0] <= (1 << 20) && shape[1] <= (1 << 20),
                   path, ": layer '", name, "': implausible shape (", shape[0], ", ", shape[1], ", levels ", shape[2], ")");
    auto mi = t.find(name + ".mask"), vi = t.find(name + ".values");
    LB_INPUT_CHECK(mi != t.end() && vi != t.end(), path, ": layer '", name, "': missing .mask or .values");
    const int64_t n = shape[0] * shape[1];
    LB_INPUT_CHECK(mi->second.dtype == DType::U8 && mi->second.numel() == (n + 7) / 8, path, ": layer '", name,
                   "': mask must be U8 [", (n + 7) / 8, "]");
    LB_INPUT_CHECK(vi->second.dtype == DType::F32, path, ": layer '", name, "': values must be F32");
    HaarLayer l;
    l.levels = int(shape[2]);
    l.coeffs.resize({shape[0], shape[1]});
    const uint8_t* mask = mi->second.data;
    const int64_t nnz = vi->second.numel();
    int64_t k = 0;
    for (int64_t i = 0; i < n; ++i) {
      if (!(mask[i / 8] & (1u << (i % 8)))) continue;
      LB_INPUT_CHECK(k < nnz, path, ": layer '", name, "': the mask has more set bits than the ", nnz, " values");
      std::memcpy(&l.coeffs.data[size_t(i)], vi->second.data + 4 * k, 4);
      ++k;
    }
    LB_INPUT_CHECK(k == nnz, path, ": layer '", name, "': the mask has ", k, " set bits but there are ", nnz, " values");
    out.emplace(name, std::move(l));
  }
  LB_INPUT_CHECK(!out.empty(), path, ": no layers in the Haar coefficient store");
  return out;
}

}  // namespace lowbit
