// fault.h: what a guest CPU exception was. The ring-0 stub pushes the vector over the CPU's frame and
// exits on the fault port; this reads that frame from guest memory into a kGuestFault error.
#pragma once

#include <cstdint>
#include <span>

#include "snapvm/error.h"

namespace snapvm::detail {

// "#PF page fault" for vector 14; "reserved vector" past the architectural ones.
const char* exception_name(uint8_t vector);

// The fault the ring-0 stub reported: `memory` is all of guest memory, `rsp` the ring-0 stack pointer
// at the exit (pointing at [vector, error code, rip, ...]), `cr2` the faulting address for #PF.
// kGuestProtocol when rsp is not inside the ring-0 stack.
Error fault_error(std::span<const uint8_t> memory, uint64_t rsp, uint64_t cr2);

}  // namespace snapvm::detail
