// run_loop.cpp: KVM_RUN and the dispatch of each exit.
#include "sandbox/run_loop.h"

#include "hypervisor/vcpu.h"
#include "snapvm/abi/ports.h"

namespace snapvm::detail {

namespace {
Result<Next> on_port(const exit::PortOut& out, Stop until, ExitHandler& handler) {
  switch (static_cast<abi::Port>(out.port)) {
    case abi::Port::kInitialised:
      if (until == Stop::kInitialised) return Next::kStop;
      return make_error(ErrorCode::kGuestProtocol, "port", "initialised signal during a call");
    case abi::Port::kCallDone:
      if (until == Stop::kCallDone) return Next::kStop;
      return make_error(ErrorCode::kGuestProtocol, "port", "call-done signal during initialisation");
    case abi::Port::kHostCall:
      TRY(handler.on_host_call());
      return Next::kResume;
    case abi::Port::kLog:
      TRY(handler.on_log());
      return Next::kResume;
    case abi::Port::kAbort:
      return handler.on_abort();
    case abi::Port::kFault:
      return handler.on_fault();
  }
  Error err = make_error(ErrorCode::kGuestProtocol, "port", "the guest wrote to an unknown port");
  err.value = out.port;
  return err;
}
}  // namespace

Result<Next> dispatch_exit(const Exit& exit, Stop until, ExitHandler& handler) {
  if (const auto* out = std::get_if<exit::PortOut>(&exit)) return on_port(*out, until, handler);
  if (std::holds_alternative<exit::Interrupted>(exit)) {
    TRY(handler.on_interrupted());
    return Next::kResume;
  }
  if (std::holds_alternative<exit::DirtyRingFull>(exit)) {
    TRY(handler.on_dirty_ring_full());
    return Next::kResume;
  }
  return make_error(ErrorCode::kGuestStopped, "vcpu", describe_exit(exit));
}

Status run_until(Vcpu& vcpu, Stop until, ExitHandler& handler) {
  for (;;) {
    Exit exit = TRY(vcpu.run());
    if (TRY(dispatch_exit(exit, until, handler)) == Next::kStop) return {};
  }
}

}  // namespace snapvm::detail
