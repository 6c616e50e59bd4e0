// main_job.h: the README's main job, end to end on a guest: bake snapshot files at several heap
// sizes, round-trip each, run a mutation campaign, time cold start from the ELF against cold start
// from the file, print a summary table and write the same report as JSON.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace snapvm::harness {

struct MainJobOptions {
  std::string guest_elf;
  std::string work_dir = "out/harness";
  std::string report_path = "out/harness/report.json";
  std::vector<uint64_t> heap_sizes = {uint64_t{128} << 10, uint64_t{8} << 20, uint64_t{64} << 20};
  uint64_t seed = 1;
  size_t random_per_family = 32;
  int repetitions = 5;
};

// True when every round trip matched and the campaign found no crash and no wrong acceptance.
bool run_main_job(const MainJobOptions& options);

}  // namespace snapvm::harness
