// sandbox_access.h: what the public sandbox classes keep private, for in-tree code only (not installed):
// the guest fuzzer registers the guest's coverage counters, which live in guest memory, with libFuzzer.
#pragma once

#include "sandbox/machine.h"
#include "snapvm/sandbox.h"

namespace snapvm::detail {

struct SandboxAccess {
  static const Machine& machine(const MultiUseSandbox& s) { return *s.machine_; }
};

}  // namespace snapvm::detail
