// sandbox.h: sandboxes. An UninitializedSandbox holds a guest ELF loaded into a fresh VM; evolve()
// runs the guest's initialisation and gives a MultiUseSandbox, which takes calls, snapshots and
// restores. A MultiUseSandbox can also start straight from a Snapshot (cold start from a file).
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

  Status register_host_function(std::string name, Signature signature, HostFunction fn);
  template <typename F>
  Status register_host_function(std::string name, F f) {
    return host_functions_.add_typed(std::move(name), std::move(f));
  }
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

  MultiUseSandbox(MultiUseSandbox&&) noexcept;
  MultiUseSandbox& operator=(MultiUseSandbox&&) noexcept;
  ~MultiUseSandbox();

 private:
  friend class UninitializedSandbox;
  explicit MultiUseSandbox(std::unique_ptr<detail::Machine> m);
  std::unique_ptr<detail::Machine> machine_;
};

// Builder for either path, so callers register host functions the same way for both.
class SandboxBuilder {
 public:
  static SandboxBuilder from_elf(std::filesystem::path path, SandboxConfig config = {});
  static SandboxBuilder from_snapshot(Snapshot snapshot);

  SandboxBuilder& host_function(std::string name, Signature signature, HostFunction fn);
  template <typename F>
  SandboxBuilder& host_function(std::string name, F f) {
    if (status_) status_ = host_functions_.add_typed(std::move(name), std::move(f));
    return *this;
  }
  SandboxBuilder& host_functions(const HostFunctions& functions);
  SandboxBuilder& log_callback(LogCallback cb);
  // Bounds the guest's initialisation (from an ELF, or a before-init snapshot); unbounded by default.
  SandboxBuilder& init_timeout(std::chrono::nanoseconds timeout);
  Result<MultiUseSandbox> build();

 private:
  SandboxBuilder() = default;
  std::optional<std::filesystem::path> elf_;
  SandboxConfig config_;
  std::optional<Snapshot> snapshot_;
  HostFunctions host_functions_;
  LogCallback log_;
  CallOptions init_;
  Status status_;
};

}  // namespace snapvm
