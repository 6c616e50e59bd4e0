// dirty_tracker.cpp: collecting KVM's dirty log and the host's writes.
#include "sandbox/dirty_tracker.h"

#include <algorithm>

#include "hypervisor/vm.h"
#include "snapvm/abi/layout.h"

namespace snapvm::detail {

Status DirtyTracker::collect(const Vm& vm) {
  TRY(vm.get_dirty_log(log_));
  for (size_t i = 0; i < log_.size(); ++i) guest_[i] |= log_[i];
  return {};
}

void DirtyTracker::mark_host_write(uint64_t address, uint64_t length) {
  if (length == 0) return;
  for (uint64_t p = address / abi::kPageSize; p <= (address + length - 1) / abi::kPageSize; ++p) set_page(host_, p);
}

void DirtyTracker::clear() {
  std::fill(guest_.begin(), guest_.end(), 0);
  std::fill(host_.begin(), host_.end(), 0);
}

}  // namespace snapvm::detail
