// sandbox.h: sandboxes. An UninitializedSandbox holds a guest ELF loaded into a fresh VM; evolve()
// runs the guest's initialisation and gives a MultiUseSandbox, which takes calls, snapshots and
// restores. A MultiUseSandbox can also start straight from a Snapshot (cold start from a file).
//
// Which entry point to use:
// - from an ELF: SandboxBuilder::from_elf(path).host_functions(set).build(); or, to take a
//   before-initialisation snapshot, UninitializedSandbox::from_elf_file, set_host_functions, evolve.
// - from a Snapshot (taken, or loaded with Snapshot::from_file): MultiUseSandbox::from_snapshot.
// Host functions are registered once in a HostFunctions set (see host_functions.h) and handed over whole.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "snapvm/host_functions.h"
#include "snapvm/layout.h"
#include "snapvm/result.h"
#include "snapvm/snapshot.h"
#include "snapvm/value.h"

namespace snapvm {

namespace detail {
class Machine;
struct InterruptShared;
struct SandboxAccess;
}  // namespace detail

enum class LogLevel : uint32_t { kTrace = 0, kDebug = 1, kInfo = 2, kWarn = 3, kError = 4 };
using LogCallback = std::function<void(LogLevel level, std::string_view message)>;

struct CallOptions {
  std::optional<std::chrono::nanoseconds> timeout;  // none: no limit
};

// Cancels the call running in a sandbox, from any thread; safe to keep after the sandbox is gone.
class InterruptHandle {
 public:
  // Returns true if a call was running and has been asked to stop (it ends with kCancelled).
  bool cancel() const;
  explicit InterruptHandle(std::shared_ptr<detail::InterruptShared> s) : shared_(std::move(s)) {}

 private:
  std::shared_ptr<detail::InterruptShared> shared_;
};

class MultiUseSandbox;

class UninitializedSandbox {
 public:
  static Result<UninitializedSandbox> from_elf_file(const std::filesystem::path& path,
                                                    const SandboxConfig& config = {});
  static Result<UninitializedSandbox> from_elf_bytes(std::span<const uint8_t> elf, const SandboxConfig& config = {});

  // The host functions the guest may call (checked against what it requires when it initialises).
  void set_host_functions(HostFunctions functions) { host_functions_ = std::move(functions); }
  void set_log_callback(LogCallback cb) { log_ = std::move(cb); }

  // A before-initialisation snapshot: memory with the image loaded, the vCPU at the ELF entry.
  Result<Snapshot> snapshot();
  // Runs guest_main, within `init.timeout` if set (else kTimeout); checks that every host function the
  // guest needs is registered with its signature.
  Result<MultiUseSandbox> evolve(const CallOptions& init = {}) &&;

  UninitializedSandbox(UninitializedSandbox&&) noexcept;
  UninitializedSandbox& operator=(UninitializedSandbox&&) noexcept;
  ~UninitializedSandbox();

 private:
  explicit UninitializedSandbox(std::unique_ptr<detail::Machine> m);
  std::unique_ptr<detail::Machine> machine_;
  HostFunctions host_functions_;
  LogCallback log_;
};

class MultiUseSandbox {
 public:
  // Cold start from a snapshot: no ELF parsing; memory mapped copy-on-write from the snapshot's blob.
  // An after-init snapshot is ready at once; a before-init one runs the guest's initialisation first,
  // within `init.timeout` if set (a snapshot file may hold a guest whose initialisation never ends).
  static Result<MultiUseSandbox> from_snapshot(const Snapshot& snapshot, HostFunctions host_functions = {},
                                               LogCallback log = {}, const CallOptions& init = {});

  Result<Value> call(std::string_view function, std::vector<Value> args = {}, const CallOptions& options = {});
  template <typename R>
  Result<R> call_as(std::string_view function, std::vector<Value> args = {}, const CallOptions& options = {}) {
    Value v = TRY(call(function, std::move(args), options));
    if (auto* r = std::get_if<R>(&v)) return std::move(*r);
    return make_error(ErrorCode::kReturnMismatch, std::string(function), "unexpected result type");
  }

  // Captures memory and the complete vCPU state. Refused while poisoned.
  Result<Snapshot> snapshot();
  // Brings memory and vCPU back to `snapshot` exactly; clears poisoning. Costs in proportion to the
  // pages dirtied since the last snapshot or restore when `snapshot` is that one.
  Status restore(const Snapshot& snapshot);

  bool poisoned() const;
  InterruptHandle interrupt_handle() const;
  const std::vector<FunctionInfo>& guest_functions() const;
  const std::vector<FunctionInfo>& required_host_functions() const;
  const Layout& layout() const;
  // Pages restore() copied last time (for benchmarks and tests).
  uint64_t last_restore_pages() const;
  // How this sandbox's VM reports the pages the guest writes, chosen at run time (best first):
  // "dirty-ring" (KVM_CAP_DIRTY_LOG_RING), "manual-clear" (KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2 with
  // KVM_CLEAR_DIRTY_LOG) or "bitmap" (KVM_GET_DIRTY_LOG). SNAPVM_DIRTY_LOG=ring|manual|bitmap asks for one.
  std::string_view dirty_tracking() const;

  MultiUseSandbox(MultiUseSandbox&&) noexcept;
  MultiUseSandbox& operator=(MultiUseSandbox&&) noexcept;
  ~MultiUseSandbox();

 private:
  friend class UninitializedSandbox;
  friend struct detail::SandboxAccess;  // in-tree tools (the guest fuzzer reads coverage from guest memory)
  explicit MultiUseSandbox(std::unique_ptr<detail::Machine> m);
  std::unique_ptr<detail::Machine> machine_;
};

// A ready MultiUseSandbox from a guest ELF in one expression: load, host functions, initialisation.
class SandboxBuilder {
 public:
  static SandboxBuilder from_elf(std::filesystem::path path, SandboxConfig config = {});

  // Adds every function of `functions` (a name given twice fails build() with kDuplicateHostFunction).
  SandboxBuilder& host_functions(const HostFunctions& functions);
  SandboxBuilder& log_callback(LogCallback cb);
  // Bounds the guest's initialisation; unbounded by default.
  SandboxBuilder& init_timeout(std::chrono::nanoseconds timeout);
  Result<MultiUseSandbox> build();

 private:
  SandboxBuilder() = default;
  std::filesystem::path elf_;
  SandboxConfig config_;
  HostFunctions host_functions_;
  LogCallback log_;
  CallOptions init_;
  Status status_;
};

}  // namespace snapvm
