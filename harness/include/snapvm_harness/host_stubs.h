// host_stubs.h: host functions for running a snapshot outside its own application (the CLI, the
// harness): the sample guest's HostAdd and HostEcho, and for any other function a guest needs, a stub
// with its exact signature that fails when called.
#pragma once

#include <vector>

#include "snapvm/host_functions.h"
#include "snapvm/result.h"
#include "snapvm/value.h"

namespace snapvm::harness {

HostFunctions sample_host_functions();
// sample_host_functions() plus failing stubs for whatever else `required` lists.
HostFunctions host_functions_for(const std::vector<FunctionInfo>& required);

}  // namespace snapvm::harness
