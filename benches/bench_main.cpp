// bench_main.cpp: the main of every snapvm benchmark binary. Google Benchmark's own main always exits 0;
// this one exits 1 when a benchmark failed (bench::fail), including a KVM benchmark that found no
// usable /dev/kvm while SNAPVM_REQUIRE_KVM=1, so neither a broken benchmark nor a skip can pass
// unnoticed under ctest. It also records in the JSON context whether KVM was usable.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <string>

#include "bench_support.h"
#include "hypervisor/kvm.h"

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  std::string why;
  const bool kvm = snapvm::Kvm::available(&why);
  benchmark::AddCustomContext("snapvm_kvm_usable", kvm ? "yes" : "no: " + why);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  if (int failed = snapvm::bench::failure_count(); failed > 0) {
    std::fprintf(stderr, "snapvm bench: %d benchmark run(s) failed (see FAILED lines above)\n", failed);
    return 1;
  }
  return 0;
}
