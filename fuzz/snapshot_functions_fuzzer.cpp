// snapshot_functions_fuzzer.cpp: the guest and host function tables (counts, names, signatures)
// spliced into a valid file, then decoded and validated as a loader would.
#include "fuzz/splice.h"
#include "snapshot/validate.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto file = snapvm::fuzz::splice(snapvm::fuzz::Block::kFunctions, {data, size});
  (void)snapvm::format::decode_and_validate(file.metadata, file.file_size, {});
  return 0;
}
