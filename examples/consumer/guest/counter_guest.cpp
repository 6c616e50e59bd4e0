// counter_guest.cpp: the consumer's own guest. A counter that lives in guest memory (so a snapshot
// carries it), arithmetic, a host call, a greeting built in the guest heap, a log line and an abort.
#include "snapvm_guest.h"

using namespace snapvm::guest;  // NOLINT

namespace {

uint64_t g_count = 0;

WireValue bump(const WireValue*, uint8_t) { return make_u64(++g_count); }

WireValue add(const WireValue* a, uint8_t) {
  return make_i64(static_cast<int64_t>(static_cast<uint64_t>(a[0].i64) + static_cast<uint64_t>(a[1].i64)));
}

// Asks the host to double its argument (host function HostTwice(i64) -> i64).
WireValue twice(const WireValue* a, uint8_t) {
  WireValue arg = make_i64(a[0].i64);
  WireValue r = call_host("HostTwice", &arg, 1);
  return make_i64(r.i64);
}

// "hello, <name>", in the heap; the string must outlive the return, so it is kept until the next call.
char* g_greeting = nullptr;
WireValue greet(const WireValue* a, uint8_t) {
  static const char kHello[] = "hello, ";
  const size_t prefix = sizeof(kHello) - 1;
  free(g_greeting);
  g_greeting = static_cast<char*>(malloc(prefix + a[0].span.size));
  if (g_greeting == nullptr) abort(1, "heap exhausted");
  __builtin_memcpy(g_greeting, kHello, prefix);
  __builtin_memcpy(g_greeting + prefix, a[0].span.data, a[0].span.size);
  log(LogLevel::kInfo, "greeted");
  return make_string(g_greeting, prefix + a[0].span.size);
}

WireValue fail(const WireValue* a, uint8_t) { abort(a[0].i32, "asked to fail"); }

}  // namespace

extern "C" void guest_main() {
  register_function("Bump", bump, ValueType::kU64);
  register_function("Add", add, ValueType::kI64, ValueType::kI64, ValueType::kI64);
  register_function("Twice", twice, ValueType::kI64, ValueType::kI64);
  register_function("Greet", greet, ValueType::kString, ValueType::kString);
  register_function("Fail", fail, ValueType::kVoid, ValueType::kI32);
  require_host_function("HostTwice", ValueType::kI64, ValueType::kI64);
}
