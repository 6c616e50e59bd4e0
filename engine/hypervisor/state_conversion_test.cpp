// state_conversion_test.cpp: the conversions between KVM's register structs and snapvm's plain ones
// (vcpu.h), and exit descriptions (exits.h). Pure functions: no /dev/kvm needed.
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "hypervisor/exits.h"
#include "hypervisor/vcpu.h"
#include "snapvm/abi/byte_order.h"

namespace snapvm {
namespace {

GeneralRegisters distinct_regs() {
  GeneralRegisters r;
  uint64_t v = 0x1000;
  for (uint64_t* f : {&r.rax, &r.rbx, &r.rcx, &r.rdx, &r.rsi, &r.rdi, &r.rsp, &r.rbp, &r.r8, &r.r9, &r.r10, &r.r11,
                      &r.r12, &r.r13, &r.r14, &r.r15, &r.rip, &r.rflags}) {
    *f = v++;
  }
  return r;
}

SegmentRegister distinct_segment(uint8_t seed) {
  SegmentRegister s;
  s.base = 0x100000000ull * seed + 1;
  s.limit = 0x10000u * seed + 2;
  s.selector = static_cast<uint16_t>(0x100 * seed + 3);
  s.type = static_cast<uint8_t>(seed + 4), s.present = 1, s.dpl = 3, s.db = 0, s.s = 1, s.l = 1, s.g = 0;
  s.avl = 1, s.unusable = 0;
  return s;
}

SpecialRegisters distinct_sregs() {
  SpecialRegisters s;
  uint8_t seed = 1;
  for (SegmentRegister* r : {&s.cs, &s.ds, &s.es, &s.fs, &s.gs, &s.ss, &s.tr, &s.ldt}) *r = distinct_segment(seed++);
  s.ldt.unusable = 1;
  s.gdt = {0x2000, 0x37};
  s.idt = {0x3000, 0xfff};
  s.cr0 = 0x80050033, s.cr2 = 0xdead000, s.cr3 = 0x10000, s.cr4 = 0x6a0, s.cr8 = 5, s.efer = 0xd01;
  s.apic_base = 0xfee00900;
  s.interrupt_bitmap = {1, 2, 3, 4};
  return s;
}

FpuState distinct_fpu() {
  FpuState f;
  for (size_t i = 0; i < 8; ++i) f.fpr[i].fill(static_cast<uint8_t>(0x10 + i));
  for (size_t i = 0; i < 16; ++i) f.xmm[i].fill(static_cast<uint8_t>(0x40 + i));
  f.fcw = 0x37f, f.fsw = 0x1234, f.ftwx = 0xab, f.last_opcode = 0x5678;
  f.last_ip = 0x1122334455667788, f.last_dp = 0x8877665544332211, f.mxcsr = 0x1f80;
  return f;
}

void expect_segment(const kvm_segment& k, const SegmentRegister& s) {
  EXPECT_EQ(k.base, s.base);
  EXPECT_EQ(k.limit, s.limit);
  EXPECT_EQ(k.selector, s.selector);
  EXPECT_EQ(k.type, s.type);
  EXPECT_EQ(k.present, s.present);
  EXPECT_EQ(k.dpl, s.dpl);
  EXPECT_EQ(k.db, s.db);
  EXPECT_EQ(k.s, s.s);
  EXPECT_EQ(k.l, s.l);
  EXPECT_EQ(k.g, s.g);
  EXPECT_EQ(k.avl, s.avl);
  EXPECT_EQ(k.unusable, s.unusable);
}

TEST(StateConversion, GeneralRegistersMapFieldByField) {
  const GeneralRegisters r = distinct_regs();
  const kvm_regs k = to_kvm(r);
  EXPECT_EQ(k.rax, r.rax);
  EXPECT_EQ(k.rbx, r.rbx);
  EXPECT_EQ(k.rcx, r.rcx);
  EXPECT_EQ(k.rdx, r.rdx);
  EXPECT_EQ(k.rsi, r.rsi);
  EXPECT_EQ(k.rdi, r.rdi);
  EXPECT_EQ(k.rsp, r.rsp);
  EXPECT_EQ(k.rbp, r.rbp);
  EXPECT_EQ(k.r8, r.r8);
  EXPECT_EQ(k.r9, r.r9);
  EXPECT_EQ(k.r10, r.r10);
  EXPECT_EQ(k.r11, r.r11);
  EXPECT_EQ(k.r12, r.r12);
  EXPECT_EQ(k.r13, r.r13);
  EXPECT_EQ(k.r14, r.r14);
  EXPECT_EQ(k.r15, r.r15);
  EXPECT_EQ(k.rip, r.rip);
  EXPECT_EQ(k.rflags, r.rflags);
  EXPECT_EQ(from_kvm(k), r);
}

TEST(StateConversion, SpecialRegistersMapFieldByField) {
  const SpecialRegisters s = distinct_sregs();
  const kvm_sregs k = to_kvm(s);
  expect_segment(k.cs, s.cs);
  expect_segment(k.ds, s.ds);
  expect_segment(k.es, s.es);
  expect_segment(k.fs, s.fs);
  expect_segment(k.gs, s.gs);
  expect_segment(k.ss, s.ss);
  expect_segment(k.tr, s.tr);
  expect_segment(k.ldt, s.ldt);
  EXPECT_EQ(k.gdt.base, s.gdt.base);
  EXPECT_EQ(k.gdt.limit, s.gdt.limit);
  EXPECT_EQ(k.idt.base, s.idt.base);
  EXPECT_EQ(k.idt.limit, s.idt.limit);
  EXPECT_EQ(k.cr0, s.cr0);
  EXPECT_EQ(k.cr2, s.cr2);
  EXPECT_EQ(k.cr3, s.cr3);
  EXPECT_EQ(k.cr4, s.cr4);
  EXPECT_EQ(k.cr8, s.cr8);
  EXPECT_EQ(k.efer, s.efer);
  EXPECT_EQ(k.apic_base, s.apic_base);
  for (size_t i = 0; i < 4; ++i) EXPECT_EQ(k.interrupt_bitmap[i], s.interrupt_bitmap[i]);
  EXPECT_EQ(from_kvm(k), s);
}

TEST(StateConversion, FpuMapsFieldByField) {
  const FpuState f = distinct_fpu();
  const kvm_fpu k = to_kvm(f);
  for (size_t i = 0; i < 8; ++i) EXPECT_EQ(std::memcmp(k.fpr[i], f.fpr[i].data(), 16), 0) << i;
  for (size_t i = 0; i < 16; ++i) EXPECT_EQ(std::memcmp(k.xmm[i], f.xmm[i].data(), 16), 0) << i;
  EXPECT_EQ(k.fcw, f.fcw);
  EXPECT_EQ(k.fsw, f.fsw);
  EXPECT_EQ(k.ftwx, f.ftwx);
  EXPECT_EQ(k.last_opcode, f.last_opcode);
  EXPECT_EQ(k.last_ip, f.last_ip);
  EXPECT_EQ(k.last_dp, f.last_dp);
  EXPECT_EQ(k.mxcsr, f.mxcsr);
  EXPECT_EQ(from_kvm(k), f);
}

// An XSAVE image as KVM hands it over: 4 KiB of 32-bit words.
struct XsaveImage {
  std::vector<uint32_t> words = std::vector<uint32_t>(sizeof(kvm_xsave) / 4, 0);
  kvm_xsave& x() { return *reinterpret_cast<kvm_xsave*>(words.data()); }
  uint8_t* bytes() { return reinterpret_cast<uint8_t*>(words.data()); }
};

TEST(StateConversion, XsaveUsesTheFxsaveLayout) {
  const FpuState f = distinct_fpu();
  XsaveImage img;
  to_xsave(f, img.x());
  const uint8_t* b = img.bytes();
  EXPECT_EQ(abi::load_le<uint16_t>(b + 0), f.fcw);
  EXPECT_EQ(abi::load_le<uint16_t>(b + 2), f.fsw);
  EXPECT_EQ(b[4], f.ftwx);
  EXPECT_EQ(b[5], 0);
  EXPECT_EQ(abi::load_le<uint16_t>(b + 6), f.last_opcode);
  EXPECT_EQ(abi::load_le<uint64_t>(b + 8), f.last_ip);
  EXPECT_EQ(abi::load_le<uint64_t>(b + 16), f.last_dp);
  EXPECT_EQ(abi::load_le<uint32_t>(b + 24), f.mxcsr);
  for (size_t i = 0; i < 8; ++i) EXPECT_EQ(std::memcmp(b + 32 + 16 * i, f.fpr[i].data(), 16), 0) << i;
  for (size_t i = 0; i < 16; ++i) EXPECT_EQ(std::memcmp(b + 160 + 16 * i, f.xmm[i].data(), 16), 0) << i;
  EXPECT_EQ(from_xsave(img.x()), f);
}

TEST(StateConversion, XsaveMarksX87AndSseStatePresentAndKeepsTheRest) {
  XsaveImage img;
  abi::store_le<uint64_t>(img.bytes() + 512, 0x4);  // XSTATE_BV: AVX state present
  img.bytes()[1000] = 0x5a;                         // extended state beyond the legacy area
  to_xsave(distinct_fpu(), img.x());
  EXPECT_EQ(abi::load_le<uint64_t>(img.bytes() + 512), 0x7u);
  EXPECT_EQ(img.bytes()[1000], 0x5a);
}

TEST(ExitDescription, NamesEachKindOfExit) {
  EXPECT_EQ(describe_exit(exit::PortOut{0x5102, 0}), "out to port 0x5102");
  EXPECT_EQ(describe_exit(exit::PortIn{0x60}), "in from port 0x60");
  EXPECT_EQ(describe_exit(exit::Halt{}), "hlt");
  EXPECT_EQ(describe_exit(exit::Shutdown{}), "shutdown (triple fault)");
  EXPECT_EQ(describe_exit(exit::Interrupted{}), "interrupted");
  EXPECT_EQ(describe_exit(exit::Mmio{0xfee00000, true}), "MMIO write at 0xfee00000");
  EXPECT_EQ(describe_exit(exit::Mmio{0x1000, false}), "MMIO read at 0x1000");
  EXPECT_EQ(describe_exit(exit::InternalError{1}), "KVM internal error, suberror 1 (emulation failed? see dmesg)");
  EXPECT_EQ(describe_exit(exit::FailEntry{0x21}), "VM entry failed, hardware reason 0x21");
  EXPECT_EQ(describe_exit(exit::Other{99}), "exit reason 99");
}

}  // namespace
}  // namespace snapvm
