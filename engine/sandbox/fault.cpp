// fault.cpp: exception names and the ring-0 fault frame.
#include "sandbox/fault.h"

#include <iterator>

#include "snapvm/abi/byte_order.h"
#include "snapvm/abi/layout.h"

namespace snapvm::detail {

const char* exception_name(uint8_t vector) {
  static const char* const kNames[] = {"#DE divide error",
                                       "#DB debug",
                                       "NMI",
                                       "#BP breakpoint",
                                       "#OF overflow",
                                       "#BR bound range",
                                       "#UD invalid opcode",
                                       "#NM device not available",
                                       "#DF double fault",
                                       "coprocessor segment overrun",
                                       "#TS invalid TSS",
                                       "#NP segment not present",
                                       "#SS stack fault",
                                       "#GP general protection",
                                       "#PF page fault",
                                       "reserved",
                                       "#MF x87 floating point",
                                       "#AC alignment check",
                                       "#MC machine check",
                                       "#XM SIMD floating point",
                                       "#VE virtualization",
                                       "#CP control protection"};
  return vector < std::size(kNames) ? kNames[vector] : "reserved vector";
}

Error fault_error(std::span<const uint8_t> memory, uint64_t rsp, uint64_t cr2) {
  // The stub pushed the vector over the error code and the CPU's frame: [vector, error, rip, cs, ...].
  // Written so that no sum can wrap: a guest at CPL 3 can write the fault port with any rsp.
  if (rsp < abi::kRing0StackBase || rsp > abi::kRing0StackTop - 24 || abi::kRing0StackTop > memory.size()) {
    Error e = make_error(ErrorCode::kGuestProtocol, "fault frame", "the ring-0 stack pointer is outside its stack");
    e.value = rsp;
    return e;
  }
  const uint8_t* frame = memory.data() + rsp;
  FaultInfo f;
  f.vector = static_cast<uint8_t>(abi::load_le<uint64_t>(frame));
  f.error_code = abi::load_le<uint64_t>(frame + 8);
  f.rip = abi::load_le<uint64_t>(frame + 16);
  f.cr2 = cr2;
  Error e = make_error(ErrorCode::kGuestFault, "guest", exception_name(f.vector));
  e.fault = f;
  return e;
}

}  // namespace snapvm::detail
