// wire_text_record_fuzzer.cpp: a log record (SVL1) as the guest writes it, decoded by the host.
// Abort records (SVA1) share the decoder.
#include "sandbox/call_codec.h"
#include "snapvm/abi/wire.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  (void)snapvm::detail::decode_text_record({data, size}, snapvm::abi::kLogMagic);
  return 0;
}
