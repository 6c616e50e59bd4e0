// chunk_digest.cpp: the chunked digest's definition (zero chunks, table bytes, root), the checks of a
// table, computing it from memory or an fd, and verifying an fd against it, naming the chunk at fault.
#include "snapshot/chunk_digest.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <map>
#include <mutex>
#include <string>
#include <utility>

#include "snapshot/chunk_scan.h"
#include "snapvm/abi/byte_order.h"
#include "snapvm/abi/layout.h"

namespace snapvm {

uint64_t chunk_count(uint64_t blob_size, uint64_t chunk_size) {
  return blob_size / chunk_size + (blob_size % chunk_size != 0 ? 1 : 0);
}

Digest zero_chunk_digest(DigestAlgorithm algorithm, uint64_t length) {
  static std::mutex mu;
  static std::map<std::pair<DigestAlgorithm, uint64_t>, Digest> cache;
  std::lock_guard lock(mu);
  auto [it, added] = cache.try_emplace({algorithm, length});
  if (added) {
    Hasher h(algorithm);
    hash_zeros(h, length);
    it->second = h.finish();
  }
  return it->second;
}

std::vector<uint8_t> encode_chunk_table(std::span<const ChunkEntry> entries) {
  std::vector<uint8_t> bytes(entries.size() * kChunkEntryBytes);
  for (size_t k = 0; k < entries.size(); ++k) {
    uint8_t* p = bytes.data() + k * kChunkEntryBytes;
    abi::store_le<uint32_t>(p, entries[k].index);
    abi::store_le<uint32_t>(p + 4, 0);
    std::copy(entries[k].digest.begin(), entries[k].digest.end(), p + 8);
  }
  return bytes;
}

Digest chunked_root(DigestAlgorithm algorithm, uint64_t chunk_size, uint64_t blob_size,
                    std::span<const ChunkEntry> entries) {
  uint8_t head[sizeof kChunkedRootTag + 24];
  std::copy(std::begin(kChunkedRootTag), std::end(kChunkedRootTag), head);
  abi::store_le<uint64_t>(head + sizeof kChunkedRootTag, chunk_size);
  abi::store_le<uint64_t>(head + sizeof kChunkedRootTag + 8, blob_size);
  abi::store_le<uint64_t>(head + sizeof kChunkedRootTag + 16, entries.size());
  Hasher h(algorithm);
  h.update(head);
  constexpr size_t kPiece = 1024;  // entries encoded per update: a bounded buffer however big the table
  for (size_t k = 0; k < entries.size(); k += kPiece) {
    h.update(encode_chunk_table(entries.subspan(k, std::min(kPiece, entries.size() - k))));
  }
  return h.finish();
}

namespace {

std::string entry_field(size_t k, const char* member) { return "blob.chunk_table[" + std::to_string(k) + "]" + member; }

Error table_error(std::optional<uint64_t> table_offset, size_t k, const char* member, uint64_t value,
                  std::string detail) {
  Error e = make_error(ErrorCode::kFieldOutOfRange, entry_field(k, member), std::move(detail));
  if (table_offset) e.offset = *table_offset + k * kChunkEntryBytes;
  e.value = value;
  return e;
}

Error geometry_error(const char* field, uint64_t value, std::string detail) {
  Error e = make_error(ErrorCode::kFieldOutOfRange, field, std::move(detail));
  e.value = value;
  return e;
}

}  // namespace

Result<std::vector<ChunkEntry>> decode_chunk_table(std::span<const uint8_t> bytes,
                                                   std::optional<uint64_t> table_offset) {
  if (bytes.size() % kChunkEntryBytes != 0) {
    Error e = geometry_error("blob.chunk_table", bytes.size(), "the table's length is not a multiple of 40 bytes");
    e.offset = table_offset;
    return e;
  }
  std::vector<ChunkEntry> entries(bytes.size() / kChunkEntryBytes);
  for (size_t k = 0; k < entries.size(); ++k) {
    const uint8_t* p = bytes.data() + k * kChunkEntryBytes;
    if (uint32_t reserved = abi::load_le<uint32_t>(p + 4); reserved != 0) {
      return table_error(table_offset, k, ".reserved", reserved, "expected 0");
    }
    entries[k].index = abi::load_le<uint32_t>(p);
    std::copy(p + 8, p + kChunkEntryBytes, entries[k].digest.begin());
  }
  return entries;
}

Status check_chunk_table(const ChunkedDigest& t, uint64_t blob_size, std::optional<uint64_t> table_offset) {
  if (!is_known_digest_algorithm(static_cast<uint32_t>(t.algorithm))) {
    return geometry_error("blob.chunks.algorithm", static_cast<uint32_t>(t.algorithm), "an unknown digest algorithm");
  }
  if (t.chunk_size == 0 || t.chunk_size % abi::kPageSize != 0 || t.chunk_size > kMaxDigestChunkSize) {
    return geometry_error("blob.chunks.chunk_size", t.chunk_size, "expected a page multiple, at most 16 MiB");
  }
  if (t.blob_size != blob_size || blob_size % abi::kPageSize != 0) {
    return geometry_error("blob.chunks.blob_size", t.blob_size,
                          "expected the blob's size, " + std::to_string(blob_size) + ", a page multiple");
  }
  const uint64_t count = chunk_count(blob_size, t.chunk_size);
  if (count > uint64_t{UINT32_MAX} + 1) {
    return geometry_error("blob.chunks.chunk_size", t.chunk_size, "too many chunks for 32-bit indices");
  }
  for (size_t k = 0; k < t.entries.size(); ++k) {
    const ChunkEntry& e = t.entries[k];
    if (e.index >= count) {
      return table_error(table_offset, k, ".index", e.index,
                         "expected below the chunk count, " + std::to_string(count));
    }
    if (k > 0 && e.index <= t.entries[k - 1].index) {
      return table_error(
          table_offset, k, ".index", e.index,
          "indices must be strictly ascending; the previous is " + std::to_string(t.entries[k - 1].index));
    }
    if (t.algorithm == DigestAlgorithm::kXxh3_128 &&
        std::any_of(e.digest.begin() + 16, e.digest.end(), [](uint8_t b) { return b != 0; })) {
      return table_error(table_offset, k, ".digest", e.index, "an XXH3-128 digest is zero past byte 16");
    }
  }
  return {};
}

namespace {

Status check_file_covers(int fd, uint64_t offset, uint64_t size) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return errno_error(ErrorCode::kIo, "fstat", errno);
  if (static_cast<uint64_t>(st.st_size) < offset || static_cast<uint64_t>(st.st_size) - offset < size) {
    Error e = make_error(ErrorCode::kFileTooShort, "blob_size", "the file ends inside the memory blob");
    e.offset = offset;
    e.value = size;
    return e;
  }
  return {};
}

Status check_geometry(DigestAlgorithm algorithm, uint64_t blob_size, uint64_t chunk_size) {
  ChunkedDigest t{algorithm, chunk_size, blob_size, {}, {}};
  return check_chunk_table(t, blob_size);
}

ChunkedDigest finish_digest(DigestAlgorithm algorithm, uint64_t chunk_size, uint64_t blob_size,
                            std::vector<ChunkEntry> entries) {
  ChunkedDigest d{algorithm, chunk_size, blob_size, std::move(entries), {}};
  d.root = chunked_root(algorithm, chunk_size, blob_size, d.entries);
  return d;
}

// Reads and hashes the chunks of [first, first + count) that touch data; the rest are zero chunks.
Result<std::vector<ChunkEntry>> scan_fd(DigestAlgorithm algorithm, int fd, uint64_t offset, uint64_t size,
                                        uint64_t chunk_size, uint64_t first, uint64_t count, unsigned threads,
                                        const ProgressFn& progress) {
  TRY(check_file_covers(fd, offset, size));
  detail::ChunkScan scan{algorithm, chunk_size, size, {}, threads, progress, 0, 0};
  scan.chunks = TRY(detail::data_chunks(fd, offset, size, chunk_size, first, count));
  const uint64_t total = chunk_count(size, chunk_size);
  if (first < total) {
    const uint64_t end = first + std::min(count, total - first);
    scan.progress_total = std::min(size, end * chunk_size) - first * chunk_size;
  }
  uint64_t read = 0;
  for (uint64_t c : scan.chunks) read += std::min(chunk_size, size - c * chunk_size);
  scan.progress_done = scan.progress_total - read;
  return detail::hash_chunks(scan, detail::pread_reader(fd, offset));
}

// A chunk that differs from the table: named by its index, at its file offset.
Error chunk_error(uint64_t offset, uint64_t chunk_size, uint64_t index, std::string detail) {
  Error e = make_error(ErrorCode::kContentDigest, "blob.chunks[" + std::to_string(index) + "]", std::move(detail));
  e.offset = offset + index * chunk_size;
  e.value = index;
  return e;
}

}  // namespace

