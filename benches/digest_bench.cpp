// digest_bench.cpp: the chunked content digest (format 2, engine/snapshot/chunk_digest.h), natively.
//   digest/chunked_sparse/<digest>/<layout>/heap:<H>  verify_chunked_digest of a sparse file: 64 KiB of
//                                                     data pages, the same at every heap size
//   digest/chunked16k_sparse/<digest>/scattered/heap:<H>  the same with 16 KiB chunks
//   digest/v1_sparse/<digest>/<layout>/heap:<H>       format 1's compute_digest_fd of the same file
//   digest/dense/pread/size:256M                      a plain pread of the dense file (the floor)
//   digest/dense/chunked/<digest>/threads:<1|all>/size:256M   verify_chunked_digest of that file
//   digest/dense/mapped/<digest>/threads:<1|all>/size:256M    the same, hashed from a MAP_POPULATE mapping
//   digest/dense/buffer/<digest>/threads:<1|all>/size:256M    hashing only: the chunks of an in-memory buffer
// Layouts: `clustered` puts 8 data pages at the blob's start and 8 at its end (a heap's low pages and a
// stack), `scattered` spreads 16 single pages evenly (a chunk each, the worst case for 64 KiB chunks).
// Files live in the scratch directory, page cache hot (each is read once before timing). Timed in real
// time: the work runs on several threads. Rates are over the blob.
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "bench_support.h"
#include "memory/mapping.h"
#include "snapshot/chunk_digest.h"
#include "snapshot/digest.h"
#include "snapvm/abi/layout.h"

namespace snapvm::bench {
namespace {

constexpr uint64_t kDataPages = 16;  // 64 KiB of data at every heap size
constexpr uint64_t kDenseSize = 256 * kMiB;
constexpr uint64_t kReadBuffer = 1 * kMiB;

enum class Layout { kClustered, kScattered };

std::string alg_name(DigestAlgorithm a) { return a == DigestAlgorithm::kXxh3_128 ? "xxh3" : "blake3"; }

// xorshift noise: no zero pages, nothing compressible.
void fill_noise(uint8_t* p, uint64_t size, uint64_t seed) {
  uint64_t x = seed | 1;
  for (uint64_t i = 0; i + 8 <= size; i += 8) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    std::memcpy(p + i, &x, 8);
  }
}

Status write_all(int fd, const uint8_t* p, uint64_t size, uint64_t at) {
  for (uint64_t done = 0; done < size;) {
    ssize_t n = ::pwrite(fd, p + done, size - done, static_cast<off_t>(at + done));
    if (n <= 0) return errno_error(ErrorCode::kIo, "pwrite", errno);
    done += static_cast<uint64_t>(n);
  }
  return {};
}

// Reads the whole file once, so that the timed runs find the page cache hot.
Status warm(int fd, uint64_t size) {
  std::vector<uint8_t> buffer(kReadBuffer);
  for (uint64_t at = 0; at < size; at += kReadBuffer) {
    if (::pread(fd, buffer.data(), std::min(kReadBuffer, size - at), static_cast<off_t>(at)) < 0) {
      return errno_error(ErrorCode::kIo, "pread", errno);
    }
  }
  return {};
}

// A benchmark file, opened read-only, with both tables of its blob (the whole file).
struct TestFile {
  UniqueFd fd;
  uint64_t size = 0;
  std::map<DigestAlgorithm, ChunkedDigest> tables;
};

Result<const TestFile*> make_file(const std::string& name, uint64_t size, const std::vector<uint64_t>& pages) {
  static std::mutex mu;
  static std::map<std::string, std::unique_ptr<TestFile>> cache;
  std::lock_guard lock(mu);
  if (auto it = cache.find(name); it != cache.end()) return it->second.get();
  const auto path = scratch_dir() / (name + ".blob");
  {
    UniqueFd out(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    if (!out.valid()) return errno_error(ErrorCode::kIo, "create " + path.string(), errno);
    if (::ftruncate(out.get(), static_cast<off_t>(size)) != 0) return errno_error(ErrorCode::kIo, "ftruncate", errno);
    std::vector<uint8_t> page(abi::kPageSize);
    for (uint64_t p : pages) {  // a dense file lists every page; they are written in 1 MiB runs anyway
      fill_noise(page.data(), abi::kPageSize, p * 0x9e3779b97f4a7c15ull);
      TRY(write_all(out.get(), page.data(), abi::kPageSize, p * abi::kPageSize));
    }
  }
  auto f = std::make_unique<TestFile>();
  f->fd = UniqueFd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!f->fd.valid()) return errno_error(ErrorCode::kIo, "open " + path.string(), errno);
  f->size = size;
  TRY(warm(f->fd.get(), size));
  for (DigestAlgorithm a : {DigestAlgorithm::kBlake3_256, DigestAlgorithm::kXxh3_128}) {
    f->tables[a] = TRY(compute_chunked_digest_fd(a, f->fd.get(), 0, size));
  }
  return cache.emplace(name, std::move(f)).first->second.get();
}

Result<const TestFile*> sparse_file(uint64_t heap, Layout layout) {
  const uint64_t pages = heap / abi::kPageSize;
  std::vector<uint64_t> data;
  for (uint64_t k = 0; k < kDataPages; ++k) {
    if (layout == Layout::kClustered) {
      data.push_back(k < kDataPages / 2 ? k : pages - kDataPages + k);
    } else {
      data.push_back(k * (pages / kDataPages));
    }
  }
  const char* l = layout == Layout::kClustered ? "clustered" : "scattered";
  return make_file(std::string("sparse-") + l + "-" + size_label(heap), heap, data);
}

Result<const TestFile*> dense_file() {
  static std::once_flag once;
  static Result<const TestFile*> file = make_error(ErrorCode::kIo, "dense file");
  std::call_once(once, [] {
    std::vector<uint64_t> all(kDenseSize / abi::kPageSize);
    for (uint64_t p = 0; p < all.size(); ++p) all[p] = p;
    file = make_file("dense-" + size_label(kDenseSize), kDenseSize, all);
  });
  return file;
}

void BM_ChunkedSparse(benchmark::State& state, DigestAlgorithm a, Layout layout, uint64_t heap, uint64_t chunk) {
  auto f = sparse_file(heap, layout);
  if (!f) return fail(state, "making the file", f.error());
  auto computed = compute_chunked_digest_fd(a, (*f)->fd.get(), 0, heap, {chunk, 0, {}});
  if (!computed) return fail(state, "compute_chunked_digest_fd", computed.error());
  const ChunkedDigest& table = *computed;
  for (auto _ : state) {
    if (Status st = verify_chunked_digest((*f)->fd.get(), 0, heap, table); !st) {
      return fail(state, "verify_chunked_digest", st.error());
    }
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * heap));
  state.counters["chunks_in_table"] = static_cast<double>(table.entries.size());
}

