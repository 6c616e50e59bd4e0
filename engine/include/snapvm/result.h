// result.h: Result<T>, shaped like std::expected<T, Error> (C++23) for a C++20 code base, and TRY.
#pragma once

#include <cassert>
#include <type_traits>
#include <utility>
#include <variant>

#include "snapvm/error.h"

namespace snapvm {

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}      // NOLINT(google-explicit-constructor)
  Result(Error error) : v_(std::in_place_index<1>, std::move(error)) {}  // NOLINT(google-explicit-constructor)

  bool has_value() const { return v_.index() == 0; }
  explicit operator bool() const { return has_value(); }

  T& value() & {
    assert(has_value());
    return std::get<0>(v_);
  }
  const T& value() const& {
    assert(has_value());
    return std::get<0>(v_);
  }
  T&& value() && {
    assert(has_value());
    return std::get<0>(std::move(v_));
  }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const Error& error() const& {
    assert(!has_value());
    return std::get<1>(v_);
  }
  Error&& error() && {
    assert(!has_value());
    return std::get<1>(std::move(v_));
  }

 private:
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)), ok_(false) {}  // NOLINT(google-explicit-constructor)
  bool has_value() const { return ok_; }
  explicit operator bool() const { return ok_; }
  void value() const { assert(ok_); }
  const Error& error() const& {
    assert(!ok_);
    return error_;
  }
  Error&& error() && {
    assert(!ok_);
    return std::move(error_);
  }

 private:
  Error error_{};
  bool ok_ = true;
};

using Status = Result<void>;

}  // namespace snapvm

// TRY(expr): evaluate a Result; on error return it from the enclosing function, else yield the value.
// A GNU statement expression, as in SerenityOS AK/Try.h; g++ and clang both accept it.
#define SNAPVM_TRY_CONCAT_(a, b) a##b
#define SNAPVM_TRY_NAME_(n) SNAPVM_TRY_CONCAT_(snapvm_try_result_, n)
// `name` is an identifier made by SNAPVM_TRY_NAME_, which cannot be parenthesised.
// NOLINTBEGIN(bugprone-macro-parentheses)
#define SNAPVM_TRY_IMPL_(expr, name)  \
  __extension__({                     \
    auto&& name = (expr);             \
    if (!name.has_value()) {          \
      return std::move(name).error(); \
    }                                 \
    std::move(name).value();          \
  })
// NOLINTEND(bugprone-macro-parentheses)
// A unique name per expansion, so TRY nests (TRY(f(TRY(g())))) without shadowing.
#define SNAPVM_TRY(expr) SNAPVM_TRY_IMPL_(expr, SNAPVM_TRY_NAME_(__COUNTER__))
#define TRY(expr) SNAPVM_TRY(expr)
