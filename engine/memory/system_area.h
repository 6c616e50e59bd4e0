// system_area.h: what the host writes into guest memory below the image (GDT, IDT, TSS, ring-0 trap
// stubs) and the special registers that make the vCPU a long-mode, ring-3 machine over it. The guest
// cannot write any of it: all supervisor pages. See docs/abi.md.
#pragma once

#include <cstdint>
#include <span>

#include "snapvm/vcpu_state.h"

namespace snapvm {

// Control-register and EFER bits snapvm sets, named once for the validators.
inline constexpr uint64_t kCr0Pe = 1ull << 0, kCr0Mp = 1ull << 1, kCr0Em = 1ull << 2, kCr0Ts = 1ull << 3,
                          kCr0Et = 1ull << 4, kCr0Ne = 1ull << 5, kCr0Wp = 1ull << 16, kCr0Pg = 1ull << 31;
inline constexpr uint64_t kCr4Pae = 1ull << 5, kCr4Osfxsr = 1ull << 9, kCr4Osxmmexcpt = 1ull << 10;
inline constexpr uint64_t kEferLme = 1ull << 8, kEferLma = 1ull << 10, kEferNxe = 1ull << 11;
inline constexpr uint64_t kInitialCr0 = kCr0Pe | kCr0Mp | kCr0Et | kCr0Ne | kCr0Wp | kCr0Pg;
inline constexpr uint64_t kInitialCr4 = kCr4Pae | kCr4Osfxsr | kCr4Osxmmexcpt;
inline constexpr uint64_t kInitialEfer = kEferLme | kEferLma | kEferNxe;
inline constexpr uint64_t kInitialApicBase = 0xfee00900;

// Vectors for which the CPU pushes an error code.
bool vector_has_error_code(uint8_t vector);

// Writes GDT, IDT, TSS and trap stubs; `memory` is guest physical memory from address 0.
void write_system_area(std::span<uint8_t> memory);

SpecialRegisters initial_special_registers(uint64_t cr3);

}  // namespace snapvm
