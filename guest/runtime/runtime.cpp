// runtime.cpp: guest-side entry, function registry, call dispatch, host calls, logging and aborts.
// Everything talks to the host through the PEB's buffers and an `out` to a port (see ports.h).
#include "snapvm_guest.h"

#include "snapvm/abi/layout.h"
#include "snapvm/abi/manifest.h"
#include "snapvm/abi/ports.h"
#include "snapvm/abi/tripwires.h"

namespace snapvm::guest {
namespace {

struct FunctionEntry {
  abi::FunctionDecl decl;  // what the manifest says of it
  GuestFunction fn;        // null for a required host function
};

FunctionEntry g_guest_functions[abi::kMaxFunctions];
uint16_t g_guest_function_count = 0;
FunctionEntry g_host_functions[abi::kMaxFunctions];
uint16_t g_host_function_count = 0;
abi::Peb* g_peb = nullptr;

// Abort codes the runtime itself uses (negative so they never clash with a guest's own).
constexpr int32_t kAbortTooManyFunctions = -1;
constexpr int32_t kAbortBadCall = -2;
constexpr int32_t kAbortUnknownFunction = -3;
constexpr int32_t kAbortArgumentMismatch = -4;
constexpr int32_t kAbortReturnMismatch = -5;
constexpr int32_t kAbortOutputFull = -6;
constexpr int32_t kAbortBadHostResult = -7;
constexpr int32_t kAbortOutOfMemory = -8;

inline void signal_host(abi::Port port) {
  asm volatile("outb %%al, %%dx" : : "a"(static_cast<uint8_t>(0)), "d"(static_cast<uint16_t>(port)) : "memory");
}

uint8_t* input_buffer() { return reinterpret_cast<uint8_t*>(g_peb->input_base); }
uint8_t* output_buffer() { return reinterpret_cast<uint8_t*>(g_peb->output_base); }

bool names_equal(const char* a, uint16_t alen, const char* b, uint16_t blen) {
  if (alen != blen) return false;
  for (uint16_t i = 0; i < alen; ++i) {
    if (a[i] != b[i]) return false;
  }
  return true;
}

void add_entry(FunctionEntry* table, uint16_t& count, const char* name, ValueType result, const ValueType* params,
               uint8_t param_count, GuestFunction fn) {
  if (count >= abi::kMaxFunctions || param_count > abi::kMaxArgs || strlen(name) > abi::kMaxNameLength) {
    abort(kAbortTooManyFunctions, "function table full, too many parameters or name too long");
  }
  FunctionEntry& e = table[count++];
  e.decl.name = name;
  e.decl.name_length = static_cast<uint16_t>(strlen(name));
  e.decl.result = result;
  e.decl.param_count = param_count;
  for (uint8_t i = 0; i < param_count; ++i) e.decl.params[i] = params[i];
  e.fn = fn;
}

// The manifest (abi/manifest.h, the codec the host decodes it with): every function registered.
void publish_manifest() {
  abi::WireWriter w(output_buffer(), g_peb->output_size);
  abi::begin_manifest(w, g_guest_function_count, g_host_function_count);
  for (uint16_t i = 0; i < g_guest_function_count; ++i) abi::encode_manifest_entry(w, g_guest_functions[i].decl);
  for (uint16_t i = 0; i < g_host_function_count; ++i) abi::encode_manifest_entry(w, g_host_functions[i].decl);
  abi::end_message(w);
  if (!w.ok()) abort(kAbortOutputFull, "manifest does not fit the output buffer");
}

}  // namespace

void heap_init(uint64_t base, uint64_t size);

void register_function(const char* name, ValueType result, const ValueType* params, uint8_t param_count,
                       GuestFunction fn) {
  add_entry(g_guest_functions, g_guest_function_count, name, result, params, param_count, fn);
}

void require_host_function(const char* name, ValueType result, const ValueType* params, uint8_t param_count) {
  add_entry(g_host_functions, g_host_function_count, name, result, params, param_count, nullptr);
}

WireValue call_host(const char* name, const WireValue* args, uint8_t argc) {
  size_t n = abi::encode_call(output_buffer(), g_peb->output_size, abi::kHostCallMagic, name,
                              static_cast<uint16_t>(strlen(name)), args, argc);
  if (n == 0) abort(kAbortOutputFull, "host call does not fit the output buffer");
  signal_host(abi::Port::kHostCall);
  abi::WireReader r(input_buffer(), g_peb->input_size);
  WireValue v;
  if (!abi::decode_result(r, v)) abort(kAbortBadHostResult, "malformed host-call result");
  return v;
}

void log(LogLevel level, const char* text, size_t length) {
  size_t room = g_peb->output_size > 64 ? g_peb->output_size - 64 : 0;
  if (length > room) length = room;  // a log line is cut, never dropped
  abi::encode_text_record(output_buffer(), g_peb->output_size, abi::kLogMagic, static_cast<uint32_t>(level), text,
                          static_cast<uint32_t>(length));
  signal_host(abi::Port::kLog);
}

void log(LogLevel level, const char* text) { log(level, text, strlen(text)); }

void abort(int32_t code, const char* message) {
  if (g_peb != nullptr) {
    size_t length = strlen(message);
    size_t room = g_peb->output_size > 64 ? g_peb->output_size - 64 : 0;
    if (length > room) length = room;
    abi::encode_text_record(output_buffer(), g_peb->output_size, abi::kAbortMagic, static_cast<uint32_t>(code), message,
                            static_cast<uint32_t>(length));
  }
  for (;;) {
    signal_host(abi::Port::kAbort);
    asm volatile("ud2");
  }
}

}  // namespace snapvm::guest

