// guest_model.h: a plain C++ model of what the sample guest (guest/samples/sample_guest.cpp) makes
// observable: g_global (SetGlobal/GetGlobal), the counter (Increment), the heap buffer's bytes
// (BufferAppend/BufferFill/TouchPages, read back through the FNV-1a BufferChecksum), MXCSR
// (SetMxcsr/GetMxcsr: register state a restore must bring back, which memory alone cannot show), the pure
// functions, the host-call round trips, and the calls that abort or fault and poison the sandbox.
// The stateful and equivalence properties predict every call's outcome with it.
#pragma once

#include <rapidcheck.h>

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "snapvm/result.h"
#include "snapvm/sandbox.h"
#include "snapvm/value.h"

namespace snapvm::properties {

struct GuestCall {
  std::string function;
  std::vector<Value> args;
};
void showValue(const GuestCall& c, std::ostream& os);  // SetGlobal(i64 5)
std::string show_calls(const std::vector<GuestCall>& calls);

// What a call gave: a value, or an error with what identifies it (code, and for guest failures the
// abort code or the exception vector). Compared bit-exactly.
struct Outcome {
  bool ok = false;
  Value value;
  ErrorCode error{};
  std::optional<int32_t> guest_code;
  std::optional<uint8_t> vector;
  bool operator==(const Outcome& o) const;
};
void showValue(const Outcome& o, std::ostream& os);
Outcome outcome_of(const Result<Value>& r);

// The guest's observable state in one sandbox.
struct GuestState {
  int64_t global = 0;
  int64_t counter = 0;
  std::vector<uint8_t> buffer;
  uint32_t mxcsr = kDefaultMxcsr;  // SetMxcsr/GetMxcsr: SSE control state lives in the vCPU, not in memory
  static constexpr uint32_t kDefaultMxcsr = 0x1f80;
  bool operator==(const GuestState&) const = default;
};
void showValue(const GuestState& s, std::ostream& os);

// One sandbox as the model sees it: its guest state, and whether a failed call poisoned it (every call
// then fails with kPoisoned until a restore).
struct SandboxState {
  GuestState guest;
  bool poisoned = false;
  bool operator==(const SandboxState&) const = default;
};

// Applies `call` to the model and returns the outcome the real sandbox must give.
Outcome predict(SandboxState& s, const GuestCall& call);

uint64_t fnv1a(const std::vector<uint8_t>& bytes);

// Calls that change or read state and always succeed (the model keeps the heap far from full).
rc::Gen<GuestCall> gen_state_call();
// Those, plus calls that fail and poison the sandbox: Abort, Ud2, NullDeref, Divide(0), TouchPages
// past the buffer.
rc::Gen<GuestCall> gen_any_call();
// WriteEdgePage of each edge page no other call writes (gen_state_call draws them): input, output and
// stack first and last, heap last.
std::vector<GuestCall> edge_page_calls();
// Reads the whole observable state: GetGlobal, BufferChecksum, GetMxcsr, Increment (counter + 1).
std::vector<GuestCall> observe_calls();

Outcome run_call(MultiUseSandbox& sandbox, const GuestCall& call);

}  // namespace snapvm::properties
