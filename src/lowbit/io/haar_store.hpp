// lowbit/io/haar_store.hpp — the on-disk form of Haar-pruned layers: sparse coefficients plus shape,
// in the "bitmap + values" encoding of docs/HAAR.md, inside a safetensors file.
// defines: lowbit::write_haar_coeffs, read_haar_coeffs
//
// Per layer NAME (canonical, e.g. "layers.0.attn.q"): NAME.shape I64 [3] = (out, in, levels),
// NAME.mask U8 [ceil(out·in/8)] = bit i (LSB first) set where C.flat[i] != 0, NAME.values F32 [nnz]
// = the nonzero coefficients in row-major order. Metadata: format = "lowbit-haar-v1". Bytes per
// layer: ⌈N/8⌉ + 4·nnz (+ 24 for the shape), against 4·N for the dense f32 weights.
#pragma once

#include <map>
#include <string>

#include "lowbit/model/compressed.hpp"  // HaarLayer

namespace lowbit {

void write_haar_coeffs(const std::map<std::string, HaarLayer>& layers, const std::string& path);
// Throws InputError naming the file and layer for a malformed store (sizes, bitmap/nnz mismatch).
std::map<std::string, HaarLayer> read_haar_coeffs(const std::string& path);

}  // namespace lowbit
