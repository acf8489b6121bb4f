// tests/unit/numpy_ref.hpp — run tests/data/ref_forward.py (the independent numpy float64 forward)
// on an HF folder or a GGUF file and read back its logits / final hidden states.
// defines: lowbit::test::NumpyRef, numpy_reference, max_abs_diff, max_abs
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "lowbit/core/mapped_file.hpp"
#include "paths.hpp"

namespace lowbit::test {

struct NumpyRef {
  std::vector<double> logits;  // [B, P or T, V]
  std::vector<double> hidden;  // [B, T, D] when asked for
  bool ok = false;
};

inline std::vector<double> read_f64(const std::string& path) {
  const std::string bytes = read_file(path);
  std::vector<double> r(bytes.size() / 8);
  if (!r.empty()) std::memcpy(r.data(), bytes.data(), r.size() * 8);
  return r;
}

// `python`: LOWBIT_TEST_PYTHON for HF folders, venv_python() for GGUF (gguf-py). `positions`: rows
// of each sequence whose logits the reference writes (empty = all).
inline NumpyRef numpy_reference(const std::string& python, const std::string& model,
                                const std::vector<std::vector<int>>& seqs, const std::string& scratch,
                                const std::vector<int>& positions = {}, bool want_hidden = false) {
  const std::string tok = scratch + "/ref_tokens.txt", out = scratch + "/ref_logits.bin",
                    hid = scratch + "/ref_hidden.bin";
  {
    std::ofstream f(tok);
    for (const auto& s : seqs) {
      for (int t : s) f << t << ' ';
      f << '\n';
    }
  }
  std::string cmd = python + " " + source("tests/data/ref_forward.py") + " '" + model + "' " + tok + " " + out;
  if (!positions.empty()) {
    cmd += " --positions ";
    for (size_t i = 0; i < positions.size(); ++i) cmd += (i ? "," : "") + std::to_string(positions[i]);
  }
  if (want_hidden) cmd += " --hidden " + hid;
  NumpyRef r;
  const int rc = std::system(cmd.c_str());
  EXPECT_EQ(rc, 0) << cmd;
  if (rc != 0) return r;
  r.logits = read_f64(out);
  if (want_hidden) r.hidden = read_f64(hid);
  r.ok = true;
  return r;
}

inline double max_abs_diff(const std::vector<double>& a, const float* b, size_t n) {
  double m = 0;
  for (size_t i = 0; i < n; ++i) m = std::max(m, std::abs(a[i] - double(b[i])));
  return m;
}
inline double max_abs(const std::vector<double>& a) {
  double m = 0;
  for (double v : a) m = std::max(m, std::abs(v));
  return m;
}

}  // namespace lowbit::test
