// lowbit/model/compressed.cpp — QuantSpec's checks and name. defines: see compressed.hpp
#include "lowbit/model/compressed.hpp"

#include "lowbit/core/error.hpp"

namespace lowbit {

void QuantSpec::validate(int64_t in, const std::string& where) const {
  LB_INPUT_CHECK(bits >= 2 && bits <= 8, where, ": bits ", bits, " is outside 2..8");
  LB_INPUT_CHECK(per_channel() || group > 0, where, ": group size ", group, " must be positive or ",
                 kPerChannelSpelling, " (per channel)");
  LB_INPUT_CHECK(in >= 1, where, ": input dimension ", in, " must be positive");
  // A group that does not divide `in` is allowed: the last group of each row is ragged (n_groups).
}

std::string QuantSpec::str() const {
  return "w" + std::to_string(bits) + (per_channel() ? std::string("pc") : "g" + std::to_string(group)) + (sym ? "sym" : "asym");
}

}  // namespace lowbit
