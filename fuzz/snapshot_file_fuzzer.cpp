// snapshot_file_fuzzer.cpp: a whole snapshot file through Snapshot::from_file (open, fstat, header,
// checksum, every structural and semantic check, mmap of the blob, content digest), from an
// in-memory file. Structure-aware: the custom mutator fixes checksums after mutating fields.
#include "fuzz/memory_file.h"
#include "fuzz/structured_mutator.h"
#include "snapvm/snapshot.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  (void)snapvm::Snapshot::from_file(snapvm::fuzz::memory_file(data, size));
  return 0;
}

extern "C" size_t LLVMFuzzerCustomMutator(uint8_t* data, size_t size, size_t max_size, unsigned int seed) {
  return snapvm::fuzz::mutate_snapshot_file(data, size, max_size, seed);
}
