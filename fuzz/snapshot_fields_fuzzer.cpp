// snapshot_fields_fuzzer.cpp: the field table walk (format::describe_fields) over any bytes, as the
// harness's mutators, `snapvm diff` and the structured mutator run it on files nobody checked.
#include "snapshot/format.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  (void)snapvm::format::describe_fields({data, size});
  return 0;
}
