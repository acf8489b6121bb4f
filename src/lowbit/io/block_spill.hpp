// lowbit/io/block_spill.hpp — streaming's spill: a block's current weights (a compressed block) written
// to a safetensors file and mapped back as the model's source for that block, so the f32 copy can
// leave memory (docs/ARCHITECTURE.md "Memory").
// defines: lowbit::spill_block
#pragma once

#include <string>

#include "lowbit/model/model.hpp"

namespace lowbit {

// Write block i's current weights to a safetensors file at `path`, point the source at it and
// drop the f32 copy: a compressed block then leaves memory and is read back (mapped) on use.
void spill_block(Model& m, int i, const std::string& path);

}  // namespace lowbit