using namespace snapvm;         // NOLINT: runtime entry points below are extern "C"
using namespace snapvm::guest;  // NOLINT

extern "C" void snapvm_dispatch_entry();
// Defined by the coverage runtime (coverage.cpp, snapvm_guest_coverage), which only coverage builds link:
// announces the coverage areas in the PEB. Absent (null) in a plain guest, whose PEB coverage fields stay zero.
extern "C" void snapvm_coverage_announce(abi::Peb* peb) __attribute__((weak));

extern "C" [[noreturn]] void snapvm_runtime_start(abi::Peb* peb) {
  g_peb = peb;
  heap_init(peb->heap_base, peb->heap_size);
  guest_main();
  publish_manifest();
  peb->dispatch = reinterpret_cast<uint64_t>(&snapvm_dispatch_entry);
  if (snapvm_coverage_announce != nullptr) snapvm_coverage_announce(peb);
  for (;;) {
    signal_host(abi::Port::kInitialised);
    asm volatile("ud2");
  }
}

extern "C" [[noreturn]] void snapvm_runtime_dispatch(abi::Peb* peb) {
  g_peb = peb;
  // Copy the call out of the input buffer: host calls made by the function reuse that buffer.
  abi::WireReader header(input_buffer(), peb->input_size);
  uint32_t magic = 0, total = 0;
  if (!header.u32(magic, "magic") || !header.u32(total, "total") || total > peb->input_size) {
    abort(kAbortBadCall, "malformed call header");
  }
  auto* copy = static_cast<uint8_t*>(malloc(total));
  if (copy == nullptr) abort(kAbortOutOfMemory, "no heap for the call's arguments");
  __builtin_memcpy(copy, input_buffer(), total);

  abi::WireReader r(copy, total);
  abi::CallView call;
  if (!abi::decode_call(r, abi::kCallMagic, call)) abort(kAbortBadCall, "malformed call");

  const FunctionEntry* fn = nullptr;
  for (uint16_t i = 0; i < g_guest_function_count; ++i) {
    const abi::FunctionDecl& decl = g_guest_functions[i].decl;
    if (names_equal(decl.name, decl.name_length, call.name, call.name_length)) {
      fn = &g_guest_functions[i];
      break;
    }
  }
  if (fn == nullptr) abort(kAbortUnknownFunction, "no such guest function");
  if (fn->decl.param_count != call.argc) abort(kAbortArgumentMismatch, "wrong number of arguments");
  for (uint8_t i = 0; i < call.argc; ++i) {
    if (call.args[i].type != fn->decl.params[i]) abort(kAbortArgumentMismatch, "argument of the wrong type");
  }

  WireValue result = fn->fn(call.args, call.argc);
  if (result.type != fn->decl.result) abort(kAbortReturnMismatch, "function returned the wrong type");
  if (abi::encode_result(output_buffer(), peb->output_size, result) == 0) {
    abort(kAbortOutputFull, "result does not fit the output buffer");
  }
  free(copy);
  for (;;) {
    signal_host(abi::Port::kCallDone);
    asm volatile("ud2");
  }
}
