// layout.h: where things live in guest memory. The system area (null page, descriptor tables, trap
// stubs, ring-0 stack, PEB) sits at fixed addresses; the image, buffers, heap and stack follow at
// addresses computed from the configuration and recorded in the PEB. Freestanding.
#pragma once

#include <stdint.h>

namespace snapvm::abi {

inline constexpr uint64_t kPageSize = 4096;

// Fixed system area. Guest virtual == guest physical for every mapped page.
inline constexpr uint64_t kGdtAddress = 0x1000;       // supervisor, read/write (CPU sets TSS busy)
inline constexpr uint64_t kIdtAddress = 0x2000;       // supervisor, read-only
inline constexpr uint64_t kTssAddress = 0x3000;       // supervisor, read/write
inline constexpr uint64_t kTrapStubAddress = 0x4000;  // supervisor, execute: ring-0 exception stubs
inline constexpr uint64_t kRing0StackBase = 0x6000;   // supervisor, 2 pages; guard pages at 0x5000, 0x8000
inline constexpr uint64_t kRing0StackTop = 0x8000;
inline constexpr uint64_t kPebAddress = 0x9000;  // user, read/write, no-execute
inline constexpr uint64_t kSystemAreaEnd = 0xA000;
// Where a position-independent image is loaded; fixed-address images must sit at or above it.
inline constexpr uint64_t kDefaultImageBase = 0x100000;

// GDT selectors (index << 3 | RPL).
inline constexpr uint16_t kKernelCodeSelector = 0x08;
inline constexpr uint16_t kKernelDataSelector = 0x10;
inline constexpr uint16_t kUserCodeSelector = 0x18 | 3;
inline constexpr uint16_t kUserDataSelector = 0x20 | 3;
inline constexpr uint16_t kTssSelector = 0x28;
inline constexpr uint16_t kGdtLimit = 7 * 8 - 1;  // null, k-code, k-data, u-code, u-data, TSS (2 slots)
inline constexpr uint16_t kIdtEntries = 32;
inline constexpr uint16_t kIdtLimit = kIdtEntries * 16 - 1;
inline constexpr uint32_t kTssLimit = 103;
inline constexpr uint32_t kTrapStubSize = 16;  // bytes per vector in the stub page

// Process environment block: the host fills it before entry; the guest writes `dispatch` in main.
// Its size and every offset are pinned in tripwires.h.
struct Peb {
  uint64_t magic;  // kPebMagic
  uint32_t abi_version;
  uint32_t reserved;
  uint64_t heap_base;
  uint64_t heap_size;
  uint64_t input_base;
  uint64_t input_size;
  uint64_t output_base;
  uint64_t output_size;
  uint64_t stack_base;  // lowest address; the stack grows down from stack_base + stack_size
  uint64_t stack_size;
  uint64_t dispatch;  // guest's dispatch entry, set by the guest before it signals kInitialised
  // Coverage, announced by a guest built with coverage (snapvm_add_guest COVERAGE, abi/coverage.h) before it
  // signals kInitialised; all zero in a guest without it (and in guests built before these fields existed:
  // the PEB page is zero past `dispatch`). Guest addresses, checked by the host against the guest's memory.
  uint64_t coverage_counters;       // 8-bit counters, one per instrumented edge (or hashed edge)
  uint64_t coverage_counters_size;  // bytes
  uint64_t coverage_pcs;            // PC table: coverage_counters_size pairs {pc, flags} (u64 each); 0: none
  uint64_t coverage_cmp_log;        // CmpLog (abi/coverage.h): operands of recent comparisons; 0: none
};
inline constexpr uint64_t kPebMagic = 0x31424550564e5053ull;  // "SNPVPEB1"

// Entry registers. At initialisation: rip = ELF entry, rdi = kPebAddress, rsp = stack top.
// At each call: rip = peb.dispatch, rdi = kPebAddress, rsp = stack top.
inline constexpr uint64_t kInitialRflags = 0x3002;  // IOPL=3 so ring 3 may `out`; IF clear; bit 1 set

}  // namespace snapvm::abi
