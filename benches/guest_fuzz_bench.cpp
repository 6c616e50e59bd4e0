// guest_fuzz_bench.cpp: what one fuzzing exec costs (GuestFuzzer::run: restore the pages the previous
// input dirtied, then one call), against the same call on a live sandbox that is never restored.
//   fuzz/exec/small/heap:<H>         GuestFuzzer::run on Add(i32, i32): an 8-byte input
//   fuzz/exec/dirty:<N>/heap:<H>     GuestFuzzer::run on TouchPages(u64): the input (N) dirties N heap pages
//   fuzz/bare_call/small/heap:<H>    MultiUseSandbox::call("Add", ...): no restore, the baseline
//   fuzz/bare_call/dirty:1/heap:<H>  MultiUseSandbox::call("TouchPages", {1}): no restore
// Every sandbox starts from one file per heap size, baked once per process into the scratch directory:
// the sample guest initialised, then BufferFill of 256 pages (TouchPages writes into that buffer),
// snapshotted and saved with XXH3. The fuzzer opens it as users do (GuestFuzzer::open: a verified load);
// the bare sandbox starts from the same file (Snapshot::from_file, MultiUseSandbox::from_snapshot) with
// the same host functions and the same per-call timeout. Counters: execs_per_s (and items_per_second),
// pages_restored per exec (GuestFuzzer::last_restore_pages), pages_dirtied, heap_bytes. Real time.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "bench_support.h"
#include "snapvm/abi/layout.h"
#include "snapvm/sandbox.h"
#include "snapvm/snapshot.h"
#include "snapvm_harness/guest_fuzzer.h"
#include "snapvm_harness/host_stubs.h"

