// file_patch.cpp: in-place field edits with checksum repair, for tests, fuzzers and the harness.
#include "snapshot/file_patch.h"

#include <algorithm>
#include <cstring>

#include "snapshot/digest.h"
#include "snapvm/abi/byte_order.h"

namespace snapvm::format {

namespace {
// The little-endian field at [offset, offset + size), or 0 where it does not fit in the file.
uint64_t read_at(std::span<const uint8_t> file, uint64_t offset, size_t size) {
  const bool inside = offset <= file.size() && size <= file.size() - offset;
  return inside ? abi::load_le(file.data() + offset, size) : 0;
}
}  // namespace

void fix_header_checksum(std::span<uint8_t> file) {
  if (file.size() < kFixedHeaderSize) return;
  uint64_t length = std::min<uint64_t>(read_at(file, kHeaderLengthOffset, 4), file.size());
  length = std::max<uint64_t>(length, kFixedHeaderSize);
  abi::store_le(file.data() + kChecksumOffset, compute_header_checksum(file.first(length)));
}

void fix_content_digest(std::span<uint8_t> file) {
  if (file.size() < kDigestOffset + sizeof(Digest)) return;
  uint64_t offset = std::min<uint64_t>(read_at(file, kBlobOffsetOffset, 8), file.size());
  uint64_t size = std::min<uint64_t>(read_at(file, kBlobSizeOffset, 8), file.size() - offset);
  auto raw = static_cast<uint32_t>(read_at(file, kDigestAlgorithmOffset, 4));
  DigestAlgorithm algorithm =
      is_known_digest_algorithm(raw) ? static_cast<DigestAlgorithm>(raw) : DigestAlgorithm::kBlake3_256;
  Digest d = compute_digest(algorithm, file.subspan(offset, size));
  std::memcpy(file.data() + kDigestOffset, d.data(), d.size());
  fix_header_checksum(file);
}

std::optional<FieldInfo> find_field(std::span<const uint8_t> file, std::string_view name) {
  for (FieldInfo& f : describe_fields(file)) {
    if (f.name == name) return std::move(f);
  }
  return std::nullopt;
}

bool set_field(std::span<uint8_t> file, std::string_view name, uint64_t value) {
  std::optional<FieldInfo> f = find_field(file, name);
  if (!f) return false;
  abi::store_le(file.data() + f->offset, std::min<size_t>(f->size, 8), value);
  fix_header_checksum(file);
  return true;
}

std::optional<uint64_t> get_field(std::span<const uint8_t> file, std::string_view name) {
  std::optional<FieldInfo> f = find_field(file, name);
  if (!f || f->size > 8) return std::nullopt;
  return read_at(file, f->offset, f->size);
}

}  // namespace snapvm::format
