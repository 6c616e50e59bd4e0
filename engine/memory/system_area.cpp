// system_area.cpp: GDT, IDT, TSS and the ring-0 trap stubs, hand-assembled. The stubs are integer-only
// (they run in KVM's instruction emulator on some hosts): push the vector, report on the fault port.
#include "memory/system_area.h"

#include <cstring>

#include "snapvm/abi/layout.h"
#include "snapvm/abi/ports.h"

namespace snapvm {

namespace {
void put64(std::span<uint8_t> m, uint64_t at, uint64_t v) { std::memcpy(&m[at], &v, 8); }
void put32(std::span<uint8_t> m, uint64_t at, uint32_t v) { std::memcpy(&m[at], &v, 4); }
void put16(std::span<uint8_t> m, uint64_t at, uint16_t v) { std::memcpy(&m[at], &v, 2); }

constexpr uint64_t kCommonStubOffset = uint64_t{abi::kIdtEntries} * abi::kTrapStubSize;
}  // namespace

bool vector_has_error_code(uint8_t v) {
  return v == 8 || v == 10 || v == 11 || v == 12 || v == 13 || v == 14 || v == 17 || v == 21 || v == 29 || v == 30;
}

void write_system_area(std::span<uint8_t> m) {
  // GDT: accessed bits pre-set so loading a selector never writes the table.
  const uint64_t gdt = abi::kGdtAddress;
  std::memset(&m[gdt], 0, abi::kPageSize);
  put64(m, gdt + 0x08, 0x00af9b000000ffffull);  // ring-0 code, long mode
  put64(m, gdt + 0x10, 0x00cf93000000ffffull);  // ring-0 data
  put64(m, gdt + 0x18, 0x00affb000000ffffull);  // ring-3 code, long mode
  put64(m, gdt + 0x20, 0x00cff3000000ffffull);  // ring-3 data
  const uint64_t tss = abi::kTssAddress;
  uint64_t tss_low = abi::kTssLimit | ((tss & 0xffffff) << 16) | (0x8bull << 40) | (((tss >> 24) & 0xff) << 56);
  put64(m, gdt + 0x28, tss_low);  // 64-bit TSS, busy (matches TR as loaded through sregs)
  put64(m, gdt + 0x30, tss >> 32);

  // TSS: exceptions from ring 3 switch to the ring-0 stack; no I/O bitmap (IOPL=3 governs `out`).
  std::memset(&m[tss], 0, abi::kPageSize);
  put64(m, tss + 4, abi::kRing0StackTop);
  put16(m, tss + 102, abi::kTssLimit + 1);

  // IDT: an interrupt gate (DPL 0, so `int n` from ring 3 is a #GP) per vector, each to its stub.
  const uint64_t idt = abi::kIdtAddress;
  std::memset(&m[idt], 0, abi::kPageSize);
  for (uint64_t v = 0; v < abi::kIdtEntries; ++v) {
    uint64_t target = abi::kTrapStubAddress + v * abi::kTrapStubSize;
    uint64_t e = idt + 16 * v;
    put16(m, e, static_cast<uint16_t>(target));
    put16(m, e + 2, abi::kKernelCodeSelector);
    m[e + 4] = 0;     // IST
    m[e + 5] = 0x8e;  // present, DPL 0, 64-bit interrupt gate
    put16(m, e + 6, static_cast<uint16_t>(target >> 16));
    put32(m, e + 8, static_cast<uint32_t>(target >> 32));
  }

  // Stubs: [push 0 | 2 nops] ; push vector ; jmp common. Common: mov dx, kFault ; out dx, al ; hlt loop.
  const uint64_t stubs = abi::kTrapStubAddress;
  std::memset(&m[stubs], 0xcc, abi::kPageSize);  // int3 padding
  for (uint64_t v = 0; v < abi::kIdtEntries; ++v) {
    uint64_t at = stubs + v * abi::kTrapStubSize;
    if (vector_has_error_code(static_cast<uint8_t>(v))) {
      m[at] = 0x90, m[at + 1] = 0x90;
    } else {
      m[at] = 0x6a, m[at + 1] = 0x00;
    }
    m[at + 2] = 0x6a, m[at + 3] = static_cast<uint8_t>(v);
    m[at + 4] = 0xe9;
    int32_t rel = static_cast<int32_t>((stubs + kCommonStubOffset) - (at + 9));
    std::memcpy(&m[at + 5], &rel, 4);
  }
  const uint64_t common = stubs + kCommonStubOffset;
  const auto port = static_cast<uint16_t>(abi::Port::kFault);
  const uint8_t code[] = {0x66, 0xba, static_cast<uint8_t>(port), static_cast<uint8_t>(port >> 8),  // mov dx, port
                          0xee,                                                                     // out dx, al
                          0xf4,                                                                     // hlt
                          0xeb, 0xfd};                                                              // jmp hlt
  std::memcpy(&m[common], code, sizeof code);
}

SpecialRegisters initial_special_registers(uint64_t cr3) {
  SpecialRegisters s;
  SegmentRegister code;
  code.base = 0;
  code.limit = 0xffffffff;
  code.selector = abi::kUserCodeSelector;
  code.type = 11;
  code.present = 1;
  code.dpl = 3;
  code.s = 1;
  code.l = 1;
  code.g = 1;
  SegmentRegister data = code;
  data.selector = abi::kUserDataSelector;
  data.type = 3;
  data.l = 0;
  data.db = 1;
  s.cs = code;
  s.ds = s.es = s.fs = s.gs = s.ss = data;
  s.tr.base = abi::kTssAddress;
  s.tr.limit = abi::kTssLimit;
  s.tr.selector = abi::kTssSelector;
  s.tr.type = 11;
  s.tr.present = 1;
  s.ldt.limit = 0xffff;
  s.ldt.type = 2;
  s.ldt.present = 1;
  s.gdt = {abi::kGdtAddress, abi::kGdtLimit};
  s.idt = {abi::kIdtAddress, abi::kIdtLimit};
  s.cr0 = kInitialCr0;
  s.cr3 = cr3;
  s.cr4 = kInitialCr4;
  s.efer = kInitialEfer;
  s.apic_base = kInitialApicBase;
  return s;
}

}  // namespace snapvm
