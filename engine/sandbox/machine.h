// machine.h: one sandbox's guest: its VM, vCPU and memory (vm_assembly), the run loop and its exit
// handlers (run_loop, guest_exits), the pages changed since its base (dirty_tracker), and capture and
// restore (persist). Machine composes those parts; the public sandbox classes are thin wrappers over it.
#pragma once

#include <memory>
#include <string_view>
#include <vector>

#include "hypervisor/interrupt.h"
#include "hypervisor/vcpu.h"
#include "hypervisor/vm.h"
#include "sandbox/dirty_tracker.h"
#include "sandbox/guest_memory.h"
#include "sandbox/persist.h"
#include "sandbox/run_loop.h"
#include "sandbox/vm_assembly.h"
#include "snapvm/host_functions.h"
#include "snapvm/sandbox.h"
#include "snapvm/snapshot.h"

namespace snapvm {
struct ElfImage;
}

namespace snapvm::detail {

struct InterruptShared {
  InterruptState state;
};

class Machine {
 public:
  static Result<std::unique_ptr<Machine>> from_elf(const ElfImage& image, const SandboxConfig& config);
  static Result<std::unique_ptr<Machine>> from_snapshot(const Snapshot& snapshot);

  void set_host_functions(HostFunctions f) { host_functions_ = std::move(f); }
  void set_log_callback(LogCallback cb) { log_ = std::move(cb); }

  bool initialised() const { return program_.stage == SnapshotStage::kAfterInit; }
  // Runs guest_main to the initialised signal, bounded by `options.timeout` (kTimeout, poisoned);
  // reads the dispatch entry and the manifest; checks the host functions.
  Status initialise(const CallOptions& options);
  // Checks every host function the guest needs is registered with the same signature.
  Status check_host_functions() const;

  Result<Value> call(std::string_view function, std::span<const Value> args, const CallOptions& options);
  Result<Snapshot> snapshot();
  Status restore(const Snapshot& snapshot);
  // Poisons and fails with kFileChanged when a snapshot file this machine maps has shrunk.
  Status check_files();

  bool poisoned() const { return poisoned_; }
  const std::shared_ptr<InterruptShared>& interrupt() const { return interrupt_; }
  const std::vector<FunctionInfo>& guest_functions() const { return program_.manifest.guest_functions; }
  const std::vector<FunctionInfo>& required_host_functions() const { return program_.manifest.host_functions; }
  const Layout& layout() const { return layout_; }
  uint64_t last_restore_pages() const { return last_restore_pages_; }
  DirtyLogMode dirty_log_mode() const { return dirty_.mode(); }
  // Read-only use (coverage, tests): host writes here bypass the dirty log, so restore would not undo them.
  const GuestMemory& memory() const { return memory_; }

 private:
  explicit Machine(VmParts parts);

  Result<Value> call_inner(std::string_view function, std::span<const Value> args, const CallOptions& options);
  Status restore_inner(const Snapshot& snapshot);
  Status initialise_inner(const CallOptions& options);
  // Runs the vCPU until the guest signals `until`; poisons on any error.
  Status run(Stop until, const CallTimer& timer);
  Error poison(Error e);
  PersistParts persist_parts() { return {layout_, memory_, vm_, vcpu_, dirty_}; }

  Layout layout_;
  GuestMemory memory_;
  Vm vm_;
  Vcpu vcpu_;
  DirtyTracker dirty_;
  std::shared_ptr<InterruptShared> interrupt_ = std::make_shared<InterruptShared>();
  HostFunctions host_functions_;
  LogCallback log_;
  GuestProgram program_;
  bool poisoned_ = false;
  uint64_t lineage_ = 0;
  // The snapshot memory equals, but for the pages dirty_ holds (since the last snapshot or restore).
  std::shared_ptr<const SnapshotData> base_;
  uint64_t last_restore_pages_ = 0;
};

}  // namespace snapvm::detail
