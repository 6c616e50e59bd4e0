// snapshot_bench.cpp: saving, loading, header checks, digests and restore.
// Without KVM (synthetic snapshots built by test_support, or plain buffers and files):
//   snapshot/header/decode, snapshot/header/decode_validate       the metadata of one file, in memory
//   snapshot/save_synthetic/<digest>/heap:<H>                     to_file of a dense synthetic snapshot
//   snapshot/load_synthetic/<digest|unchecked>/heap:<H>           Snapshot::load of that file
//   digest/buffer/<digest>/size:<S>, read/buffer/memcpy/size:<S>  hash a dense buffer vs copy it
//   digest/file/<digest>/size:<S>, read/file/pread/size:<S>       compute_digest_fd vs pread, same file
//   digest/mapped/<digest>/size:<S>                               mmap the file and hash the mapping
// With KVM (the sample guest):
//   snapshot/save/<digest>/heap:<H>                               to_file of a sandbox just initialised
//   snapshot/load/<digest|unchecked>/heap:<H>                     Snapshot::load of that file
//   restore/dirty:<1|100|all>/heap:<H>                            restore() after the guest dirtied N pages
// Byte rates (bytes_per_second) are over the memory blob (or the buffer); restore reports the pages it
// copied (pages_restored). Files live in the scratch directory, page cache hot. The digest and read
// benchmarks are timed in CPU time (all their work is on the CPU once the page cache is hot), so their
// rates hold on a shared, loaded machine; the rest, which wait on fsync or KVM, in real time.
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <tuple>

#include "bench_support.h"
#include "memory/mapping.h"
#include "snapshot/digest.h"
#include "snapshot/format.h"
#include "snapshot/test_snapshot.h"
#include "snapshot/validate.h"
#include "snapvm/abi/layout.h"
#include "snapvm/sandbox.h"
#include "snapvm/snapshot.h"
#include "snapvm_harness/host_stubs.h"

namespace snapvm::bench {
namespace {

constexpr uint64_t kChunk = 1 * kMiB;  // what the loader's pread loop uses

enum class Check { kBlake3, kXxh3, kUnchecked };
const char* check_name(Check c) {
  switch (c) {
    case Check::kBlake3:
      return "blake3";
    case Check::kXxh3:
      return "xxh3";
    case Check::kUnchecked:
      return "unchecked";
  }
  return "?";
}
DigestAlgorithm algorithm_of(Check c) {
  return c == Check::kXxh3 ? DigestAlgorithm::kXxh3_128 : DigestAlgorithm::kBlake3_256;
}

uint64_t blob_bytes(const Snapshot& s) {
  uint64_t total = 0;
  for (const Region& r : s.layout().regions) total += r.size;
  return total;
}

// ---- header -------------------------------------------------------------------------------------

struct HeaderInput {
  std::vector<uint8_t> file;
  uint64_t header_length = 0;
};

Result<HeaderInput> header_input() {
  Snapshot s = TRY(test_support::make_test_snapshot());
  HeaderInput in;
  in.file = test_support::encode_file(s);
  in.header_length = TRY(format::check_fixed_header(in.file, in.file.size()));
  return in;
}

void BM_Header(benchmark::State& state, bool validate) {
  auto in = header_input();
  if (!in) return fail(state, "making a synthetic snapshot file", in.error());
  const std::span<const uint8_t> header(in->file.data(), in->header_length);
  const uint64_t file_size = in->file.size();
  for (auto _ : state) {
    if (validate) {
      auto r = format::decode_and_validate(header, file_size, format::DecodeOptions{});
      if (!r) return fail(state, "decode_and_validate", r.error());
      benchmark::DoNotOptimize(r);
    } else {
      auto r = format::decode_metadata(header, file_size);
      if (!r) return fail(state, "decode_metadata", r.error());
      benchmark::DoNotOptimize(r);
    }
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * header.size()));
  state.counters["header_bytes"] = static_cast<double>(header.size());
}

// ---- save and load of synthetic (dense) snapshots --------------------------------------------------

Result<Snapshot> synthetic(uint64_t heap) {
  test_support::TestSnapshotOptions o;
  o.heap_size = heap;
  o.fill_heap = true;
  return test_support::make_test_snapshot(o);
}

// Saves `snap` to `path` once per iteration with the check's digest; bytes/s over the blob.
void save_repeatedly(benchmark::State& state, const Snapshot& snap, const std::filesystem::path& path, Check check) {
  SaveOptions o;
  o.digest = algorithm_of(check);
  for (auto _ : state) {
    Status s = snap.to_file(path, o);
    if (!s) return fail(state, "to_file", s.error());
  }
  std::filesystem::remove(path);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * blob_bytes(snap)));
}

