// snapshot_file_raw_fuzzer.cpp: snapshot_file_fuzzer without the custom mutator: plain byte
// mutation, which mostly tests the header checksum and everything before it.
#include "fuzz/memory_file.h"
#include "snapvm/snapshot.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  (void)snapvm::Snapshot::from_file(snapvm::fuzz::memory_file(data, size));
  return 0;
}
