// snapshot_header_fuzzer.cpp: the fixed header (magic, version, header_length bounds), checked
// before anything else is read. The input is the file's first bytes and the file is that long.
#include "snapshot/format.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  (void)snapvm::format::check_fixed_header({data, size}, size);
  return 0;
}
