// snapshot_run_fuzzer.cpp: a whole file through Snapshot::from_file_unchecked, then, when it loads,
// a cold start and calls in a real VM (skipped without KVM). Faults, aborts and timeouts are
// expected results; a host crash is a bug. Structure-aware, like snapshot_file_fuzzer.
#include "fuzz/memory_file.h"
#include "fuzz/structured_mutator.h"
#include "fuzz/vm_runner.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto snapshot = snapvm::Snapshot::from_file_unchecked(snapvm::fuzz::memory_file(data, size));
  if (snapshot) snapvm::fuzz::cold_start_and_call(*snapshot);
  return 0;
}

extern "C" size_t LLVMFuzzerCustomMutator(uint8_t* data, size_t size, size_t max_size, unsigned int seed) {
  return snapvm::fuzz::mutate_snapshot_file(data, size, max_size, seed);
}
