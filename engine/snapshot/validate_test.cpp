// validate_test.cpp: tests for validate.h, one per rule, named for the rejection. Each edits one
// field of a good encoded file (file_patch.h re-fixes the header checksum so the edit reaches the
// validator) and asserts the exact error code, field name and file offset.
#include "snapshot/validate.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <functional>

#include "memory/system_area.h"
#include "snapshot/file_patch.h"
#include "snapshot/test_snapshot.h"
#include "snapvm/abi/layout.h"
#include "snapvm/abi/ports.h"

namespace snapvm::format {
namespace {

using test_support::TestSnapshotOptions;

std::vector<uint8_t> good_file(SnapshotStage stage = SnapshotStage::kAfterInit) {
  static const Snapshot after = test_support::make_test_snapshot().value();
  static const Snapshot before =
      test_support::make_test_snapshot(TestSnapshotOptions{SnapshotStage::kBeforeInit}).value();
  return test_support::encode_file(stage == SnapshotStage::kAfterInit ? after : before);
}

const Layout& layout() {
  static const Layout l = test_support::make_test_snapshot().value().layout();
  return l;
}

uint64_t get(const std::vector<uint8_t>& file, const char* field) { return get_field(file, field).value(); }

// The file with `field` replaced by edit(old value), checksum fixed.
std::vector<uint8_t> edited(const char* field, const std::function<uint64_t(uint64_t)>& edit,
                            SnapshotStage stage = SnapshotStage::kAfterInit) {
  std::vector<uint8_t> file = good_file(stage);
  EXPECT_TRUE(set_field(file, field, edit(get(file, field)))) << field;
  return file;
}
std::function<uint64_t(uint64_t)> to(uint64_t v) {
  return [v](uint64_t) { return v; };
}
std::function<uint64_t(uint64_t)> set_bits(uint64_t bits) {
  return [bits](uint64_t v) { return v | bits; };
}
std::function<uint64_t(uint64_t)> clear_bits(uint64_t bits) {
  return [bits](uint64_t v) { return v & ~bits; };
}

void expect_rejected(const std::vector<uint8_t>& file, ErrorCode code, const std::string& field,
                     const DecodeOptions& options = {}) {
  auto r = decode_and_validate(file, file.size(), options);
  ASSERT_FALSE(r.has_value()) << "accepted; expected " << error_code_name(code) << " on " << field;
  const Error& e = r.error();
  EXPECT_EQ(error_code_name(e.code), error_code_name(code)) << e.to_string();
  EXPECT_EQ(e.field, field) << e.to_string();
  std::optional<FieldInfo> where = find_field(file, field);
  ASSERT_TRUE(where.has_value()) << field;
  EXPECT_EQ(e.offset, where->offset) << e.to_string();
  EXPECT_TRUE(e.value.has_value());
}

// For rules a one-field edit cannot reach (the structure would shift): edit the decoded file.
void expect_decoded_rejected(const std::function<void(DecodedSnapshotFile&)>& edit, ErrorCode code,
                             const std::string& field) {
  std::vector<uint8_t> file = good_file();
  DecodedSnapshotFile f = decode_metadata(file, file.size()).value();
  edit(f);
  Status s = validate_snapshot(f, file.size());
  ASSERT_FALSE(s.has_value());
  EXPECT_EQ(error_code_name(s.error().code), error_code_name(code)) << s.error().to_string();
  EXPECT_EQ(s.error().field, field) << s.error().to_string();
}

TEST(ValidateTest, AcceptsGoodFilesOfBothStages) {
  for (SnapshotStage stage : {SnapshotStage::kBeforeInit, SnapshotStage::kAfterInit}) {
    std::vector<uint8_t> file = good_file(stage);
    auto r = decode_and_validate(file, file.size(), {});
    EXPECT_TRUE(r.has_value()) << r.error().to_string();
  }
}

// ---- the platform -------------------------------------------------------------------------------

uint64_t tag(const char* text) {
  uint64_t v = 0;
  std::memcpy(&v, text, std::min<size_t>(std::strlen(text), 8));
  return v;
}

TEST(ValidateTest, RejectsOtherArchitecture) {
  expect_rejected(edited("architecture", to(tag("aarch64"))), ErrorCode::kPlatformMismatch, "architecture");
}

TEST(ValidateTest, RejectsOtherAbiVersion) {
  std::vector<uint8_t> file = edited("abi_version", to(abi::kAbiVersion + 1));
  expect_rejected(file, ErrorCode::kAbiMismatch, "abi_version");
  auto r = decode_and_validate(file, file.size(), {});
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().to_string().find("regenerate"), std::string::npos) << r.error().to_string();
}

TEST(ValidateTest, RejectsOtherHypervisor) {
  expect_rejected(edited("hypervisor", to(tag("hvf"))), ErrorCode::kPlatformMismatch, "hypervisor");
}

TEST(ValidateTest, RejectsOtherCpuVendor) {
  DecodeOptions other;
  other.cpu_vendor = host_cpu_vendor() == "GenuineIntel" ? "AuthenticAMD" : "GenuineIntel";
  std::vector<uint8_t> file = good_file();
  expect_rejected(file, ErrorCode::kPlatformMismatch, "cpu_vendor", other);
  auto r = decode_and_validate(file, file.size(), other);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().value, tag(host_cpu_vendor().c_str())) << r.error().to_string();
  EXPECT_NE(r.error().detail.find(*other.cpu_vendor), std::string::npos) << r.error().to_string();
}

