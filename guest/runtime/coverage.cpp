// coverage.cpp: the guest coverage runtime (snapvm_guest_coverage), linked only into guests built with
// snapvm_add_guest(... COVERAGE). It defines the callbacks -fsanitize-coverage makes instrumented code call
// and announces the coverage areas in the PEB (abi/coverage.h, docs/abi.md "Coverage") at the end of
// initialisation. Never compiled with coverage flags itself. Single vCPU, no locks: the hot callbacks are a
// few instructions each.
//
// Edge counters, by compiler:
// - clang, -fsanitize-coverage=inline-8bit-counters,pc-table: the compiler increments its own counters in
//   the section __sancov_cntrs and lists {pc, flags} pairs in __sancov_pcs; the linker's __start_/__stop_
//   symbols give their bounds. (The module constructor that would call __sanitizer_cov_8bit_counters_init and
//   __sanitizer_cov_pcs_init sits in .init_array, which the runtime does not run; both are defined below only
//   so that the constructor links.)
// - gcc, -fsanitize-coverage=trace-pc (gcc has no inline-8bit-counters): every basic block calls
//   __sanitizer_cov_trace_pc, which counts the edge AFL-style: the block's id is a hash of its return
//   address, the counter index is id ^ (previous id >> 1), in a map of kHashedCounters bytes. No PC table.
//
// Comparisons (-fsanitize-coverage=trace-cmp, both compilers) go into one abi::CmpLog: every compare of
// unequal operands not both below 0x100 counts, the first kCmpLogCapacity are recorded (operands zero-extended to 64
// bits, `size` in bytes, `pc` the low 32 bits of the return address into the instrumented code). A switch records one
// compare of the value against each case constant (case i at pc + i), so a switch of n cases takes n records.
// Floating-point compares (gcc's __sanitizer_cov_trace_cmpf/cmpd) are not recorded.
#include "snapvm/abi/coverage.h"
#include "snapvm/abi/layout.h"

#include <stddef.h>
#include <stdint.h>

namespace snapvm::guest {
namespace {

constexpr uint32_t kHashedCounterBits = 13;
constexpr uint32_t kHashedCounters = 1u << kHashedCounterBits;  // 8 KiB: two pages

uint8_t g_hashed_counters[kHashedCounters];
uint32_t g_previous_block = 0;
abi::CmpLog g_cmp_log;

inline __attribute__((always_inline)) void record_cmp(uint64_t a, uint64_t b, uint32_t size, uintptr_t pc) {
  // Equal operands need no help, and one-byte values are what byte mutations find by themselves: loop
  // bounds and small constants would otherwise fill the log before the compares that matter (magics).
  if (a == b || (a | b) < 0x100) return;
  const uint32_t i = g_cmp_log.count;
  if (i < abi::kCmpLogCapacity) {
    abi::CmpRecord& r = g_cmp_log.records[i];
    r.a = a;
    r.b = b;
    r.size = size;
    r.pc = static_cast<uint32_t>(pc);
  }
  g_cmp_log.count = i + (i != UINT32_MAX ? 1u : 0u);  // saturates: never wraps back over the records
}

inline uintptr_t caller_pc() { return reinterpret_cast<uintptr_t>(__builtin_return_address(0)); }

}  // namespace
}  // namespace snapvm::guest

using snapvm::guest::caller_pc;
using snapvm::guest::record_cmp;

// The linker defines these when clang's inline counters are present; weak, so a gcc build links without them.
extern "C" {
extern uint8_t __start___sancov_cntrs[] __attribute__((weak));
extern uint8_t __stop___sancov_cntrs[] __attribute__((weak));
extern uint64_t __start___sancov_pcs[] __attribute__((weak));
extern uint64_t __stop___sancov_pcs[] __attribute__((weak));
}

