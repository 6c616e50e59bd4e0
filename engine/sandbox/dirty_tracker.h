// dirty_tracker.h: which guest pages changed since the machine's base (the snapshot it last took or
// restored): KVM's dirty log for the guest's writes (in the mode hypervisor/dirty_log.h chose: dirty
// ring, manual clear or bitmap) plus the host's own writes, which KVM does not see. Restore copies back
// exactly these pages; capture reads them besides the base's data.
#pragma once

#include <cstdint>
#include <vector>

#include "hypervisor/dirty_log.h"
#include "memory/page_bitmap.h"
#include "snapvm/result.h"

namespace snapvm {
class Vm;
}

namespace snapvm::detail {

class DirtyTracker {
 public:
  DirtyTracker(uint64_t pages, DirtyLog log)
      : pages_(pages),
        log_mode_(std::move(log)),
        guest_(page_bitmap_words(pages), 0),
        host_(guest_.size(), 0),
        log_(log_mode_.mode() == DirtyLogMode::kRing ? 0 : guest_.size(), 0) {}

  // ORs the pages KVM saw written since the last collect into the guest bits.
  Status collect(const Vm& vm);
  // Records a host write to [address, address + length) of guest memory.
  void mark_host_write(uint64_t address, uint64_t length);
  // Forgets every change: memory equals the base again. The manual-clear mode re-protects the pages
  // the guest wrote (and only those), so KVM reports their next write.
  Status clear(const Vm& vm);
  // The bits alone (clear() without re-protecting anything in KVM).
  void forget();
  DirtyLogMode mode() const { return log_mode_.mode(); }

  // Calls fn(page) for every page in [first, last) written by the guest (as last collected) or the host.
  template <typename Fn>
  void for_each_dirty_page(uint64_t first, uint64_t last, Fn&& fn) const {
    for_each_set_page_by_word(
        first, last, [this](uint64_t w) { return guest_[w] | host_[w]; }, fn);
  }

 private:
  uint64_t pages_;
  DirtyLog log_mode_;
  std::vector<uint64_t> guest_;  // KVM's dirty log, accumulated
  std::vector<uint64_t> host_;   // mark_host_write
  std::vector<uint64_t> log_;    // scratch for KVM_GET_DIRTY_LOG (bitmap modes), kept so collect() does not allocate
};

}  // namespace snapvm::detail
