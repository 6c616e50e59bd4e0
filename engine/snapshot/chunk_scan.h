// chunk_scan.h: the engine under chunk_digest.h: which chunks of an fd range hold data (SEEK_DATA), and
// hashing a list of chunks on several threads, each reading into its own small buffer.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "snapshot/chunk_digest.h"

namespace snapvm::detail {

// Makes the bytes [from, from + length) of the blob readable: reads them into `buffer` (room for
// kScanBatchBytes) and returns it, or returns where they already are in memory.
using ChunkReader = std::function<Result<const uint8_t*>(uint64_t from, uint64_t length, uint8_t* buffer)>;

// Bytes each worker takes (and buffers) at a time: 256 KiB, small enough to stay in L2 while it is hashed.
inline constexpr uint64_t kScanBatchBytes = uint64_t{256} << 10;

struct ChunkScan {
  DigestAlgorithm algorithm = DigestAlgorithm::kBlake3_256;
  uint64_t chunk_size = kDigestChunkSize;
  uint64_t blob_size = 0;
  std::vector<uint64_t> chunks;  // the chunks to hash, ascending
  unsigned threads = 0;          // 0: hardware threads, capped at kMaxHashThreads
  ProgressFn progress;           // called on the calling thread
  uint64_t progress_done = 0;    // bytes already accounted for (chunks not read: holes)
  uint64_t progress_total = 0;
};

// The chunks among [first, first + count) that overlap a data extent of [offset, offset + size) of `fd`,
// ascending: the ones that must be read. Costs one lseek pair per extent.
Result<std::vector<uint64_t>> data_chunks(int fd, uint64_t offset, uint64_t size, uint64_t chunk_size, uint64_t first,
                                          uint64_t count);

// Hashes every chunk in scan.chunks; returns the entries of those that are not zero chunks, ascending.
Result<std::vector<ChunkEntry>> hash_chunks(const ChunkScan& scan, const ChunkReader& read);

// pread of [offset + from, offset + from + length) of `fd` into `buffer`, all of it (kFileTooShort at EOF).
ChunkReader pread_reader(int fd, uint64_t offset);

// The thread count for `threads` (0 = hardware) and `work` batches: never more threads than batches.
unsigned hash_threads(unsigned threads, uint64_t work);

}  // namespace snapvm::detail
