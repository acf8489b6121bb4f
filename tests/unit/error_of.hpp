// tests/unit/error_of.hpp — the contract every bad-input error shares, checked where a test
// expects one: a typed lowbit error with a one-line message and exit code 2.
// defines: lowbit::test::error_of, EXPECT_NAMES
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <typeinfo>

#include "lowbit/core/error.hpp"

namespace lowbit::test {

// Runs f, which must throw E (or a subclass). Checks the contract every bad-input error shares:
// one line, exit code 2. Returns what() so the caller can check what it names.
template <class E, class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const E& e) {
    std::string w = e.what();
    EXPECT_EQ(w.find('\n'), std::string::npos) << "message is not one line: " << w;
    EXPECT_EQ(e.exit_code(), 2) << w;
    return w;
  } catch (const std::exception& e) {
    ADD_FAILURE() << "wrong exception type (" << typeid(e).name() << "): " << e.what();
    return "<wrong exception type>";
  }
  ADD_FAILURE() << "no exception thrown";
  return "<no exception>";
}

}  // namespace lowbit::test

#define EXPECT_NAMES(msg, needle) \
  EXPECT_NE((msg).find(needle), std::string::npos) << "message: " << (msg) << "\n  does not contain: " << (needle)
