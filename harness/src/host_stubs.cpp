// host_stubs.cpp: host functions for snapshots run by the CLI and the harness.
#include "snapvm_harness/host_stubs.h"

namespace snapvm::harness {

HostFunctions sample_host_functions() {
  HostFunctions f;
  (void)f.add_typed("HostAdd", [](int64_t a, int64_t b) { return a + b; });
  (void)f.add_typed("HostEcho", [](const std::string& s) { return "host:" + s; });
  return f;
}

HostFunctions host_functions_for(const std::vector<FunctionInfo>& required) {
  HostFunctions f = sample_host_functions();
  for (const FunctionInfo& need : required) {
    if (f.find(need.name) != nullptr) continue;
    std::string name = need.name;
    (void)f.add(need.name, need.signature, [name](std::span<const Value>) -> Result<Value> {
      return make_error(ErrorCode::kHostFunctionError, name, "not available outside its application (a stub)");
    });
  }
  return f;
}

}  // namespace snapvm::harness
