// guest_exits.h: the exit handlers of one run of a Machine's vCPU, over the Machine's parts: host calls
// served from the registered functions, logs to the callback, aborts and faults as typed errors, an
// interrupted KVM_RUN as cancelled, timed out or spurious.
#pragma once

#include <span>

#include "hypervisor/interrupt.h"
#include "hypervisor/vcpu.h"
#include "sandbox/dirty_tracker.h"
#include "sandbox/guest_memory.h"
#include "sandbox/run_loop.h"
#include "snapvm/host_functions.h"
#include "snapvm/layout.h"
#include "snapvm/sandbox.h"

namespace snapvm::detail {

// The guest's input buffer (host to guest) and output buffer (guest to host) in guest memory.
std::span<uint8_t> input_buffer(const Layout& layout, const GuestMemory& memory);
std::span<uint8_t> output_buffer(const Layout& layout, const GuestMemory& memory);

class GuestExits final : public ExitHandler {
 public:
  struct Parts {
    const Layout& layout;
    const GuestMemory& memory;
    const Vcpu& vcpu;
    const Vm& vm;         // the dirty ring is reset through it
    DirtyTracker& dirty;  // host-call results are host writes
    const HostFunctions& host_functions;
    const LogCallback& log;
    InterruptState& interrupt;
    const CallTimer& timer;
  };
  explicit GuestExits(const Parts& parts) : p_(parts) {}

  Status on_host_call() override;
  Status on_log() override;
  Error on_abort() override;
  Error on_fault() override;
  Status on_interrupted() override;
  Status on_dirty_ring_full() override;

 private:
  Parts p_;
};

}  // namespace snapvm::detail