TEST(ValidateTest, PlatformRuleComesFirst) {
  // A file from another machine says so, whatever else is wrong with it.
  std::vector<uint8_t> file = edited("hypervisor", to(tag("hvf")));
  ASSERT_TRUE(set_field(file, "regs.rip", 0));
  expect_rejected(file, ErrorCode::kPlatformMismatch, "hypervisor");
}

// ---- the file and the blob ----------------------------------------------------------------------

TEST(ValidateTest, RejectsFileShorterThanBlob) {
  std::vector<uint8_t> file = good_file();
  file.resize(file.size() - 4096);
  expect_rejected(file, ErrorCode::kFileTooShort, "blob_size");
}

TEST(ValidateTest, RejectsTrailingBytesAfterBlob) {
  std::vector<uint8_t> file = good_file();
  file.push_back(0);
  expect_rejected(file, ErrorCode::kFieldOutOfRange, "blob_size");
}

TEST(ValidateTest, RejectsAbsurdBlobSize) {
  expect_rejected(edited("blob_size", to(kMaxGuestMemory + 4096)), ErrorCode::kFieldOutOfRange, "blob_size");
}

TEST(ValidateTest, RejectsUnreferencedBlobBytes) {
  std::vector<uint8_t> file = good_file();
  file.resize(file.size() + 4096);
  set_field(file, "blob_size", get(file, "blob_size") + 4096);
  expect_rejected(file, ErrorCode::kFieldOutOfRange, "blob_size");
}

TEST(ValidateTest, RejectsMisalignedFileBlobOffset) {
  // Decoding already holds blob_offset to header_length (a page multiple): only a decoded file reaches this.
  expect_decoded_rejected([](DecodedSnapshotFile& f) { f.blob_offset += 0x800; }, ErrorCode::kMisaligned,
                          "blob_offset");
}

TEST(ValidateTest, RejectsBlobEndPastSixtyFourBits) {
  expect_decoded_rejected([](DecodedSnapshotFile& f) { f.blob_offset = UINT64_MAX & ~uint64_t{0xfff}; },
                          ErrorCode::kOverflow, "blob_size");
}

// ---- regions ------------------------------------------------------------------------------------

TEST(ValidateTest, RejectsZeroRegionCount) {
  expect_decoded_rejected([](DecodedSnapshotFile& f) { f.meta.layout.regions.clear(); }, ErrorCode::kFieldOutOfRange,
                          "regions.count");
}

TEST(ValidateTest, RejectsRegionWithoutBlobOffset) {
  expect_decoded_rejected([](DecodedSnapshotFile& f) { f.region_offsets.pop_back(); }, ErrorCode::kFieldOutOfRange,
                          "regions.count");
}

TEST(ValidateTest, RejectsAbsurdRegionCount) {
  expect_rejected(edited("regions.count", to(kMaxRegions + 1)), ErrorCode::kFieldOutOfRange, "regions.count");
}

TEST(ValidateTest, RejectsUnknownRegionKind) {
  expect_rejected(edited("regions[3].kind", to(kMaxRegionKind + 1)), ErrorCode::kFieldOutOfRange, "regions[3].kind");
  expect_rejected(edited("regions[3].kind", to(0)), ErrorCode::kFieldOutOfRange, "regions[3].kind");
}

TEST(ValidateTest, RejectsUnknownRegionFlags) {
  expect_rejected(edited("regions[4].flags", set_bits(8)), ErrorCode::kUnknownFlags, "regions[4].flags");
  expect_rejected(edited("regions[4].flags", set_bits(1u << 31)), ErrorCode::kUnknownFlags, "regions[4].flags");
}

