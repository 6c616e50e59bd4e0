// vm_runner.cpp: cold start and calls for the snapshot_run target.
#include "fuzz/vm_runner.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "hypervisor/kvm.h"
#include "snapvm/sandbox.h"
#include "snapvm_harness/host_stubs.h"

namespace snapvm::fuzz {

namespace {
// Per call. A guest that loops costs this much per input; SNAPVM_FUZZ_CALL_TIMEOUT_MS overrides it
// (nested KVM under TCG, as in ci/qemu-kvm, needs more: its first call after a cold start is slow).
std::chrono::milliseconds call_timeout() {
  static const std::chrono::milliseconds t = [] {
    const char* e = std::getenv("SNAPVM_FUZZ_CALL_TIMEOUT_MS");
    const long ms = e != nullptr ? std::strtol(e, nullptr, 10) : 0;
    return std::chrono::milliseconds(ms > 0 ? ms : 50);
  }();
  return t;
}
constexpr size_t kMaxCalls = 3;

// SNAPVM_FUZZ_VERBOSE=1: print what each step gave (for replaying one input by hand).
bool verbose() {
  static const bool v = [] {
    const char* e = std::getenv("SNAPVM_FUZZ_VERBOSE");
    return e != nullptr && std::string(e) == "1";
  }();
  return v;
}

template <typename R>
void report(const char* step, const std::string& what, const R& r) {
  if (!verbose()) return;
  if (r) {
    std::fprintf(stderr, "  %s %s: ok\n", step, what.c_str());
  } else {
    std::fprintf(stderr, "  %s %s: %s\n", step, what.c_str(), r.error().to_string().c_str());
  }
}

Value plain_value(ValueType t) {
  switch (t) {
    case ValueType::kVoid:
      return Value{};
    case ValueType::kBool:
      return Value{true};
    case ValueType::kI32:
      return Value{int32_t{7}};
    case ValueType::kU32:
      return Value{uint32_t{7}};
    case ValueType::kI64:
      return Value{int64_t{7}};
    case ValueType::kU64:
      return Value{uint64_t{7}};
    case ValueType::kF32:
      return Value{1.5f};
    case ValueType::kF64:
      return Value{2.5};
    case ValueType::kString:
      return Value{std::string("fuzz")};
    case ValueType::kBytes:
      return Value{Bytes{0xf0, 0x0d}};
  }
  return Value{};
}
}  // namespace

bool kvm_usable() {
  static const bool usable = [] {
    auto kvm = Kvm::get();
    if (kvm) return true;
    const char* require = std::getenv("SNAPVM_REQUIRE_KVM");
    if (require != nullptr && std::string(require) == "1") {
      std::fprintf(stderr, "SNAPVM_REQUIRE_KVM=1 but KVM is unusable: %s\n", kvm.error().to_string().c_str());
      std::exit(1);
    }
    std::fprintf(stderr, "snapvm fuzz: KVM unusable (%s): loading is fuzzed, the VM part is skipped\n",
                 kvm.error().to_string().c_str());
    return false;
  }();
  return usable;
}

void cold_start_and_call(const Snapshot& snapshot) {
  if (!kvm_usable()) return;
  // A before-init snapshot runs the guest's initialisation first, bounded like a call.
  auto sandbox = MultiUseSandbox::from_snapshot(
      snapshot, harness::host_functions_for(snapshot.host_functions()), [](LogLevel, std::string_view) {},
      CallOptions{call_timeout()});
  report("cold start", "", sandbox);
  if (!sandbox) return;
  const std::vector<FunctionInfo> functions = sandbox->guest_functions();
  const size_t calls = std::min(functions.size(), kMaxCalls);
  for (size_t k = 0; k < calls; ++k) {
    const FunctionInfo& fn = functions[k * functions.size() / calls];  // spread over the manifest
    std::vector<Value> args;
    for (ValueType t : fn.signature.params) args.push_back(plain_value(t));
    auto result = sandbox->call(fn.name, std::move(args), CallOptions{call_timeout()});
    report("call", fn.name, result);
    if (sandbox->poisoned()) {
      Status restored = sandbox->restore(snapshot);
      report("restore", "", restored);
      if (!restored) return;
    }
  }
}

}  // namespace snapvm::fuzz
