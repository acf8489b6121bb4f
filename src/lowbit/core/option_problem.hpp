// lowbit/core/option_problem.hpp — what a validator of compression settings reports: the
// field that is wrong (group, bits, sparsity, nm, levels, damp, blocksize, ...), the linear it is
// wrong for, and what is wrong with it, but not the surface's name for the field. The caller adds
// that: the CLI says `--group`, a manifest run `methods[1].group` at file:line:col.
// defines: lowbit::OptionProblem, FieldNamer
#pragma once

#include <functional>
#include <string>

namespace lowbit {

struct OptionProblem {
  std::string field;   // a CompressOptions field as a surface-neutral name: "group", "nm", "damp"
  std::string linear;  // "attn.q" when the value does not fit that linear's shape ("" = any)
  std::string what;    // "group size -3 must be positive or -1 (per channel)"
};

// A surface's name for a field: "--group" (CLI), "m.yaml:7:12: methods[1].group" (manifest).
using FieldNamer = std::function<std::string(const std::string& field)>;

}  // namespace lowbit
