// dirty_tracker.cpp: collecting KVM's dirty log and the host's writes.
#include "sandbox/dirty_tracker.h"

#include <algorithm>

#include "hypervisor/vm.h"
#include "snapvm/abi/layout.h"

namespace snapvm::detail {

Status DirtyTracker::collect(const Vm& vm) { return log_mode_.collect(vm, guest_, log_); }

void DirtyTracker::mark_host_write(uint64_t address, uint64_t length) {
  if (length == 0) return;
  for (uint64_t p = address / abi::kPageSize; p <= (address + length - 1) / abi::kPageSize; ++p) set_page(host_, p);
}

Status DirtyTracker::clear(const Vm& vm) {
  TRY(log_mode_.rearm(vm, guest_, pages_));
  forget();
  return {};
}

void DirtyTracker::forget() {
  std::fill(guest_.begin(), guest_.end(), 0);
  std::fill(host_.begin(), host_.end(), 0);
}

}  // namespace snapvm::detail
