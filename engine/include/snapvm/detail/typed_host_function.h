// detail/typed_host_function.h: the template machinery behind HostFunctions::add_typed: the signature
// deduced from a callable's parameter and return types, and the adapter that unpacks checked argument
// Values into a typed call. Not part of the API; include snapvm/host_functions.h.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>

#include "snapvm/result.h"
#include "snapvm/value.h"

namespace snapvm::detail {

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

// R for R and for Result<R>.
template <typename T>
struct Unwrap {
  using type = T;
};
template <typename T>
struct Unwrap<Result<T>> {
  using type = T;
};

// The parameter and return types of a lambda or function object.
template <typename F>
struct Callable : Callable<decltype(&F::operator())> {};
template <typename C, typename R, typename... A>
struct Callable<R (C::*)(A...) const> {
  using result = R;
  using args = std::tuple<std::decay_t<A>...>;
};
template <typename C, typename R, typename... A>
struct Callable<R (C::*)(A...)> : Callable<R (C::*)(A...) const> {};

// Calls f with the Values unpacked as A...; the arguments were checked against the signature first.
template <typename R, typename F, size_t... I, typename... A>
Result<Value> invoke_typed(const F& f, std::span<const Value> args, std::index_sequence<I...>, std::tuple<A...>*) {
  using Ret = decltype(f(std::get<A>(args[I])...));
  if constexpr (std::is_void_v<R>) {
    if constexpr (std::is_same_v<Ret, Status>) {
      TRY(f(std::get<A>(args[I])...));
    } else {
      f(std::get<A>(args[I])...);
    }
    return Value{};
  } else if constexpr (std::is_same_v<Ret, Result<R>>) {
    R r = TRY(f(std::get<A>(args[I])...));
    return Value{std::move(r)};
  } else {
    return Value{R(f(std::get<A>(args[I])...))};
  }
}

template <typename R, typename... A>
Signature typed_signature(std::tuple<A...>*) {
  return Signature{ValueTypeOf<R>::value, {ValueTypeOf<A>::value...}};
}

// The signature F's types give.
template <typename F>
Signature typed_signature() {
  using Info = Callable<F>;
  return typed_signature<typename Unwrap<typename Info::result>::type>(static_cast<typename Info::args*>(nullptr));
}

template <typename R, typename F, typename... A>
auto typed_adapter(F f, std::tuple<A...>*) {
  return [f = std::move(f)](std::span<const Value> args) -> Result<Value> {
    return invoke_typed<R>(f, args, std::index_sequence_for<A...>{}, static_cast<std::tuple<A...>*>(nullptr));
  };
}

// A callable over checked argument Values that calls `f` with them unpacked.
template <typename F>
auto typed_adapter(F f) {
  using Info = Callable<F>;
  return typed_adapter<typename Unwrap<typename Info::result>::type>(std::move(f),
                                                                     static_cast<typename Info::args*>(nullptr));
}

}  // namespace snapvm::detail