Result<ChunkedDigest> compute_chunked_digest(DigestAlgorithm algorithm, std::span<const uint8_t> blob,
                                             const ChunkHashOptions& options) {
  TRY(check_geometry(algorithm, blob.size(), options.chunk_size));
  detail::ChunkScan scan{algorithm,       options.chunk_size, blob.size(), {},
                         options.threads, options.progress,   0,           blob.size()};
  scan.chunks.resize(chunk_count(blob.size(), options.chunk_size));
  for (uint64_t c = 0; c < scan.chunks.size(); ++c) scan.chunks[c] = c;
  auto in_place = [&](uint64_t from, uint64_t, uint8_t*) -> Result<const uint8_t*> { return blob.data() + from; };
  auto entries = TRY(detail::hash_chunks(scan, in_place));
  return finish_digest(algorithm, options.chunk_size, blob.size(), std::move(entries));
}

Result<ChunkedDigest> compute_chunked_digest(DigestAlgorithm algorithm,
                                             const std::vector<std::span<const uint8_t>>& regions,
                                             uint64_t chunk_size) {
  uint64_t size = 0;
  for (const auto& r : regions) size += r.size();
  ChunkedDigestBuilder builder(algorithm, size, chunk_size);
  for (const auto& r : regions) builder.update(r);
  return builder.finish();
}

