// snapshot_access.h: the engine's way into a Snapshot's internals (the public header shows none):
// wrap shared SnapshotData in a Snapshot, and read it back.
#pragma once

#include <memory>

#include "snapshot/snapshot_data.h"
#include "snapvm/snapshot.h"

namespace snapvm::detail {

struct SnapshotAccess {
  static Snapshot make(std::shared_ptr<const SnapshotData> data) { return Snapshot(std::move(data)); }
  static const std::shared_ptr<const SnapshotData>& data(const Snapshot& s) { return s.data_; }
};

inline Snapshot make_snapshot(std::shared_ptr<const SnapshotData> data) {
  return SnapshotAccess::make(std::move(data));
}
inline const std::shared_ptr<const SnapshotData>& snapshot_data(const Snapshot& s) { return SnapshotAccess::data(s); }

}  // namespace snapvm::detail
