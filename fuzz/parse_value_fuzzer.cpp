// parse_value_fuzzer.cpp: command-line words parsed as typed call arguments (`snapvm run FILE Fn
// ARGS...`, harness::parse_argument): the first byte picks the type, the rest is the word.
#include <string>

#include "snapvm_harness/arguments.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const auto type = static_cast<snapvm::ValueType>(data[0] % snapvm::abi::kValueTypeCount);
  (void)snapvm::harness::parse_argument(type, std::string(data + 1, data + size));
  return 0;
}
