// file_patch.cpp: in-place field edits with checksum repair, for tests, fuzzers and the harness.
#include "snapshot/file_patch.h"

#include <algorithm>
#include <cstring>

#include "snapshot/chunk_digest.h"
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

namespace {
struct BlobPlace {
  uint64_t offset = 0, size = 0;
  DigestAlgorithm algorithm = DigestAlgorithm::kBlake3_256;
  std::optional<FieldInfo> chunk_size, table_offset, count;  // format 2's descriptor, when readable
};

BlobPlace blob_place(std::span<const uint8_t> file) {
  BlobPlace b;
  b.offset = std::min<uint64_t>(read_at(file, kBlobOffsetOffset, 8), file.size());
  b.size = std::min<uint64_t>(read_at(file, kBlobSizeOffset, 8), file.size() - b.offset);
  auto raw = static_cast<uint32_t>(read_at(file, kDigestAlgorithmOffset, 4));
  if (is_known_digest_algorithm(raw)) b.algorithm = static_cast<DigestAlgorithm>(raw);
  if (read_at(file, kVersionOffset, 4) >= 2) {
    b.chunk_size = find_field(file, "chunks.chunk_size");
    b.table_offset = find_field(file, "chunks.table_offset");
    b.count = find_field(file, "chunks.count");
  }
  return b;
}

// The chunked digest of the blob with the file's chunk size (the default where it is unusable). Built
// chunk by chunk: a mutated file's blob need not be a page multiple, which the hashing library refuses.
ChunkedDigest chunked_digest_of(std::span<const uint8_t> file, const BlobPlace& b) {
  ChunkedDigest c;
  c.algorithm = b.algorithm;
  c.chunk_size = read_at(file, b.chunk_size->offset, 8);
  if (c.chunk_size == 0 || c.chunk_size % 4096 != 0 || c.chunk_size > kMaxDigestChunkSize) {
    c.chunk_size = kDigestChunkSize;
  }
  c.blob_size = b.size;
  std::span<const uint8_t> blob = file.subspan(b.offset, b.size);
  for (uint64_t at = 0, index = 0; at < blob.size(); at += c.chunk_size, ++index) {
    std::span<const uint8_t> chunk = blob.subspan(at, std::min<uint64_t>(c.chunk_size, blob.size() - at));
    Digest d = compute_digest(c.algorithm, chunk);
    if (d != zero_chunk_digest(c.algorithm, chunk.size())) c.entries.push_back({static_cast<uint32_t>(index), d});
  }
  c.root = chunked_root(c.algorithm, c.chunk_size, c.blob_size, c.entries);
  return c;
}

void store_digest(std::span<uint8_t> file, const Digest& d) {
  std::memcpy(file.data() + kDigestOffset, d.data(), d.size());
  fix_header_checksum(file);
}
}  // namespace

void fix_content_digest(std::vector<uint8_t>& file) {
  if (file.size() < kDigestOffset + sizeof(Digest)) return;
  const BlobPlace b = blob_place(file);
  if (!b.chunk_size || !b.table_offset || !b.count) return fix_content_digest(std::span<uint8_t>(file));
  const ChunkedDigest c = chunked_digest_of(file, b);
  const std::vector<uint8_t> table = encode_chunk_table(c.entries);
  file.resize(b.offset + b.size);
  file.insert(file.end(), table.begin(), table.end());
  abi::store_le(file.data() + b.table_offset->offset, 8, b.offset + b.size);
  abi::store_le(file.data() + b.count->offset, 4, c.entries.size());
  store_digest(file, c.root);
}

void fix_content_digest(std::span<uint8_t> file) {
  if (file.size() < kDigestOffset + sizeof(Digest)) return;
  const BlobPlace b = blob_place(file);
  if (!b.chunk_size || !b.table_offset || !b.count) {
    return store_digest(file, compute_digest(b.algorithm, file.subspan(b.offset, b.size)));
  }
  ChunkedDigest c = chunked_digest_of(file, b);
  const uint64_t room = (file.size() - b.offset - b.size) / kChunkEntryBytes;
  if (c.entries.size() > room) c.entries.resize(room);
  const std::vector<uint8_t> table = encode_chunk_table(c.entries);
  std::copy(table.begin(), table.end(), file.begin() + static_cast<ptrdiff_t>(b.offset + b.size));
  abi::store_le(file.data() + b.table_offset->offset, 8, b.offset + b.size);
  abi::store_le(file.data() + b.count->offset, 4, c.entries.size());
  store_digest(file, chunked_root(b.algorithm, c.chunk_size, b.size, c.entries));
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