TEST(ValidateTest, RejectsWritableExecutableRegion) {
  expect_rejected(edited("regions[1].flags", set_bits(kRegionWrite)), ErrorCode::kFieldOutOfRange, "regions[1].flags");
}

TEST(ValidateTest, RejectsMisalignedRegionAddress) {
  expect_rejected(edited("regions[1].guest_address", to(test_support::kCodeAddress + 0x800)), ErrorCode::kMisaligned,
                  "regions[1].guest_address");
}

TEST(ValidateTest, RejectsMisalignedRegionSize) {
  expect_rejected(edited("regions[1].size", to(0x1800)), ErrorCode::kMisaligned, "regions[1].size");
}

TEST(ValidateTest, RejectsEmptyRegion) {
  expect_rejected(edited("regions[2].size", to(0)), ErrorCode::kFieldOutOfRange, "regions[2].size");
}

TEST(ValidateTest, RejectsOverflowingRegionSize) {
  expect_rejected(edited("regions[6].size", to(0xfffffffffffff000ull)), ErrorCode::kOverflow, "regions[6].size");
}

TEST(ValidateTest, RejectsRegionBeyondGuestMemoryCap) {
  expect_rejected(edited("regions[6].guest_address", to(kMaxGuestMemory)), ErrorCode::kFieldOutOfRange,
                  "regions[6].size");
}

TEST(ValidateTest, RejectsUnsortedRegions) {
  std::vector<uint8_t> file = good_file();
  uint64_t a = *field_offset("regions[1].guest_address"), b = *field_offset("regions[2].guest_address");
  std::swap_ranges(file.begin() + static_cast<ptrdiff_t>(a),
                   file.begin() + static_cast<ptrdiff_t>(a + kRegionEntrySize),
                   file.begin() + static_cast<ptrdiff_t>(b));
  fix_header_checksum(file);
  expect_rejected(file, ErrorCode::kRegionOverlap, "regions[2].guest_address");
}

TEST(ValidateTest, RejectsOverlappingRegions) {
  expect_rejected(edited("regions[2].guest_address", to(test_support::kCodeAddress + 0x1000)),
                  ErrorCode::kRegionOverlap, "regions[2].guest_address");
}

TEST(ValidateTest, RejectsMisalignedBlobOffset) {
  expect_rejected(edited("regions[1].blob_offset", set_bits(0x800)), ErrorCode::kMisaligned, "regions[1].blob_offset");
}

TEST(ValidateTest, RejectsOverflowingBlobOffset) {
  expect_rejected(edited("regions[6].blob_offset", to(0xfffffffffffff000ull)), ErrorCode::kOverflow,
                  "regions[6].blob_offset");
}

TEST(ValidateTest, RejectsOverlappingBlobRanges) {
  std::vector<uint8_t> file = good_file();
  set_field(file, "regions[2].blob_offset", get(file, "regions[1].blob_offset"));
  expect_rejected(file, ErrorCode::kRegionOverlap, "regions[2].blob_offset");
}

TEST(ValidateTest, RejectsBlobRangeOutsideBlob) {
  std::vector<uint8_t> file = good_file();
  set_field(file, "regions[6].blob_offset", get(file, "blob_size"));
  expect_rejected(file, ErrorCode::kFieldOutOfRange, "regions[6].blob_offset");
}

// ---- the layout ---------------------------------------------------------------------------------

TEST(ValidateTest, RejectsLayoutNotComputedFromItsConfig) {
  expect_rejected(edited("layout.heap_base", [](uint64_t v) { return v + 0x1000; }), ErrorCode::kLayoutMismatch,
                  "layout.heap_base");
  expect_rejected(edited("layout.page_table_base", to(0x2000)), ErrorCode::kLayoutMismatch, "layout.page_table_base");
}

TEST(ValidateTest, RejectsConfigOutOfBounds) {
  expect_rejected(edited("config.heap_size", to(4096)), ErrorCode::kFieldOutOfRange, "config.heap_size");
}

TEST(ValidateTest, RejectsRegionDisagreeingWithLayout) {
  expect_rejected(edited("regions[3].flags", to(kRegionRead)), ErrorCode::kLayoutMismatch, "regions[3].flags");
}

TEST(ValidateTest, RejectsImageBelowTheImageBase) {
  expect_rejected(edited("regions[1].guest_address", to(abi::kDefaultImageBase - 0x1000)), ErrorCode::kFieldOutOfRange,
                  "regions[1].guest_address");
}

TEST(ValidateTest, RejectsImageWithoutExecutableRegion) {
  expect_rejected(edited("regions[1].flags", to(kRegionRead)), ErrorCode::kFieldOutOfRange, "regions.count");
}

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