void BM_V1Sparse(benchmark::State& state, DigestAlgorithm a, Layout layout, uint64_t heap) {
  auto f = sparse_file(heap, layout);
  if (!f) return fail(state, "making the file", f.error());
  for (auto _ : state) {
    auto d = compute_digest_fd(a, (*f)->fd.get(), 0, heap);
    if (!d) return fail(state, "compute_digest_fd", d.error());
    benchmark::DoNotOptimize(d);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * heap));
}

void BM_DensePread(benchmark::State& state) {
  auto f = dense_file();
  if (!f) return fail(state, "making the file", f.error());
  std::vector<uint8_t> buffer(kReadBuffer);
  for (auto _ : state) {
    for (uint64_t at = 0; at < kDenseSize;) {
      ssize_t n =
          ::pread((*f)->fd.get(), buffer.data(), std::min(kReadBuffer, kDenseSize - at), static_cast<off_t>(at));
      if (n <= 0) return fail(state, "pread");
      at += static_cast<uint64_t>(n);
    }
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * kDenseSize));
}

void BM_DenseChunked(benchmark::State& state, DigestAlgorithm a, unsigned threads) {
  auto f = dense_file();
  if (!f) return fail(state, "making the file", f.error());
  ChunkVerifyOptions o;
  o.threads = threads;
  for (auto _ : state) {
    if (Status st = verify_chunked_digest((*f)->fd.get(), 0, kDenseSize, (*f)->tables.at(a), o); !st) {
      return fail(state, "verify_chunked_digest", st.error());
    }
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * kDenseSize));
}

