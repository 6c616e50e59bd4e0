// memory_blob.h: a snapshot's guest memory as one read-only blob in a file: a sparse memfd for
// in-memory snapshots, or the memory part of a snapshot file (mapped from the fd that was validated).
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "memory/file_guard.h"
#include "memory/mapping.h"
#include "snapvm/result.h"

namespace snapvm::detail {

// The guest memory a snapshot holds: every region's bytes, back to back at page-aligned offsets,
// in a file (a snapshot file, or a memfd for in-memory snapshots) and mapped read-only.
struct MemoryBlob {
  UniqueFd fd;               // sandboxes map regions MAP_PRIVATE from this fd: zero copy
  uint64_t file_offset = 0;  // where the blob starts in the fd (page aligned)
  uint64_t size = 0;
  Mapping mapping;                       // PROT_READ view of [file_offset, file_offset + size)
  FileGuard guard;                       // file blobs: a shrinking file reads as zeros and trips this, not SIGBUS
  std::vector<uint64_t> region_offsets;  // per region, relative to the blob start
};

// True if the 4096 bytes at `page` are all zero (64-bit word compare, early exit).
bool is_zero_page(const uint8_t* page);

// Copies `regions` (each a page multiple) back to back into a new memfd, leaving all-zero pages as
// holes, and maps it PROT_READ. region_offsets[i] is where regions[i] starts in the blob.
// `may_hold_data`, if given, has one bit per blob page: pages whose bit is clear are known to be zero
// and are not read at all, so the cost follows the pages that may hold data, not the regions' size.
Result<MemoryBlob> make_memory_blob(const std::vector<std::span<const uint8_t>>& regions,
                                    const std::vector<uint64_t>* may_hold_data = nullptr);

// Maps [file_offset, file_offset + size) of `fd` PROT_READ, MAP_PRIVATE. After mapping, fstat()s the
// fd again: if the file is now shorter than the blob, fails with kFileChanged (touching the missing
// pages would SIGBUS). `file_offset` must be page aligned and `size` non-zero.
Result<MemoryBlob> map_memory_blob(UniqueFd fd, uint64_t file_offset, uint64_t size,
                                   std::vector<uint64_t> region_offsets);

// Calls fn(offset, length, is_data) for the data and hole extents of [offset, offset + size) of `fd`
// in order (lseek SEEK_DATA/SEEK_HOLE; offsets relative to `offset`). Holes read as zeros and need
// not be read at all: reading a sparse memfd's holes through a mapping would allocate them. Where the
// filesystem cannot tell, the whole range is one data extent.
Status for_each_extent(int fd, uint64_t offset, uint64_t size,
                       const std::function<Status(uint64_t, uint64_t, bool)>& fn);

}  // namespace snapvm::detail
