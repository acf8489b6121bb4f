// tests/fuzz/fuzz_archive.cpp — libFuzzer target: arbitrary bytes as an HDF5 run archive, read the
// way `--resume`, `inspect` and `fit` read one (archive::read_group_file of the whole tree).
// defines: LLVMFuzzerTestOneInput
//
// read_group_file must either return the tree or throw a user error naming the file; HDF5's own
// error stack is silenced, not printed. Attribute and dataset values of an accepted tree are
// walked, so a wrong size read from the file is caught by ASan in lowbit's copy of it. Crashes
// inside libhdf5 itself on damaged files are possible (it is not instrumented); docs/FUZZING.md
// says what was seen.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

#include "fuzz_util.hpp"
#include "lowbit/archive/archive.hpp"

namespace {

size_t walk(const lowbit::archive::Group& g, int depth) {
  if (depth > 64) std::abort();  // HDF5 groups are a tree; a cycle would have been followed
  size_t n = g.attrs.size();
  for (const auto& [name, t] : g.tables) {
    if (t.units.size() != t.columns.size()) std::abort();
    if (!t.columns.empty() && t.data.size() % t.columns.size() != 0) std::abort();
    if (!t.rows.empty() && t.rows.size() != t.nrows()) std::abort();
    n += t.data.size();
  }
  for (const auto& [name, sub] : g.groups) {
    if (name.empty()) std::abort();
    n += walk(sub, depth + 1);
  }
  return n;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path =
      lowbit::fuzz::write_scratch("archive.h5", std::string_view(reinterpret_cast<const char*>(data), size));
  try {
    const lowbit::archive::Group root = lowbit::archive::read_group_file(path);
    volatile size_t n = walk(root, 0);
    (void)n;
  } catch (const lowbit::Error& e) {
    lowbit::fuzz::expect_user_error(e);
  }
  return 0;
}
