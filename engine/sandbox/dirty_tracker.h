// dirty_tracker.h: which guest pages changed since the machine's base (the snapshot it last took or
// restored): KVM's dirty log for the guest's writes plus the host's own writes, which KVM does not see.
// Restore copies back exactly these pages; capture reads them besides the base's data.
#pragma once

#include <cstdint>
#include <vector>

#include "memory/page_bitmap.h"
#include "snapvm/result.h"

namespace snapvm {
class Vm;
}

namespace snapvm::detail {

class DirtyTracker {
 public:
  explicit DirtyTracker(uint64_t pages)
      : guest_(page_bitmap_words(pages), 0), host_(guest_.size(), 0), log_(guest_.size(), 0) {}

  // ORs KVM's dirty log into the guest bits (KVM clears its copy on every read).
  Status collect(const Vm& vm);
  // Records a host write to [address, address + length) of guest memory.
  void mark_host_write(uint64_t address, uint64_t length);
  // Forgets every change: memory equals the base again.
  void clear();

  // Calls fn(page) for every page in [first, last) written by the guest (as last collected) or the host.
  template <typename Fn>
  void for_each_dirty_page(uint64_t first, uint64_t last, Fn&& fn) const {
    for_each_set_page_by_word(
        first, last, [this](uint64_t w) { return guest_[w] | host_[w]; }, fn);
  }

 private:
  std::vector<uint64_t> guest_;  // KVM's dirty log, accumulated
  std::vector<uint64_t> host_;   // mark_host_write
  std::vector<uint64_t> log_;    // scratch for KVM_GET_DIRTY_LOG, kept so collect() does not allocate
};

}  // namespace snapvm::detail
