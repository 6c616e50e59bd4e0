// wire_result_fuzzer.cpp: a call's result (SVR1) as the guest writes it, decoded by the host.
#include "sandbox/call_codec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  (void)snapvm::detail::decode_result({data, size});
  return 0;
}
