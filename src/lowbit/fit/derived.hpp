// lowbit/fit/derived.hpp — the variables a law may use besides the table's own numeric columns:
// effective bit-width, scale density, normalized and FP-relative accuracy. A numeric column of the
// same name in the table wins over the derived rule (an archive may store acc_norm directly).
// defines: lowbit::fit::DerivedVar, derived_variables, variable_values, variable_inputs
#pragma once

#include <string>
#include <vector>

#include "lowbit/fit/point_table.hpp"

namespace lowbit::fit {

struct DerivedVar {
  std::string name;
  std::string rule;                   // one line, for --help and docs/FIT.md
  std::vector<std::string> needs;     // columns that must exist
  std::vector<std::string> optional;  // columns used when present
};
const std::vector<DerivedVar>& derived_variables();

// Values of variable `name` for every row: the numeric column `name` if the table has one, else the
// derived rule. `who` (e.g. "law 'additive' target") prefixes the one-line InputError raised for an
// unknown name, a text column, or a derived variable whose input column is missing.
std::vector<double> variable_values(const PointTable& t, const std::string& name, const std::string& who);
// The table columns `name` is computed from (itself for a plain column).
std::vector<std::string> variable_inputs(const PointTable& t, const std::string& name);

}  // namespace lowbit::fit
