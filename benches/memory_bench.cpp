// memory_bench.cpp: resident memory of many sandboxes started from one 64 MiB-heap snapshot file.
//   memory/sandboxes:<N>/dirty_pages:<P>
// loads the file once (verified), starts N sandboxes from it, calls Echo in each, has each write P
// pages of its heap (BufferFill of P pages), then reads /proc/self/smaps_rollup with all N alive.
// Counters, per sandbox, of the growth over the reading taken before the first was made:
//   private_dirty_per_sandbox_kib  memory only that sandbox holds: what N sandboxes really cost
//   rss_per_sandbox_kib            resident pages mapped, counting the shared file pages each maps
//   pss_per_sandbox_kib            resident with shared pages split among their users
//   snapshot_kib                   the size of the snapshot's memory, for comparison
// The design's claim: the first grows with P (about 4 KiB a page), not with the snapshot's size.
// Time is the making of all N sandboxes (and their dirtying), divided out as per_sandbox_us.
// Kernel memory (KVM's own structures, EPT/NPT tables) is not in smaps and not counted here.
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "bench_support.h"
#include "snapvm/abi/layout.h"
#include "snapvm/sandbox.h"
#include "snapvm/snapshot.h"
#include "snapvm_harness/host_stubs.h"

namespace snapvm::bench {
namespace {

constexpr uint64_t kHeap = 64 * kMiB;

void BM_Memory(benchmark::State& state, int count, uint64_t dirty_pages) {
  if (!kvm_ready(state)) return;
  auto files = baked_snapshot(kHeap);
  if (!files) return fail(state, "baking the snapshot file", files.error());
  auto snap = Snapshot::from_file((*files)->blake3);
  if (!snap) return fail(state, "Snapshot::from_file", snap.error());
  uint64_t snapshot_bytes = 0;
  for (const Region& r : snap->layout().regions) snapshot_bytes += r.size;

  double rss = 0, pss = 0, priv = 0, elapsed = 0;
  for (auto _ : state) {
    auto before = read_memory_use();
    if (!before) return fail(state, "reading memory use", before.error());
    std::vector<MultiUseSandbox> sandboxes;
    sandboxes.reserve(static_cast<size_t>(count));
    const auto t0 = Clock::now();
    for (int i = 0; i < count; ++i) {
      auto sb = MultiUseSandbox::from_snapshot(*snap, harness::sample_host_functions());
      if (!sb) return fail(state, "from_snapshot #" + std::to_string(i), sb.error());
      if (auto r = sb->call("Echo", {std::string("hello")}); !r) return fail(state, "Echo", r.error());
      if (dirty_pages > 0) {
        if (auto r = sb->call("BufferFill", {dirty_pages * abi::kPageSize, static_cast<uint32_t>(i)}); !r) {
          return fail(state, "BufferFill", r.error());
        }
      }
      sandboxes.push_back(std::move(*sb));
    }
    const auto t1 = Clock::now();
    auto after = read_memory_use();
    if (!after) return fail(state, "reading memory use", after.error());
    sandboxes.clear();
    const double n = count;
    rss += (static_cast<double>(after->rss_kib) - static_cast<double>(before->rss_kib)) / n;
    pss += (static_cast<double>(after->pss_kib) - static_cast<double>(before->pss_kib)) / n;
    priv += (static_cast<double>(after->private_dirty_kib) - static_cast<double>(before->private_dirty_kib)) / n;
    elapsed += seconds(t0, t1);
    state.SetIterationTime(seconds(t0, t1));
  }
  using benchmark::Counter;
  state.counters["rss_per_sandbox_kib"] = Counter(rss, Counter::kAvgIterations);
  state.counters["pss_per_sandbox_kib"] = Counter(pss, Counter::kAvgIterations);
  state.counters["private_dirty_per_sandbox_kib"] = Counter(priv, Counter::kAvgIterations);
  state.counters["per_sandbox_us"] = Counter(elapsed * 1e6 / count, Counter::kAvgIterations);
  state.counters["snapshot_kib"] = static_cast<double>(snapshot_bytes / 1024);
  state.counters["dirty_pages"] = static_cast<double>(dirty_pages);
  state.counters["sandboxes"] = count;
}

[[maybe_unused]] const bool registered = [] {
  for (int count : {1, 10, 100}) {
    for (uint64_t dirty : {uint64_t{0}, uint64_t{256}, uint64_t{1024}}) {
      const std::string name = "memory/sandboxes:" + std::to_string(count) + "/dirty_pages:" + std::to_string(dirty);
      benchmark::RegisterBenchmark(name.c_str(), BM_Memory, count, dirty)
          ->UseManualTime()
          ->Iterations(1)
          ->Unit(benchmark::kMillisecond);
    }
  }
  return true;
}();

}  // namespace
}  // namespace snapvm::bench
