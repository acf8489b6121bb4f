// lowbit/archive/record.hpp — the in-memory shape of what goes into the HDF5 archive: a tree of
// groups with typed attributes and 1-D/2-D f64 datasets whose columns carry names and units.
// Every study (compression records, diagnostics, task scores, fits) builds one of these per
// configuration; archive/archive.hpp writes it (whole or not at all) and reads it back.
// defines: lowbit::archive::Attr, Table, Group
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <variant>
#include <vector>

namespace lowbit::archive {

// An attribute: integer, real, text, or a list of reals.
using Attr = std::variant<int64_t, double, std::string, std::vector<double>>;

// A 2-D table of doubles (rows × columns), stored as one dataset. `columns` and `units` name each
// column (units may be "" for dimensionless); `rows` optionally names each row (e.g. layer names).
// A 1-D series is a table with one column. NaN marks "not measured".
struct Table {
  std::vector<std::string> columns;
  std::vector<std::string> units;
  std::vector<std::string> rows;   // empty or rows.size() == nrows()
  std::vector<double> data;        // row-major, nrows() * columns.size()
  std::string description;

  size_t ncols() const { return columns.size(); }
  size_t nrows() const { return columns.empty() ? 0 : data.size() / columns.size(); }
  void add_column(std::string name, std::string unit) {
    columns.push_back(std::move(name));
    units.push_back(std::move(unit));
  }
  // Append one row; `values` must have ncols() entries.
  void add_row(const std::vector<double>& values, std::string row_name = {}) {
    data.insert(data.end(), values.begin(), values.end());
    if (!row_name.empty() || !rows.empty()) rows.push_back(std::move(row_name));
  }
  double at(size_t r, size_t c) const { return data[r * columns.size() + c]; }
  // Column index by name, or -1.
  int col(const std::string& name) const {
    for (size_t i = 0; i < columns.size(); ++i)
      if (columns[i] == name) return static_cast<int>(i);
    return -1;
  }
  bool operator==(const Table&) const = default;  // NaN != NaN: compare archives with NaN-free data
};

// A group: attributes, named tables and named sub-groups (std::map: names are unique and the
// order on disk is deterministic).
struct Group {
  std::map<std::string, Attr> attrs;
  std::map<std::string, Table> tables;
  std::map<std::string, Group> groups;

  Group& group(const std::string& name) { return groups[name]; }
  void set(const std::string& key, Attr v) { attrs[key] = std::move(v); }
  // Typed reads that tolerate a missing key or another type (archives are input): an integer or
  // real attribute as a double (else `def`), a text attribute (else "").
  double number(const std::string& key, double def) const {
    auto it = attrs.find(key);
    if (it == attrs.end()) return def;
    if (auto* i = std::get_if<int64_t>(&it->second)) return double(*i);
    if (auto* d = std::get_if<double>(&it->second)) return *d;
    return def;
  }
  std::string text(const std::string& key) const {
    auto it = attrs.find(key);
    if (it == attrs.end()) return {};
    auto* s = std::get_if<std::string>(&it->second);
    return s ? *s : std::string();
  }
  bool operator==(const Group&) const = default;
};

}  // namespace lowbit::archive
