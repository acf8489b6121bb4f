// lowbit/core/error.hpp — the typed error family and the one check-macro family.
// defines: lowbit::Error, InputError, ConfigError, IoError, InternalError, LB_CHECK, LB_INPUT_CHECK,
//          LB_FAIL_INPUT, LB_FAIL_INTERNAL, lowbit::format_context
//
// Library code throws; `main` catches, prints one line and maps the kind to an exit code:
// InputError/ConfigError/IoError -> 2 (bad input: the user can fix it), InternalError -> 1.
// Every error carries the source file:line where it was raised, so a report is traceable.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>

namespace lowbit {

enum class ErrorKind { Input, Config, Io, Internal };

class Error : public std::runtime_error {
 public:
  Error(ErrorKind kind, std::string msg, const char* file, int line)
      : std::runtime_error(std::move(msg)), kind_(kind), file_(file), line_(line) {}
  ErrorKind kind() const { return kind_; }
  const char* src_file() const { return file_; }
  int src_line() const { return line_; }
  // Exit code of the `lowbit` executable for this kind of error.
  int exit_code() const { return kind_ == ErrorKind::Internal ? 1 : 2; }

 private:
  ErrorKind kind_;
  const char* file_;
  int line_;
};

// Bad user input: a file that is truncated or malformed, a tensor with NaNs, a wrong flag value.
struct InputError : Error {
  InputError(std::string m, const char* f, int l) : Error(ErrorKind::Input, std::move(m), f, l) {}
};
// A configuration (manifest, config.json) that is well-formed but wrong; message carries the key path.
struct ConfigError : Error {
  ConfigError(std::string m, const char* f, int l) : Error(ErrorKind::Config, std::move(m), f, l) {}
};
// The operating system refused: a file that cannot be opened, read, mapped or written.
struct IoError : Error {
  IoError(std::string m, const char* f, int l) : Error(ErrorKind::Io, std::move(m), f, l) {}
};
// A bug in lowbit: an invariant that must hold whatever the input.
struct InternalError : Error {
  InternalError(std::string m, const char* f, int l) : Error(ErrorKind::Internal, std::move(m), f, l) {}
};

namespace detail {
inline void stream_all(std::ostringstream&) {}
template <class T, class... R>
void stream_all(std::ostringstream& os, const T& v, const R&... r) {
  os << v;
  stream_all(os, r...);
}
}  // namespace detail

// Concatenate any streamable values into one message string.
template <class... A>
std::string cat(const A&... a) {
  std::ostringstream os;
  detail::stream_all(os, a...);
  return os.str();
}

}  // namespace lowbit

// Throw an error of type T (InputError, ConfigError, IoError, InternalError) with a message.
#define LB_THROW(T, ...) throw ::lowbit::T(::lowbit::cat(__VA_ARGS__), __FILE__, __LINE__)
#define LB_FAIL_INPUT(...) LB_THROW(InputError, __VA_ARGS__)
#define LB_FAIL_INTERNAL(...) LB_THROW(InternalError, __VA_ARGS__)
// Internal invariant; never compiled out. The condition text is part of the message.
#define LB_CHECK(cond, ...)                                                             \
  do {                                                                                  \
    if (!(cond)) LB_THROW(InternalError, "check failed: " #cond " ", ##__VA_ARGS__);    \
  } while (0)
// Input validation: the message must name the file/field/tensor and what is wrong.
#define LB_INPUT_CHECK(cond, ...)                 \
  do {                                            \
    if (!(cond)) LB_THROW(InputError, __VA_ARGS__); \
  } while (0)
