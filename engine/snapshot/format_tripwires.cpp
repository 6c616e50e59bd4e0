// format_tripwires.cpp: compile-time pins of the snapshot file format v1's fixed facts (format.h):
// magic, version, the fixed header and the offsets read before any variable-length field, and the
// enum values the file records. When one fires, the change is a format change: follow
// docs/snapshot-versioning.md ("When a tripwire fires"): bump format::kFormatVersion, keep a reader
// for v1 or refuse it by name, add a golden of the new version. The ABI's pins are in
// snapvm/abi/tripwires.h.
#include "snapshot/chunk_digest.h"
#include "snapshot/format.h"
#include "snapvm/layout.h"
#include "snapvm/snapshot.h"

namespace snapvm::format {
namespace {

#define SNAPVM_FORMAT_TRIPWIRE(cond, what)                                                               \
  static_assert(cond, what                                                                               \
                " is a format fact: bump kFormatVersion, keep or refuse older files, add a golden; see " \
                "docs/snapshot-versioning.md")

constexpr bool magic_is(const char (&expected)[9]) {
  for (size_t i = 0; i < 8; ++i) {
    if (kMagic[i] != static_cast<uint8_t>(expected[i])) return false;
  }
  return true;
}

SNAPVM_FORMAT_TRIPWIRE(kFormatVersion == 2 && kMinFormatVersion == 1,
                       "kFormatVersion (update every pin below with it)");
SNAPVM_FORMAT_TRIPWIRE(kChunkDescriptorSize == 24 && kChunkEntryBytes == 40,
                       "format 2's chunk descriptor and entry sizes");
SNAPVM_FORMAT_TRIPWIRE(kDigestChunkSize == (uint64_t{64} << 10) && kMaxDigestChunkSize == (uint64_t{16} << 20),
                       "format 2's chunk sizes (written, and the largest read)");
SNAPVM_FORMAT_TRIPWIRE(kMagic.size() == 8 && magic_is("\x89SNAPVM\n"), "the file magic");

// The fixed header: read and checked before the header length, the checksum or anything variable.
SNAPVM_FORMAT_TRIPWIRE(kFixedHeaderSize == 24, "the fixed header's size");
SNAPVM_FORMAT_TRIPWIRE(kVersionOffset == 8, "format_version's offset");
SNAPVM_FORMAT_TRIPWIRE(kHeaderLengthOffset == 12, "header_length's offset");
SNAPVM_FORMAT_TRIPWIRE(kChecksumOffset == 16, "header_checksum's offset");

// Fixed-offset fields after the fixed header.
SNAPVM_FORMAT_TRIPWIRE(kBlobOffsetOffset == 0x40 && kBlobSizeOffset == 0x48, "the blob fields' offsets");
SNAPVM_FORMAT_TRIPWIRE(kDigestAlgorithmOffset == 0x50 && kDigestOffset == 0x58, "the digest fields' offsets");
SNAPVM_FORMAT_TRIPWIRE(kRegionTableOffset == 0x458 && kRegionEntriesOffset == 0x460, "the region table's offset");
SNAPVM_FORMAT_TRIPWIRE(kRegionEntrySize == 32, "a region entry's size");
SNAPVM_FORMAT_TRIPWIRE(kArchitecture == "x86_64" && kHypervisor == "kvm" && kCpuVendorSize == 12, "the platform tags");

// Enum values the file records.
SNAPVM_FORMAT_TRIPWIRE(static_cast<uint32_t>(DigestAlgorithm::kBlake3_256) == 1 &&
                           static_cast<uint32_t>(DigestAlgorithm::kXxh3_128) == 2,
                       "the digest algorithm numbers");
SNAPVM_FORMAT_TRIPWIRE(static_cast<uint32_t>(SnapshotStage::kBeforeInit) == 1 &&
                           static_cast<uint32_t>(SnapshotStage::kAfterInit) == 2,
                       "the stage numbers");
SNAPVM_FORMAT_TRIPWIRE(kRegionRead == 1 && kRegionWrite == 2 && kRegionExecute == 4 && kKnownRegionFlags == 7,
                       "the region flag bits");
SNAPVM_FORMAT_TRIPWIRE(static_cast<uint32_t>(RegionKind::kPeb) == 1 && static_cast<uint32_t>(RegionKind::kImage) == 2 &&
                           static_cast<uint32_t>(RegionKind::kInput) == 3 &&
                           static_cast<uint32_t>(RegionKind::kOutput) == 4 &&
                           static_cast<uint32_t>(RegionKind::kHeap) == 5 &&
                           static_cast<uint32_t>(RegionKind::kStack) == 6 && kMaxRegionKind == 6,
                       "the region kind numbers");

#undef SNAPVM_FORMAT_TRIPWIRE

}  // namespace
}  // namespace snapvm::format