namespace snapvm::bench {
namespace {

constexpr uint64_t kBufferPages = 256;                  // the most any benchmark here dirties
constexpr auto kCallTimeout = std::chrono::seconds(1);  // GuestFuzzOptions' default, used for both sides

// The baked file for `heap`: made on first use, then shared by every benchmark of the process.
Result<std::filesystem::path> fuzz_file(uint64_t heap) {
  static std::mutex mu;
  static std::map<uint64_t, std::filesystem::path> cache;
  std::lock_guard lock(mu);
  if (auto it = cache.find(heap); it != cache.end()) return it->second;
  SandboxConfig config;
  config.heap_size = heap;
  MultiUseSandbox sandbox = TRY(
      SandboxBuilder::from_elf(sample_guest_path(), config).host_functions(harness::sample_host_functions()).build());
  if (auto r = sandbox.call("BufferFill", {kBufferPages * abi::kPageSize, uint32_t{7}}); !r) return r.error();
  Snapshot snapshot = TRY(sandbox.snapshot());
  const auto path = scratch_dir() / ("guest-fuzz-heap-" + size_label(heap) + ".xxh3.svm");
  SaveOptions options;
  options.digest = DigestAlgorithm::kXxh3_128;
  TRY(snapshot.to_file(path, options));
  return cache.emplace(heap, path).first->second;
}

// What the benchmark calls: Add(2, 40) -> 42, or TouchPages(n) -> n.
struct Workload {
  const char* function;
  std::vector<Value> args;
  Value expected;
  uint64_t pages_dirtied;
};
Workload small() { return {"Add", {int32_t{2}, int32_t{40}}, int32_t{42}, 0}; }
Workload dirty(uint64_t pages) { return {"TouchPages", {pages}, pages, pages}; }

void set_counters(benchmark::State& state, const Workload& w, uint64_t heap) {
  state.SetItemsProcessed(state.iterations());
  state.counters["execs_per_s"] =
      benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
  state.counters["pages_dirtied"] = static_cast<double>(w.pages_dirtied);
  state.counters["heap_bytes"] = static_cast<double>(heap);
}

void BM_Exec(benchmark::State& state, Workload w, uint64_t heap) {
  if (!kvm_ready(state)) return;
  auto file = fuzz_file(heap);
  if (!file) return fail(state, "baking the snapshot file", file.error());
  harness::GuestFuzzOptions options;
  options.call_timeout = kCallTimeout;
  auto fuzzer = harness::GuestFuzzer::open(*file, w.function, options);
  if (!fuzzer) return fail(state, "GuestFuzzer::open", fuzzer.error());
  auto input = harness::join_input(fuzzer->function().signature, w.args);
  if (!input) return fail(state, "join_input", input.error());
  // One untimed exec first, so that every timed one restores what the one before it dirtied.
  auto check = [&](const harness::ExecResult& r) -> bool {
    if (r.outcome != harness::ExecOutcome::kReturned) {
      fail(state, std::string(w.function) + " did not return", r.error.value_or(Error{}));
      return false;
    }
    if (!(r.result == w.expected)) {
      fail(state, std::string(w.function) + " returned an unexpected value");
      return false;
    }
    return true;
  };
  if (!check(fuzzer->run(*input))) return;
  uint64_t restored = 0;
  for (auto _ : state) {
    const harness::ExecResult r = fuzzer->run(*input);
    if (!check(r)) return;
    // Each exec must have put back at least what the one before it dirtied (else this is no exec).
    const uint64_t pages = fuzzer->last_restore_pages();
    if (const uint64_t least = std::max<uint64_t>(w.pages_dirtied, 1); pages < least) {
      return fail(state, "GuestFuzzer::run restored " + std::to_string(pages) + " page(s), expected at least " +
                             std::to_string(least) + " (what the previous input dirtied)");
    }
    restored += pages;
  }
  set_counters(state, w, heap);
  state.counters["pages_restored"] =
      benchmark::Counter(static_cast<double>(restored), benchmark::Counter::kAvgIterations);
}

void BM_BareCall(benchmark::State& state, Workload w, uint64_t heap) {
  if (!kvm_ready(state)) return;
  auto file = fuzz_file(heap);
  if (!file) return fail(state, "baking the snapshot file", file.error());
  auto snapshot = Snapshot::from_file(*file);
  if (!snapshot) return fail(state, "Snapshot::from_file", snapshot.error());
  auto sandbox = MultiUseSandbox::from_snapshot(*snapshot, harness::host_functions_for(snapshot->host_functions()));
  if (!sandbox) return fail(state, "MultiUseSandbox::from_snapshot", sandbox.error());
  CallOptions options;
  options.timeout = kCallTimeout;
  for (auto _ : state) {
    auto r = sandbox->call(w.function, w.args, options);
    if (!r) return fail(state, w.function, r.error());
    if (!(*r == w.expected)) return fail(state, std::string(w.function) + " returned an unexpected value");
  }
  set_counters(state, w, heap);
}

[[maybe_unused]] const bool registered = [] {
  using benchmark::RegisterBenchmark;
  constexpr uint64_t kSmallHeap = 4 * kMiB, kBigHeap = 256 * kMiB;
  auto exec = [](const std::string& what, Workload w, uint64_t heap) {
    RegisterBenchmark(("fuzz/exec/" + what + "/heap:" + size_label(heap)).c_str(), BM_Exec, std::move(w), heap)
        ->UseRealTime()
        ->Unit(benchmark::kMicrosecond);
  };
  auto bare = [](const std::string& what, Workload w, uint64_t heap) {
    RegisterBenchmark(("fuzz/bare_call/" + what + "/heap:" + size_label(heap)).c_str(), BM_BareCall, std::move(w), heap)
        ->UseRealTime()
        ->Unit(benchmark::kMicrosecond);
  };
  // Registration order is run order: the baseline next to the execs it is compared with, and the
  // 256 MiB sandboxes last (under emulation, the guest kernel's work after one slows what follows).
  bare("small", small(), kSmallHeap);
  bare("dirty:1", dirty(1), kSmallHeap);
  exec("small", small(), kSmallHeap);
  for (uint64_t pages : {uint64_t{1}, uint64_t{16}, uint64_t{256}}) {
    exec("dirty:" + std::to_string(pages), dirty(pages), kSmallHeap);
  }
  // The same at 64x the heap: an exec's restore should follow the pages dirtied, not the heap size.
  for (uint64_t pages : {uint64_t{1}, uint64_t{256}}) {
    exec("dirty:" + std::to_string(pages), dirty(pages), kBigHeap);
  }
  return true;
}();

}  // namespace
}  // namespace snapvm::bench