// The alternative to pread: map the file (MAP_POPULATE: no fault per page) and hash the page cache in
// place. Each iteration maps and unmaps, as a load would.
void BM_DenseMapped(benchmark::State& state, DigestAlgorithm a, unsigned threads) {
  auto f = dense_file();
  if (!f) return fail(state, "making the file", f.error());
  ChunkHashOptions o;
  o.threads = threads;
  for (auto _ : state) {
    auto m = Mapping::file((*f)->fd.get(), 0, kDenseSize, PROT_READ, MAP_PRIVATE | MAP_POPULATE);
    if (!m) return fail(state, "mmap", m.error());
    auto d = compute_chunked_digest(a, std::span<const uint8_t>(m->data(), kDenseSize), o);
    if (!d || d->root != (*f)->tables.at(a).root) return fail(state, "the mapped digest differs");
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * kDenseSize));
}

void BM_DenseBuffer(benchmark::State& state, DigestAlgorithm a, unsigned threads) {
  static auto buffer = Mapping::anonymous(kDenseSize, PROT_READ | PROT_WRITE);
  static std::once_flag once;
  if (!buffer) return fail(state, "mmap", buffer.error());
  std::call_once(once, [] { fill_noise(buffer->data(), kDenseSize, 7); });
  ChunkHashOptions o;
  o.threads = threads;
  for (auto _ : state) {
    auto d = compute_chunked_digest(a, std::span<const uint8_t>(buffer->data(), kDenseSize), o);
    if (!d) return fail(state, "compute_chunked_digest", d.error());
    benchmark::DoNotOptimize(d);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * kDenseSize));
}

[[maybe_unused]] const bool registered = [] {
  using benchmark::RegisterBenchmark;
  for (DigestAlgorithm a : {DigestAlgorithm::kBlake3_256, DigestAlgorithm::kXxh3_128}) {
    for (Layout l : {Layout::kClustered, Layout::kScattered}) {
      const std::string tail = alg_name(a) + (l == Layout::kClustered ? "/clustered" : "/scattered");
      for (uint64_t heap : {128 * kKiB, 8 * kMiB, 64 * kMiB, 256 * kMiB, 1 * kGiB}) {
        const std::string h = "/heap:" + size_label(heap);
        RegisterBenchmark(("digest/chunked_sparse/" + tail + h).c_str(), BM_ChunkedSparse, a, l, heap, kDigestChunkSize)
            ->UseRealTime()
            ->Unit(benchmark::kMicrosecond);
        if (l == Layout::kScattered) {  // the chunk size is the knob for scattered data
          RegisterBenchmark(("digest/chunked16k_sparse/" + tail + h).c_str(), BM_ChunkedSparse, a, l, heap, 16 * kKiB)
              ->UseRealTime()
              ->Unit(benchmark::kMicrosecond);
        }
        if (l == Layout::kClustered) {
          RegisterBenchmark(("digest/v1_sparse/" + tail + h).c_str(), BM_V1Sparse, a, l, heap)
              ->UseRealTime()
              ->Unit(benchmark::kMicrosecond);
        }
      }
    }
  }
  const std::string s = "/size:" + size_label(kDenseSize);
  RegisterBenchmark(("digest/dense/pread" + s).c_str(), BM_DensePread)->UseRealTime()->Unit(benchmark::kMillisecond);
  for (DigestAlgorithm a : {DigestAlgorithm::kXxh3_128, DigestAlgorithm::kBlake3_256}) {
    for (unsigned t : {1u, 0u}) {
      const std::string tail = alg_name(a) + (t == 1 ? "/threads:1" : "/threads:all") + s;
      RegisterBenchmark(("digest/dense/chunked/" + tail).c_str(), BM_DenseChunked, a, t)
          ->UseRealTime()
          ->Unit(benchmark::kMillisecond);
      RegisterBenchmark(("digest/dense/mapped/" + tail).c_str(), BM_DenseMapped, a, t)
          ->UseRealTime()
          ->Unit(benchmark::kMillisecond);
      RegisterBenchmark(("digest/dense/buffer/" + tail).c_str(), BM_DenseBuffer, a, t)
          ->UseRealTime()
          ->Unit(benchmark::kMillisecond);
    }
  }
  return true;
}();

}  // namespace
}  // namespace snapvm::bench
