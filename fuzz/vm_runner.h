// vm_runner.h: the guest half of the cold-start target. A snapshot that loaded starts a sandbox and
// takes calls in a real VM; whatever the guest then does (faults, aborts, garbage messages, endless
// loops cut short by a timeout) must come back as a typed error. Host crashes are the bugs.
#pragma once

#include "snapvm/snapshot.h"

namespace snapvm::fuzz {

// True when KVM is usable here. The first call prints, once, why not. With SNAPVM_REQUIRE_KVM=1 in
// the environment (as ci/test sets inside its QEMU VM) a missing KVM ends the process with status 1.
bool kvm_usable();

// Cold-starts a sandbox from the snapshot (with the sample guest's host functions plus stubs for
// the rest; a before-initialisation snapshot runs the guest's initialisation first, under the same
// short timeout as a call) and calls three of its guest functions (spread over the manifest) with
// plain arguments and that timeout, restoring the snapshot after a call that poisons the sandbox.
// Does nothing without KVM.
void cold_start_and_call(const Snapshot& snapshot);

}  // namespace snapvm::fuzz
