// cold_start_bench.cpp: cold start to a completed Echo call, by path and heap size, and the bare KVM
// floor in the same run, so each cold start can be given as a ratio to it and to ELF init.
//   cold_start/elf/heap:<H>                 SandboxBuilder::from_elf(...).build() (ELF load + guest init)
//   cold_start/snapshot_blake3/heap:<H>     Snapshot::from_file (BLAKE3-256 file) + from_snapshot
//   cold_start/snapshot_xxh3/heap:<H>       Snapshot::from_file (XXH3-128 file) + from_snapshot
//   cold_start/snapshot_unchecked/heap:<H>  Snapshot::from_file_unchecked + from_snapshot
//   kvm_floor                               VM + vCPU + 4 MiB mapped + one `out` exit
// Times are from the start to the Echo result (manual time); tearing the sandbox down is reported
// apart, as the counter teardown_us. Snapshot files are baked once per process (page cache hot), and
// each benchmark starts once untimed before it measures.
#include <benchmark/benchmark.h>

#include <string>

#include "bench_support.h"
#include "kvm_floor.h"
#include "snapvm/sandbox.h"
#include "snapvm/snapshot.h"
#include "snapvm_harness/host_stubs.h"

namespace snapvm::bench {
namespace {

enum class Path { kElf, kBlake3, kXxh3, kUnchecked };

const char* path_name(Path p) {
  switch (p) {
    case Path::kElf:
      return "elf";
    case Path::kBlake3:
      return "snapshot_blake3";
    case Path::kXxh3:
      return "snapshot_xxh3";
    case Path::kUnchecked:
      return "snapshot_unchecked";
  }
  return "?";
}

Result<MultiUseSandbox> start(Path path, uint64_t heap, const BakedSnapshot* files) {
  switch (path) {
    case Path::kElf: {
      SandboxConfig config;
      config.heap_size = heap;
      return SandboxBuilder::from_elf(sample_guest_path(), config)
          .host_functions(harness::sample_host_functions())
          .build();
    }
    case Path::kBlake3: {
      Snapshot s = TRY(Snapshot::from_file(files->blake3));
      return MultiUseSandbox::from_snapshot(s, harness::sample_host_functions());
    }
    case Path::kXxh3: {
      Snapshot s = TRY(Snapshot::from_file(files->xxh3));
      return MultiUseSandbox::from_snapshot(s, harness::sample_host_functions());
    }
    case Path::kUnchecked: {
      Snapshot s = TRY(Snapshot::from_file_unchecked(files->blake3));
      return MultiUseSandbox::from_snapshot(s, harness::sample_host_functions());
    }
  }
  return make_error(ErrorCode::kInvalidConfig, "path");
}

void BM_ColdStart(benchmark::State& state, Path path, uint64_t heap) {
  if (!kvm_ready(state)) return;
  const BakedSnapshot* files = nullptr;
  if (path != Path::kElf) {
    auto baked = baked_snapshot(heap);
    if (!baked) return fail(state, "baking the snapshot files", baked.error());
    files = *baked;
  }
  const std::string hello = "hello";
  // One untimed start first: the guest ELF and the snapshot files in the page cache, KVM warmed up.
  if (auto warm = start(path, heap, files); !warm) return fail(state, "cold start (warm-up)", warm.error());
  double teardown = 0;
  for (auto _ : state) {
    const auto t0 = Clock::now();
    Clock::time_point t1;
    {
      auto sandbox = start(path, heap, files);
      if (!sandbox) return fail(state, "cold start", sandbox.error());
      auto echoed = sandbox->call_as<std::string>("Echo", {hello});
      t1 = Clock::now();
      if (!echoed) return fail(state, "Echo", echoed.error());
      if (*echoed != hello) return fail(state, "Echo returned \"" + *echoed + "\"");
    }
    teardown += seconds(t1, Clock::now());
    state.SetIterationTime(seconds(t0, t1));
  }
  state.counters["teardown_us"] = benchmark::Counter(teardown * 1e6, benchmark::Counter::kAvgIterations);
  state.counters["heap_bytes"] = static_cast<double>(heap);
}

void BM_KvmFloor(benchmark::State& state) {
  if (!kvm_ready(state)) return;
  if (auto warm = kvm_floor_once(); !warm) return fail(state, "KVM floor (warm-up)", warm.error());
  double teardown = 0;
  for (auto _ : state) {
    auto t = kvm_floor_once();
    if (!t) return fail(state, "KVM floor", t.error());
    teardown += t->teardown_seconds;
    state.SetIterationTime(t->start_seconds);
  }
  state.counters["teardown_us"] = benchmark::Counter(teardown * 1e6, benchmark::Counter::kAvgIterations);
}

[[maybe_unused]] const bool registered = [] {
  benchmark::RegisterBenchmark("kvm_floor", BM_KvmFloor)->UseManualTime()->Unit(benchmark::kMicrosecond);
  for (Path path : {Path::kElf, Path::kBlake3, Path::kXxh3, Path::kUnchecked}) {
    for (uint64_t heap : kHeapSizes) {
      std::string name = std::string("cold_start/") + path_name(path) + "/heap:" + size_label(heap);
      benchmark::RegisterBenchmark(name.c_str(), BM_ColdStart, path, heap)
          ->UseManualTime()
          ->Unit(benchmark::kMicrosecond);
    }
  }
  return true;
}();

}  // namespace
}  // namespace snapvm::bench
