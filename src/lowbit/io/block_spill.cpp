// lowbit/io/block_spill.cpp — a block's weights to safetensors and back as its source.
// defines: see block_spill.hpp
#include "lowbit/io/block_spill.hpp"

#include "lowbit/io/safetensors.hpp"

namespace lowbit {

void spill_block(Model& m, int i, const std::string& path) {
  const BlockWeights& b = m.block(i);  // checks i
  SafetensorsWriter w;
  auto add = [&](const std::string& suffix, const Tensor& t) {
    if (!t.empty()) w.add_f32(block_weight_name(i, suffix), t);
  };
  for (const auto& [suffix, t] : b.norm_tensors()) add(suffix, *t);
  for (auto id : kLinearIds) {
    add(std::string(linear_name(id)) + ".weight", b.linear(id).w);
    add(std::string(linear_name(id)) + ".bias", b.linear(id).b);
  }
  w.write(path);
  m.adopt_block_source(i, SafetensorsFile::open(path)->tensors());
}

}  // namespace lowbit
