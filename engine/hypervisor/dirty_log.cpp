// dirty_log.cpp: enabling and reading KVM's dirty ring, manual-clear bitmap or plain bitmap.
#include "hypervisor/dirty_log.h"

#include <linux/kvm.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <string>

#include "hypervisor/vcpu.h"
#include "hypervisor/vm.h"

namespace snapvm {

namespace {
int check_extension(const Vm& vm, unsigned cap) { return ::ioctl(vm.fd(), KVM_CHECK_EXTENSION, cap); }

Status enable_cap(const Vm& vm, unsigned cap, uint64_t arg, const char* name) {
  kvm_enable_cap c{};
  c.cap = cap;
  c.args[0] = arg;
  if (::ioctl(vm.fd(), KVM_ENABLE_CAP, &c) < 0) return errno_error(ErrorCode::kKvmIoctl, name, errno);
  return {};
}

Error unavailable(const char* cap, DirtyLogMode mode) {
  return make_error(ErrorCode::kKvmUnavailable, "SNAPVM_DIRTY_LOG",
                    std::string(dirty_log_mode_name(mode)) + " needs " + cap + ", which this KVM does not offer");
}

// The ring size: the largest power-of-two byte count up to kRingEntries entries that KVM allows.
uint32_t ring_bytes(int max_bytes) {
  uint32_t bytes = DirtyLog::kRingEntries * sizeof(kvm_dirty_gfn);
  while (bytes > static_cast<uint32_t>(max_bytes) && bytes > 4096) bytes /= 2;
  return bytes <= static_cast<uint32_t>(max_bytes) ? bytes : 0;
}
}  // namespace

std::string_view dirty_log_mode_name(DirtyLogMode mode) {
  switch (mode) {
    case DirtyLogMode::kRing:
      return "dirty-ring";
    case DirtyLogMode::kManualClear:
      return "manual-clear";
    case DirtyLogMode::kBitmap:
      break;
  }
  return "bitmap";
}

Result<std::optional<DirtyLogMode>> requested_dirty_log_mode() {
  const char* v = std::getenv("SNAPVM_DIRTY_LOG");
  if (v == nullptr || *v == '\0') return std::optional<DirtyLogMode>{};
  const std::string s = v;
  if (s == "ring" || s == "dirty-ring") return std::optional{DirtyLogMode::kRing};
  if (s == "manual" || s == "manual-clear") return std::optional{DirtyLogMode::kManualClear};
  if (s == "bitmap") return std::optional{DirtyLogMode::kBitmap};
  return make_error(ErrorCode::kInvalidConfig, "SNAPVM_DIRTY_LOG", "ring, manual or bitmap, not \"" + s + "\"");
}

Result<DirtyLog> DirtyLog::enable(const Vm& vm, std::optional<DirtyLogMode> wanted) {
  if (!wanted || *wanted == DirtyLogMode::kRing) {
    const int max = check_extension(vm, KVM_CAP_DIRTY_LOG_RING);
    const uint32_t bytes = max > 0 ? ring_bytes(max) : 0;
    if (bytes != 0) {
      TRY(enable_cap(vm, KVM_CAP_DIRTY_LOG_RING, bytes, "KVM_ENABLE_CAP(KVM_CAP_DIRTY_LOG_RING)"));
      return DirtyLog(DirtyLogMode::kRing, bytes);
    }
    if (wanted) return unavailable("KVM_CAP_DIRTY_LOG_RING", *wanted);
  }
  if (!wanted || *wanted == DirtyLogMode::kManualClear) {
    const int flags = check_extension(vm, KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2);
    if (flags > 0 && (flags & KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE) != 0) {
      // Without KVM_DIRTY_LOG_INITIALLY_SET: the slot starts clean, as the other modes do.
      TRY(enable_cap(vm, KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2, KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE,
                     "KVM_ENABLE_CAP(KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2)"));
      return DirtyLog(DirtyLogMode::kManualClear);
    }
    if (wanted) return unavailable("KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2", *wanted);
  }
  return DirtyLog(DirtyLogMode::kBitmap);
}

Status DirtyLog::attach(const Vcpu& vcpu) {
  if (mode_ != DirtyLogMode::kRing) return {};
  const auto page = static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
  ring_ =
      TRY(Mapping::file(vcpu.fd(), KVM_DIRTY_LOG_PAGE_OFFSET * page, ring_bytes_, PROT_READ | PROT_WRITE, MAP_SHARED));
  return {};
}

Status DirtyLog::harvest_ring(const Vm& vm, std::span<uint64_t> bits) {
  auto* ring = reinterpret_cast<kvm_dirty_gfn*>(ring_.data());
  const uint64_t n = ring_bytes_ / sizeof(kvm_dirty_gfn);
  const uint64_t pages = bits.size() * 64;
  uint64_t harvested = 0;
  for (;; ++ring_next_, ++harvested) {
    kvm_dirty_gfn& e = ring[ring_next_ & (n - 1)];
    std::atomic_ref<uint32_t> flags(e.flags);
    if ((flags.load(std::memory_order_acquire) & KVM_DIRTY_GFN_F_DIRTY) == 0) break;
    if (e.slot != 0 || e.offset >= pages) {
      Error err = make_error(ErrorCode::kKvmIoctl, "dirty ring", "an entry outside slot 0's pages");
      err.value = e.offset;
      return err;
    }
    bits[e.offset / 64] |= uint64_t{1} << (e.offset % 64);
    flags.store(KVM_DIRTY_GFN_F_RESET, std::memory_order_release);
  }
  // Re-protects the harvested pages, so the next write to each is pushed again.
  if (harvested > 0 && ::ioctl(vm.fd(), KVM_RESET_DIRTY_RINGS, 0) < 0) {
    return errno_error(ErrorCode::kKvmIoctl, "KVM_RESET_DIRTY_RINGS", errno);
  }
  return {};
}

Status DirtyLog::collect(const Vm& vm, std::span<uint64_t> bits, std::span<uint64_t> scratch) {
  if (mode_ == DirtyLogMode::kRing) return harvest_ring(vm, bits);
  TRY(vm.get_dirty_log(scratch));
  for (size_t i = 0; i < bits.size(); ++i) bits[i] |= scratch[i];
  return {};
}

Status DirtyLog::rearm(const Vm& vm, std::span<const uint64_t> bits, uint64_t pages) {
  if (mode_ != DirtyLogMode::kManualClear) return {};
  // One KVM_CLEAR_DIRTY_LOG over the words from the first to the last that hold a set bit (first_page
  // must be a multiple of 64): restoring one page re-protects 64 at most, not the slot.
  size_t first = 0, last = bits.size();
  while (first < last && bits[first] == 0) ++first;
  while (last > first && bits[last - 1] == 0) --last;
  if (first == last) return {};
  kvm_clear_dirty_log c{};
  c.slot = 0;
  c.first_page = first * 64;
  c.num_pages = static_cast<uint32_t>(std::min<uint64_t>(last * 64, pages) - first * 64);
  c.dirty_bitmap = const_cast<uint64_t*>(bits.data() + first);  // read only, by copy_from_user
  if (::ioctl(vm.fd(), KVM_CLEAR_DIRTY_LOG, &c) < 0)
    return errno_error(ErrorCode::kKvmIoctl, "KVM_CLEAR_DIRTY_LOG", errno);
  return {};
}

}  // namespace snapvm
