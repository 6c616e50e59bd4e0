// kvm_floor.h: the bare KVM floor every cold start is measured against: create a VM and its vCPU, map
// guest memory, set a long-mode ring-3 state and run a guest whose one instruction is an `out`, to that
// exit. The same KVM wrappers and system area snapvm itself uses; no ELF, no snapshot, no calls.
#pragma once

#include "snapvm/result.h"

namespace snapvm::bench {

struct FloorTimes {
  double start_seconds = 0;     // VM, memory, vCPU, registers, until the guest's `out` exits
  double teardown_seconds = 0;  // closing the vCPU and VM, unmapping the memory
};

Result<FloorTimes> kvm_floor_once();

}  // namespace snapvm::bench
