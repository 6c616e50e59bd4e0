// call_bench.cpp: the latency of one guest call, and of a guest call that calls the host back, on a
// sandbox that lives across iterations (128 KiB heap).
//   call/add          Add(i32, i32) -> i32: encode, one entry, one `out` back, decode
//   call/echo_string  Echo("hello") -> string
//   call/host_add     CallHostAdd(i64, i64): the guest calls HostAdd on the host (one more exit)
//   call/host_echo    CallHostEcho(string): the same round trip with a string both ways
// The counter exits_per_call is what each call costs in VM exits by construction (1 or 2).
#include <benchmark/benchmark.h>

#include <optional>
#include <string>

#include "bench_support.h"
#include "snapvm/sandbox.h"
#include "snapvm_harness/host_stubs.h"

namespace snapvm::bench {
namespace {

Result<MultiUseSandbox> make_sandbox() {
  return SandboxBuilder::from_elf(sample_guest_path()).host_functions(harness::sample_host_functions()).build();
}

template <typename R>
void BM_Call(benchmark::State& state, const char* function, std::vector<Value> args, R expected, int exits) {
  if (!kvm_ready(state)) return;
  auto sandbox = make_sandbox();
  if (!sandbox) return fail(state, "making the sandbox", sandbox.error());
  for (auto _ : state) {
    auto r = sandbox->call_as<R>(function, args);
    if (!r) return fail(state, function, r.error());
    if (!(*r == expected)) return fail(state, std::string(function) + " returned an unexpected value");
  }
  state.counters["exits_per_call"] = exits;
}

[[maybe_unused]] const bool registered = [] {
  benchmark::RegisterBenchmark("call/add", BM_Call<int32_t>, "Add", std::vector<Value>{int32_t{2}, int32_t{40}},
                               int32_t{42}, 1)
      ->UseRealTime()
      ->Unit(benchmark::kMicrosecond);
  benchmark::RegisterBenchmark("call/echo_string", BM_Call<std::string>, "Echo",
                               std::vector<Value>{std::string("hello")}, std::string("hello"), 1)
      ->UseRealTime()
      ->Unit(benchmark::kMicrosecond);
  benchmark::RegisterBenchmark("call/host_add", BM_Call<int64_t>, "CallHostAdd",
                               std::vector<Value>{int64_t{2}, int64_t{40}}, int64_t{42}, 2)
      ->UseRealTime()
      ->Unit(benchmark::kMicrosecond);
  benchmark::RegisterBenchmark("call/host_echo", BM_Call<std::string>, "CallHostEcho",
                               std::vector<Value>{std::string("hello")}, std::string("host:hello"), 2)
      ->UseRealTime()
      ->Unit(benchmark::kMicrosecond);
  return true;
}();

}  // namespace
}  // namespace snapvm::bench
