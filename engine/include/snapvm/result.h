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
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT(google-explicit-constructor)
  Result(Error error) : v_(std::in_place_index<1>, std::move(error)) {}  // NOLINT(google-explicit-constructor)

  bool has_value() const { return v_.index() == 0; }
  explicit operator bool() const { return has_value(); }

  T& value() & { assert(has_value()); return std::get<0>(v_); }
  const T& value() const& { assert(has_value()); return std::get<0>(v_); }
  T&& value() && { assert(has_value()); return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const Error& error() const& { assert(!has_value()); return std::get<1>(v_); }
  Error&& error() && { assert(!has_value()); return std::get<1>(std::move(v_)); }

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
  const Error& error() const& { assert(!ok_); return error_; }
  Error&& error() && { assert(!ok_); return std::move(error_); }

 private:
  Error error_{};
  bool ok_ = true;
};

using Status = Result<void>;

}  // namespace snapvm

// TRY(expr): evaluate a Result; on error return it from the enclosing function, else yield the value.
// A GNU statement expression, as in SerenityOS AK/Try.h; g++ and clang both accept it.
#define SNAPVM_TRY(expr)                                      \
  __extension__({                                             \
    auto&& snapvm_try_result_ = (expr);                       \
    if (!snapvm_try_result_.has_value()) {                    \
      return std::move(snapvm_try_result_).error();           \
    }                                                         \
    std::move(snapvm_try_result_).value();                    \
  })
#define TRY(expr) SNAPVM_TRY(expr)
