// guest_tlv_fuzzer.cpp: guest code as a fuzz target. ParseRecords of the TLV sample guest
// (guest/samples/tlv_guest.cpp, three planted bugs), built with coverage, from its snapshot file beside
// this binary (baked on first start if missing); the snapshot is restored between inputs. This is
// the whole of a libFuzzer target for one's own guest (docs/guest-fuzzing.md).
#include "snapvm_harness/libfuzzer.h"

namespace {
snapvm::harness::GuestFuzzer* fuzzer = nullptr;
}

extern "C" int LLVMFuzzerInitialize(int* argc, char*** argv) {
  fuzzer = snapvm::harness::libfuzzer_open_guest(*argc, *argv, "tlv_guest_cov", "ParseRecords");
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return snapvm::harness::libfuzzer_test_one_input(*fuzzer, data, size);
}
