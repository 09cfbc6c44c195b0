// SPDX-License-Identifier: MIT
#pragma once
#include <sstream>
#include <stdexcept>
#include <string>

namespace convcore {

// A bad argument value or shape; surfaces in Python as ValueError.
class ArgumentError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

// A bad or mismatched dtype; surfaces in Python as TypeError.
class DTypeError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

template <class... Args>
std::string str_cat(const Args&... args) {
  std::ostringstream os;
  (os << ... << args);
  return os.str();
}

template <class... Args>
[[noreturn]] void throw_argument_error(const Args&... args) {
  throw ArgumentError(str_cat(args...));
}

template <class... Args>
[[noreturn]] void throw_dtype_error(const Args&... args) {
  throw DTypeError(str_cat(args...));
}

// CC_CHECK_ARG(cond, "conv2d: stride must be positive, got ", s) raises ArgumentError.
#define CC_CHECK_ARG(cond, ...)                                      \
  do {                                                               \
    if (!(cond)) ::convcore::throw_argument_error(__VA_ARGS__);      \
  } while (0)

}  // namespace convcore
