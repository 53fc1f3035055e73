// Result<T>: the value of a build-side operation, or the Error that says where and why it failed.
//
// vigil is C++23 but its fuzzers are built with clang 14, whose libstdc++ 12 headers hide
// std::expected, so this is a small expected-like type with the same spelling for both compilers.
//
//   base::Result<Rule> ParseRule(std::string_view text);
//   auto rule = ParseRule(line);
//   if (!rule) return rule.error();          // an Error converts into any Result<U>
//   Use(*rule);
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <variant>

namespace vigil::base {

// An error for a person to read: what went wrong and, for files, where (1-based line and column,
// 0 when not known). For binary files `offset` is the byte offset (-1 when not known).
struct Error {
  std::string message;
  std::string file;
  uint32_t line = 0;
  uint32_t column = 0;
  int64_t offset = -1;

  // "file:line:column: message", "file: offset N: message", or just the message.
  [[nodiscard]] std::string ToString() const;
};

[[nodiscard]] inline Error MakeError(std::string message) { return Error{std::move(message)}; }

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : state_(std::in_place_index<0>, std::move(value)) {}      // NOLINT: implicit
  Result(Error error) : state_(std::in_place_index<1>, std::move(error)) {}  // NOLINT: implicit

  [[nodiscard]] bool has_value() const { return state_.index() == 0; }
  explicit operator bool() const { return has_value(); }

  T& value() & { return std::get<0>(state_); }
  const T& value() const& { return std::get<0>(state_); }
  T&& value() && { return std::get<0>(std::move(state_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const Error& error() const { return std::get<1>(state_); }
  Error& error() { return std::get<1>(state_); }

 private:
  std::variant<T, Error> state_;
};

// Result<void>: success carries nothing.
template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)), ok_(false) {}  // NOLINT: implicit

  [[nodiscard]] bool has_value() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const { return error_; }

 private:
  Error error_;
  bool ok_ = true;
};

using Status = Result<void>;

}  // namespace vigil::base
