// format.cpp: format 1 and 2 codec: the fixed header, encode, decode and the field table, each driving the
// one walk over the fields (format_walk.h), so the three cannot disagree about where a field is.
#include "snapshot/format.h"

#include <algorithm>
#include <cstring>

#include "snapshot/digest.h"
#include "snapshot/format_walk.h"
#include "snapvm/abi/byte_order.h"
#include "snapvm/abi/layout.h"
#include "xxhash.h"

namespace snapvm::format {

namespace {
using detail::SnapshotMetadata;
using walk::Layouter;
using walk::Name;
using walk::Raw;
using walk::Reader;
using walk::walk_fixed;
using walk::walk_variable;
using walk::Writer;

template <size_t N>
std::array<uint8_t, N> make_tag(std::string_view s) {
  std::array<uint8_t, N> t{};
  std::memcpy(t.data(), s.data(), std::min(s.size(), N));
  return t;
}

// The first (up to) 8 bytes of a tag or a short read, as errors report them.
uint64_t le_prefix(const uint8_t* p, size_t n) { return abi::load_le(p, std::min<size_t>(n, 8)); }

const std::vector<FieldInfo>& fixed_fields() {
  static const std::vector<FieldInfo> table = [] {
    Layouter l;
    DecodedSnapshotFile f;
    Raw raw;
    uint32_t count = 0;
    walk_fixed(l, f, raw, count);
    l.reserved(Name{"regions.reserved"}, 4);
    return std::move(l.fields);
  }();
  return table;
}

// ---- decode checks ---------------------------------------------------------------------------------

Error at(ErrorCode code, const std::string& field, uint64_t value, std::string expected) {
  return field_error(code, field, field_offset(field).value_or(0), value, std::move(expected));
}

// A NUL-padded tag: the text up to the first NUL; every byte after it must be NUL too.
template <size_t N>
Result<std::string> read_tag(const std::array<uint8_t, N>& t, const char* field) {
  size_t n = 0;
  while (n < N && t[n] != 0) ++n;
  for (size_t k = n; k < N; ++k) {
    if (t[k] != 0) return at(ErrorCode::kReservedNotZero, field, le_prefix(t.data(), N), "NUL padding after the text");
  }
  return std::string(reinterpret_cast<const char*>(t.data()), n);
}

// The structural half of the platform and blob fields: tags NUL padded, stage and digest algorithm
// known values, the digest's unused bytes zero, the blob right after the metadata. Whether the tags
// and abi_version match this snapvm and this machine is validate.cpp's platform rule.
Status read_platform(DecodedSnapshotFile& f, const Raw& raw) {
  f.architecture = TRY(read_tag(raw.architecture, "architecture"));
  if (raw.stage != static_cast<uint32_t>(SnapshotStage::kBeforeInit) &&
      raw.stage != static_cast<uint32_t>(SnapshotStage::kAfterInit)) {
    return at(ErrorCode::kFieldOutOfRange, "stage", raw.stage, "1 (before init) or 2 (after init)");
  }
  f.meta.hypervisor = TRY(read_tag(raw.hypervisor, "hypervisor"));
  f.meta.cpu_vendor = TRY(read_tag(raw.cpu_vendor, "cpu_vendor"));
  if (!is_known_digest_algorithm(raw.digest_algorithm)) {
    return at(ErrorCode::kFieldOutOfRange, "digest_algorithm", raw.digest_algorithm, "1 (blake3-256) or 2 (xxh3-128)");
  }
  if (raw.digest_algorithm == static_cast<uint32_t>(DigestAlgorithm::kXxh3_128)) {
    for (size_t k = 16; k < raw.digest.size(); ++k) {
      if (raw.digest[k] != 0) {
        return field_error(ErrorCode::kReservedNotZero, "digest", kDigestOffset + k, raw.digest[k],
                           "xxh3-128 uses 16 bytes; the other 16 must be zero");
      }
    }
  }
  if (f.blob_offset != f.header_length) {
    return at(ErrorCode::kFieldOutOfRange, "blob_offset", f.blob_offset,
              "the blob starts right after the metadata, at header_length " + hex(f.header_length));
  }
  f.meta.stage = static_cast<SnapshotStage>(raw.stage);
  f.meta.digest_algorithm = static_cast<DigestAlgorithm>(raw.digest_algorithm);
  f.meta.digest = raw.digest;
  f.meta.format_version = f.format_version;
  return {};
}

}  // namespace

uint64_t compute_header_checksum(std::span<const uint8_t> header) {
  static constexpr uint8_t kZero[8] = {};
  XXH3_state_t* s = XXH3_createState();
  XXH3_64bits_reset(s);
  size_t first = std::min<size_t>(header.size(), kChecksumOffset);
  XXH3_64bits_update(s, header.data(), first);
  if (header.size() > kChecksumOffset) {
    size_t field = std::min<size_t>(header.size() - kChecksumOffset, 8);
    XXH3_64bits_update(s, kZero, field);
    if (header.size() > kChecksumOffset + 8) {
      XXH3_64bits_update(s, header.data() + kChecksumOffset + 8, header.size() - kChecksumOffset - 8);
    }
  }
  uint64_t h = XXH3_64bits_digest(s);
  XXH3_freeState(s);
  return h;
}

Result<uint32_t> check_fixed_header(std::span<const uint8_t> bytes, uint64_t file_size) {
  uint64_t have = std::min<uint64_t>(bytes.size(), file_size);
  if (have < kMagic.size()) {
    if (have > 0 && std::memcmp(bytes.data(), kMagic.data(), have) != 0) {
      return field_error(ErrorCode::kBadMagic, "magic", 0, le_prefix(bytes.data(), have),
                         "not a snapvm snapshot file (no \\x89SNAPVM\\n magic)");
    }
    return field_error(ErrorCode::kFileTooShort, "magic", 0, file_size, "the file ends inside the magic");
  }
  if (std::memcmp(bytes.data(), kMagic.data(), kMagic.size()) != 0) {
    return field_error(ErrorCode::kBadMagic, "magic", 0, le_prefix(bytes.data(), 8),
                       "not a snapvm snapshot file (expected the magic \\x89SNAPVM\\n)");
  }
  if (have < kVersionOffset + 4) {
    return field_error(ErrorCode::kFileTooShort, "format_version", kVersionOffset, file_size, "the file ends here");
  }
  const auto version = abi::load_le<uint32_t>(bytes.data() + kVersionOffset);
  if (version > kFormatVersion) {
    return field_error(ErrorCode::kNewerFormat, "format_version", kVersionOffset, version,
                       "format " + std::to_string(version) +
                           " was written by a newer snapvm; this snapvm reads format " +
                           std::to_string(kFormatVersion) + ": upgrade snapvm");
  }
  if (version < kMinFormatVersion) {
    return field_error(ErrorCode::kOlderFormat, "format_version", kVersionOffset, version,
                       "format " + std::to_string(version) + " is not read by this snapvm (formats " +
                           std::to_string(kMinFormatVersion) + " to " + std::to_string(kFormatVersion) +
                           "): regenerate the snapshot from the guest binary");
  }
  if (have < kHeaderLengthOffset + 4) {
    return field_error(ErrorCode::kFileTooShort, "header_length", kHeaderLengthOffset, file_size, "the file ends here");
  }
  const auto length = abi::load_le<uint32_t>(bytes.data() + kHeaderLengthOffset);
  if (length < abi::kPageSize || length > kMaxHeaderLength) {
    return field_error(ErrorCode::kFieldOutOfRange, "header_length", kHeaderLengthOffset, length,
                       "between 4096 and " + std::to_string(kMaxHeaderLength) + " bytes");
  }
  if (length % abi::kPageSize != 0) {
    return field_error(ErrorCode::kMisaligned, "header_length", kHeaderLengthOffset, length,
                       "a multiple of 4096 (the blob starts page aligned right after the metadata)");
  }
  if (length > file_size) {
    return field_error(ErrorCode::kFileTooShort, "header_length", kHeaderLengthOffset, length,
                       "the file has only " + std::to_string(file_size) + " bytes");
  }
  if (have < kFixedHeaderSize) {
    return field_error(ErrorCode::kFileTooShort, "header_checksum", kChecksumOffset, file_size, "the file ends here");
  }
  return length;
}

std::vector<uint8_t> encode_metadata(const SnapshotMetadata& s, DigestAlgorithm algorithm, const Digest& digest,
                                     std::optional<ChunkTableRef> chunks) {
  DecodedSnapshotFile f;
  f.format_version = chunks ? 2 : 1;
  f.chunks = chunks;
  f.meta = s;
  for (const Region& r : s.layout.regions) {
    f.region_offsets.push_back(f.blob_size);
    f.blob_size += r.size;
  }
  Raw raw;
  raw.magic = kMagic;
  raw.architecture = make_tag<8>(kArchitecture);
  raw.hypervisor = make_tag<8>(s.hypervisor.empty() ? kHypervisor : s.hypervisor);
  raw.cpu_vendor = make_tag<kCpuVendorSize>(s.cpu_vendor.empty() ? host_cpu_vendor() : s.cpu_vendor);
  raw.stage = static_cast<uint32_t>(s.stage);
  raw.digest_algorithm = static_cast<uint32_t>(algorithm);
  raw.digest = digest;
  if (algorithm == DigestAlgorithm::kXxh3_128) std::fill(raw.digest.begin() + 16, raw.digest.end(), 0);

  Writer w;
  auto count = static_cast<uint32_t>(s.layout.regions.size());
  walk_fixed(w, f, raw, count);
  walk_variable(w, f, count);
  uint64_t length = (w.out.size() + abi::kPageSize - 1) / abi::kPageSize * abi::kPageSize;
  w.out.resize(length, 0);
  abi::store_le(&w.out[kHeaderLengthOffset], static_cast<uint32_t>(length));
  abi::store_le(&w.out[kBlobOffsetOffset], length);
  if (chunks) abi::store_le(&w.out[f.chunks_descriptor_offset + 8], length + f.blob_size);
  abi::store_le(&w.out[kChecksumOffset], compute_header_checksum(w.out));
  return std::move(w.out);
}

Result<DecodedSnapshotFile> decode_metadata(std::span<const uint8_t> bytes, uint64_t file_size) {
  uint32_t length = TRY(check_fixed_header(bytes, file_size));
  if (bytes.size() < length) {
    return field_error(ErrorCode::kFileTooShort, "header_length", kHeaderLengthOffset, length,
                       "only " + std::to_string(bytes.size()) + " bytes of metadata were read");
  }
  std::span<const uint8_t> header = bytes.first(length);
  const auto stored = abi::load_le<uint64_t>(header.data() + kChecksumOffset);
  uint64_t computed = compute_header_checksum(header);
  if (stored != computed) {
    return field_error(ErrorCode::kHeaderChecksum, "header_checksum", kChecksumOffset, stored,
                       "the metadata hashes to " + hex(computed) + " (XXH3-64): the header is corrupt");
  }

  Reader r(header, nullptr);
  DecodedSnapshotFile f;
  Raw raw;
  uint32_t count = 0;
  walk_fixed(r, f, raw, count);
  if (r.error) return std::move(*r.error);
  TRY(read_platform(f, raw));
  walk_variable(r, f, count);
  if (r.error) return std::move(*r.error);
  if (f.chunks) f.meta.digest_chunk_size = f.chunks->chunk_size;

  uint64_t end = r.position();
  if ((end + abi::kPageSize - 1) / abi::kPageSize * abi::kPageSize != length) {
    return field_error(ErrorCode::kFieldOutOfRange, "header_length", kHeaderLengthOffset, length,
                       "the metadata ends at " + hex(end) + ": header_length is the next page boundary");
  }
  for (uint64_t k = end; k < length; ++k) {
    if (header[k] != 0) return field_error(ErrorCode::kReservedNotZero, "padding", k, header[k], "zero padding");
  }
  return f;
}

std::vector<FieldInfo> describe_fields(std::span<const uint8_t> file) {
  std::vector<FieldInfo> fields;
  uint64_t limit = file.size();
  if (file.size() >= kFixedHeaderSize) {
    const auto length = abi::load_le<uint32_t>(file.data() + kHeaderLengthOffset);
    if (length >= kFixedHeaderSize && length <= file.size()) limit = length;
  }
  Reader r(file.first(limit), &fields);
  DecodedSnapshotFile f;
  Raw raw;
  uint32_t count = 0;
  walk_fixed(r, f, raw, count);
  walk_variable(r, f, count);
  if (!r.failed() && r.position() < limit) fields.push_back(FieldInfo{"padding", r.position(), limit - r.position()});
  if (limit < file.size()) {
    // A format 2 file whose descriptor was read and points inside the file: blob, then chunk table.
    uint64_t blob_end = file.size();
    if (!r.failed() && f.chunks && f.chunks->table_offset > limit && f.chunks->table_offset < file.size()) {
      blob_end = f.chunks->table_offset;
    }
    fields.push_back(FieldInfo{"blob", limit, blob_end - limit});
    if (blob_end < file.size()) fields.push_back(FieldInfo{"chunk_table", blob_end, file.size() - blob_end});
  }
  return fields;
}

std::optional<uint64_t> field_offset(std::string_view name) {
  for (const FieldInfo& f : fixed_fields()) {
    if (f.name == name) return f.offset;
  }
  // regions[i].member
  static constexpr std::string_view kPrefix = "regions[";
  if (name.substr(0, kPrefix.size()) != kPrefix) return std::nullopt;
  size_t close = name.find(']');
  if (close == std::string_view::npos || close + 1 >= name.size() || name[close + 1] != '.') return std::nullopt;
  uint64_t index = 0;
  for (size_t k = kPrefix.size(); k < close; ++k) {
    if (name[k] < '0' || name[k] > '9' || index > kMaxRegions) return std::nullopt;
    index = index * 10 + static_cast<uint64_t>(name[k] - '0');
  }
  static constexpr std::pair<std::string_view, uint64_t> kMembers[] = {
      {"guest_address", 0}, {"size", 8}, {"blob_offset", 16}, {"flags", 24}, {"kind", 28}};
  std::string_view member = name.substr(close + 2);
  for (const auto& [m, off] : kMembers) {
    if (m == member) return kRegionEntriesOffset + index * kRegionEntrySize + off;
  }
  return std::nullopt;
}

}  // namespace snapvm::format
