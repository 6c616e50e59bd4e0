// validate.h: the semantic pass over a decoded snapshot file (Firecracker's
// snapshot_state_sanity_check): the platform, sizes, alignment, overlaps, the file's length, the
// layout, and a sane long-mode vCPU state. Every rule is one line in validate.cpp; docs/snapshot-format.md lists them.
#pragma once

#include <cstdint>
#include <span>

#include "snapshot/format.h"
#include "snapvm/result.h"

namespace snapvm::format {

// `file_size` is the whole file's length (from fstat of the fd that will be mapped); `options` the
// platform the file must have been recorded on.
Status validate_snapshot(const DecodedSnapshotFile& file, uint64_t file_size, const DecodeOptions& options = {});

// decode_metadata then validate_snapshot: what a loader (and the file fuzzer) calls.
Result<DecodedSnapshotFile> decode_and_validate(std::span<const uint8_t> bytes, uint64_t file_size,
                                                const DecodeOptions& options);

}  // namespace snapvm::format
