// format.h: snapshot file formats 1 and 2, bytes <-> structs over std::span, no fds, no semantics
// beyond structure (validate.h does the semantic pass). Byte by byte in docs/snapshot-format.md.
// Format 2 is format 1 plus a chunked content digest (chunk_digest.h): a 24-byte descriptor after the
// functions, the chunk table after the blob, and the digest field holding the table's root.
//
// Every integer is little-endian; tags are ASCII, NUL padded. Offsets in hex.
//
//  0x000 +-------------------- fixed header (24 bytes), checked before anything else --------------+
//        | magic[8] "\x89SNAPVM\n" | u32 format_version | u32 header_length | u64 header_checksum   |
//  0x018 +-------------------- platform ---------------------------------------------------------+
//        | char architecture[8] "x86_64" | u32 abi_version | u32 stage (1 before, 2 after init)    |
//        | char hypervisor[8] "kvm" | char cpu_vendor[12] | u32 reserved                           |
//  0x040 +-------------------- memory blob ------------------------------------------------------+
//        | u64 blob_offset | u64 blob_size | u32 digest_algorithm | u32 reserved | u8 digest[32]    |
//  0x078 +-------------------- layout -----------------------------------------------------------+
//        | u64 config.{heap,stack,input,output}_size                                             |
//        | u64 layout.{image_base,image_end,input_base,output_base,heap_base,stack_base,          |
//        |             page_table_base,page_table_size,memory_size} | u64 entrypoint | u64 dispatch |
//  0x0f0 +-------------------- vCPU: general registers (18 x u64, rax..r15, rip, rflags) --------+
//  0x180 +-------------------- vCPU: special registers ------------------------------------------+
//        | 8 segments cs ds es fs gs ss tr ldt, 24 bytes each: u64 base | u32 limit | u16 selector |
//        |   u8 type present dpl db s l g avl unusable | u8 reserved                              |
//  0x240 | gdt, idt: u64 base | u16 limit | u8 reserved[6]                                        |
//  0x260 | u64 cr0 cr2 cr3 cr4 cr8 efer apic_base | u64 interrupt_bitmap[4]                      |
//  0x2b8 +-------------------- vCPU: FPU (FXSAVE fields) ----------------------------------------+
//        | u8 fpr[8][16] | u16 fcw | u16 fsw | u8 ftwx | u8 reserved | u16 last_opcode            |
//        | u64 last_ip | u64 last_dp | u8 xmm[16][16] | u32 mxcsr | u32 reserved                   |
//  0x458 +-------------------- region table -----------------------------------------------------+
//        | u32 count | u32 reserved | count x { u64 guest_address | u64 size | u64 blob_offset     |
//        |                                      u32 flags | u32 kind }                           |
//        +-------------------- functions (guest functions, then required host functions) --------+
//        | u32 count | count x { u16 name_length | name | u8 result | u8 param_count | u8 params[] }|
//        +-------------------- format 2 only: chunked digest descriptor ---------------------------+
//        | u64 chunk_size | u64 chunk_table_offset | u32 chunk_count | u32 reserved                |
//        +-------------------- zero padding up to header_length (page aligned) ------------------+
//  header_length == blob_offset: the memory blob, every region's bytes back to back. Format 1: the
//  file ends with the blob (blob_offset + blob_size == file size). Format 2: the chunk table follows
//  it (chunk_table_offset == blob_offset + blob_size), chunk_count entries of 40 bytes, to the end.
//
// The header checksum is XXH3-64 (seed 0) over bytes [0, header_length) with the checksum field
// read as zero. The encoding is canonical: reserved bytes and padding are zero, header_length is
// the smallest page multiple holding the metadata, so decode then encode gives the same bytes.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "snapshot/platform.h"
#include "snapshot/snapshot_metadata.h"
#include "snapvm/result.h"

