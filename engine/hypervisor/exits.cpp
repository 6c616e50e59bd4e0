// exits.cpp: human-readable exit descriptions for errors and logs.
#include "hypervisor/exits.h"

#include "snapvm/error.h"

namespace snapvm {

std::string describe_exit(const Exit& e) {
  struct Describe {
    std::string operator()(const exit::PortOut& x) const { return "out to port " + hex(x.port); }
    std::string operator()(const exit::PortIn& x) const { return "in from port " + hex(x.port); }
    std::string operator()(const exit::Halt&) const { return "hlt"; }
    std::string operator()(const exit::Shutdown&) const { return "shutdown (triple fault)"; }
    std::string operator()(const exit::Interrupted&) const { return "interrupted"; }
    std::string operator()(const exit::Mmio& x) const {
      return std::string("MMIO ") + (x.write ? "write" : "read") + " at " + hex(x.address);
    }
    std::string operator()(const exit::InternalError& x) const {
      return "KVM internal error, suberror " + std::to_string(x.suberror) + " (emulation failed? see dmesg)";
    }
    std::string operator()(const exit::FailEntry& x) const {
      return "VM entry failed, hardware reason " + hex(x.reason);
    }
    std::string operator()(const exit::DirtyRingFull&) const { return "dirty ring full"; }
    std::string operator()(const exit::Other& x) const { return "exit reason " + std::to_string(x.reason); }
  };
  return std::visit(Describe{}, e);
}

}  // namespace snapvm
