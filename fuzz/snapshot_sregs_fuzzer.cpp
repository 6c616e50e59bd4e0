// snapshot_sregs_fuzzer.cpp: the special-register block (segments, descriptor tables, control
// registers, EFER) spliced into a valid file, then decoded and validated as a loader would.
#include "fuzz/splice.h"
#include "snapshot/validate.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto file = snapvm::fuzz::splice(snapvm::fuzz::Block::kSpecialRegisters, {data, size});
  (void)snapvm::format::decode_and_validate(file.metadata, file.file_size, {});
  return 0;
}
