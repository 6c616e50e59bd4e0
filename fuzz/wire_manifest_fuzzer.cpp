// wire_manifest_fuzzer.cpp: the manifest (SVM1) the guest publishes at initialisation, decoded by
// the host.
#include "sandbox/call_codec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  (void)snapvm::detail::decode_manifest({data, size});
  return 0;
}
