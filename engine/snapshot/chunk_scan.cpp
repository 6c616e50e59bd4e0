// chunk_scan.cpp: finds the chunks that hold data and hashes them on a few threads. Each worker takes a
// batch of up to 256 KiB of chunks at a time, reads it (one pread per contiguous run) into its own
// buffer, and hashes it while it is still in cache; with two or more workers one reads while another
// hashes, so reading and hashing overlap without any copy of the blob beyond those small buffers.
#include "snapshot/chunk_scan.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <memory>
#include <mutex>
#include <system_error>
#include <thread>
#include <vector>

#include "snapshot/memory_blob.h"

namespace snapvm::detail {

unsigned hash_threads(unsigned threads, uint64_t work) {
  if (threads == 0) threads = std::clamp(std::thread::hardware_concurrency(), 1u, kMaxHashThreads);
  return static_cast<unsigned>(std::clamp<uint64_t>(work, 1, threads));
}

Result<std::vector<uint64_t>> data_chunks(int fd, uint64_t offset, uint64_t size, uint64_t chunk_size, uint64_t first,
                                          uint64_t count) {
  std::vector<uint64_t> chunks;
  const uint64_t total = chunk_count(size, chunk_size);
  if (first >= total) return chunks;
  const uint64_t from = first * chunk_size;
  const uint64_t to = std::min(size, (first + std::min(count, total - first)) * chunk_size);
  Status walked = for_each_extent(fd, offset + from, to - from, [&](uint64_t at, uint64_t length, bool data) -> Status {
    if (!data || length == 0) return {};
    uint64_t c = (from + at) / chunk_size;
    const uint64_t end = (from + at + length - 1) / chunk_size;
    if (!chunks.empty() && chunks.back() >= c) c = chunks.back() + 1;  // two extents in one chunk
    for (; c <= end; ++c) chunks.push_back(c);
    return {};
  });
  if (!walked) return std::move(walked).error();
  return chunks;
}

ChunkReader pread_reader(int fd, uint64_t offset) {
  return [fd, offset](uint64_t from, uint64_t length, uint8_t* buffer) -> Result<const uint8_t*> {
    uint64_t done = 0;
    while (done < length) {
      ssize_t n = ::pread(fd, buffer + done, length - done, static_cast<off_t>(offset + from + done));
      if (n < 0) {
        if (errno == EINTR) continue;
        return errno_error(ErrorCode::kIo, "pread(blob)", errno);
      }
      if (n == 0) {
        Error e = make_error(ErrorCode::kFileTooShort, "blob_size", "the file ends inside the memory blob");
        e.offset = offset + from + done;
        return e;
      }
      done += static_cast<uint64_t>(n);
    }
    return static_cast<const uint8_t*>(buffer);
  };
}

namespace {

// A worker's read buffer. Each thread keeps one of kScanBatchBytes between calls (a sparse blob's few
// chunks then cost no allocation and no page faults); only a chunk larger than that allocates, in `own`.
uint8_t* batch_buffer(uint64_t size, std::unique_ptr<uint8_t[]>& own) {
  if (size > kScanBatchBytes) {
    own = std::make_unique_for_overwrite<uint8_t[]>(size);
    return own.get();
  }
  thread_local std::vector<uint8_t> kept(kScanBatchBytes);
  return kept.data();
}

// What the workers share: the next batch to take, bytes done, and the first failure.
struct ScanState {
  const ChunkScan& scan;
  const ChunkReader& read;
  std::vector<Digest>& digests;
  size_t batch_chunks;
  std::atomic<size_t> next{0};
  std::atomic<uint64_t> done{0};
  std::atomic<bool> stop{false};
  std::mutex mu;
  std::optional<Error> error;

  void fail(Error e) {
    std::lock_guard lock(mu);
    if (!error) error = std::move(e);
    stop = true;
  }

  // Hashes the batch of scan.chunks[p, q): one read per run of consecutive chunks.
  bool hash_batch(size_t p, size_t q, uint8_t* buffer) {
    const auto& c = scan.chunks;
    const uint64_t cs = scan.chunk_size;
    for (size_t r = p; r < q;) {
      size_t e = r + 1;
      while (e < q && c[e] == c[e - 1] + 1) ++e;
      const uint64_t from = c[r] * cs;
      const uint64_t length = std::min(scan.blob_size, (c[e - 1] + 1) * cs) - from;
      auto bytes = read(from, length, buffer);
      if (!bytes) {
        fail(std::move(bytes).error());
        return false;
      }
      for (size_t k = r; k < e; ++k) {
        const uint64_t at = (c[k] - c[r]) * cs;
        digests[k] = hash_bytes(scan.algorithm, {*bytes + at, std::min(cs, length - at)});
      }
      done += length;
      r = e;
    }
    return true;
  }

  void work(bool reports) {
    std::unique_ptr<uint8_t[]> own;
    uint8_t* buffer = batch_buffer(batch_chunks * scan.chunk_size, own);
    const size_t n = scan.chunks.size();
    while (!stop) {
      const size_t p = next.fetch_add(batch_chunks);
      if (p >= n) break;
      if (!hash_batch(p, std::min(n, p + batch_chunks), buffer)) return;
      if (reports && scan.progress) scan.progress(scan.progress_done + done, scan.progress_total);
    }
  }
};

}  // namespace

Result<std::vector<ChunkEntry>> hash_chunks(const ChunkScan& scan, const ChunkReader& read) {
  std::vector<Digest> digests(scan.chunks.size());
  ScanState state{scan, read, digests, static_cast<size_t>(std::max<uint64_t>(1, kScanBatchBytes / scan.chunk_size))};
  const uint64_t batches = (scan.chunks.size() + state.batch_chunks - 1) / state.batch_chunks;
  const unsigned threads = hash_threads(scan.threads, batches);
  {
    std::vector<std::jthread> helpers;
    for (unsigned t = 1; t < threads; ++t) {
      try {
        helpers.emplace_back([&state] { state.work(false); });
      } catch (const std::system_error&) {
        break;  // fewer threads than asked for: the others still finish the work
      }
    }
    state.work(true);
  }  // joins the helpers
  if (state.error) return std::move(*state.error);
  if (scan.progress && scan.progress_total > 0) scan.progress(scan.progress_total, scan.progress_total);

  std::vector<ChunkEntry> entries;
  const uint64_t count = chunk_count(scan.blob_size, scan.chunk_size);
  const Digest zero = zero_chunk_digest(scan.algorithm, scan.chunk_size);
  for (size_t k = 0; k < scan.chunks.size(); ++k) {
    const uint64_t c = scan.chunks[k];
    const bool short_last = c + 1 == count && scan.blob_size % scan.chunk_size != 0;
    const Digest& z = short_last ? zero_chunk_digest(scan.algorithm, scan.blob_size % scan.chunk_size) : zero;
    if (digests[k] != z) entries.push_back({static_cast<uint32_t>(c), digests[k]});
  }
  return entries;
}

}  // namespace snapvm::detail
