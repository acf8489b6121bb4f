// tests/fuzz/fuzz_util.hpp — what the file-level fuzz targets share: a per-process scratch folder,
// writing an input to a file in it, and the rule every target checks (a bad input may only end in
// a typed user error: InputError, ConfigError or IoError; an InternalError is a bug).
// defines: lowbit::fuzz::scratch_dir, write_scratch, split_input, expect_user_error
#pragma once

#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "lowbit/core/error.hpp"

namespace lowbit::fuzz {

// One scratch folder per fuzzing process (libFuzzer -jobs/-workers run separate processes).
inline const std::string& scratch_dir() {
  static const std::string dir = [] {
    const char* base = std::getenv("TMPDIR");
    std::string tmpl = std::string(base && *base ? base : "/tmp") + "/lowbit-fuzz-XXXXXX";
    if (!mkdtemp(tmpl.data())) std::abort();
    return tmpl;
  }();
  return dir;
}

// Write `bytes` to <scratch>/<name> (replacing it) and return the path.
inline std::string write_scratch(const std::string& name, std::string_view bytes) {
  const std::string path = scratch_dir() + "/" + name;
  FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) std::abort();
  if (!bytes.empty() && std::fwrite(bytes.data(), 1, bytes.size(), f) != bytes.size()) std::abort();
  std::fclose(f);
  return path;
}

// The input as two files: the part before the first "\n----\n" and the part after ("" if absent).
inline std::pair<std::string_view, std::string_view> split_input(std::string_view in) {
  const std::string_view sep = "\n----\n";
  const size_t at = in.find(sep);
  if (at == std::string_view::npos) return {in, {}};
  return {in.substr(0, at), in.substr(at + sep.size())};
}

// A lowbit::Error that reached the caller: the user-facing kinds are the expected outcome of a bad
// file; an InternalError (exit 1, "this is a bug") from input alone is a finding.
inline void expect_user_error(const Error& e) {
  if (e.kind() == ErrorKind::Internal) {
    std::fprintf(stderr, "InternalError from input: %s\n", e.what());
    std::abort();
  }
}

}  // namespace lowbit::fuzz
