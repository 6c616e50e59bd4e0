// main_job.cpp: the harness main job (see main_job.h), with progress on stderr.
#include "snapvm_harness/main_job.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>

#include "snapshot/atomic_file.h"
#include "snapvm/sandbox.h"
#include "snapvm/snapshot.h"
#include "snapvm_harness/campaign.h"
#include "snapvm_harness/host_stubs.h"
#include "snapvm_harness/mutators.h"
#include "snapvm_harness/roundtrip.h"

namespace snapvm::harness {

namespace {
using Clock = std::chrono::steady_clock;

double ms(Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double, std::milli>(b - a).count(); }

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

void progress(const std::string& line) { std::cerr << "[harness] " << line << std::endl; }

std::string heap_name(uint64_t h) {
  return h >= (1u << 20) ? std::to_string(h >> 20) + " MiB" : std::to_string(h >> 10) + " KiB";
}

// Cold start to a completed Echo call; returns milliseconds or a negative number on failure.
template <typename Start>
double time_cold_start(Start start, std::string* error) {
  auto t0 = Clock::now();
  auto sb = start();
  if (!sb) {
    *error = sb.error().to_string();
    return -1;
  }
  auto r = sb->call("Echo", {std::string("cold")});
  auto t1 = Clock::now();
  if (!r) {
    *error = r.error().to_string();
    return -1;
  }
  return ms(t0, t1);
}

struct Row {
  uint64_t heap;
  double elf_ms, verified_ms, fast_ms, unchecked_ms;
  bool round_trip_ok;
  uint64_t file_bytes;
};

// What one heap size gives: the row for the table, and the snapshot file for the campaign.
struct HeapResult {
  std::optional<Row> row;
  std::string file;
  bool ok = true;
};

// Cold starts from the ELF, `repetitions` times; medians are taken later.
std::vector<double> time_elf_starts(const MainJobOptions& o, const SandboxConfig& config, std::string* error) {
  std::vector<double> times;
  for (int r = 0; r < o.repetitions && error->empty(); ++r) {
    double t = time_cold_start(
        [&] { return SandboxBuilder::from_elf(o.guest_elf, config).host_functions(sample_host_functions()).build(); },
        error);
    if (t >= 0) times.push_back(t);
  }
  return times;
}

struct FileStarts {
  std::vector<double> verified, fast, unchecked;
};

// Cold starts from the file: verified (BLAKE3), verified with the fast digest, unchecked.
FileStarts time_file_starts(const MainJobOptions& o, const std::string& file, const std::string& fast_file,
                            std::string* error) {
  FileStarts t;
  auto host = sample_host_functions();
  for (int r = 0; r < o.repetitions && error->empty(); ++r) {
    auto from = [&](const std::string& f, bool verify) {
      return [&, f, verify]() -> Result<MultiUseSandbox> {
        auto s = verify ? Snapshot::from_file(f) : Snapshot::from_file_unchecked(f);
        if (!s) return std::move(s).error();
        return MultiUseSandbox::from_snapshot(*s, host);
      };
    };
    double a = time_cold_start(from(file, true), error);
    double b = time_cold_start(from(fast_file, true), error);
    double c = time_cold_start(from(file, false), error);
    if (a >= 0) t.verified.push_back(a);
    if (b >= 0) t.fast.push_back(b);
    if (c >= 0) t.unchecked.push_back(c);
  }
  return t;
}

// One heap size: cold starts from the ELF, bake, round trip, cold starts from the file.
HeapResult run_heap(const MainJobOptions& o, size_t i, nlohmann::json& report) {
  const uint64_t heap = o.heap_sizes[i];
  const std::string tag =
      "[" + std::to_string(i + 1) + "/" + std::to_string(o.heap_sizes.size()) + "] heap " + heap_name(heap);
  SandboxConfig config;
  config.heap_size = heap;
  nlohmann::json entry{{"heap_size", heap}};
  std::string error;
  HeapResult out;

  progress(tag + ": cold start from the ELF x" + std::to_string(o.repetitions));
  std::vector<double> elf_times = time_elf_starts(o, config, &error);
  if (!error.empty()) {
    entry["error"] = error;
    report["heaps"].push_back(entry);
    progress(tag + ": FAILED: " + error);
    return {std::nullopt, "", false};
  }

  progress(tag + ": bake");
  auto sb = SandboxBuilder::from_elf(o.guest_elf, config).host_functions(sample_host_functions()).build();
  auto snap = sb ? sb->snapshot() : Result<Snapshot>(sb.error());
  if (!snap) {
    entry["error"] = snap.error().to_string();
    report["heaps"].push_back(entry);
    return {std::nullopt, "", false};
  }
  out.file = (std::filesystem::path(o.work_dir) / ("sample-" + std::to_string(heap) + ".svm")).string();
  const std::string fast_file = out.file + ".xxh3";

  progress(tag + ": round trip (save, load verified and unchecked, compare, replay calls)");
  RoundTripOptions rt;
  rt.keep_file = true;
  RoundTripReport round = round_trip(*snap, out.file, rt);
  entry["round_trip"] = round.to_json();
  out.ok &= round.ok();
  SaveOptions fast;
  fast.digest = DigestAlgorithm::kXxh3_128;
  (void)snap->to_file(fast_file, fast);

  progress(tag + ": cold start from the snapshot file x" + std::to_string(o.repetitions) +
           " (verified, fast digest, unchecked)");
  const FileStarts starts = time_file_starts(o, out.file, fast_file, &error);
  if (!error.empty()) {
    entry["error"] = error;
    out.ok = false;
  }
  out.row = Row{heap,
                median(elf_times),
                median(starts.verified),
                median(starts.fast),
                median(starts.unchecked),
                round.ok(),
                std::filesystem::exists(out.file) ? std::filesystem::file_size(out.file) : 0};
  entry["cold_start_ms"] = {{"elf", out.row->elf_ms},
                            {"snapshot_blake3", out.row->verified_ms},
                            {"snapshot_xxh3", out.row->fast_ms},
                            {"snapshot_unchecked", out.row->unchecked_ms}};
  entry["file_bytes"] = out.row->file_bytes;
  report["heaps"].push_back(entry);
  std::filesystem::remove(fast_file);
  return out;
}

// The mutation campaign over the smallest file; its summary on stdout.
bool run_job_campaign(const MainJobOptions& o, const std::string& file, nlohmann::json& report) {
  std::ifstream in(file, std::ios::binary);
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  MutateOptions mo;
  mo.seed = o.seed;
  mo.random_per_family = o.random_per_family;
  progress("mutation campaign over " + file + " (seed " + std::to_string(o.seed) + ")");
  CampaignOptions co;
  co.artifacts = std::filesystem::path(o.work_dir) / "artifacts";
  co.progress = true;
  CampaignReport campaign = run_campaign(bytes, mo, co);
  report["campaign"] = campaign.to_json();
  std::cout << "\nMutation campaign\n" << campaign.to_text();
  return campaign.ok();
}

void print_table(const MainJobOptions& o, const std::vector<Row>& rows) {
  std::cout << "\nCold start to a completed Echo call (median of " << o.repetitions << ", ms)\n";
  std::printf("%-10s %10s %12s %12s %12s %9s %11s %s\n", "heap", "ELF init", "snap blake3", "snap xxh3", "unchecked",
              "speedup", "file bytes", "round trip");
  for (const Row& r : rows) {
    double speedup = r.unchecked_ms > 0 ? r.elf_ms / r.unchecked_ms : 0;
    std::printf("%-10s %10.3f %12.3f %12.3f %12.3f %8.1fx %11llu %s\n", heap_name(r.heap).c_str(), r.elf_ms,
                r.verified_ms, r.fast_ms, r.unchecked_ms, speedup, static_cast<unsigned long long>(r.file_bytes),
                r.round_trip_ok ? "ok" : "DIFFERENT");
  }
}
}  // namespace

bool run_main_job(const MainJobOptions& o) {
  std::filesystem::create_directories(o.work_dir);
  nlohmann::json report;
  report["guest"] = o.guest_elf;
  report["heaps"] = nlohmann::json::array();
  bool ok = true;
  std::string smallest_file;
  std::vector<Row> rows;
  for (size_t i = 0; i < o.heap_sizes.size(); ++i) {
    HeapResult h = run_heap(o, i, report);
    ok &= h.ok;
    if (!h.row) continue;
    rows.push_back(*h.row);
    if (smallest_file.empty()) smallest_file = h.file;
  }
  if (!smallest_file.empty()) ok &= run_job_campaign(o, smallest_file, report);
  print_table(o, rows);
  report["ok"] = ok;
  std::filesystem::create_directories(std::filesystem::path(o.report_path).parent_path().empty()
                                          ? std::filesystem::path(".")
                                          : std::filesystem::path(o.report_path).parent_path());
  if (Status s = detail::write_file_atomically(o.report_path, report.dump(2) + "\n"); !s) {
    std::cerr << "snapvm harness: cannot write the report: " << s.error().to_string() << "\n";
    ok = false;
  }
  std::cout << "\nreport: " << o.report_path << "\nresult: " << (ok ? "PASS" : "FAIL") << "\n";
  return ok;
}

}  // namespace snapvm::harness
