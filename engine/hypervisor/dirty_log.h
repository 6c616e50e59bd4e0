// dirty_log.h: how KVM reports the guest pages written since the last look, chosen once per VM at run
// time, best first:
//   kRing         KVM_CAP_DIRTY_LOG_RING: the vCPU pushes each dirtied page's number into a ring the
//                 host maps; reading costs the pages dirtied, whatever the slot's size.
//   kManualClear  KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2: KVM_GET_DIRTY_LOG reads the bitmap without
//                 re-protecting anything; KVM_CLEAR_DIRTY_LOG re-protects only the pages restored.
//   kBitmap       plain KVM_GET_DIRTY_LOG, which clears and re-protects the whole slot on every read.
// SNAPVM_DIRTY_LOG=ring|manual|bitmap asks for one (tests cover each path; an unsupported request is an
// error naming the capability, never a silent fallback).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "memory/mapping.h"
#include "snapvm/result.h"

namespace snapvm {

class Vm;
class Vcpu;

enum class DirtyLogMode : uint8_t { kRing, kManualClear, kBitmap };

std::string_view dirty_log_mode_name(DirtyLogMode mode);  // "dirty-ring", "manual-clear", "bitmap"

// SNAPVM_DIRTY_LOG: nullopt when unset or empty (the best the machine supports), else the mode it names;
// an unknown value is kInvalidConfig.
Result<std::optional<DirtyLogMode>> requested_dirty_log_mode();

class DirtyLog {
 public:
  static constexpr uint32_t kRingEntries = 4096;  // 64 KiB of kvm_dirty_gfn; KVM exits when it fills

  // After KVM_CREATE_VM, before the memory slot and the vCPU exist: enables `wanted` (or the best the
  // machine has). A wanted mode KVM lacks fails with kKvmUnavailable naming its capability.
  static Result<DirtyLog> enable(const Vm& vm, std::optional<DirtyLogMode> wanted);
  // The plain bitmap mode, which needs no enabling (and no VM: for tests of what sits above).
  static DirtyLog bitmap() { return DirtyLog(DirtyLogMode::kBitmap); }
  // After KVM_CREATE_VCPU: the ring mode maps the vCPU's ring.
  Status attach(const Vcpu& vcpu);

  DirtyLogMode mode() const { return mode_; }

  // ORs into `bits` (one bit per page of slot 0) every page written since the last collect. `scratch`
  // is a bitmap of the same size the bitmap modes read into.
  Status collect(const Vm& vm, std::span<uint64_t> bits, std::span<uint64_t> scratch);
  // The pages in `bits` equal the base again: the manual mode re-protects exactly those (whole words
  // only where they hold a set bit); the others re-armed them when they were collected.
  Status rearm(const Vm& vm, std::span<const uint64_t> bits, uint64_t pages);

 private:
  explicit DirtyLog(DirtyLogMode mode, uint32_t ring_bytes = 0) : mode_(mode), ring_bytes_(ring_bytes) {}
  Status harvest_ring(const Vm& vm, std::span<uint64_t> bits);

  DirtyLogMode mode_;
  uint32_t ring_bytes_ = 0;
  Mapping ring_;            // kRing: the vCPU's kvm_dirty_gfn array
  uint64_t ring_next_ = 0;  // the next entry to look at
};

}  // namespace snapvm
