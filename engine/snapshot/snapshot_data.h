// snapshot_data.h: what a Snapshot holds: its metadata (a plain value) and its memory blob (the owner
// of the fd and the mapping). Shared read-only between copies of a Snapshot and the sandboxes created
// from it; a file-backed snapshot keeps the validated fd and its mapping alive here.
#pragma once

#include <cstdint>

#include "snapshot/memory_blob.h"
#include "snapshot/snapshot_metadata.h"

namespace snapvm::detail {

struct SnapshotData {
  SnapshotMetadata meta;
  MemoryBlob memory;
  uint64_t lineage = 0;  // identifies the sandbox the snapshot came from (0: a file)
};

}  // namespace snapvm::detail
