// parse_value_fuzzer.cpp: command-line words parsed as typed values (`snapvm run FILE Fn ARGS...`):
// the first byte picks the type, the rest is the word.
#include <string>

#include "snapvm_harness/host_stubs.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const auto type = static_cast<snapvm::ValueType>(data[0] % snapvm::abi::kValueTypeCount);
  (void)snapvm::harness::parse_value(type, std::string(data + 1, data + size));
  return 0;
}