void BM_SaveSynthetic(benchmark::State& state, Check check, uint64_t heap) {
  auto snap = synthetic(heap);
  if (!snap) return fail(state, "making a synthetic snapshot", snap.error());
  const auto path = scratch_dir() / ("save-synthetic-" + size_label(heap) + "." + check_name(check) + ".svm");
  save_repeatedly(state, *snap, path, check);
}

// A synthetic file per heap size, digest, density and format, written once. Dense: every heap page
// holds data. Sparse: the first and last page of each region only (the same 12 data pages at every
// heap size), the rest holes: what a guest that touched little of its heap leaves.
Result<std::filesystem::path> synthetic_file(uint64_t heap, DigestAlgorithm algorithm, bool dense = true,
                                             uint32_t format_version = 2) {
  static std::mutex mu;
  static std::map<std::tuple<uint64_t, DigestAlgorithm, bool, uint32_t>, std::filesystem::path> cache;
  std::lock_guard lock(mu);
  const auto key = std::make_tuple(heap, algorithm, dense, format_version);
  if (auto it = cache.find(key); it != cache.end()) return it->second;
  test_support::TestSnapshotOptions so;
  so.heap_size = heap;
  so.fill_heap = dense;
  Snapshot s = TRY(test_support::make_test_snapshot(so));
  auto path =
      scratch_dir() / ((dense ? "synthetic-" : "sparse-") + size_label(heap) + "." +
                       std::string(digest_algorithm_name(algorithm)) + ".v" + std::to_string(format_version) + ".svm");
  SaveOptions o;
  o.digest = algorithm;
  o.format_version = format_version;
  TRY(s.to_file(path, o));
  return cache.emplace(key, path).first->second;
}

void run_load(benchmark::State& state, const std::filesystem::path& path, Check check, unsigned threads = 0) {
  LoadOptions o;
  o.verify_digest = check != Check::kUnchecked;
  o.hash_threads = threads;
  uint64_t bytes = 0;
  for (auto _ : state) {
    auto s = Snapshot::load(path, o);
    if (!s) return fail(state, "Snapshot::load", s.error());
    bytes = blob_bytes(*s);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bytes));
}

void BM_LoadSynthetic(benchmark::State& state, Check check, uint64_t heap) {
  auto path = synthetic_file(heap, algorithm_of(check));
  if (!path) return fail(state, "writing a synthetic snapshot file", path.error());
  run_load(state, *path, check);
}

// Snapshot::load of a sparse file: format 2's verification reads the data chunks only, format 1's
// hashes the holes as zeros. The counter data_bytes is what the file holds (the same at every heap).
void BM_LoadSparse(benchmark::State& state, Check check, uint64_t heap, uint32_t format_version) {
  auto path = synthetic_file(heap, algorithm_of(check), false, format_version);
  if (!path) return fail(state, "writing a sparse snapshot file", path.error());
  run_load(state, *path, check);
  state.counters["heap_bytes"] = static_cast<double>(heap);
}

// A dense 256 MiB-heap file verified on `threads` threads (0: the default, one per hardware thread).
void BM_LoadDense(benchmark::State& state, Check check, unsigned threads, uint32_t format_version) {
  auto path = synthetic_file(256 * kMiB, algorithm_of(check), true, format_version);
  if (!path) return fail(state, "writing a dense snapshot file", path.error());
  run_load(state, *path, check, threads);
}

// ---- digest throughput against a plain read of the same bytes ----------------------------------

// `size` bytes of xorshift noise (no zero pages, nothing compressible), in memory and in a file.
struct Blob {
  Mapping memory;
  std::filesystem::path file;
};

