// chunk_digest.h: the chunked content digest (format 2): the memory blob in fixed chunks, a table of
// the digests of the chunks that are not all zero, and a root digest over that table. Its cost follows
// the data a file holds, not the blob's size, and a hole and the same bytes stored as zeros give one value.
//
// Definition (all integers little-endian, H = the file's algorithm, a Digest as in digest.h):
//   chunk i covers blob bytes [i * chunk_size, min((i + 1) * chunk_size, blob_size)); the last may be short.
//   chunk_digest(i) = H(bytes of chunk i). Chunk i is a ZERO CHUNK iff chunk_digest(i) equals H(that many
//   zero bytes) (precomputed), whether it is stored as a hole or as zero bytes; the table omits it.
//   table   = the non-zero chunks, ascending index: { u32 index; u32 reserved = 0; u8 digest[32] } (40 bytes;
//             XXH3-128 fills the first 16 digest bytes, the rest are zero).
//   root    = H("snapvm chunked v2\0" (18 bytes) || u64 chunk_size || u64 blob_size || u64 entry_count || table).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "snapshot/digest.h"
#include "snapvm/result.h"
#include "snapvm/snapshot.h"

namespace snapvm {

inline constexpr uint64_t kDigestChunkSize = uint64_t{64} << 10;     // 16 pages: the default and what format 2 writes
inline constexpr uint64_t kMaxDigestChunkSize = uint64_t{16} << 20;  // the largest chunk_size a table may declare
inline constexpr size_t kChunkEntryBytes = 40;                       // one table entry on disk
inline constexpr unsigned kMaxHashThreads = 8;                       // the cap on threads = 0 (one per hardware thread)
inline constexpr char kChunkedRootTag[] = "snapvm chunked v2";       // hashed with its NUL: 18 bytes

struct ChunkEntry {
  uint32_t index = 0;
  Digest digest{};
  bool operator==(const ChunkEntry&) const = default;
};

struct ChunkedDigest {
  DigestAlgorithm algorithm = DigestAlgorithm::kBlake3_256;
  uint64_t chunk_size = kDigestChunkSize;
  uint64_t blob_size = 0;
  std::vector<ChunkEntry> entries;  // the non-zero chunks, ascending index
  Digest root{};
  bool operator==(const ChunkedDigest&) const = default;
};

// ceil(blob_size / chunk_size); chunk_size must be non-zero.
uint64_t chunk_count(uint64_t blob_size, uint64_t chunk_size);

// H(`length` zero bytes), cached: what a zero chunk of that length hashes to.
Digest zero_chunk_digest(DigestAlgorithm algorithm, uint64_t length);

// The root over a table, as defined above.
Digest chunked_root(DigestAlgorithm algorithm, uint64_t chunk_size, uint64_t blob_size,
                    std::span<const ChunkEntry> entries);

// The table's bytes on disk, and back. decode checks the length (a multiple of kChunkEntryBytes) and that
// every reserved word is zero; `table_offset`, when known, is the table's file offset, for error offsets.
std::vector<uint8_t> encode_chunk_table(std::span<const ChunkEntry> entries);
Result<std::vector<ChunkEntry>> decode_chunk_table(std::span<const uint8_t> bytes,
                                                   std::optional<uint64_t> table_offset = {});

// The table's own consistency, without reading the blob: a known algorithm, chunk_size a non-zero page
// multiple up to kMaxDigestChunkSize, blob_size equal to `blob_size` (a page multiple), indices strictly
// ascending and below chunk_count, XXH3 digests zero past byte 16. Errors name "blob.chunk_table[k]...".
Status check_chunk_table(const ChunkedDigest& table, uint64_t blob_size, std::optional<uint64_t> table_offset = {});

struct ChunkHashOptions {
  uint64_t chunk_size = kDigestChunkSize;  // computing only; verifying uses the table's
  unsigned threads = 0;                    // 0: one per hardware thread, at most kMaxHashThreads; 1: caller only
  ProgressFn progress;                     // (bytes done, bytes total), called on the calling thread only
};

struct ChunkVerifyOptions {
  unsigned threads = 0;  // as in ChunkHashOptions
  ProgressFn progress;
  // Verify only chunks [first_chunk, first_chunk + chunk_count) (clamped to the blob); the table and its
  // root are always checked in full, so a verified part is a part of the blob the root vouches for.
  uint64_t first_chunk = 0;
  uint64_t chunk_count = UINT64_MAX;
  std::optional<uint64_t> table_offset;  // the table's file offset, for the offsets of table errors
};

// The chunked digest of an in-memory blob (chunks hashed on several threads, straight from `blob`).
Result<ChunkedDigest> compute_chunked_digest(DigestAlgorithm algorithm, std::span<const uint8_t> blob,
                                             const ChunkHashOptions& options = {});

// The chunked digest of regions laid back to back (each a page multiple), on the calling thread.
Result<ChunkedDigest> compute_chunked_digest(DigestAlgorithm algorithm,
                                             const std::vector<std::span<const uint8_t>>& regions,
                                             uint64_t chunk_size = kDigestChunkSize);

// The chunked digest of [offset, offset + size) of `fd`. Chunks wholly inside holes (SEEK_HOLE) are not
// read; the others are read with pread into small per-thread buffers (the page cache stays the only
// copy) and hashed on several threads. A file shorter than the range fails with kFileTooShort.
Result<ChunkedDigest> compute_chunked_digest_fd(DigestAlgorithm algorithm, int fd, uint64_t offset, uint64_t size,
                                                const ChunkHashOptions& options = {});

// Checks [offset, offset + size) of `fd` against `expected` (its algorithm, geometry, table and root):
// check_chunk_table, then the root over the table (kContentDigest, field "blob.chunks.root"), then every
// chunk in the range, as compute_chunked_digest_fd reads them. A chunk that differs fails with
// kContentDigest, field "blob.chunks[<index>]", offset = its file offset, value = its index, and a detail
// naming both digests: a data chunk whose digest differs, a table entry over a hole or zero chunk, or a
// chunk holding data that the table omits. The lowest such chunk is reported.
Status verify_chunked_digest(int fd, uint64_t offset, uint64_t size, const ChunkedDigest& expected,
                             const ChunkVerifyOptions& options = {});

// The chunked digest of a blob fed in order while it is written: update() takes the next bytes (any
// lengths), skip_zeros() takes the next `size` bytes known to be zero (a hole): chunks wholly inside are
// not hashed at all. One thread; the result equals compute_chunked_digest of the same bytes.
class ChunkedDigestBuilder {
 public:
  ChunkedDigestBuilder(DigestAlgorithm algorithm, uint64_t blob_size, uint64_t chunk_size = kDigestChunkSize);

  void update(std::span<const uint8_t> bytes);
  void skip_zeros(uint64_t size);
  uint64_t position() const { return position_; }
  // Fails (kInvalidConfig) unless exactly blob_size bytes were fed, or if the geometry is invalid.
  Result<ChunkedDigest> finish();

 private:
  uint64_t chunk_length(uint64_t index) const;
  void add_chunk(uint64_t index, std::span<const uint8_t> bytes);
  // Feeds up to the end of the current chunk; returns how many bytes it took.
  uint64_t feed(const uint8_t* bytes, uint64_t size);

  DigestAlgorithm algorithm_;
  uint64_t chunk_size_;
  uint64_t blob_size_;
  uint64_t position_ = 0;
  bool overfed_ = false;
  std::vector<uint8_t> pending_;  // the current chunk's bytes so far, when it arrives in pieces
  bool pending_data_ = false;     // update() contributed to the pending chunk (else it is all zeros)
  std::vector<ChunkEntry> entries_;
};

}  // namespace snapvm
