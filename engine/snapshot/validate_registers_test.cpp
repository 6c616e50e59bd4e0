// validate_registers_test.cpp: tests for validate.h's register rules, one per rule, named for the
// rejection: general registers and entry points, the FPU, the special registers (the platform, blob,
// regions and layout: validate_test.cpp).
#include "snapshot/validate.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>

#include "memory/system_area.h"
#include "snapshot/validate_test_support.h"
#include "snapvm/abi/layout.h"
#include "snapvm/abi/ports.h"

namespace snapvm::format {
namespace {

using namespace validate_test;  // NOLINT(google-build-using-namespace): the shared helpers

// ---- general registers and entry points ---------------------------------------------------------

TEST(ValidateTest, RejectsRipOutsideExecutableMemory) {
  expect_rejected(edited("regs.rip", to(layout().heap_base)), ErrorCode::kBadRegisters, "regs.rip");
  expect_rejected(edited("regs.rip", to(test_support::kDataAddress)), ErrorCode::kBadRegisters, "regs.rip");
}

TEST(ValidateTest, RejectsDispatchOutsideExecutableMemory) {
  expect_rejected(edited("dispatch", to(test_support::kDataAddress + 8)), ErrorCode::kBadRegisters, "dispatch");
}

TEST(ValidateTest, RejectsEntrypointOutsideExecutableMemory) {
  expect_rejected(edited("entrypoint", to(abi::kTrapStubAddress)), ErrorCode::kBadRegisters, "entrypoint");
}

TEST(ValidateTest, RejectsBeforeInitRipOtherThanEntrypoint) {
  expect_rejected(edited(
                      "regs.rip", [](uint64_t v) { return v + 4; }, SnapshotStage::kBeforeInit),
                  ErrorCode::kBadRegisters, "regs.rip");
}

TEST(ValidateTest, RejectsBeforeInitDispatch) {
  expect_rejected(edited("dispatch", to(test_support::kCodeAddress), SnapshotStage::kBeforeInit),
                  ErrorCode::kBadRegisters, "dispatch");
}

TEST(ValidateTest, RejectsRspOutsideStack) {
  expect_rejected(edited("regs.rsp", to(layout().stack_base - 8)), ErrorCode::kBadRegisters, "regs.rsp");
  expect_rejected(edited("regs.rsp", to(layout().stack_top() + 8)), ErrorCode::kBadRegisters, "regs.rsp");
}

TEST(ValidateTest, AcceptsRspAtStackTop) {
  std::vector<uint8_t> file = edited("regs.rsp", to(layout().stack_top()));
  EXPECT_TRUE(decode_and_validate(file, file.size(), {}).has_value());
}

TEST(ValidateTest, RejectsRflagsWithoutBitOne) {
  expect_rejected(edited("regs.rflags", clear_bits(2)), ErrorCode::kBadRegisters, "regs.rflags");
}

TEST(ValidateTest, RejectsReservedRflagsBits) {
  for (uint64_t bit : {3, 5, 15, 22, 63}) {
    expect_rejected(edited("regs.rflags", set_bits(1ull << bit)), ErrorCode::kBadRegisters, "regs.rflags");
  }
}

TEST(ValidateTest, RejectsVirtual8086Flag) {
  expect_rejected(edited("regs.rflags", set_bits(1ull << 17)), ErrorCode::kBadRegisters, "regs.rflags");
}

TEST(ValidateTest, AcceptsInterruptFlagClear) {
  std::vector<uint8_t> file = edited("regs.rflags", clear_bits(1ull << 9));
  EXPECT_TRUE(decode_and_validate(file, file.size(), {}).has_value());
}

TEST(ValidateTest, RejectsReservedMxcsrBits) {
  expect_rejected(edited("fpu.mxcsr", set_bits(1u << 16)), ErrorCode::kBadRegisters, "fpu.mxcsr");
}

// ---- special registers --------------------------------------------------------------------------

TEST(ValidateTest, RejectsReservedCr0Bits) {
  for (uint64_t bit : {6, 15, 17, 19, 28, 32, 63}) {
    expect_rejected(edited("sregs.cr0", set_bits(1ull << bit)), ErrorCode::kBadSpecialRegisters, "sregs.cr0");
  }
}

TEST(ValidateTest, RejectsPagingWithoutProtectedMode) {
  expect_rejected(edited("sregs.cr0", clear_bits(kCr0Pe)), ErrorCode::kBadSpecialRegisters, "sregs.cr0");
}

TEST(ValidateTest, RejectsNotWriteThroughWithoutCacheDisable) {
  expect_rejected(edited("sregs.cr0", set_bits(1ull << 29)), ErrorCode::kBadSpecialRegisters, "sregs.cr0");
}

TEST(ValidateTest, RejectsFpuEmulation) {
  expect_rejected(edited("sregs.cr0", set_bits(kCr0Em)), ErrorCode::kBadSpecialRegisters, "sregs.cr0");
}

TEST(ValidateTest, RejectsTaskSwitchedFlag) {
  expect_rejected(edited("sregs.cr0", set_bits(kCr0Ts)), ErrorCode::kBadSpecialRegisters, "sregs.cr0");
}

TEST(ValidateTest, RejectsUnsupportedCr4Bits) {
  expect_rejected(edited("sregs.cr4", set_bits(1ull << 7)), ErrorCode::kBadSpecialRegisters, "sregs.cr4");
  expect_rejected(edited("sregs.cr4", set_bits(1ull << 40)), ErrorCode::kBadSpecialRegisters, "sregs.cr4");
}

TEST(ValidateTest, RejectsUnknownEferBits) {
  expect_rejected(edited("sregs.efer", set_bits(1ull << 12)), ErrorCode::kBadSpecialRegisters, "sregs.efer");
}

TEST(ValidateTest, RejectsLegacyMode) {
  expect_rejected(edited("sregs.efer", clear_bits(kEferLma)), ErrorCode::kBadSpecialRegisters, "sregs.efer");
}

TEST(ValidateTest, RejectsLongModeWithoutLme) {
  expect_rejected(edited("sregs.efer", clear_bits(kEferLme)), ErrorCode::kBadSpecialRegisters, "sregs.efer");
}

TEST(ValidateTest, RejectsLongModeWithoutPae) {
  expect_rejected(edited("sregs.cr4", clear_bits(kCr4Pae)), ErrorCode::kBadSpecialRegisters, "sregs.cr4");
}

TEST(ValidateTest, RejectsLongModeWithoutPaging) {
  expect_rejected(edited("sregs.cr0", clear_bits(kCr0Pg)), ErrorCode::kBadSpecialRegisters, "sregs.cr0");
}

TEST(ValidateTest, RejectsNoExecuteDisabled) {
  expect_rejected(edited("sregs.efer", clear_bits(kEferNxe)), ErrorCode::kBadSpecialRegisters, "sregs.efer");
}

TEST(ValidateTest, RejectsCr8AboveFifteen) {
  expect_rejected(edited("sregs.cr8", to(16)), ErrorCode::kBadSpecialRegisters, "sregs.cr8");
}

TEST(ValidateTest, RejectsCr3OutsideLayout) {
  expect_rejected(edited("sregs.cr3", to(0x2000)), ErrorCode::kBadSpecialRegisters, "sregs.cr3");
  expect_rejected(edited("sregs.cr3", [](uint64_t v) { return v + 0x1000; }), ErrorCode::kBadSpecialRegisters,
                  "sregs.cr3");
}

TEST(ValidateTest, RejectsMovedDescriptorTables) {
  expect_rejected(edited("sregs.gdt.base", to(0x5000)), ErrorCode::kBadSpecialRegisters, "sregs.gdt.base");
  expect_rejected(edited("sregs.gdt.limit", to(0xffff)), ErrorCode::kBadSpecialRegisters, "sregs.gdt.limit");
  expect_rejected(edited("sregs.idt.base", to(layout().heap_base)), ErrorCode::kBadSpecialRegisters, "sregs.idt.base");
  expect_rejected(edited("sregs.idt.limit", to(0x1000)), ErrorCode::kBadSpecialRegisters, "sregs.idt.limit");
}

TEST(ValidateTest, RejectsMovedTss) {
  expect_rejected(edited("sregs.tr.base", to(layout().heap_base)), ErrorCode::kBadSpecialRegisters, "sregs.tr.base");
  expect_rejected(edited("sregs.tr.limit", to(0xfffff)), ErrorCode::kBadSpecialRegisters, "sregs.tr.limit");
  expect_rejected(edited("sregs.tr.selector", to(0x30)), ErrorCode::kBadSpecialRegisters, "sregs.tr.selector");
  expect_rejected(edited("sregs.tr.type", to(9)), ErrorCode::kBadSpecialRegisters, "sregs.tr.type");
}

TEST(ValidateTest, RejectsUnusableTr) {
  expect_rejected(edited("sregs.tr.unusable", to(1)), ErrorCode::kBadSpecialRegisters, "sregs.tr.unusable");
}

TEST(ValidateTest, RejectsTrAsCodeOrDataSegment) {
  expect_rejected(edited("sregs.tr.s", to(1)), ErrorCode::kBadSpecialRegisters, "sregs.tr.s");
}

TEST(ValidateTest, RejectsNonBinarySegmentBits) {
  expect_rejected(edited("sregs.fs.g", to(2)), ErrorCode::kBadSpecialRegisters, "sregs.fs.g");
  expect_rejected(edited("sregs.ldt.present", to(0xff)), ErrorCode::kBadSpecialRegisters, "sregs.ldt.present");
  expect_rejected(edited("sregs.es.type", to(16)), ErrorCode::kBadSpecialRegisters, "sregs.es.type");
  expect_rejected(edited("sregs.gs.dpl", to(4)), ErrorCode::kBadSpecialRegisters, "sregs.gs.dpl");
}

TEST(ValidateTest, RejectsCsWithoutLongModeBit) {
  expect_rejected(edited("sregs.cs.l", to(0)), ErrorCode::kBadSpecialRegisters, "sregs.cs.l");
}

TEST(ValidateTest, RejectsCsWithDefaultOperandSizeBit) {
  expect_rejected(edited("sregs.cs.db", to(1)), ErrorCode::kBadSpecialRegisters, "sregs.cs.db");
}

TEST(ValidateTest, RejectsKernelCodeSegment) {
  expect_rejected(edited("sregs.cs.selector", to(abi::kKernelCodeSelector)), ErrorCode::kBadSpecialRegisters,
                  "sregs.cs.selector");
  expect_rejected(edited("sregs.cs.dpl", to(0)), ErrorCode::kBadSpecialRegisters, "sregs.cs.dpl");
}

TEST(ValidateTest, RejectsDataTypeCodeSegment) {
  expect_rejected(edited("sregs.cs.type", to(3)), ErrorCode::kBadSpecialRegisters, "sregs.cs.type");
}

TEST(ValidateTest, RejectsBadStackSegment) {
  expect_rejected(edited("sregs.ss.selector", to(abi::kKernelDataSelector)), ErrorCode::kBadSpecialRegisters,
                  "sregs.ss.selector");
  expect_rejected(edited("sregs.ss.type", to(11)), ErrorCode::kBadSpecialRegisters, "sregs.ss.type");
  expect_rejected(edited("sregs.ss.present", to(0)), ErrorCode::kBadSpecialRegisters, "sregs.ss.present");
}

TEST(ValidateTest, RejectsBadDataSegment) {
  expect_rejected(edited("sregs.ds.dpl", to(0)), ErrorCode::kBadSpecialRegisters, "sregs.ds.dpl");
  expect_rejected(edited("sregs.ds.s", to(0)), ErrorCode::kBadSpecialRegisters, "sregs.ds.s");
}

TEST(ValidateTest, RejectsPendingInterrupt) {
  std::vector<uint8_t> file = good_file();
  ASSERT_TRUE(set_field(file, "sregs.interrupt_bitmap", 1ull << 40));  // 32-byte field: its first word
  expect_rejected(file, ErrorCode::kBadSpecialRegisters, "sregs.interrupt_bitmap");
}

}  // namespace
}  // namespace snapvm::format
