// tests/fuzz/fuzz_manifest.cpp — libFuzzer target: arbitrary bytes as an experiment manifest.
// defines: LLVMFuzzerTestOneInput
//
// parse_manifest (files not required to exist, as `lowbit plan` on a login node) must either
// return a manifest or throw a user error naming the field; no YAML-cpp or std exception may
// escape. A manifest it accepts must expand (sweep expansion is bounded before it runs), every
// configuration id must be unique (two sweep values that format alike would drop a configuration),
// and every configuration must turn into its archive attributes.
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>

#include "fuzz_util.hpp"
#include "lowbit/plan/manifest.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    lowbit::plan::ParseOptions po;
    po.check_files = false;
    const lowbit::plan::Manifest m =
        lowbit::plan::parse_manifest(text, lowbit::fuzz::scratch_dir() + "/manifest.yaml", po);
    const auto configs = lowbit::plan::expand(m);
    std::set<std::string> ids;
    for (const auto& c : configs) {
      if (c.id.empty() || !ids.insert(c.id).second) std::abort();
      if (c.model < 0 || size_t(c.model) >= m.models.size()) std::abort();
      (void)lowbit::plan::config_params(m, c);
    }
  } catch (const lowbit::Error& e) {
    lowbit::fuzz::expect_user_error(e);
  }
  return 0;
}
