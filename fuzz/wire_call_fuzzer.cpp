// wire_call_fuzzer.cpp: a host call (SVH1) as the guest writes it into the output buffer, decoded
// by the host.
#include "sandbox/call_codec.h"
#include "snapvm/abi/wire.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  (void)snapvm::detail::decode_call({data, size}, snapvm::abi::kHostCallMagic);
  return 0;
}
