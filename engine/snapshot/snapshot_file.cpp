// snapshot_file.cpp: Snapshot::load (one load path for from_file and from_file_unchecked) and
// Snapshot::to_file (atomic through detail::AtomicFile: temp file in the same directory, fsync, rename,
// fsync the directory).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "snapshot/atomic_file.h"
#include "snapshot/chunk_digest.h"
#include "snapshot/digest.h"
#include "snapshot/format.h"
#include "snapshot/memory_blob.h"
#include "snapshot/snapshot_access.h"
#include "snapshot/validate.h"
#include "snapvm/abi/layout.h"
#include "snapvm/snapshot.h"

namespace snapvm {

namespace {
using detail::MemoryBlob;
using detail::SnapshotData;
constexpr uint64_t kChunk = 1 << 20;

Status pread_all(int fd, uint8_t* data, uint64_t size, uint64_t offset, const char* what = "header") {
  while (size > 0) {
    ssize_t n = ::pread(fd, data, size, static_cast<off_t>(offset));
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno_error(ErrorCode::kIo, std::string("pread(snapshot ") + what + ")", errno);
    }
    if (n == 0) {
      Error e = make_error(ErrorCode::kFileChanged, "file size",
                           std::string("the file shrank while its ") + what + " was read");
      e.offset = offset;
      return e;
    }
    data += n;
    size -= static_cast<uint64_t>(n);
    offset += static_cast<uint64_t>(n);
  }
  return {};
}

// What write_blob feeds the bytes it copies to: the flat digest (format 1) or the chunked one (format 2).
struct BlobDigestSink {
  virtual ~BlobDigestSink() = default;
  virtual void data(std::span<const uint8_t> bytes) = 0;
  virtual void zeros(uint64_t size) = 0;  // a hole of the source: known zero, not read
};
struct FlatSink final : BlobDigestSink {
  explicit FlatSink(DigestAlgorithm a) : hasher(a) {}
  void data(std::span<const uint8_t> bytes) override { hasher.update(bytes); }
  void zeros(uint64_t size) override { hash_zeros(hasher, size); }
  Hasher hasher;
};
struct ChunkedSink final : BlobDigestSink {
  ChunkedSink(DigestAlgorithm a, uint64_t blob_size) : builder(a, blob_size) {}
  void data(std::span<const uint8_t> bytes) override { builder.update(bytes); }
  void zeros(uint64_t size) override { builder.skip_zeros(size); }
  ChunkedDigestBuilder builder;
};

// Copies the regions' bytes to `out` (packed from `out_offset`), feeding every byte to `sink`. Holes
// of the source are not read and all-zero pages are not written: the file keeps holes (it was
// ftruncate()d to cover the blob first).
Status write_blob(detail::AtomicFile& out, uint64_t out_offset, const SnapshotData& d, BlobDigestSink& sink,
                  const ProgressFn& progress) {
  const MemoryBlob& m = d.memory;
  uint64_t total = 0, done = 0, packed = 0;
  const std::vector<Region>& regions = d.meta.layout.regions;
  for (const Region& r : regions) total += r.size;
  for (size_t i = 0; i < regions.size(); ++i) {
    const uint64_t size = regions[i].size;
    const uint8_t* src = m.mapping.data() + m.region_offsets[i];
    const uint64_t dst = out_offset + packed;
    Status copied = detail::for_each_extent(
        m.fd.get(), m.file_offset + m.region_offsets[i], size, [&](uint64_t at, uint64_t length, bool data) -> Status {
          for (uint64_t k = 0; k < length; k += kChunk) {
            const uint64_t n = std::min<uint64_t>(kChunk, length - k);
            if (!data) {
              sink.zeros(n);
            } else {
              const uint8_t* p = src + at + k;
              sink.data(std::span<const uint8_t>(p, n));
              uint64_t run = 0;  // start of the pending run of non-zero pages
              bool in_run = false;
              for (uint64_t q = 0; q < n; q += abi::kPageSize) {
                bool zero = n - q >= abi::kPageSize && detail::is_zero_page(p + q);
                if (zero && in_run) {
                  if (Status st = out.pwrite(p + run, q - run, dst + at + k + run); !st) return st;
                  in_run = false;
                } else if (!zero && !in_run) {
                  run = q;
                  in_run = true;
                }
              }
              if (in_run) {
                if (Status st = out.pwrite(p + run, n - run, dst + at + k + run); !st) return st;
              }
            }
            done += n;
            if (progress) progress(done, total);
          }
          return {};
        });
    if (!copied) return copied;
    packed += size;
  }
  return {};
}

Status check_memory(const SnapshotData& d) {
  const MemoryBlob& m = d.memory;
  const std::vector<Region>& regions = d.meta.layout.regions;
  if (!m.mapping.valid() || !m.fd.valid() || m.region_offsets.size() != regions.size()) {
    return make_error(ErrorCode::kInvalidConfig, "memory", "the snapshot has no memory blob for its regions");
  }
  for (size_t i = 0; i < regions.size(); ++i) {
    uint64_t off = m.region_offsets[i], size = regions[i].size;
    if (off > m.mapping.size() || size > m.mapping.size() - off) {
      Error e = make_error(ErrorCode::kInvalidConfig, "memory.region_offsets[" + std::to_string(i) + "]",
                           "the region lies outside the memory blob");
      e.value = off;
      return e;
    }
  }
  return {};
}

Error digest_mismatch(std::string detail) {
  Error e = make_error(ErrorCode::kContentDigest, "digest", std::move(detail));
  e.offset = format::kDigestOffset;
  return e;
}

// Format 2: reads the chunk table after the blob and checks it, its root (the header's digest) and
// every chunk of the blob, on several threads; holes are not read.
Status verify_chunked(const format::DecodedSnapshotFile& file, const MemoryBlob& blob, const LoadOptions& options) {
  const format::ChunkTableRef& ref = *file.chunks;
  std::vector<uint8_t> bytes(uint64_t{ref.entry_count} * kChunkEntryBytes);  // bounded by the file (validated)
  TRY(pread_all(blob.fd.get(), bytes.data(), bytes.size(), ref.table_offset, "chunk table"));
  ChunkedDigest expected;
  expected.algorithm = *file.meta.digest_algorithm;
  expected.chunk_size = ref.chunk_size;
  expected.blob_size = file.blob_size;
  expected.entries = TRY(decode_chunk_table(bytes, ref.table_offset));
  expected.root = *file.meta.digest;
  ChunkVerifyOptions verify;
  verify.threads = options.hash_threads;
  verify.progress = options.progress;
  verify.table_offset = ref.table_offset;
  Status verified = verify_chunked_digest(blob.fd.get(), blob.file_offset, blob.size, expected, verify);
  if (!verified && verified.error().field == "blob.chunks.root" && !verified.error().offset) {
    Error e = std::move(verified).error();
    e.offset = format::kDigestOffset;  // where the file records the root
    return e;
  }
  return verified;
}
}  // namespace

