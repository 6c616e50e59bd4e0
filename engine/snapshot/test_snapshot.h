// test_snapshot.h: synthetic snapshots built without KVM (a two-segment image, the default config,
// recognisable region bytes, a sane long-mode vCPU), and whole snapshot files encoded in memory.
// For the snapshot tests, and reusable by fuzzers (seeds) and properties.
#pragma once

#include <cstdint>
#include <vector>

#include "snapshot/snapshot_access.h"
#include "snapvm/result.h"
#include "snapvm/snapshot.h"

namespace snapvm::test_support {

struct TestSnapshotOptions {
  SnapshotStage stage = SnapshotStage::kAfterInit;
  uint64_t heap_size = 128 * kKiB;
  bool fill_heap = false;  // every heap byte non-zero (dense), instead of first and last page only
  uint64_t seed = 1;       // varies the region bytes
};

inline constexpr uint64_t kCodeAddress = 0x100000;  // r-x, 2 pages
inline constexpr uint64_t kDataAddress = 0x102000;  // rw-, 1 page

// The first and last page of every region hold test_byte(seed, region, offset) (never zero); the
// pages between are zero, or with fill_heap copies of the heap's first page, each marked with its
// page number.
uint8_t test_byte(uint64_t seed, size_t region, uint64_t offset);

Result<Snapshot> make_test_snapshot(const TestSnapshotOptions& options = {});

// The whole file to_file() would write (metadata, blob, digest; format 2: and the chunk table), built
// in memory.
std::vector<uint8_t> encode_file(const Snapshot& snapshot, DigestAlgorithm algorithm = DigestAlgorithm::kBlake3_256,
                                 uint32_t format_version = 2);

}  // namespace snapvm::test_support
