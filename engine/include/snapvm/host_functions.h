// host_functions.h: functions the host offers the guest, registered by name with their signatures.
// Arguments are checked against the signature on every call before the function runs; a function
// may fail by returning an Error, which ends the guest call with kHostFunctionError.
#pragma once

#include <functional>
#include <map>
#include <span>
#include <string>
#include <type_traits>

#include "snapvm/result.h"
#include "snapvm/value.h"

namespace snapvm {

using HostFunction = std::function<Result<Value>(std::span<const Value> args)>;

struct HostFunctionEntry {
  Signature signature;
  HostFunction fn;
};

namespace detail {
template <typename T>
struct ValueTypeOf;
template <>
struct ValueTypeOf<void> {
  static constexpr ValueType value = ValueType::kVoid;
};
template <>
struct ValueTypeOf<bool> {
  static constexpr ValueType value = ValueType::kBool;
};
template <>
struct ValueTypeOf<int32_t> {
  static constexpr ValueType value = ValueType::kI32;
};
template <>
struct ValueTypeOf<uint32_t> {
  static constexpr ValueType value = ValueType::kU32;
};
template <>
struct ValueTypeOf<int64_t> {
  static constexpr ValueType value = ValueType::kI64;
};
template <>
struct ValueTypeOf<uint64_t> {
  static constexpr ValueType value = ValueType::kU64;
};
template <>
struct ValueTypeOf<float> {
  static constexpr ValueType value = ValueType::kF32;
};
template <>
struct ValueTypeOf<double> {
  static constexpr ValueType value = ValueType::kF64;
};
template <>
struct ValueTypeOf<std::string> {
  static constexpr ValueType value = ValueType::kString;
};
template <>
struct ValueTypeOf<Bytes> {
  static constexpr ValueType value = ValueType::kBytes;
};

template <typename T>
struct Unwrap {
  using type = T;
};
template <typename T>
struct Unwrap<Result<T>> {
  using type = T;
};

template <typename F>
struct Callable : Callable<decltype(&F::operator())> {};
template <typename C, typename R, typename... A>
struct Callable<R (C::*)(A...) const> {
  using result = R;
  using args = std::tuple<std::decay_t<A>...>;
};
template <typename C, typename R, typename... A>
struct Callable<R (C::*)(A...)> : Callable<R (C::*)(A...) const> {};
}  // namespace detail

class HostFunctions {
 public:
  // Registers with an explicit signature. Fails on a duplicate name or an over-long name.
  Status add(std::string name, Signature signature, HostFunction fn);

  // Registers a typed callable: the signature is deduced from its parameters and return type
  // (R or Result<R>, with R one of void, bool, int32_t, uint32_t, int64_t, uint64_t, float, double,
  // std::string, Bytes).
  template <typename F>
  Status add_typed(std::string name, F f) {
    using Info = detail::Callable<F>;
    using R = typename detail::Unwrap<typename Info::result>::type;
    return add_typed_impl<R>(std::move(name), std::move(f), static_cast<typename Info::args*>(nullptr));
  }

  const HostFunctionEntry* find(std::string_view name) const;
  const std::map<std::string, HostFunctionEntry, std::less<>>& entries() const { return entries_; }

 private:
  template <typename R, typename F, typename... A>
  Status add_typed_impl(std::string name, F f, std::tuple<A...>*) {
    Signature sig{detail::ValueTypeOf<R>::value, {detail::ValueTypeOf<A>::value...}};
    HostFunction fn = [f = std::move(f)](std::span<const Value> args) -> Result<Value> {
      return invoke<R>(f, args, std::index_sequence_for<A...>{}, static_cast<std::tuple<A...>*>(nullptr));
    };
    return add(std::move(name), std::move(sig), std::move(fn));
  }

  template <typename R, typename F, size_t... I, typename... A>
  static Result<Value> invoke(const F& f, std::span<const Value> args, std::index_sequence<I...>, std::tuple<A...>*) {
    if constexpr (std::is_void_v<R>) {
      using Ret = decltype(f(std::get<A>(args[I])...));
      if constexpr (std::is_same_v<Ret, Status>) {
        TRY(f(std::get<A>(args[I])...));
      } else {
        f(std::get<A>(args[I])...);
      }
      return Value{};
    } else {
      using Ret = decltype(f(std::get<A>(args[I])...));
      if constexpr (std::is_same_v<Ret, Result<R>>) {
        R r = TRY(f(std::get<A>(args[I])...));
        return Value{std::move(r)};
      } else {
        return Value{R(f(std::get<A>(args[I])...))};
      }
    }
  }

  std::map<std::string, HostFunctionEntry, std::less<>> entries_;
};

}  // namespace snapvm
