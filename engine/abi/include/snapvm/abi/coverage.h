// coverage.h: what a guest built with coverage (snapvm_add_guest COVERAGE) shares with the host fuzzer.
// The runtime announces three guest areas in the PEB (layout.h): 8-bit edge counters, an optional PC
// table, and a CmpLog, the operands of the comparisons the last input made (clang/gcc
// -fsanitize-coverage=trace-cmp), which the host hands to libFuzzer's comparison hooks. All three are zero
// in the snapshot taken after initialisation, so restoring the pages an input dirtied resets them.
// Freestanding; see docs/guest-fuzzing.md.
#pragma once

#include <stdint.h>

namespace snapvm::abi {

// One comparison: operands as unsigned 64-bit values, `size` the operand width in bytes (1, 2, 4 or 8),
// `pc` the guest address of the comparison (its low 32 bits are enough to tell sites apart).
struct CmpRecord {
  uint64_t a;
  uint64_t b;
  uint32_t size;
  uint32_t pc;
};

inline constexpr uint32_t kCmpLogCapacity = 256;

// `count` counts the input's comparisons worth a mutator's attention (operands unequal, not both below
// 0x100); records[0 .. min(count, kCmpLogCapacity)) hold the first ones.
struct CmpLog {
  uint32_t count;
  uint32_t capacity;  // kCmpLogCapacity, written by the guest at initialisation
  CmpRecord records[kCmpLogCapacity];
};

}  // namespace snapvm::abi