extern "C" {

// Called by the runtime (runtime.cpp) after guest_main, just before it signals kInitialised: whatever the
// initialisation counted or compared is cleared, so the snapshot taken after initialisation holds zeros and
// restoring an input's dirtied pages resets the areas.
void snapvm_coverage_announce(snapvm::abi::Peb* peb) {
  using namespace snapvm;
  uint8_t* counters = snapvm::guest::g_hashed_counters;
  uint64_t size = snapvm::guest::kHashedCounters;
  uint64_t pcs = 0;
  uint8_t* const inline_start = __start___sancov_cntrs;
  uint8_t* const inline_stop = __stop___sancov_cntrs;
  const uint64_t* const pcs_start = __start___sancov_pcs;
  const uint64_t* const pcs_stop = __stop___sancov_pcs;
  if (inline_start != nullptr && inline_stop > inline_start) {
    counters = inline_start;
    size = static_cast<uint64_t>(inline_stop - inline_start);
    // One {pc, flags} pair per counter, or no table at all.
    if (pcs_start != nullptr && static_cast<uint64_t>(pcs_stop - pcs_start) == 2 * size) {
      pcs = reinterpret_cast<uint64_t>(pcs_start);
    }
  }
  for (uint64_t i = 0; i < size; ++i) counters[i] = 0;
  snapvm::guest::g_previous_block = 0;
  abi::CmpLog& log = snapvm::guest::g_cmp_log;
  log.count = 0;
  log.capacity = abi::kCmpLogCapacity;
  for (uint32_t i = 0; i < abi::kCmpLogCapacity; ++i) log.records[i] = abi::CmpRecord{};

  peb->coverage_counters = reinterpret_cast<uint64_t>(counters);
  peb->coverage_counters_size = size;
  peb->coverage_pcs = pcs;
  peb->coverage_cmp_log = reinterpret_cast<uint64_t>(&log);
}

// clang's module constructor references these; the runtime never runs it (see the top of the file).
void __sanitizer_cov_8bit_counters_init(uint8_t*, uint8_t*) {}
void __sanitizer_cov_pcs_init(const uintptr_t*, const uintptr_t*) {}

// gcc -fsanitize-coverage=trace-pc: one call per basic block.
void __sanitizer_cov_trace_pc() {
  using namespace snapvm::guest;
  const uint64_t pc = caller_pc();
  const uint32_t block = static_cast<uint32_t>((pc * 0x9e3779b97f4a7c15ull) >> (64 - kHashedCounterBits));
  ++g_hashed_counters[block ^ g_previous_block];
  g_previous_block = block >> 1;
}

void __sanitizer_cov_trace_cmp1(uint8_t a, uint8_t b) { record_cmp(a, b, 1, caller_pc()); }
void __sanitizer_cov_trace_cmp2(uint16_t a, uint16_t b) { record_cmp(a, b, 2, caller_pc()); }
void __sanitizer_cov_trace_cmp4(uint32_t a, uint32_t b) { record_cmp(a, b, 4, caller_pc()); }
void __sanitizer_cov_trace_cmp8(uint64_t a, uint64_t b) { record_cmp(a, b, 8, caller_pc()); }
void __sanitizer_cov_trace_const_cmp1(uint8_t a, uint8_t b) { record_cmp(a, b, 1, caller_pc()); }
void __sanitizer_cov_trace_const_cmp2(uint16_t a, uint16_t b) { record_cmp(a, b, 2, caller_pc()); }
void __sanitizer_cov_trace_const_cmp4(uint32_t a, uint32_t b) { record_cmp(a, b, 4, caller_pc()); }
void __sanitizer_cov_trace_const_cmp8(uint64_t a, uint64_t b) { record_cmp(a, b, 8, caller_pc()); }

// cases[0] = number of cases, cases[1] = width of `value` in bits, cases[2..] = the case constants.
void __sanitizer_cov_trace_switch(uint64_t value, uint64_t* cases) {
  const uintptr_t pc = caller_pc();
  const uint32_t size = static_cast<uint32_t>(cases[1] / 8);
  for (uint64_t i = 0; i < cases[0]; ++i) record_cmp(value, cases[2 + i], size, pc + i);
}

// gcc's floating-point compares: not recorded (CmpLog holds integers).
void __sanitizer_cov_trace_cmpf(float, float) {}
void __sanitizer_cov_trace_cmpd(double, double) {}

}  // extern "C"
