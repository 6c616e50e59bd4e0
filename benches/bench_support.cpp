// bench_support.cpp: the KVM check, failure accounting, scratch files and baked snapshots, memory use.
#include "bench_support.h"

#include <stdlib.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>

#include "hypervisor/kvm.h"
#include "snapvm/sandbox.h"
#include "snapvm_harness/host_stubs.h"

namespace snapvm::bench {

namespace {
std::atomic<int> g_failures{0};

bool kvm_required() {
  const char* v = std::getenv("SNAPVM_REQUIRE_KVM");
  return v != nullptr && std::string(v) == "1";
}

class ScratchDir {
 public:
  ScratchDir() {
    std::error_code ec;
    std::filesystem::path base = std::filesystem::temp_directory_path(ec);
    if (ec) base = "/tmp";
    std::string pattern = (base / "snapvm-bench.XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) {
      std::perror("snapvm bench: mkdtemp");
      std::abort();
    }
    path_ = pattern;
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};
}  // namespace

std::string size_label(uint64_t bytes) {
  if (bytes >= kGiB && bytes % kGiB == 0) return std::to_string(bytes / kGiB) + "G";
  if (bytes >= kMiB && bytes % kMiB == 0) return std::to_string(bytes / kMiB) + "M";
  if (bytes >= kKiB && bytes % kKiB == 0) return std::to_string(bytes / kKiB) + "K";
  return std::to_string(bytes);
}

bool kvm_ready(benchmark::State& state) {
  std::string why;
  if (Kvm::available(&why)) return true;
  if (kvm_required()) {
    fail(state, "SNAPVM_REQUIRE_KVM=1 but KVM is unusable: " + why);
  } else {
    state.SkipWithError(("needs /dev/kvm: " + why).c_str());
  }
  return false;
}

void fail(benchmark::State& state, const std::string& message) {
  g_failures.fetch_add(1);
  std::fprintf(stderr, "snapvm bench: FAILED: %s\n", message.c_str());
  state.SkipWithError(message.c_str());
}

void fail(benchmark::State& state, const std::string& what, const Error& error) {
  fail(state, what + ": " + error.to_string());
}

int failure_count() { return g_failures.load(); }

const std::filesystem::path& scratch_dir() {
  static ScratchDir dir;
  return dir.path();
}

std::filesystem::path sample_guest_path() {
  if (const char* p = std::getenv("SNAPVM_SAMPLE_GUEST"); p != nullptr && *p != '\0') return p;
  return SNAPVM_SAMPLE_GUEST;
}

std::filesystem::path heavy_init_guest_path() {
  if (const char* p = std::getenv("SNAPVM_HEAVY_INIT_GUEST"); p != nullptr && *p != '\0') return p;
  return SNAPVM_HEAVY_INIT_GUEST;
}

namespace {
// One cache for every guest: keyed by the file stem, "<guest>-heap-<size>".
Result<const BakedSnapshot*> bake(const std::filesystem::path& elf, const HostFunctions& host, const std::string& guest,
                                  uint64_t heap) {
  static std::mutex mu;
  static std::map<std::string, BakedSnapshot> cache;
  std::lock_guard lock(mu);
  const std::string stem = guest + "-heap-" + size_label(heap);
  if (auto it = cache.find(stem); it != cache.end()) return &it->second;

  SandboxConfig config;
  config.heap_size = heap;
  MultiUseSandbox sandbox = TRY(SandboxBuilder::from_elf(elf, config).host_functions(host).build());
  Snapshot snapshot = TRY(sandbox.snapshot());
  BakedSnapshot baked;
  baked.blake3 = scratch_dir() / (stem + ".blake3.svm");
  baked.xxh3 = scratch_dir() / (stem + ".xxh3.svm");
  SaveOptions options;
  options.digest = DigestAlgorithm::kBlake3_256;
  TRY(snapshot.to_file(baked.blake3, options));
  options.digest = DigestAlgorithm::kXxh3_128;
  TRY(snapshot.to_file(baked.xxh3, options));
  return &cache.emplace(stem, std::move(baked)).first->second;
}
}  // namespace

Result<const BakedSnapshot*> baked_snapshot(uint64_t heap) {
  return bake(sample_guest_path(), harness::sample_host_functions(), "sample", heap);
}

Result<const BakedSnapshot*> baked_heavy_init_snapshot(uint64_t heap) {
  return bake(heavy_init_guest_path(), {}, "heavy-init", heap);
}

Result<MemoryUse> read_memory_use() {
  std::ifstream in("/proc/self/smaps_rollup");
  if (!in) return make_error(ErrorCode::kIo, "/proc/self/smaps_rollup", "cannot open");
  MemoryUse m;
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string key;
    uint64_t kib = 0;
    if (!(fields >> key >> kib)) continue;
    if (key == "Rss:")
      m.rss_kib = kib;
    else if (key == "Pss:")
      m.pss_kib = kib;
    else if (key == "Private_Dirty:")
      m.private_dirty_kib = kib;
    else if (key == "Anonymous:")
      m.anonymous_kib = kib;
  }
  if (m.rss_kib == 0) return make_error(ErrorCode::kIo, "/proc/self/smaps_rollup", "no Rss line");
  return m;
}

}  // namespace snapvm::bench