Result<const Blob*> blob(uint64_t size) {
  static std::mutex mu;
  static std::map<uint64_t, std::unique_ptr<Blob>> cache;
  std::lock_guard lock(mu);
  if (auto it = cache.find(size); it != cache.end()) return it->second.get();
  auto b = std::make_unique<Blob>();
  b->memory = TRY(Mapping::anonymous(size, PROT_READ | PROT_WRITE));
  uint64_t x = 0x9e3779b97f4a7c15ull;
  auto* words = reinterpret_cast<uint64_t*>(b->memory.data());
  for (uint64_t i = 0; i < size / 8; ++i) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    words[i] = x;
  }
  b->file = scratch_dir() / ("blob-" + size_label(size) + ".bin");
  UniqueFd fd(::open(b->file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (!fd.valid()) return errno_error(ErrorCode::kIo, "create " + b->file.string(), errno);
  for (uint64_t at = 0; at < size;) {
    ssize_t n = ::write(fd.get(), b->memory.data() + at, size - at);
    if (n <= 0) return errno_error(ErrorCode::kIo, "write " + b->file.string(), errno);
    at += static_cast<uint64_t>(n);
  }
  return cache.emplace(size, std::move(b)).first->second.get();
}

void BM_DigestBuffer(benchmark::State& state, DigestAlgorithm algorithm, uint64_t size) {
  auto b = blob(size);
  if (!b) return fail(state, "making the blob", b.error());
  const std::span<const uint8_t> bytes((*b)->memory.data(), size);
  for (auto _ : state) benchmark::DoNotOptimize(compute_digest(algorithm, bytes));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * size));
}

// The plain read a hasher competes with: every byte once, through a 1 MiB buffer that stays in cache.
void BM_ReadBuffer(benchmark::State& state, uint64_t size) {
  auto b = blob(size);
  if (!b) return fail(state, "making the blob", b.error());
  std::vector<uint8_t> chunk(kChunk);
  const uint8_t* src = (*b)->memory.data();
  for (auto _ : state) {
    for (uint64_t at = 0; at < size; at += kChunk) {
      std::memcpy(chunk.data(), src + at, std::min(kChunk, size - at));
      benchmark::ClobberMemory();
    }
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * size));
}

