// lowbit/fit/derived.cpp — the derived-variable rules (effective bits, scale density, normalized
// and relative accuracy). defines: derived_variables, variable_values, variable_inputs
//
// Effective bit-width counts the storage of the quantization grid per weight:
//   Beff = B + (scale_bits + zero_bits) / G
// with scale_bits = 16 (an f16 scale) and zero_bits = 16 (an f16 zero; 0 when sym = 1) unless the
// table has columns of those names. Per-channel grids (G <= 0: lowbit writes 0, others -1) spread
// one scale over a whole row: the row length K is used when the table has a K column, else the
// overhead is taken as 0.
#include "lowbit/fit/derived.hpp"

#include <cmath>
#include <limits>

#include "lowbit/core/error.hpp"

namespace lowbit::fit {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Group size in weights per scale for row r: G, or K for per-channel, or +inf (no K column).
double group_weights(const PointTable& t, size_t r) {
  double g = t.num.at("G")[r];
  if (std::isnan(g)) return kNaN;
  if (g > 0) return g;
  auto k = t.num.find("K");
  if (k != t.num.end() && k->second[r] > 0) return k->second[r];
  return std::numeric_limits<double>::infinity();
}

double col_or(const PointTable& t, const char* c, size_t r, double dflt) {
  auto it = t.num.find(c);
  if (it == t.num.end() || std::isnan(it->second[r])) return dflt;
  return it->second[r];
}

}  // namespace

const std::vector<DerivedVar>& derived_variables() {
  static const std::vector<DerivedVar> v = {
      {"Beff", "B + (scale_bits + zero_bits)/G: bits per weight with the grid's storage (16+16 asym, 16 sym)",
       {"B", "G"}, {"sym", "scale_bits", "zero_bits", "K"}},
      {"rG", "1/G, scales per weight (per-channel G<=0: 1/K with a K column, else 0)", {"G"}, {"K"}},
      {"acc_norm", "(acc - chance)/(1 - chance)", {"acc", "chance"}, {}},
      {"acc_fp_norm", "(acc_fp - chance)/(1 - chance)", {"acc_fp", "chance"}, {}},
      {"acc_rel", "acc/acc_fp, accuracy relative to the FP model", {"acc", "acc_fp"}, {}},
      {"acc_norm_rel", "acc_norm/acc_fp_norm", {"acc", "acc_fp", "chance"}, {}},
      {"drop", "1 - acc/acc_fp, relative accuracy lost to compression", {"acc", "acc_fp"}, {}},
      {"drop_norm", "1 - acc_norm/acc_fp_norm, relative loss of above-chance accuracy", {"acc", "acc_fp", "chance"}, {}},
  };
  return v;
}

std::vector<std::string> variable_inputs(const PointTable& t, const std::string& name) {
  if (t.num.count(name)) return {name};
  for (const auto& d : derived_variables())
    if (d.name == name) {
      std::vector<std::string> in = d.needs;
      for (const auto& o : d.optional)
        if (t.num.count(o)) in.push_back(o);
      return in;
    }
  return {};
}

std::vector<double> variable_values(const PointTable& t, const std::string& name, const std::string& who) {
  if (t.num.count(name)) return t.num.at(name);
  LB_INPUT_CHECK(!t.is_text(name), t.source, ": ", who, " uses '", name,
                 "', a text column (laws use numeric columns; split by text columns with --group-by)");
  const DerivedVar* d = nullptr;
  for (const auto& x : derived_variables())
    if (x.name == name) d = &x;
  if (!d) {
    std::string known;
    for (const auto& [c, v] : t.num) known += (known.empty() ? "" : ", ") + c;
    for (const auto& x : derived_variables()) known += ", " + x.name;
    LB_FAIL_INPUT(t.source, ": ", who, " refers to unknown variable '", name, "' (known: ", known, ")");
  }
  for (const auto& c : d->needs)
    LB_INPUT_CHECK(t.num.count(c), t.source, ": ", who, " needs '", name, "' = ", d->rule, ", but the table has no ",
                   t.is_text(c) ? "numeric " : "", "column '", c, "'");
  std::vector<double> v(t.nrows);
  auto col = [&](const char* c) -> const std::vector<double>& { return t.num.at(c); };
  for (size_t r = 0; r < t.nrows; ++r) {
    if (name == "Beff") {
      double sym = col_or(t, "sym", r, 0.0);
      double bits = col_or(t, "scale_bits", r, 16.0) + col_or(t, "zero_bits", r, sym != 0 ? 0.0 : 16.0);
      v[r] = col("B")[r] + bits / group_weights(t, r);
    } else if (name == "rG") {
      v[r] = 1.0 / group_weights(t, r);
    } else {
      double acc = t.num.count("acc") ? col("acc")[r] : kNaN;
      double fp = t.num.count("acc_fp") ? col("acc_fp")[r] : kNaN;
      double ch = t.num.count("chance") ? col("chance")[r] : kNaN;
      double an = (acc - ch) / (1 - ch), fn = (fp - ch) / (1 - ch);
      if (name == "acc_norm") v[r] = an;
      else if (name == "acc_fp_norm") v[r] = fn;
      else if (name == "acc_rel") v[r] = acc / fp;
      else if (name == "acc_norm_rel") v[r] = an / fn;
      else if (name == "drop") v[r] = 1 - acc / fp;
      else if (name == "drop_norm") v[r] = 1 - an / fn;
      else LB_FAIL_INTERNAL("derived variable '", name, "' has no rule");
    }
    if (!std::isfinite(v[r])) v[r] = kNaN;  // 0/0 (chance = 1, acc_fp = 0): not measurable
  }
  return v;
}

}  // namespace lowbit::fit
