// snapvm_guest.h: the freestanding runtime a snapvm guest links against. A guest defines
// `guest_main()`, which registers the functions it offers and the host functions it needs; the runtime
// does entry, dispatch, host calls, logging, aborts and a heap. Runs at CPL 3. See docs/abi.md.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "snapvm/abi/wire.h"

namespace snapvm::guest {

using abi::ValueType;
using abi::WireValue;

// A guest function gets its decoded arguments (strings and bytes point at a heap copy of the call that
// lives until the function returns) and returns one value; strings it returns must outlive the return.
using GuestFunction = WireValue (*)(const WireValue* args, uint8_t argc);

void register_function(const char* name, ValueType result, const ValueType* params, uint8_t param_count,
                       GuestFunction fn);
void require_host_function(const char* name, ValueType result, const ValueType* params, uint8_t param_count);

template <typename... P>
void register_function(const char* name, GuestFunction fn, ValueType result, P... params) {
  const ValueType list[] = {ValueType::kVoid, params...};
  register_function(name, result, list + 1, static_cast<uint8_t>(sizeof...(P)), fn);
}
template <typename... P>
void require_host_function(const char* name, ValueType result, P... params) {
  const ValueType list[] = {ValueType::kVoid, params...};
  require_host_function(name, result, list + 1, static_cast<uint8_t>(sizeof...(P)));
}

// Calls a registered host function. The returned string or bytes live in the input buffer until the
// next host call. A host-side failure ends the whole guest call: this does not return then.
WireValue call_host(const char* name, const WireValue* args, uint8_t argc);

enum class LogLevel : uint32_t { kTrace = 0, kDebug = 1, kInfo = 2, kWarn = 3, kError = 4 };
void log(LogLevel level, const char* text);
void log(LogLevel level, const char* text, size_t length);
[[noreturn]] void abort(int32_t code, const char* message);

void* malloc(size_t size);
void free(void* p);
void* realloc(void* p, size_t size);

size_t strlen(const char* s);

inline WireValue make_void() { return WireValue{}; }
inline WireValue make_bool(bool b) {
  WireValue v;
  v.type = ValueType::kBool;
  v.boolean = b ? 1 : 0;
  return v;
}
inline WireValue make_i32(int32_t x) {
  WireValue v;
  v.type = ValueType::kI32;
  v.i32 = x;
  return v;
}
inline WireValue make_u32(uint32_t x) {
  WireValue v;
  v.type = ValueType::kU32;
  v.u32 = x;
  return v;
}
inline WireValue make_i64(int64_t x) {
  WireValue v;
  v.type = ValueType::kI64;
  v.i64 = x;
  return v;
}
inline WireValue make_u64(uint64_t x) {
  WireValue v;
  v.type = ValueType::kU64;
  v.u64 = x;
  return v;
}
inline WireValue make_f32(float x) {
  WireValue v;
  v.type = ValueType::kF32;
  v.f32 = x;
  return v;
}
inline WireValue make_f64(double x) {
  WireValue v;
  v.type = ValueType::kF64;
  v.f64 = x;
  return v;
}
inline WireValue make_span(ValueType t, const void* data, size_t size) {
  WireValue v;
  v.type = t;
  v.span.data = static_cast<const uint8_t*>(data);
  v.span.size = static_cast<uint32_t>(size);
  return v;
}
inline WireValue make_string(const char* s, size_t n) { return make_span(ValueType::kString, s, n); }
inline WireValue make_bytes(const void* p, size_t n) { return make_span(ValueType::kBytes, p, n); }

}  // namespace snapvm::guest

// Defined by each guest program.
extern "C" void guest_main();
