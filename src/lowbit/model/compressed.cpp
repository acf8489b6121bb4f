// lowbit/model/compressed.cpp — QuantSpec's checks and name. defines: see compressed.hpp
#include "lowbit/model/compressed.hpp"

#include "lowbit/core/error.hpp"

namespace lowbit {

std::optional<OptionProblem> QuantSpec::check(int64_t in) const {
  if (bits < 2 || bits > 8) return OptionProblem{"bits", "", cat("bits ", bits, " is outside 2..8")};
  if (!(per_channel() || group > 0))
    return OptionProblem{"group", "", cat("group size ", group, " must be positive or ", kPerChannelSpelling, " (per channel)")};
  if (in < 1) return OptionProblem{"group", "", cat("input dimension ", in, " must be positive")};
  // A group that does not divide `in` is allowed: the last group of each row is ragged (n_groups).
  return std::nullopt;
}

void QuantSpec::validate(int64_t in, const std::string& where) const {
  if (const auto p = check(in)) LB_FAIL_INPUT(where, ": ", p->what);
}

std::string QuantSpec::str() const {
  return "w" + std::to_string(bits) + (per_channel() ? std::string("pc") : "g" + std::to_string(group)) + (sym ? "sym" : "asym");
}

}  // namespace lowbit
