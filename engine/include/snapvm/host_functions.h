// host_functions.h: functions the host offers the guest, registered by name with their signatures.
// Arguments are checked against the signature on every call before the function runs; a function
// may fail by returning an Error, which ends the guest call with kHostFunctionError.
//
// How to register host functions: build one HostFunctions with add_typed (a typed callable; the usual
// way) or add (an explicit signature, for signatures known only at run time), then hand the whole set
// to the sandbox: SandboxBuilder::host_functions (from an ELF), MultiUseSandbox::from_snapshot (from a
// snapshot or file), or UninitializedSandbox::set_host_functions (the step-by-step ELF path). The same
// set can start any number of sandboxes.
#pragma once

#include <functional>
#include <map>
#include <span>
#include <string>
#include <string_view>

#include "snapvm/detail/typed_host_function.h"
#include "snapvm/result.h"
#include "snapvm/value.h"

namespace snapvm {

using HostFunction = std::function<Result<Value>(std::span<const Value> args)>;

struct HostFunctionEntry {
  Signature signature;
  HostFunction fn;
};

class HostFunctions {
 public:
  // Registers a typed callable: the signature is deduced from its parameters and return type
  // (R or Result<R>, with R one of void, bool, int32_t, uint32_t, int64_t, uint64_t, float, double,
  // std::string, Bytes). Fails as add() does.
  template <typename F>
  Status add_typed(std::string name, F f) {
    Signature signature = detail::typed_signature<F>();
    return add(std::move(name), std::move(signature), HostFunction(detail::typed_adapter(std::move(f))));
  }

  // Registers with an explicit signature. Fails on a duplicate, empty or over-long name, more than 16
  // parameters, a void parameter or an empty function.
  Status add(std::string name, Signature signature, HostFunction fn);

  const HostFunctionEntry* find(std::string_view name) const;
  const std::map<std::string, HostFunctionEntry, std::less<>>& entries() const { return entries_; }

 private:
  std::map<std::string, HostFunctionEntry, std::less<>> entries_;
};

}  // namespace snapvm
