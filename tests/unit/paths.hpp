// tests/unit/paths.hpp — where test data lives. defines: lowbit::test::shared, source, tmpdir
#pragma once

#include <unistd.h>

#include <cstdlib>
#include <string>

namespace lowbit::test {

inline std::string shared(const std::string& rel) { return std::string(LOWBIT_SHARED_DIR) + "/" + rel; }
inline std::string source(const std::string& rel) { return std::string(LOWBIT_SOURCE_DIR) + "/" + rel; }
// A fresh scratch folder for one test (removed by the OS's tmp cleaning, not by the test, so a
// failing case leaves its files for inspection).
inline std::string tmpdir(const std::string& name) {
  std::string t = std::string("/tmp/lowbit_test_") + name + "_" + std::to_string(::getpid());
  std::system(("rm -rf '" + t + "' && mkdir -p '" + t + "'").c_str());
  return t;
}

}  // namespace lowbit::test
