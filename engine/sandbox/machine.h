// machine.h: one sandbox's VM, vCPU and memory, and the loop that runs the guest: initialisation,
// calls, host calls, logs, faults, aborts, timeouts and cancellation; snapshot and restore.
// The public sandbox classes are thin wrappers over it.
#pragma once

#include <memory>
#include <optional>
#include <string_view>
#include <vector>

#include "hypervisor/interrupt.h"
#include "hypervisor/vcpu.h"
#include "hypervisor/vm.h"
#include "sandbox/call_codec.h"
#include "sandbox/guest_memory.h"
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
  HostFunctions& host_functions() { return host_functions_; }
  void set_log_callback(LogCallback cb) { log_ = std::move(cb); }

  bool initialised() const { return stage_ == SnapshotStage::kAfterInit; }
  // Runs guest_main to its kInitialised signal; reads the manifest; checks the host functions.
  // Runs guest_main to the initialised signal, bounded by `options.timeout` (kTimeout, poisoned).
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
  const std::vector<FunctionInfo>& guest_functions() const { return manifest_.guest_functions; }
  const std::vector<FunctionInfo>& required_host_functions() const { return manifest_.host_functions; }
  const Layout& layout() const { return layout_; }
  uint64_t last_restore_pages() const { return last_restore_pages_; }

 private:
  Machine(Layout layout, GuestMemory memory, Vm vm, Vcpu vcpu);
  static Result<std::unique_ptr<Machine>> assemble(Layout layout, GuestMemory memory);

  Result<Value> call_inner(std::string_view function, std::span<const Value> args, const CallOptions& options);
  Status restore_inner(const Snapshot& snapshot);
  Status initialise_inner(const CallOptions& options);

  enum class Stop { kInitialised, kCallDone };
  // Runs the vCPU until the guest signals `until`; handles host calls and logs on the way.
  Status run_until(Stop until, const CallTimer& timer);
  Status handle_host_call();
  Status handle_log();
  Error guest_abort();
  Error guest_fault();
  Error poison(Error e);

  std::span<uint8_t> input() const;
  std::span<uint8_t> output() const;
  Status write_peb();
  // Accumulates KVM's dirty log into dirty_ (KVM clears its copy on every read).
  Status collect_dirty();
  // One bit per page of the base's blob: set where memory may hold data now (see snapshot()).
  Result<std::vector<uint64_t>> pages_that_may_hold_data() const;
  void clear_dirty();

  Layout layout_;
  GuestMemory memory_;
  Vm vm_;
  Vcpu vcpu_;
  std::shared_ptr<InterruptShared> interrupt_ = std::make_shared<InterruptShared>();
  HostFunctions host_functions_;
  LogCallback log_;
  Manifest manifest_;
  SnapshotStage stage_ = SnapshotStage::kBeforeInit;
  uint64_t entrypoint_ = 0;
  uint64_t dispatch_ = 0;
  bool poisoned_ = false;
  uint64_t lineage_ = 0;
  // The snapshot memory equals, but for the pages set in dirty_ (since the last snapshot or restore).
  std::shared_ptr<const SnapshotData> base_;
  std::vector<uint64_t> dirty_;
  uint64_t last_restore_pages_ = 0;
};

}  // namespace snapvm::detail
