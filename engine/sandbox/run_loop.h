// run_loop.h: the vCPU run loop, as kvmtool's kvm_cpu__start: KVM_RUN, then one switch that hands
// each exit to its handler, until the guest signals the stop the caller waits for.
#pragma once

#include "hypervisor/exits.h"
#include "snapvm/result.h"

namespace snapvm {
class Vcpu;
}

namespace snapvm::detail {

// The signal a run waits for: guest_main's "initialised", or a call's "done".
enum class Stop { kInitialised, kCallDone };

// What each exit does (the ports of abi/ports.h, and an interrupted KVM_RUN).
class ExitHandler {
 public:
  virtual ~ExitHandler() = default;
  virtual Status on_host_call() = 0;
  virtual Status on_log() = 0;
  virtual Error on_abort() = 0;
  virtual Error on_fault() = 0;
  // KVM_RUN came back early: an error ends the run (cancelled, timed out); success resumes the guest.
  virtual Status on_interrupted() = 0;
  // The dirty ring filled: harvest it (success resumes the guest).
  virtual Status on_dirty_ring_full() = 0;
};

enum class Next { kResume, kStop };

// Hands one exit to `handler`; kStop when it is the `until` signal. A stop signal other than `until`,
// an unknown port or any other exit (hlt, MMIO, shutdown, ...) is an error naming it.
Result<Next> dispatch_exit(const Exit& exit, Stop until, ExitHandler& handler);

// Runs `vcpu` until the guest signals `until`, handing every exit on the way to `handler`. Any error
// (from KVM_RUN, a handler or the dispatch) ends the run.
Status run_until(Vcpu& vcpu, Stop until, ExitHandler& handler);

}  // namespace snapvm::detail
