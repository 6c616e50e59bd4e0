// vcpu_state.h: the complete vCPU state a snapshot holds, as plain structs with no KVM types, so the
// snapshot format and the harness can read and compare it without a VM. hypervisor/ converts.
#pragma once

#include <array>
#include <cstdint>

namespace snapvm {

struct GeneralRegisters {
  uint64_t rax = 0, rbx = 0, rcx = 0, rdx = 0, rsi = 0, rdi = 0, rsp = 0, rbp = 0;
  uint64_t r8 = 0, r9 = 0, r10 = 0, r11 = 0, r12 = 0, r13 = 0, r14 = 0, r15 = 0;
  uint64_t rip = 0, rflags = 0;
  bool operator==(const GeneralRegisters&) const = default;
};

struct SegmentRegister {
  uint64_t base = 0;
  uint32_t limit = 0;
  uint16_t selector = 0;
  uint8_t type = 0, present = 0, dpl = 0, db = 0, s = 0, l = 0, g = 0, avl = 0, unusable = 0;
  bool operator==(const SegmentRegister&) const = default;
};

struct DescriptorTable {
  uint64_t base = 0;
  uint16_t limit = 0;
  bool operator==(const DescriptorTable&) const = default;
};

struct SpecialRegisters {
  SegmentRegister cs, ds, es, fs, gs, ss, tr, ldt;
  DescriptorTable gdt, idt;
  uint64_t cr0 = 0, cr2 = 0, cr3 = 0, cr4 = 0, cr8 = 0;
  uint64_t efer = 0, apic_base = 0;
  std::array<uint64_t, 4> interrupt_bitmap{};
  bool operator==(const SpecialRegisters&) const = default;
};

// The legacy FXSAVE-format state KVM_GET_FPU reports: x87 and SSE registers.
struct FpuState {
  std::array<std::array<uint8_t, 16>, 8> fpr{};
  uint16_t fcw = 0, fsw = 0;
  uint8_t ftwx = 0;
  uint16_t last_opcode = 0;
  uint64_t last_ip = 0, last_dp = 0;
  std::array<std::array<uint8_t, 16>, 16> xmm{};
  uint32_t mxcsr = 0;
  bool operator==(const FpuState&) const = default;
};

struct VcpuState {
  GeneralRegisters regs;
  SpecialRegisters sregs;
  FpuState fpu;
  bool operator==(const VcpuState&) const = default;
};

}  // namespace snapvm