Result<Snapshot> Snapshot::from_file(const std::filesystem::path& path) { return load(path, LoadOptions{}); }

Result<Snapshot> Snapshot::from_file_unchecked(const std::filesystem::path& path) {
  LoadOptions options;
  options.verify_digest = false;
  return load(path, options);
}

Result<Snapshot> Snapshot::load(const std::filesystem::path& path, const LoadOptions& options) {
  if (options.expected_digest && !options.verify_digest) {
    return make_error(ErrorCode::kInvalidConfig, "expected_digest", "a pinned digest needs verify_digest on");
  }
  // Symlinks are followed: what is validated, hashed and mapped is the one fd opened here, whatever
  // the path pointed to, so a swapped link can only swap in another file that passes every check.
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return errno_error(ErrorCode::kIo, "open " + path.string(), errno);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return errno_error(ErrorCode::kIo, "fstat " + path.string(), errno);
  if (!S_ISREG(st.st_mode)) return make_error(ErrorCode::kIo, path.string(), "not a regular file");
  const auto file_size = static_cast<uint64_t>(st.st_size);

  std::vector<uint8_t> header(std::min<uint64_t>(file_size, format::kFixedHeaderSize));
  TRY(pread_all(fd.get(), header.data(), header.size(), 0));
  const uint32_t length = TRY(format::check_fixed_header(header, file_size));  // bounded by the file and 1 MiB
  header.resize(length);
  TRY(pread_all(fd.get(), header.data() + format::kFixedHeaderSize, length - format::kFixedHeaderSize,
                format::kFixedHeaderSize));
  format::DecodedSnapshotFile file = TRY(format::decode_and_validate(header, file_size, format::DecodeOptions{}));
  const DigestAlgorithm algorithm = *file.meta.digest_algorithm;
  const Digest recorded = *file.meta.digest;
  if (options.expected_digest && recorded != *options.expected_digest) {
    return digest_mismatch("the file records " + digest_to_hex(algorithm, recorded) + ", not the pinned digest " +
                           digest_to_hex(algorithm, *options.expected_digest) + " (LoadOptions::expected_digest)");
  }

  MemoryBlob blob = TRY(detail::map_memory_blob(std::move(fd), file.blob_offset, file.blob_size, file.region_offsets));
  if (options.verify_digest && file.chunks) {
    TRY(verify_chunked(file, blob, options));
  } else if (options.verify_digest) {
    Digest actual = TRY(compute_digest_fd(algorithm, blob.fd.get(), blob.file_offset, blob.size, options.progress));
    if (actual != recorded) {
      return digest_mismatch("the memory blob hashes to " + digest_to_hex(algorithm, actual) + " (" +
                             std::string(digest_algorithm_name(algorithm)) + "), the header records " +
                             digest_to_hex(algorithm, recorded) + ": the file is corrupt");
    }
  }
  auto data = std::make_shared<SnapshotData>(SnapshotData{std::move(file.meta), std::move(blob), 0});
  return detail::make_snapshot(std::move(data));
}

