// validate_test.cpp: tests for validate.h, one per rule, named for the rejection: the platform, the
// file and blob, the regions and the layout (registers: validate_registers_test.cpp). Each edits one
// field of a good encoded file (file_patch.h re-fixes the header checksum so the edit reaches the
// validator) and asserts the exact error code, field name and file offset.
#include "snapshot/validate.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>

#include "memory/system_area.h"
#include "snapshot/chunk_digest.h"
#include "snapshot/validate_test_support.h"
#include "snapvm/abi/layout.h"
#include "snapvm/abi/ports.h"

namespace snapvm::format {
namespace {

using namespace validate_test;  // NOLINT(google-build-using-namespace): the shared helpers

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
  std::vector<uint8_t> file = good_v1_file();  // format 1 ends with the blob
  file.push_back(0);
  expect_rejected(file, ErrorCode::kFieldOutOfRange, "blob_size");
}

// Rule 7, format 2: the chunk table follows the blob and ends the file.
TEST(ValidateTest, RejectsTrailingBytesAfterChunkTable) {
  std::vector<uint8_t> file = good_file();
  file.push_back(0);
  expect_rejected(file, ErrorCode::kFieldOutOfRange, "chunks.count");
}

TEST(ValidateTest, RejectsTruncatedChunkTable) {
  std::vector<uint8_t> file = good_file();
  ASSERT_GT(get(file, "chunks.count"), 0u);
  file.pop_back();
  expect_rejected(file, ErrorCode::kFileTooShort, "chunks.count");
}

TEST(ValidateTest, RejectsChunkTableNotRightAfterTheBlob) {
  expect_rejected(edited("chunks.table_offset", [](uint64_t v) { return v + kChunkEntryBytes; }),
                  ErrorCode::kFieldOutOfRange, "chunks.table_offset");
}

TEST(ValidateTest, RejectsChunkSizeOutOfRange) {
  expect_rejected(edited("chunks.chunk_size", to(0)), ErrorCode::kFieldOutOfRange, "chunks.chunk_size");
  expect_rejected(edited("chunks.chunk_size", to(kMaxDigestChunkSize + 4096)), ErrorCode::kFieldOutOfRange,
                  "chunks.chunk_size");
}

TEST(ValidateTest, RejectsMisalignedChunkSize) {
  expect_rejected(edited("chunks.chunk_size", to(0x1800)), ErrorCode::kMisaligned, "chunks.chunk_size");
}

TEST(ValidateTest, RejectsMoreChunkEntriesThanChunks) {
  std::vector<uint8_t> file = good_file();
  const uint64_t chunks = chunk_count(get(file, "blob_size"), get(file, "chunks.chunk_size"));
  set_field(file, "chunks.count", chunks + 1);
  file.resize(get(file, "chunks.table_offset") + (chunks + 1) * kChunkEntryBytes);  // the file holds them
  expect_rejected(file, ErrorCode::kFieldOutOfRange, "chunks.count");
}

TEST(ValidateTest, AcceptsEveryChunkSizeItCanRead) {
  // A table of any page-multiple chunk size up to 16 MiB passes validation (the digest is another check).
  for (uint64_t size : {uint64_t{4096}, kDigestChunkSize, kMaxDigestChunkSize}) {
    std::vector<uint8_t> file = edited("chunks.chunk_size", to(size));
    const uint64_t chunks = chunk_count(get(file, "blob_size"), size);
    const uint64_t count = std::min<uint64_t>(get(file, "chunks.count"), chunks);
    set_field(file, "chunks.count", count);
    file.resize(get(file, "chunks.table_offset") + count * kChunkEntryBytes);
    auto r = decode_and_validate(file, file.size(), {});
    EXPECT_TRUE(r.has_value()) << size << ": " << r.error().to_string();
  }
}

TEST(ValidateTest, RejectsAbsurdBlobSize) {
  expect_rejected(edited("blob_size", to(kMaxGuestMemory + 4096)), ErrorCode::kFieldOutOfRange, "blob_size");
}

TEST(ValidateTest, RejectsUnreferencedBlobBytes) {
  std::vector<uint8_t> file = good_v1_file();
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

TEST(ValidateTest, RejectsBlobRangesOverlappingByOnePage) {
  std::vector<uint8_t> file = good_file();  // the smallest overlap there is (ci/mutants.list)
  set_field(file, "regions[2].blob_offset", get(file, "regions[2].blob_offset") - abi::kPageSize);
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

}  // namespace
}  // namespace snapvm::format
