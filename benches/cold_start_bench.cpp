// cold_start_bench.cpp: cold start to a first completed call, by path and heap size, for the sample
// guest (whose init does next to nothing) and the heavy-init guest (whose init builds tables in its
// heap), and the bare KVM floor in the same run, so each cold start can be given as a ratio to it and
// to ELF init.
//   cold_start/elf/heap:<H>                 SandboxBuilder::from_elf(...).build() (ELF load + guest init)
//   cold_start/snapshot_blake3/heap:<H>     Snapshot::from_file (BLAKE3-256 file) + from_snapshot
//   cold_start/snapshot_xxh3/heap:<H>       Snapshot::from_file (XXH3-128 file) + from_snapshot
//   cold_start/snapshot_unchecked/heap:<H>  Snapshot::from_file_unchecked + from_snapshot
//   cold_start_heavy/<path>/state:<S>       the same four paths for the heavy-init guest with S bytes
//                                           of initialised state (heap S + 1 MiB), to one Lookup
//   kvm_floor                               VM + vCPU + 4 MiB mapped + one `out` exit
// Times are from the start to the call's result (manual time: Echo for the sample guest, Lookup of a
// key through the hash index for the heavy-init guest); tearing the sandbox down is reported apart, as
// the counter teardown_us. Snapshot files are baked once per process (page cache hot), and each
// benchmark starts once untimed before it measures.
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

// Initialised state of the heavy-init guest the suite sweeps.
constexpr uint64_t kHeavyInitStates[] = {1 * kMiB, 16 * kMiB, 64 * kMiB};

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

// The call that ends a cold start, with the answer it must give.
struct Probe {
  std::string function;
  Value arg;
  Value expected;
};

Result<Probe> sample_probe(MultiUseSandbox&) { return Probe{"Echo", std::string("hello"), std::string("hello")}; }

// The heavy-init guest's probe: the middle key of its sorted set, which Lookup must find at its rank
// (through the hash index and the key array, so a start that lost the state fails the benchmark).
Result<Probe> heavy_init_probe(MultiUseSandbox& sandbox) {
  const uint64_t rank = TRY(sandbox.call_as<uint64_t>("KeyCount")) / 2;
  const uint64_t key = TRY(sandbox.call_as<uint64_t>("KeyAt", {rank}));
  return Probe{"Lookup", key, rank};
}

// Which guest starts: its ELF, its host functions, its baked snapshot files and its probe.
struct Guest {
  std::filesystem::path elf;
  HostFunctions host;
  Result<const BakedSnapshot*> (*bake)(uint64_t heap);
  Result<Probe> (*probe)(MultiUseSandbox& warm);
  bool heavy_init = false;  // reports the counter state_bytes
};

Guest sample_guest() { return {sample_guest_path(), harness::sample_host_functions(), baked_snapshot, sample_probe}; }
Guest heavy_init_guest() { return {heavy_init_guest_path(), {}, baked_heavy_init_snapshot, heavy_init_probe, true}; }

Result<MultiUseSandbox> start(const Guest& guest, Path path, uint64_t heap, const BakedSnapshot* files) {
  switch (path) {
    case Path::kElf: {
      SandboxConfig config;
      config.heap_size = heap;
      return SandboxBuilder::from_elf(guest.elf, config).host_functions(guest.host).build();
    }
    case Path::kBlake3: {
      Snapshot s = TRY(Snapshot::from_file(files->blake3));
      return MultiUseSandbox::from_snapshot(s, guest.host);
    }
    case Path::kXxh3: {
      Snapshot s = TRY(Snapshot::from_file(files->xxh3));
      return MultiUseSandbox::from_snapshot(s, guest.host);
    }
    case Path::kUnchecked: {
      Snapshot s = TRY(Snapshot::from_file_unchecked(files->blake3));
      return MultiUseSandbox::from_snapshot(s, guest.host);
    }
  }
  return make_error(ErrorCode::kInvalidConfig, "path");
}

void BM_ColdStart(benchmark::State& state, const Guest& guest, Path path, uint64_t heap) {
  if (!kvm_ready(state)) return;
  const BakedSnapshot* files = nullptr;
  if (path != Path::kElf) {
    auto baked = guest.bake(heap);
    if (!baked) return fail(state, "baking the snapshot files", baked.error());
    files = *baked;
  }
  // One untimed start first: the guest ELF and the snapshot files in the page cache, KVM warmed up.
  // It also picks the probe call, and is gone before the timed starts.
  Result<Probe> probed = [&]() -> Result<Probe> {
    MultiUseSandbox warm = TRY(start(guest, path, heap, files));
    return guest.probe(warm);
  }();
  if (!probed) return fail(state, "cold start (warm-up)", probed.error());
  const Probe probe = std::move(*probed);
  double teardown = 0;
  for (auto _ : state) {
    const auto t0 = Clock::now();
    Clock::time_point t1;
    {
      auto sandbox = start(guest, path, heap, files);
      if (!sandbox) return fail(state, "cold start", sandbox.error());
      auto answer = sandbox->call(probe.function, {probe.arg});
      t1 = Clock::now();
      if (!answer) return fail(state, probe.function, answer.error());
      if (*answer != probe.expected) return fail(state, probe.function + " gave a wrong answer");
    }
    teardown += seconds(t1, Clock::now());
    state.SetIterationTime(seconds(t0, t1));
  }
  state.counters["teardown_us"] = benchmark::Counter(teardown * 1e6, benchmark::Counter::kAvgIterations);
  state.counters["heap_bytes"] = static_cast<double>(heap);
  if (guest.heavy_init) state.counters["state_bytes"] = static_cast<double>(heavy_init_state(heap));
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
      benchmark::RegisterBenchmark(name.c_str(), BM_ColdStart, sample_guest(), path, heap)
          ->UseManualTime()
          ->Unit(benchmark::kMicrosecond);
    }
  }
  for (Path path : {Path::kElf, Path::kBlake3, Path::kXxh3, Path::kUnchecked}) {
    for (uint64_t state : kHeavyInitStates) {
      std::string name = std::string("cold_start_heavy/") + path_name(path) + "/state:" + size_label(state);
      benchmark::RegisterBenchmark(name.c_str(), BM_ColdStart, heavy_init_guest(), path, heavy_init_heap(state))
          ->UseManualTime()
          ->Unit(benchmark::kMicrosecond);
    }
  }
  return true;
}();

}  // namespace
}  // namespace snapvm::bench