Status Snapshot::to_file(const std::filesystem::path& path, const SaveOptions& options) const {
  const SnapshotData& d = *data_;
  TRY(check_memory(d));
  if (!is_known_digest_algorithm(static_cast<uint32_t>(options.digest))) {
    return make_error(ErrorCode::kInvalidConfig, "digest", "blake3-256 or xxh3-128");
  }
  if (options.format_version < format::kMinFormatVersion || options.format_version > format::kFormatVersion) {
    Error e = make_error(ErrorCode::kInvalidConfig, "format_version", "1 (flat digest) or 2 (chunked digest)");
    e.value = options.format_version;
    return e;
  }
  std::optional<format::ChunkTableRef> chunks;
  if (options.format_version == 2) chunks = format::ChunkTableRef{kDigestChunkSize, 0, 0};
  std::vector<uint8_t> metadata = format::encode_metadata(d.meta, options.digest, Digest{}, chunks);
  const uint64_t blob_offset = metadata.size();
  uint64_t blob_size = 0;
  for (const Region& r : d.meta.layout.regions) blob_size += r.size;

  // Never write a file that would not load: the same checks a loader runs, on the metadata (with an
  // empty chunk table: its length is known only once the blob is hashed).
  format::DecodeOptions self;
  self.cpu_vendor = d.meta.cpu_vendor.empty() ? format::host_cpu_vendor() : d.meta.cpu_vendor;
  if (auto checked = format::decode_and_validate(metadata, blob_offset + blob_size, self); !checked) {
    Error e = std::move(checked).error();
    e.detail = "refusing to write a snapshot that would not load: " + e.detail;
    return e;
  }

  detail::AtomicFile tmp = TRY(detail::AtomicFile::create(path));
  TRY(tmp.truncate(blob_offset + blob_size));
  Digest digest{};
  if (chunks) {
    ChunkedSink sink(options.digest, blob_size);
    TRY(write_blob(tmp, blob_offset, d, sink, options.progress));
    ChunkedDigest table = TRY(sink.builder.finish());
    const std::vector<uint8_t> bytes = encode_chunk_table(table.entries);
    TRY(tmp.pwrite(bytes.data(), bytes.size(), blob_offset + blob_size));
    chunks->entry_count = static_cast<uint32_t>(table.entries.size());
    digest = table.root;
  } else {
    FlatSink sink(options.digest);
    TRY(write_blob(tmp, blob_offset, d, sink, options.progress));
    digest = sink.hasher.finish();
  }
  if (d.memory.guard.tripped()) {
    return make_error(ErrorCode::kFileChanged, "snapshot file", "the source file shrank while it was copied");
  }
  metadata = format::encode_metadata(d.meta, options.digest, digest, chunks);
  TRY(tmp.pwrite(metadata.data(), metadata.size(), 0));
  return tmp.commit();
}

}  // namespace snapvm
