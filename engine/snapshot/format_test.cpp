// format_test.cpp: tests for format.h (the format 1 and 2 codec): field offsets, round trips,
// canonical encoding, fixed-header checks, and every flipped or truncated metadata byte rejected.
#include "snapshot/format.h"

#include <gtest/gtest.h>

#include <cstring>
#include <set>

#include "snapshot/chunk_digest.h"
#include "snapshot/digest.h"
#include "snapshot/file_patch.h"
#include "snapshot/test_snapshot.h"
#include "snapshot/validate.h"
#include "snapvm/abi/ports.h"

namespace snapvm::format {
namespace {

using test_support::encode_file;
using test_support::make_test_snapshot;

std::vector<uint8_t> good_file(DigestAlgorithm a = DigestAlgorithm::kBlake3_256, uint32_t version = kFormatVersion) {
  static const Snapshot snapshot = make_test_snapshot().value();
  return encode_file(snapshot, a, version);
}

constexpr uint32_t kVersions[] = {1, 2};

uint32_t header_length_of(const std::vector<uint8_t>& file) {
  return static_cast<uint32_t>(*get_field(file, "header_length"));
}

Error decode_error(const std::vector<uint8_t>& file, const DecodeOptions& options = {}) {
  auto r = decode_and_validate(file, file.size(), options);
  EXPECT_FALSE(r.has_value());
  return r.has_value() ? Error{} : r.error();
}

void expect_error(const Error& e, ErrorCode code, const std::string& field, std::optional<uint64_t> offset = {}) {
  EXPECT_EQ(error_code_name(e.code), error_code_name(code)) << e.to_string();
  EXPECT_EQ(e.field, field) << e.to_string();
  if (offset) {
    EXPECT_EQ(e.offset, offset) << e.to_string();
  }
}

TEST(FormatTest, FieldOffsetsMatchTheDrawing) {
  EXPECT_EQ(field_offset("magic"), 0u);
  EXPECT_EQ(field_offset("format_version"), kVersionOffset);
  EXPECT_EQ(field_offset("header_length"), kHeaderLengthOffset);
  EXPECT_EQ(field_offset("header_checksum"), kChecksumOffset);
  EXPECT_EQ(field_offset("architecture"), 0x18u);
  EXPECT_EQ(field_offset("blob_offset"), kBlobOffsetOffset);
  EXPECT_EQ(field_offset("blob_size"), kBlobSizeOffset);
  EXPECT_EQ(field_offset("digest_algorithm"), kDigestAlgorithmOffset);
  EXPECT_EQ(field_offset("digest"), kDigestOffset);
  EXPECT_EQ(field_offset("config.heap_size"), 0x78u);
  EXPECT_EQ(field_offset("entrypoint"), 0xe0u);
  EXPECT_EQ(field_offset("regs.rax"), 0xf0u);
  EXPECT_EQ(field_offset("regs.rflags"), 0x178u);
  EXPECT_EQ(field_offset("sregs.cs.base"), 0x180u);
  EXPECT_EQ(field_offset("sregs.ds.base"), 0x198u);
  EXPECT_EQ(field_offset("sregs.gdt.base"), 0x240u);
  EXPECT_EQ(field_offset("sregs.cr0"), 0x260u);
  EXPECT_EQ(field_offset("sregs.interrupt_bitmap"), 0x298u);
  EXPECT_EQ(field_offset("fpu.fpr"), 0x2b8u);
  EXPECT_EQ(field_offset("fpu.mxcsr"), 0x450u);
  EXPECT_EQ(field_offset("regions.count"), kRegionTableOffset);
  EXPECT_EQ(field_offset("regions[0].guest_address"), kRegionEntriesOffset);
  EXPECT_EQ(field_offset("regions[2].flags"), kRegionEntriesOffset + 2 * kRegionEntrySize + 24);
  EXPECT_EQ(field_offset("no.such.field"), std::nullopt);
}

TEST(FormatTest, DescribedFieldsTileTheMetadataAndAgreeWithFieldOffset) {
  for (uint32_t version : kVersions) {
    SCOPED_TRACE(version);
    std::vector<uint8_t> file = good_file(DigestAlgorithm::kBlake3_256, version);
    std::vector<FieldInfo> fields = describe_fields(file);
    uint64_t at = 0;
    std::set<std::string> names;
    for (const FieldInfo& f : fields) {
      EXPECT_EQ(f.offset, at) << f.name;
      EXPECT_TRUE(names.insert(f.name).second) << "duplicate " << f.name;
      if (auto off = field_offset(f.name)) {
        EXPECT_EQ(*off, f.offset) << f.name;
      }
      at += f.size;
    }
    EXPECT_EQ(at, file.size());
    // Format 2 ends with the chunk table after the blob, its descriptor after the host functions.
    const size_t tail = version == 1 ? 2 : 3;
    ASSERT_GE(fields.size(), tail);
    EXPECT_EQ(fields[fields.size() - tail].name, "padding");
    EXPECT_EQ(fields[fields.size() - tail + 1].name, "blob");
    EXPECT_EQ(fields[fields.size() - tail + 1].offset, header_length_of(file));
    if (version == 2) {
      EXPECT_EQ(fields.back().name, "chunk_table");
      EXPECT_EQ(fields.back().offset, *get_field(file, "chunks.table_offset"));
      EXPECT_EQ(fields.back().size, *get_field(file, "chunks.count") * kChunkEntryBytes);
      EXPECT_EQ(fields[fields.size() - 4].name, "chunks.reserved");
    }
    EXPECT_EQ(names.count("chunks.chunk_size"), version == 2 ? 1u : 0u);
    EXPECT_TRUE(names.count("guest_functions[1].params[0]"));
    EXPECT_TRUE(names.count("host_functions[0].name"));
  }
}

TEST(FormatTest, RoundTripsEveryField) {
  for (uint32_t version : kVersions) {
    for (DigestAlgorithm a : {DigestAlgorithm::kBlake3_256, DigestAlgorithm::kXxh3_128}) {
      for (SnapshotStage stage : {SnapshotStage::kBeforeInit, SnapshotStage::kAfterInit}) {
        test_support::TestSnapshotOptions o;
        o.stage = stage;
        Snapshot s = make_test_snapshot(o).value();
        std::vector<uint8_t> file = encode_file(s, a, version);
        auto r = decode_and_validate(file, file.size(), {});
        ASSERT_TRUE(r.has_value()) << r.error().to_string();
        uint64_t header = header_length_of(file);
        EXPECT_EQ(r->format_version, version);
        EXPECT_EQ(r->blob_offset, header);
        EXPECT_EQ(header % 4096, 0u);
        EXPECT_EQ(r->architecture, "x86_64");
        // The metadata is a plain value: the decoded one equals the snapshot's, plus what the file records.
        detail::SnapshotMetadata want = detail::snapshot_data(s)->meta;
        want.digest_algorithm = a;
        want.format_version = version;
        if (version == 1) {
          EXPECT_EQ(r->blob_size, file.size() - header);
          EXPECT_FALSE(r->chunks.has_value());
          want.digest = compute_digest(a, std::span<const uint8_t>(file).subspan(header));
        } else {
          ASSERT_TRUE(r->chunks.has_value());
          EXPECT_EQ(r->chunks->chunk_size, kDigestChunkSize);
          EXPECT_EQ(r->chunks->table_offset, header + r->blob_size);
          EXPECT_EQ(file.size(), r->chunks->table_offset + r->chunks->entry_count * kChunkEntryBytes);
          ChunkedDigest c =
              compute_chunked_digest(a, std::span<const uint8_t>(file).subspan(header, r->blob_size)).value();
          EXPECT_EQ(r->chunks->entry_count, c.entries.size());
          EXPECT_EQ(encode_chunk_table(c.entries),
                    std::vector<uint8_t>(file.begin() + static_cast<ptrdiff_t>(r->chunks->table_offset), file.end()));
          want.digest = c.root;
          want.digest_chunk_size = kDigestChunkSize;
        }
        EXPECT_EQ(r->meta, want);
        EXPECT_EQ(r->meta.hypervisor, "kvm");
        EXPECT_EQ(r->meta.cpu_vendor, host_cpu_vendor());
        uint64_t packed = 0;
        for (size_t i = 0; i < want.layout.regions.size(); ++i) {
          EXPECT_EQ(r->region_offsets[i], packed);
          packed += want.layout.regions[i].size;
        }
      }
    }
  }
}

TEST(FormatTest, EncodingIsCanonical) {
  for (uint32_t version : kVersions) {
    std::vector<uint8_t> file = good_file(DigestAlgorithm::kBlake3_256, version);
    auto r = decode_metadata(file, file.size());
    ASSERT_TRUE(r.has_value()) << r.error().to_string();
    std::vector<uint8_t> again = encode_metadata(r->meta, *r->meta.digest_algorithm, *r->meta.digest, r->chunks);
    EXPECT_EQ(again, std::vector<uint8_t>(file.begin(), file.begin() + header_length_of(file))) << version;
  }
}

TEST(FormatTest, XxhDigestUsesSixteenBytes) {
  std::vector<uint8_t> file = good_file(DigestAlgorithm::kXxh3_128);
  for (size_t k = 16; k < 32; ++k) EXPECT_EQ(file[kDigestOffset + k], 0);
}

TEST(FormatTest, RejectsWrongMagic) {
  std::vector<uint8_t> file = good_file();
  file[3] ^= 0x20;
  expect_error(decode_error(file), ErrorCode::kBadMagic, "magic", 0);
  std::vector<uint8_t> elf = {0x7f, 'E', 'L', 'F'};
  expect_error(decode_error(elf), ErrorCode::kBadMagic, "magic", 0);
}

TEST(FormatTest, RejectsNewerFormatVersion) {
  std::vector<uint8_t> file = good_file();
  file[kVersionOffset] = kFormatVersion + 1;
  Error e = decode_error(file);
  expect_error(e, ErrorCode::kNewerFormat, "format_version", kVersionOffset);
  EXPECT_EQ(e.value, kFormatVersion + 1);
  EXPECT_NE(e.to_string().find("newer snapvm"), std::string::npos) << e.to_string();
}

TEST(FormatTest, RejectsOlderFormatVersion) {
  std::vector<uint8_t> file = good_file();
  file[kVersionOffset] = 0;
  Error e = decode_error(file);
  expect_error(e, ErrorCode::kOlderFormat, "format_version", kVersionOffset);
  EXPECT_NE(e.to_string().find("regenerate"), std::string::npos) << e.to_string();
}

TEST(FormatTest, RejectsBadHeaderChecksum) {
  std::vector<uint8_t> file = good_file();
  file[*field_offset("regs.rax")] ^= 1;
  expect_error(decode_error(file), ErrorCode::kHeaderChecksum, "header_checksum", kChecksumOffset);
}

TEST(FormatTest, RejectsHeaderLengthOutOfBounds) {
  std::vector<uint8_t> file = good_file();
  set_field(file, "header_length", 0x200000);
  expect_error(decode_error(file), ErrorCode::kFieldOutOfRange, "header_length", kHeaderLengthOffset);
  set_field(file, "header_length", 16);
  expect_error(decode_error(file), ErrorCode::kFieldOutOfRange, "header_length", kHeaderLengthOffset);
  set_field(file, "header_length", 0x1800);
  expect_error(decode_error(file), ErrorCode::kMisaligned, "header_length", kHeaderLengthOffset);
  std::vector<uint8_t> small(file.begin(), file.begin() + 0x1000);
  set_field(small, "header_length", 0x2000);
  expect_error(decode_error(small), ErrorCode::kFileTooShort, "header_length", kHeaderLengthOffset);
}

TEST(FormatTest, RejectsNonCanonicalHeaderLength) {
  std::vector<uint8_t> file = good_file();
  uint64_t header = header_length_of(file);
  file.insert(file.begin() + static_cast<ptrdiff_t>(header), 4096, 0);  // one more page of padding
  set_field(file, "header_length", header + 4096);
  set_field(file, "blob_offset", header + 4096);
  expect_error(decode_error(file), ErrorCode::kFieldOutOfRange, "header_length", kHeaderLengthOffset);
}

TEST(FormatTest, DecodesAForeignPlatformWithoutJudgingIt) {
  // The codec reads the platform tags; validate.cpp's platform rule judges them (validate_test.cpp).
  std::vector<uint8_t> file = good_file();
  uint64_t arch = 0, hypervisor = 0;
  std::memcpy(&arch, "aarch64", 7);
  std::memcpy(&hypervisor, "hvf", 3);
  ASSERT_TRUE(set_field(file, "architecture", arch));
  ASSERT_TRUE(set_field(file, "hypervisor", hypervisor));
  ASSERT_TRUE(set_field(file, "abi_version", abi::kAbiVersion + 1));
  auto r = decode_metadata(file, file.size());
  ASSERT_TRUE(r.has_value()) << r.error().to_string();
  EXPECT_EQ(r->architecture, "aarch64");
  EXPECT_EQ(r->meta.hypervisor, "hvf");
  EXPECT_EQ(r->meta.abi_version, abi::kAbiVersion + 1);
  EXPECT_EQ(r->meta.cpu_vendor, host_cpu_vendor());
}

TEST(FormatTest, RejectsTagWithGarbageAfterNul) {
  std::vector<uint8_t> file = good_file();
  uint64_t v = 0;
  std::memcpy(&v, "x86_64\0X", 8);
  set_field(file, "architecture", v);
  expect_error(decode_error(file), ErrorCode::kReservedNotZero, "architecture", 0x18);
}

TEST(FormatTest, RejectsUnknownStage) {
  std::vector<uint8_t> file = good_file();
  set_field(file, "stage", 3);
  expect_error(decode_error(file), ErrorCode::kFieldOutOfRange, "stage", field_offset("stage"));
}

TEST(FormatTest, RejectsUnknownDigestAlgorithm) {
  std::vector<uint8_t> file = good_file();
  set_field(file, "digest_algorithm", 3);
  expect_error(decode_error(file), ErrorCode::kFieldOutOfRange, "digest_algorithm", kDigestAlgorithmOffset);
}

TEST(FormatTest, RejectsXxh3DigestWithNonZeroTail) {
  std::vector<uint8_t> file = good_file(DigestAlgorithm::kXxh3_128);
  file[kDigestOffset + 20] = 1;
  fix_header_checksum(file);
  expect_error(decode_error(file), ErrorCode::kReservedNotZero, "digest", kDigestOffset + 20);
}

TEST(FormatTest, RejectsNonZeroReservedBytes) {
  for (const char* field : {"platform.reserved", "blob.reserved", "sregs.cs.reserved", "sregs.gdt.reserved",
                            "fpu.reserved", "fpu.reserved2", "regions.reserved"}) {
    std::vector<uint8_t> file = good_file();
    ASSERT_TRUE(set_field(file, field, 0x80)) << field;
    expect_error(decode_error(file), ErrorCode::kReservedNotZero, field, field_offset(field));
  }
}

TEST(FormatTest, RejectsNonZeroPadding) {
  std::vector<uint8_t> file = good_file();
  auto padding = find_field(file, "padding");
  ASSERT_TRUE(padding);
  file[padding->offset + padding->size - 1] = 1;
  fix_header_checksum(file);
  expect_error(decode_error(file), ErrorCode::kReservedNotZero, "padding", padding->offset + padding->size - 1);
}

TEST(FormatTest, RejectsBlobOffsetOtherThanHeaderLength) {
  std::vector<uint8_t> file = good_file();
  set_field(file, "blob_offset", header_length_of(file) + 4096);
  expect_error(decode_error(file), ErrorCode::kFieldOutOfRange, "blob_offset", kBlobOffsetOffset);
}

TEST(FormatTest, RejectsAbsurdRegionCount) {
  std::vector<uint8_t> file = good_file();
  set_field(file, "regions.count", 0xffffffff);
  Error e = decode_error(file);
  expect_error(e, ErrorCode::kFieldOutOfRange, "regions.count", kRegionTableOffset);
  EXPECT_EQ(e.value, 0xffffffffu);
}

TEST(FormatTest, RejectsAbsurdFunctionCount) {
  std::vector<uint8_t> file = good_file();
  uint64_t at = find_field(file, "guest_functions.count")->offset;
  set_field(file, "guest_functions.count", 257);
  expect_error(decode_error(file), ErrorCode::kFieldOutOfRange, "guest_functions.count", at);
}

TEST(FormatTest, RejectsLongAndEmptyFunctionNames) {
  std::vector<uint8_t> file = good_file();
  uint64_t at = find_field(file, "host_functions[0].name_length")->offset;
  set_field(file, "host_functions[0].name_length", abi::kMaxNameLength + 1);
  expect_error(decode_error(file), ErrorCode::kFieldOutOfRange, "host_functions[0].name_length", at);
  set_field(file, "host_functions[0].name_length", 0);
  expect_error(decode_error(file), ErrorCode::kFieldOutOfRange, "host_functions[0].name_length", at);
}

TEST(FormatTest, RejectsUnknownValueTypes) {
  std::vector<uint8_t> file = good_file();
  set_field(file, "guest_functions[0].result", abi::kValueTypeCount);
  expect_error(decode_error(file), ErrorCode::kFieldOutOfRange, "guest_functions[0].result");
  file = good_file();
  set_field(file, "guest_functions[1].params[0]", 200);
  expect_error(decode_error(file), ErrorCode::kFieldOutOfRange, "guest_functions[1].params[0]");
}

TEST(FormatTest, RejectsTooManyParameters) {
  std::vector<uint8_t> file = good_file();
  set_field(file, "guest_functions[0].param_count", abi::kMaxArgs + 1);
  expect_error(decode_error(file), ErrorCode::kFieldOutOfRange, "guest_functions[0].param_count");
}

TEST(FormatTest, RejectsControlCharactersInFunctionNames) {
  std::vector<uint8_t> file = good_file();
  // The name swallows the result and parameter bytes, then NUL padding.
  uint64_t at = find_field(file, "host_functions[0].name")->offset;
  set_field(file, "host_functions[0].name_length", 128);
  Error e = decode_error(file);
  expect_error(e, ErrorCode::kFieldOutOfRange, "host_functions[0].name", at);
}

// Every single-bit flip anywhere in the metadata is rejected with a typed error (the checksum, the
// magic, the version or the header length catch it), never a crash.
TEST(FormatTest, RejectsEveryFlippedMetadataBit) {
  const std::vector<uint8_t> good = good_file();
  const uint64_t header = header_length_of(good);
  std::vector<uint8_t> file = good;
  for (uint64_t at = 0; at < header; ++at) {
    for (int bit = 0; bit < 8; ++bit) {
      file[at] ^= static_cast<uint8_t>(1 << bit);
      auto r = decode_and_validate(file, file.size(), {});
      ASSERT_FALSE(r.has_value()) << "flip of bit " << bit << " at " << at << " accepted";
      ErrorClass c = r.error().cls();
      EXPECT_TRUE(c == ErrorClass::Format || c == ErrorClass::Version || c == ErrorClass::Checksum)
          << r.error().to_string();
      file[at] = good[at];
    }
  }
}

// With the checksum re-fixed, any value in any field either decodes to a file that encodes back to
// the same bytes (canonical) or is rejected with a typed error.
TEST(FormatTest, MutatedFieldsWithFixedChecksumAreRejectedOrCanonical) {
  for (uint32_t version : kVersions) {
    const std::vector<uint8_t> good = good_file(DigestAlgorithm::kBlake3_256, version);
    const uint64_t header = header_length_of(good);
    const uint64_t values[] = {0, 1, 2, 0x7f, 0x80, 0xff, 0x1000, 0xffffffff, 0x8000000000000000ull, ~0ull};
    size_t accepted = 0, rejected = 0;
    for (const FieldInfo& f : describe_fields(good)) {
      if (f.offset >= header || f.name == "header_checksum") continue;
      for (uint64_t v : values) {
        std::vector<uint8_t> file = good;
        std::memcpy(file.data() + f.offset, &v, std::min<uint64_t>(f.size, 8));
        fix_header_checksum(file);
        auto r = decode_and_validate(file, file.size(), {});
        if (!r.has_value()) {
          EXPECT_FALSE(r.error().field.empty()) << r.error().to_string();
          ++rejected;
          continue;
        }
        ++accepted;
        std::vector<uint8_t> again = encode_metadata(r->meta, *r->meta.digest_algorithm, *r->meta.digest, r->chunks);
        ASSERT_EQ(again, std::vector<uint8_t>(file.begin(), file.begin() + static_cast<ptrdiff_t>(header))) << f.name;
      }
    }
    EXPECT_GT(accepted, 0u);
    EXPECT_GT(rejected, 0u);
  }
}

TEST(FormatTest, RejectsTruncationAtEveryMetadataByte) {
  const std::vector<uint8_t> good = good_file();
  const uint64_t header = header_length_of(good);
  for (uint64_t n = 0; n <= header; ++n) {
    std::span<const uint8_t> prefix(good.data(), n);
    auto r = decode_and_validate(prefix, n, {});
    ASSERT_FALSE(r.has_value()) << n;
    EXPECT_EQ(r.error().code, ErrorCode::kFileTooShort) << n << ": " << r.error().to_string();
  }
}

TEST(FormatTest, HeaderChecksumIgnoresItsOwnField) {
  std::vector<uint8_t> file = good_file();
  uint64_t header = header_length_of(file);
  uint64_t before = compute_header_checksum(std::span<const uint8_t>(file).first(header));
  file[kChecksumOffset + 3] ^= 0xff;
  EXPECT_EQ(compute_header_checksum(std::span<const uint8_t>(file).first(header)), before);
}

TEST(FormatTest, HostCpuVendorIsTwelveCharacters) { EXPECT_EQ(host_cpu_vendor().size(), 12u); }

}  // namespace
}  // namespace snapvm::format