void BM_DigestFile(benchmark::State& state, DigestAlgorithm algorithm, uint64_t size) {
  auto b = blob(size);
  if (!b) return fail(state, "making the blob", b.error());
  UniqueFd fd(::open((*b)->file.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return fail(state, "open " + (*b)->file.string());
  for (auto _ : state) {
    auto d = compute_digest_fd(algorithm, fd.get(), 0, size);
    if (!d) return fail(state, "compute_digest_fd", d.error());
    benchmark::DoNotOptimize(d);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * size));
}

// The alternative the loader could take: map the file and hash the page cache in place (no copy).
// Each iteration maps and unmaps, as a load would.
void BM_DigestMapped(benchmark::State& state, DigestAlgorithm algorithm, uint64_t size) {
  auto b = blob(size);
  if (!b) return fail(state, "making the blob", b.error());
  UniqueFd fd(::open((*b)->file.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return fail(state, "open " + (*b)->file.string());
  for (auto _ : state) {
    auto m = Mapping::file(fd.get(), 0, size, PROT_READ, MAP_PRIVATE);
    if (!m) return fail(state, "mmap", m.error());
    auto d = compute_digest_fd(algorithm, fd.get(), 0, size, {}, m->data());
    if (!d) return fail(state, "compute_digest_fd", d.error());
    benchmark::DoNotOptimize(d);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * size));
}

// What the verified loader does minus the hashing: pread the blob through a 1 MiB buffer.
void BM_ReadFile(benchmark::State& state, uint64_t size) {
  auto b = blob(size);
  if (!b) return fail(state, "making the blob", b.error());
  UniqueFd fd(::open((*b)->file.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return fail(state, "open " + (*b)->file.string());
  std::vector<uint8_t> chunk(kChunk);
  for (auto _ : state) {
    for (uint64_t at = 0; at < size;) {
      ssize_t n = ::pread(fd.get(), chunk.data(), std::min(kChunk, size - at), static_cast<off_t>(at));
      if (n <= 0) return fail(state, "pread");
      at += static_cast<uint64_t>(n);
    }
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * size));
}

// ---- with KVM: the sample guest ------------------------------------------------------------------

Result<MultiUseSandbox> sample_sandbox(uint64_t heap) {
  SandboxConfig config;
  config.heap_size = heap;
  return SandboxBuilder::from_elf(sample_guest_path(), config).host_functions(harness::sample_host_functions()).build();
}

void BM_Save(benchmark::State& state, Check check, uint64_t heap) {
  if (!kvm_ready(state)) return;
  auto sandbox = sample_sandbox(heap);
  if (!sandbox) return fail(state, "making the sandbox", sandbox.error());
  auto snap = sandbox->snapshot();
  if (!snap) return fail(state, "snapshot", snap.error());
  const auto path = scratch_dir() / ("save-" + size_label(heap) + "." + check_name(check) + ".svm");
  save_repeatedly(state, *snap, path, check);
}

void BM_Load(benchmark::State& state, Check check, uint64_t heap) {
  if (!kvm_ready(state)) return;
  auto files = baked_snapshot(heap);
  if (!files) return fail(state, "baking the snapshot files", files.error());
  run_load(state, check == Check::kXxh3 ? (*files)->xxh3 : (*files)->blake3, check);
}

// dirty_pages == 0 means every page of the heap (but one, for the allocator's header).
void BM_Restore(benchmark::State& state, uint64_t dirty_pages, uint64_t heap) {
  if (!kvm_ready(state)) return;
  const uint64_t pages = dirty_pages == 0 ? heap / abi::kPageSize - 1 : dirty_pages;
  const uint64_t buffer = dirty_pages == 0 ? heap - abi::kPageSize : pages * abi::kPageSize;
  auto sandbox = sample_sandbox(heap);
  if (!sandbox) return fail(state, "making the sandbox", sandbox.error());
  if (auto r = sandbox->call("BufferFill", {buffer, uint32_t{7}}); !r) return fail(state, "BufferFill", r.error());
  auto snap = sandbox->snapshot();
  if (!snap) return fail(state, "snapshot", snap.error());
  uint64_t restored = 0;
  for (auto _ : state) {
    if (auto r = sandbox->call("TouchPages", {pages}); !r) return fail(state, "TouchPages", r.error());
    const auto t0 = Clock::now();
    Status s = sandbox->restore(*snap);
    const auto t1 = Clock::now();
    if (!s) return fail(state, "restore", s.error());
    restored += sandbox->last_restore_pages();
    state.SetIterationTime(seconds(t0, t1));
  }
  state.counters["pages_restored"] =
      benchmark::Counter(static_cast<double>(restored), benchmark::Counter::kAvgIterations);
  state.counters["pages_dirtied"] = static_cast<double>(pages);
  state.counters["heap_bytes"] = static_cast<double>(heap);
}

// An in-memory snapshot taken after one page was written since the last one: its cost follows the
// pages that may hold data (the base's data plus the written page), not the heap's size.
void BM_TakeSnapshot(benchmark::State& state, uint64_t heap) {
  if (!kvm_ready(state)) return;
  auto sandbox = sample_sandbox(heap);
  if (!sandbox) return fail(state, "making the sandbox", sandbox.error());
  if (auto r = sandbox->call("BufferFill", {abi::kPageSize, uint32_t{7}}); !r)
    return fail(state, "BufferFill", r.error());
  auto base = sandbox->snapshot();
  if (!base) return fail(state, "snapshot", base.error());
  for (auto _ : state) {
    if (auto r = sandbox->call("TouchPages", {uint64_t{1}}); !r) return fail(state, "TouchPages", r.error());
    const auto t0 = Clock::now();
    auto snap = sandbox->snapshot();
    const auto t1 = Clock::now();
    if (!snap) return fail(state, "snapshot", snap.error());
    state.SetIterationTime(seconds(t0, t1));
  }
  state.counters["heap_bytes"] = static_cast<double>(heap);
}

// ---- registration ---------------------------------------------------------------------------------

[[maybe_unused]] const bool registered = [] {
  using benchmark::RegisterBenchmark;
  RegisterBenchmark("snapshot/header/decode", BM_Header, false)->Unit(benchmark::kMicrosecond);
  RegisterBenchmark("snapshot/header/decode_validate", BM_Header, true)->Unit(benchmark::kMicrosecond);

  for (uint64_t heap : {8 * kMiB, 64 * kMiB}) {
    for (Check c : {Check::kBlake3, Check::kXxh3}) {
      RegisterBenchmark(("snapshot/save_synthetic/" + std::string(check_name(c)) + "/heap:" + size_label(heap)).c_str(),
                        BM_SaveSynthetic, c, heap)
          ->UseRealTime()
          ->Unit(benchmark::kMillisecond);
    }
    for (Check c : {Check::kBlake3, Check::kXxh3, Check::kUnchecked}) {
      RegisterBenchmark(("snapshot/load_synthetic/" + std::string(check_name(c)) + "/heap:" + size_label(heap)).c_str(),
                        BM_LoadSynthetic, c, heap)
          ->UseRealTime()
          ->Unit(benchmark::kMicrosecond);
    }
  }

  // Format 2's chunked digest against format 1's flat one: sparse files at growing heaps (the same
  // data), and a dense 256 MiB file on one thread and on every thread.
  for (uint64_t heap : {128 * kKiB, 8 * kMiB, 64 * kMiB, 256 * kMiB, 1 * kGiB}) {
    for (Check c : {Check::kBlake3, Check::kXxh3, Check::kUnchecked}) {
      RegisterBenchmark(("snapshot/load_sparse/" + std::string(check_name(c)) + "/heap:" + size_label(heap)).c_str(),
                        BM_LoadSparse, c, heap, 2u)
          ->UseRealTime()
          ->Unit(benchmark::kMicrosecond);
    }
    if (heap == 128 * kKiB || heap == 256 * kMiB) {  // format 1, for the before/after: it hashes the holes
      for (Check c : {Check::kBlake3, Check::kXxh3}) {
        RegisterBenchmark(
            ("snapshot/load_sparse_v1/" + std::string(check_name(c)) + "/heap:" + size_label(heap)).c_str(),
            BM_LoadSparse, c, heap, 1u)
            ->UseRealTime()
            ->Unit(benchmark::kMillisecond);
      }
    }
  }
  for (Check c : {Check::kBlake3, Check::kXxh3}) {
    for (unsigned threads : {1u, 0u}) {
      const std::string t = threads == 0 ? "all" : std::to_string(threads);
      RegisterBenchmark(("snapshot/load_dense/" + std::string(check_name(c)) + "/threads:" + t + "/size:256M").c_str(),
                        BM_LoadDense, c, threads, 2u)
          ->UseRealTime()
          ->Unit(benchmark::kMillisecond);
    }
    RegisterBenchmark(("snapshot/load_dense_v1/" + std::string(check_name(c)) + "/size:256M").c_str(), BM_LoadDense, c,
                      1u, 1u)
        ->UseRealTime()
        ->Unit(benchmark::kMillisecond);
  }

  for (uint64_t size : {16 * kMiB, 256 * kMiB}) {
    const std::string s = "/size:" + size_label(size);
    for (DigestAlgorithm a : {DigestAlgorithm::kBlake3_256, DigestAlgorithm::kXxh3_128}) {
      const std::string alg = a == DigestAlgorithm::kXxh3_128 ? "xxh3" : "blake3";
      RegisterBenchmark(("digest/buffer/" + alg + s).c_str(), BM_DigestBuffer, a, size)->Unit(benchmark::kMillisecond);
      RegisterBenchmark(("digest/file/" + alg + s).c_str(), BM_DigestFile, a, size)->Unit(benchmark::kMillisecond);
      RegisterBenchmark(("digest/mapped/" + alg + s).c_str(), BM_DigestMapped, a, size)->Unit(benchmark::kMillisecond);
    }
    RegisterBenchmark(("read/buffer/memcpy" + s).c_str(), BM_ReadBuffer, size)->Unit(benchmark::kMillisecond);
    RegisterBenchmark(("read/file/pread" + s).c_str(), BM_ReadFile, size)->Unit(benchmark::kMillisecond);
  }

  for (uint64_t heap : kHeapSizes) {
    const std::string h = "/heap:" + size_label(heap);
    for (Check c : {Check::kBlake3, Check::kXxh3}) {
      RegisterBenchmark(("snapshot/save/" + std::string(check_name(c)) + h).c_str(), BM_Save, c, heap)
          ->UseRealTime()
          ->Unit(benchmark::kMillisecond);
    }
    for (Check c : {Check::kBlake3, Check::kXxh3, Check::kUnchecked}) {
      RegisterBenchmark(("snapshot/load/" + std::string(check_name(c)) + h).c_str(), BM_Load, c, heap)
          ->UseRealTime()
          ->Unit(benchmark::kMicrosecond);
    }
  }

  for (uint64_t heap : kHeapSizes) {
    RegisterBenchmark(("snapshot/take/dirty:1/heap:" + size_label(heap)).c_str(), BM_TakeSnapshot, heap)
        ->UseManualTime()
        ->Unit(benchmark::kMicrosecond);
  }

  // 1 page at every size (restore cost against size); 100 where the heap has 100 pages; all of them.
  for (uint64_t heap : kHeapSizes) {
    const std::string h = "/heap:" + size_label(heap);
    for (uint64_t dirty : {uint64_t{1}, uint64_t{100}, uint64_t{0}}) {
      if (dirty >= heap / abi::kPageSize) continue;
      const std::string d = dirty == 0 ? "all" : std::to_string(dirty);
      RegisterBenchmark(("restore/dirty:" + d + h).c_str(), BM_Restore, dirty, heap)
          ->UseManualTime()
          ->Unit(benchmark::kMicrosecond);
    }
  }
  return true;
}();

}  // namespace
}  // namespace snapvm::bench
