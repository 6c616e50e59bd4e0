// structured_mutator.h: structure-aware mutation of whole snapshot files, for LLVMFuzzerCustomMutator.
// Mutates what the format means (a field to a boundary or related value, region entries swapped,
// duplicated, shifted, resized, re-flagged, inserted or deleted, the blob's first bytes, the file's
// length, or a valid re-encoding with another config, stage, function list or register), then
// fixes the header checksum and the content digest, so inputs reach the validators and the loader
// instead of dying at the checksum. A quarter of the time it is libFuzzer's own byte mutation
// (checksums fixed half of those times), so plain byte mutation stays in the mix.
// Field changes and checksum fixing come from harness/field_mutation.h (shared with the mutation
// campaign and the properties); the structural mutations here call LLVMFuzzerMutate, so they stay in fuzz/.
#pragma once

#include <cstddef>
#include <cstdint>

namespace snapvm::fuzz {

// Same contract as LLVMFuzzerCustomMutator: mutates data[0, size) in place, returns the new size
// (at most max_size). Deterministic in `seed`.
size_t mutate_snapshot_file(uint8_t* data, size_t size, size_t max_size, unsigned int seed);

}  // namespace snapvm::fuzz
