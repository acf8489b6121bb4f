// tests/fuzz/fuzz_manifest.cpp — libFuzzer target: arbitrary bytes as an experiment manifest.
// defines: LLVMFuzzerTestOneInput
//
// parse_manifest (files not required to exist, as `lowbit plan` on a login node) must either
// return a manifest or throw a user error naming the field; no YAML-cpp or std exception may
// escape. A manifest it accepts must expand (sweep expansion is bounded before it runs), every
// configuration id must be unique (two sweep values that format alike would drop a configuration),
// and every configuration must turn into its archive attributes.
//
// Fuzz-only bounds on the work (docs/FUZZING.md): a manifest may sweep up to
// plan::kMaxConfigurations (10^6) configurations, which parse_manifest expands once to check their
// ids (about 5 s under ASan). The target's own expand and checks run only when an upper bound of
// the count (every axis crossed, zips ignored) is at most kFuzzMaxExpand = 10^5: a 10^6 sweep took
// 12.6 s more per input here (and twice that when libFuzzer reruns it for leaks), against the
// 20 s timeout. config_params runs on the first kParamsChecked configurations and the last: it is
// a function of one configuration alone, and every kind a manifest makes appears among the first.
#include <cstddef>
#include <cstdint>
#include <string>
#include <unordered_set>

#include "fuzz_util.hpp"
#include "lowbit/plan/manifest.hpp"

namespace {

constexpr double kFuzzMaxExpand = 1e5;
constexpr size_t kParamsChecked = 4096;

// At least the number of configurations expand(m) makes.
double sweep_bound(const lowbit::plan::Manifest& m) {
  double total = 0;
  for (const auto& me : m.methods) {
    double n = 1;
    for (size_t k : {me.bits.size(), me.group.size(), me.sym.size(), me.sparsity.size(), me.nm.size(),
                     (me.nsamples.empty() ? m.calib_nsamples : me.nsamples).size(),
                     (me.seeds.empty() ? m.seeds : me.seeds).size(), me.seqlen.size()})
      n *= double(k ? k : 1);
    total += n * double(me.models.empty() ? m.models.size() : me.models.size());
  }
  return total;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    lowbit::plan::ParseOptions po;
    po.check_files = false;
    const lowbit::plan::Manifest m =
        lowbit::plan::parse_manifest(text, lowbit::fuzz::scratch_dir() + "/manifest.yaml", po);
    if (sweep_bound(m) > kFuzzMaxExpand) return 0;
    const auto configs = lowbit::plan::expand(m);
    std::unordered_set<std::string> ids;
    for (size_t k = 0; k < configs.size(); ++k) {
      const auto& c = configs[k];
      if (c.id.empty() || !ids.insert(c.id).second) std::abort();
      if (c.model < 0 || size_t(c.model) >= m.models.size()) std::abort();
      if (k < kParamsChecked || k + 1 == configs.size()) (void)lowbit::plan::config_params(m, c);
    }
  } catch (const lowbit::Error& e) {
    lowbit::fuzz::expect_user_error(e);
  }
  return 0;
}
