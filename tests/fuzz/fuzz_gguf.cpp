// tests/fuzz/fuzz_gguf.cpp — libFuzzer target: arbitrary bytes as a GGUF file image.
// defines: LLVMFuzzerTestOneInput
//
// parse_gguf must either return a file whose every invariant holds, or throw a lowbit::Error. When
// it returns, the target re-checks the invariants independently (data section inside the input,
// each tensor inside it, aligned, byte size = whole blocks of its type, no two non-empty tensors
// overlap), walks every metadata value through the typed accessors, and dequantises every tensor
// lowbit reads (TensorRef::to_f32 without the finite check) from an exactly-sized heap copy of the
// input, so ASan reports any byte read outside the file. Any other exception escapes and counts
// as a crash.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string_view>
#include <vector>

#include "lowbit/core/error.hpp"
#include "lowbit/core/ggml_blocks.hpp"
#include "lowbit/io/gguf.hpp"

namespace {

volatile double g_sink = 0;

void walk(const lowbit::GgufFile& f, const std::string& key, const lowbit::GgufValue& v, int depth) {
  if (depth > 9) std::abort();  // the parser refuses deeper nesting
  try {
    switch (v.type) {
      case lowbit::GgufType::STRING: g_sink = g_sink + double(v.as_string(f.path, key).size()); break;
      case lowbit::GgufType::BOOL: g_sink = g_sink + v.as_bool(f.path, key); break;
      case lowbit::GgufType::ARRAY:
        for (const auto& it : v.as_array(f.path, key)) {
          if (it.type != v.elem_type) std::abort();
          walk(f, key, it, depth + 1);
        }
        break;
      case lowbit::GgufType::F32: case lowbit::GgufType::F64: g_sink = g_sink + v.as_float(f.path, key); break;
      default: g_sink = g_sink + double(v.as_int(f.path, key) & 1); break;  // may refuse u64 > INT64_MAX
    }
  } catch (const lowbit::InputError&) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::unique_ptr<char[]> buf(new char[size ? size : 1]);
  if (size) std::memcpy(buf.get(), data, size);
  const std::string_view bytes(buf.get(), size);
  try {
    auto f = lowbit::parse_gguf(bytes, "fuzz.gguf");
    if (f->data_offset > size || f->alignment == 0 || (f->alignment & (f->alignment - 1)) != 0) std::abort();
    if (f->kv.size() != f->kv_order.size()) std::abort();
    for (const auto& k : f->kv_order) walk(*f, k, f->at(k), 0);
    const uint64_t data_size = size - f->data_offset;
    std::vector<std::pair<uint64_t, uint64_t>> spans;
    for (const auto& t : f->tensors) {
      if (t.offset % f->alignment != 0) std::abort();
      if (t.offset > data_size || t.nbytes > data_size - t.offset) std::abort();
      auto blk = lowbit::ggml_type_block(t.ggml_type);
      if (!blk || t.shape.empty() || t.shape.size() > 4) std::abort();
      uint64_t numel = 1;
      for (int64_t d : t.shape) {
        if (d < 0) std::abort();
        numel *= uint64_t(d);
      }
      if (t.shape.back() % blk->elems != 0 || t.nbytes != numel / uint64_t(blk->elems) * blk->bytes) std::abort();
      if (t.nbytes) spans.emplace_back(t.offset, t.offset + t.nbytes);
      lowbit::TensorRef r;
      try {
        r = f->tensor_ref(t);
      } catch (const lowbit::InputError&) {
        if (lowbit::dtype_from_ggml(t.ggml_type)) std::abort();  // only unsupported types are refused
        continue;
      }
      if (r.data < f->base || r.data + r.nbytes > f->base + size || r.nbytes != t.nbytes) std::abort();
      if (lowbit::dtype_is_float(r.dtype) && numel <= (uint64_t(1) << 22)) {
        // every dequantised byte is read from the heap copy
        const lowbit::Tensor x = r.to_f32(/*check_finite=*/false);
        double s = 0;
        for (float v : x.data) s += double(v);
        g_sink = g_sink + s;
      }
    }
    std::sort(spans.begin(), spans.end());
    for (size_t i = 1; i < spans.size(); ++i)
      if (spans[i].first < spans[i - 1].second) std::abort();
  } catch (const lowbit::Error&) {
    // A typed error is the expected outcome for a bad file.
  }
  return 0;
}