Result<ChunkedDigest> compute_chunked_digest_fd(DigestAlgorithm algorithm, int fd, uint64_t offset, uint64_t size,
                                                const ChunkHashOptions& options) {
  TRY(check_geometry(algorithm, size, options.chunk_size));
  auto entries =
      TRY(scan_fd(algorithm, fd, offset, size, options.chunk_size, 0, UINT64_MAX, options.threads, options.progress));
  return finish_digest(algorithm, options.chunk_size, size, std::move(entries));
}

Status verify_chunked_digest(int fd, uint64_t offset, uint64_t size, const ChunkedDigest& expected,
                             const ChunkVerifyOptions& options) {
  TRY(check_chunk_table(expected, size, options.table_offset));
  const DigestAlgorithm a = expected.algorithm;
  const uint64_t cs = expected.chunk_size;
  if (Digest root = chunked_root(a, cs, size, expected.entries); root != expected.root) {
    return make_error(
        ErrorCode::kContentDigest, "blob.chunks.root",
        "the table hashes to " + digest_to_hex(a, root) + ", the file records " + digest_to_hex(a, expected.root));
  }
  const uint64_t first = options.first_chunk;
  const uint64_t count = options.chunk_count;
  auto actual = TRY(scan_fd(a, fd, offset, size, cs, first, count, options.threads, options.progress));

  // The expected entries within the range, merged with the actual ones: the first difference is reported.
  const uint64_t end = first + std::min(count, chunk_count(size, cs) - std::min(first, chunk_count(size, cs)));
  auto lo = std::lower_bound(expected.entries.begin(), expected.entries.end(), first,
                             [](const ChunkEntry& e, uint64_t i) { return e.index < i; });
  auto hi =
      std::lower_bound(lo, expected.entries.end(), end, [](const ChunkEntry& e, uint64_t i) { return e.index < i; });
  auto got = actual.begin();
  for (auto want = lo; want != hi || got != actual.end();) {
    if (got == actual.end() || (want != hi && want->index < got->index)) {
      return chunk_error(offset, cs, want->index,
                         "the table lists digest " + digest_to_hex(a, want->digest) +
                             " but the file holds only zeros there (a hole or zero bytes)");
    }
    if (want == hi || got->index < want->index) {
      return chunk_error(
          offset, cs, got->index,
          "the chunk holds data (digest " + digest_to_hex(a, got->digest) + ") but the table has no entry for it");
    }
    if (want->digest != got->digest) {
      return chunk_error(
          offset, cs, got->index,
          "digest " + digest_to_hex(a, got->digest) + ", the table says " + digest_to_hex(a, want->digest));
    }
    ++want, ++got;
  }
  return {};
}

}  // namespace snapvm
