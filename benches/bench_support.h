// bench_support.h: what every snapvm benchmark binary shares: the KVM check (skip with the reason, or
// fail under SNAPVM_REQUIRE_KVM=1), failure accounting (a benchmark that cannot do its work makes the
// binary exit non-zero, so the ctest smoke runs catch rot), the heap sizes and their labels, the
// sample and heavy-init guests, snapshot files baked once per process, and resident-memory readings.
#pragma once

#include <benchmark/benchmark.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>

#include "snapvm/layout.h"
#include "snapvm/result.h"
#include "snapvm/snapshot.h"

namespace snapvm::bench {

// The heap sizes the design asks every cold-start and restore figure for.
inline constexpr std::array<uint64_t, 4> kHeapSizes = {128 * kKiB, 8 * kMiB, 64 * kMiB, 256 * kMiB};

// "128K", "8M", "256M", "1G": the form benchmark names and the dashboard use.
std::string size_label(uint64_t bytes);

// True when /dev/kvm is usable. Otherwise skips the benchmark with "needs /dev/kvm: <reason>"; with
// SNAPVM_REQUIRE_KVM=1 in the environment the skip also counts as a failure (exit status 1).
bool kvm_ready(benchmark::State& state);

// Reports a failure: the benchmark is skipped with `message` and the binary will exit non-zero.
void fail(benchmark::State& state, const std::string& message);
void fail(benchmark::State& state, const std::string& what, const Error& error);
int failure_count();

// The process's scratch directory ($TMPDIR or /tmp), removed when the process exits.
const std::filesystem::path& scratch_dir();

// The sample guest ELF (SNAPVM_SAMPLE_GUEST overrides the path compiled in).
std::filesystem::path sample_guest_path();

// The heavy-init guest ELF (SNAPVM_HEAVY_INIT_GUEST overrides the path compiled in). It needs no host
// functions; its initialised state is heavy_init_state(heap) bytes (the rule in guest/README.md).
std::filesystem::path heavy_init_guest_path();
inline constexpr uint64_t kHeavyInitReserve = 1 * kMiB;
inline constexpr uint64_t heavy_init_state(uint64_t heap) {
  return heap >= 2 * kHeavyInitReserve ? heap - kHeavyInitReserve : heap / 2;
}
// The heap that gives `state` bytes of initialised state (state >= 1 MiB).
inline constexpr uint64_t heavy_init_heap(uint64_t state) { return state + kHeavyInitReserve; }

// Snapshot files of a guest right after initialisation with `heap` bytes of heap, written with each
// digest. Baked on first use (ELF init, snapshot, save), then reused by the whole process.
struct BakedSnapshot {
  std::filesystem::path blake3;
  std::filesystem::path xxh3;
};
Result<const BakedSnapshot*> baked_snapshot(uint64_t heap);  // the sample guest
Result<const BakedSnapshot*> baked_heavy_init_snapshot(uint64_t heap);

// Seconds between two steady_clock points, for State::SetIterationTime.
using Clock = std::chrono::steady_clock;
inline double seconds(Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double>(b - a).count(); }

// The process's memory from /proc/self/smaps_rollup, in KiB.
struct MemoryUse {
  uint64_t rss_kib = 0;            // resident: includes file pages shared with other processes
  uint64_t pss_kib = 0;            // proportional: shared pages divided among their users
  uint64_t private_dirty_kib = 0;  // memory only this process holds (copied-on-write and anonymous)
  uint64_t anonymous_kib = 0;
};
Result<MemoryUse> read_memory_use();

}  // namespace snapvm::bench
