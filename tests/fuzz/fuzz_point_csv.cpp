// tests/fuzz/fuzz_point_csv.cpp — libFuzzer target: arbitrary bytes as a `fit --table` CSV.
// defines: LLVMFuzzerTestOneInput
//
// parse_point_csv must either return a rectangular table or throw a user error naming the line;
// an accepted table has every column exactly once, each of nrows values, and the derived row keys
// and strata splits cover every row.
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_util.hpp"
#include "lowbit/fit/point_table.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    const lowbit::fit::PointTable t = lowbit::fit::parse_point_csv(text, "fuzz.csv");
    if (t.num.size() + t.text.size() != t.columns.size()) std::abort();
    for (const auto& c : t.columns) {
      if (c.empty() || !t.has(c)) std::abort();
      const size_t n = t.is_text(c) ? t.text.at(c).size() : t.num.at(c).size();
      if (n != t.nrows) std::abort();
    }
    if (lowbit::fit::config_keys(t).size() != t.nrows) std::abort();
    if (!t.columns.empty()) {
      size_t rows = 0;
      for (const auto& [key, idx] : lowbit::fit::split_by(t, {t.columns.front()})) rows += idx.size();
      if (rows != t.nrows) std::abort();
    }
  } catch (const lowbit::Error& e) {
    lowbit::fuzz::expect_user_error(e);
  }
  return 0;
}
