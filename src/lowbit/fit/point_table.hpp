// lowbit/fit/point_table.hpp — the flat table a scaling-law fit reads: one row per (configuration,
// stratum) of a sweep, numeric columns (N, B, G, C, acc, chance, acc_fp, …) and text columns
// (config, model, family, method, stratum, …). It is what an archive of a sweep flattens into; the
// CSV reader here and (later) the archive reader both produce it. Layout: docs/FIT.md.
// defines: lowbit::fit::PointTable, read_point_csv, parse_point_csv, config_keys, split_by
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <vector>

namespace lowbit::fit {

struct PointTable {
  std::string source;                 // file (or archive path) the rows came from, for messages
  std::vector<std::string> columns;   // every column, in file order
  std::map<std::string, std::vector<double>> num;        // numeric columns; NaN = not measured
  std::map<std::string, std::vector<std::string>> text;  // text columns
  size_t nrows = 0;

  bool has(const std::string& c) const { return num.count(c) || text.count(c); }
  bool is_text(const std::string& c) const { return text.count(c) > 0; }
  // Numeric column or InputError naming the table and column.
  const std::vector<double>& numeric(const std::string& c) const;
  // The rows `idx` (in that order, repeats allowed: bootstrap resamples).
  PointTable select(const std::vector<size_t>& idx) const;
  // Append a numeric / text column of nrows values (the archive reader builds tables this way).
  void add_numeric(const std::string& name, std::vector<double> v);
  void add_text(const std::string& name, std::vector<std::string> v);
};

// CSV with a header row; '#' lines and blank lines are skipped; fields may be "double-quoted".
// A column is numeric when every non-empty cell parses as a number ("nan"/empty = NaN), else text.
// Throws IoError (cannot open) or InputError ("file:line: …") for ragged rows, duplicate or empty
// column names.
PointTable read_point_csv(const std::string& path);
PointTable parse_point_csv(const std::string& text, const std::string& source);

// One key per row naming its configuration: the `config` column when present, else
// "model|method|N=…|B=…|G=…|C=…" from the columns that exist. Rows sharing a key are left out
// together (LOO) and resampled together (bootstrap).
std::vector<std::string> config_keys(const PointTable& t);

// Split rows by the values of text or numeric columns `by` (empty: one group with every row).
// Returns (key, row indices) with keys like "stratum=hellaswag,method=gptq", in first-seen order.
// Throws InputError if a column is missing.
std::vector<std::pair<std::string, std::vector<size_t>>> split_by(const PointTable& t,
                                                                  const std::vector<std::string>& by);

}  // namespace lowbit::fit