namespace snapvm::format {

inline constexpr std::array<uint8_t, 8> kMagic = {0x89, 'S', 'N', 'A', 'P', 'V', 'M', '\n'};
inline constexpr uint32_t kFormatVersion = 2;     // what to_file writes by default, the newest read
inline constexpr uint32_t kMinFormatVersion = 1;  // the oldest still read (and written on request)
inline constexpr uint64_t kFixedHeaderSize = 24;
inline constexpr uint64_t kVersionOffset = 8, kHeaderLengthOffset = 12, kChecksumOffset = 16;
inline constexpr uint64_t kMaxHeaderLength = 1 << 20;  // far above the largest legal metadata (~80 KiB)
inline constexpr uint64_t kBlobOffsetOffset = 0x40, kBlobSizeOffset = 0x48;
inline constexpr uint64_t kDigestAlgorithmOffset = 0x50, kDigestOffset = 0x58;
inline constexpr uint64_t kRegionTableOffset = 0x458;  // the u32 region count
inline constexpr uint64_t kRegionEntriesOffset = kRegionTableOffset + 8;
inline constexpr uint64_t kRegionEntrySize = 32;
inline constexpr std::string_view kArchitecture = "x86_64";
inline constexpr std::string_view kHypervisor = "kvm";
inline constexpr size_t kCpuVendorSize = 12;

inline constexpr uint64_t kChunkDescriptorSize = 24;  // format 2: chunk_size, chunk_table_offset, count, reserved

// Format 2's chunked digest descriptor: where the chunk table is and how the blob is chunked.
struct ChunkTableRef {
  uint64_t chunk_size = 0;
  uint64_t table_offset = 0;  // file offset of the table: right after the blob
  uint32_t entry_count = 0;   // 40-byte entries (chunk_digest.h)
  bool operator==(const ChunkTableRef&) const = default;
};

// A decoded file, all but the memory: meta.digest_algorithm, meta.digest and meta.format_version are
// set (and meta.digest_chunk_size for format 2). The platform tags are read (meta.hypervisor,
// meta.cpu_vendor, architecture), not judged: validate.h does that.
struct DecodedSnapshotFile {
  uint32_t format_version = 0;
  uint32_t header_length = 0;
  uint64_t header_checksum = 0;
  std::string architecture;
  detail::SnapshotMetadata meta;
  uint64_t blob_offset = 0, blob_size = 0;
  std::vector<uint64_t> region_offsets;   // per region, relative to the blob
  std::optional<ChunkTableRef> chunks;    // format 2
  uint64_t chunks_descriptor_offset = 0;  // format 2: where the descriptor is (after the functions)
};

// XXH3-64 over `header` (the file's first header_length bytes) with the checksum field as zero.
uint64_t compute_header_checksum(std::span<const uint8_t> header);

// The fixed-header checks, in order: size, magic, version, header_length bounds (page multiple, at
// least the fixed metadata, at most kMaxHeaderLength and file_size). Returns header_length.
Result<uint32_t> check_fixed_header(std::span<const uint8_t> bytes, uint64_t file_size);

// Header and metadata, padded to a page multiple (the blob offset), checksum filled in. Region blob
// offsets are the regions' sizes summed in order. An empty cpu_vendor is written as this host's.
// meta.digest_algorithm, meta.digest and meta.format_version are not read: the file records
// `algorithm` and `digest`, and is format 2 when `chunks` is given (its table_offset is not read:
// the encoder writes blob_offset + blob_size), else format 1.
std::vector<uint8_t> encode_metadata(const detail::SnapshotMetadata& meta, DigestAlgorithm algorithm,
                                     const Digest& digest, std::optional<ChunkTableRef> chunks = std::nullopt);

// `bytes` holds at least the file's first header_length bytes (more is fine); `file_size` is the
// whole file's. Fixed header, then checksum, then every field; structural checks only (no platform
// or host probe: validate_snapshot checks the platform).
Result<DecodedSnapshotFile> decode_metadata(std::span<const uint8_t> bytes, uint64_t file_size);

// Where each field of a file is: the structure-aware mutators, diffs and fuzzers use this table.
struct FieldInfo {
  std::string name;  // as errors name it: "regions[3].size", "sregs.cs.l", "guest_functions[0].name"
  uint64_t offset = 0;
  uint64_t size = 0;
};
// Walks the structure as far as the bytes allow (no checksum or value checks beyond counts and
// lengths); the padding after the metadata is one field named "padding", the blob one named "blob",
// and a format 2 file's chunk table "chunk_table".
std::vector<FieldInfo> describe_fields(std::span<const uint8_t> file);

// Offset of a field by name, for fields at fixed offsets and region-table fields ("regions.count",
// "regions[2].flags"); nullopt for other names.
std::optional<uint64_t> field_offset(std::string_view name);

}  // namespace snapvm::format
