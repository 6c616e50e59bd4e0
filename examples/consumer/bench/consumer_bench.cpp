// consumer_bench.cpp: Google Benchmark in the consumer (no KVM): the harness's argument parser and the
// engine's refusal of a file that is not a snapshot (open, read the header, reject).
#include <benchmark/benchmark.h>

#include <snapvm/snapvm.h>
#include <snapvm_harness/arguments.h>
#include <unistd.h>
#include <filesystem>
#include <fstream>
#include <string>

static void BM_ParseArgument(benchmark::State& state) {
  for (auto _ : state) {
    auto v = snapvm::harness::parse_argument(snapvm::ValueType::kU64, "0xdeadbeef");
    benchmark::DoNotOptimize(v);
  }
}
BENCHMARK(BM_ParseArgument);

static void BM_RejectNotASnapshot(benchmark::State& state) {
  const auto file = std::filesystem::temp_directory_path() / ("consumer-bench-" + std::to_string(::getpid()));
  std::ofstream(file) << std::string(4096, 'x');
  for (auto _ : state) {
    auto loaded = snapvm::Snapshot::from_file(file);
    if (loaded) state.SkipWithError("a file of 'x' was accepted as a snapshot");
  }
  std::filesystem::remove(file);
}
BENCHMARK(BM_RejectNotASnapshot);
