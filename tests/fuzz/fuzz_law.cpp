// tests/fuzz/fuzz_law.cpp — libFuzzer target: arbitrary bytes as a laws file (jobs/laws.yaml form).
// defines: LLVMFuzzerTestOneInput
//
// load_laws must either return laws or throw a user error with file:line:col; neither a YAML-cpp
// nor a muParser exception may escape. Every accepted law's expression (and each declared
// linearisation regressor) must compile with its free names bound and evaluate without crashing.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_util.hpp"
#include "lowbit/fit/law.hpp"

namespace {

double eval_all_ones(const std::string& expr, const std::string& who) {
  const std::vector<std::string> names = lowbit::fit::expr_names(expr, who);
  lowbit::fit::Expr e(expr, names, who);
  const std::vector<double> ones(names.size(), 1.0);
  return e.eval(ones.data());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path =
      lowbit::fuzz::write_scratch("laws.yaml", std::string_view(reinterpret_cast<const char*>(data), size));
  try {
    const auto laws = lowbit::fit::load_laws(path);
    for (const auto& law : laws) {
      if (law.name.empty() || law.expr.empty()) std::abort();
      for (const auto& p : law.params)
        if (!(p.lo <= p.hi)) std::abort();  // bounds were checked
      (void)eval_all_ones(law.expr, law.where);
      if (law.log_linear)
        for (const auto& [param, regressor] : law.log_linear->terms) {
          if (law.param_index(param) < 0) std::abort();
          (void)eval_all_ones(regressor, law.where);
        }
    }
  } catch (const lowbit::Error& e) {
    lowbit::fuzz::expect_user_error(e);
  }
  return 0;
}
