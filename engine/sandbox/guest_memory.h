// guest_memory.h: the host mapping behind a VM's memory slot. One reservation of memory_size bytes;
// regions of a snapshot are mapped over it MAP_PRIVATE|MAP_FIXED (copy-on-write from the blob's fd).
// Every host access is bounds-checked. (Host writes are recorded by the DirtyTracker.)
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "memory/file_guard.h"
#include "memory/mapping.h"
#include "snapvm/result.h"

namespace snapvm::detail {

class GuestMemory {
 public:
  static Result<GuestMemory> create(uint64_t size);

  // Replaces [guest_address, +size) with a private copy-on-write mapping of `fd` at `file_offset`.
  Status map_private(uint64_t guest_address, uint64_t size, int fd, uint64_t file_offset);

  uint64_t size() const { return mapping_.size(); }
  uint8_t* host_base() const { return mapping_.data(); }
  std::span<uint8_t> all() const { return {mapping_.data(), mapping_.size()}; }
  // [address, address + length) or an error naming `what`.
  Result<std::span<uint8_t>> range(uint64_t address, uint64_t length, const char* what) const;
  Result<uint64_t> read_u64(uint64_t address) const;

  // True when a file-backed region lost pages to its file shrinking (they now read as zeros).
  bool file_changed() const;
  // Drops the guards of file mappings (after every region was mapped anew).
  void clear_file_guards() { guards_.clear(); }

 private:
  explicit GuestMemory(Mapping m) : mapping_(std::move(m)) {}
  Mapping mapping_;
  std::vector<FileGuard> guards_;
};

}  // namespace snapvm::detail
