// roundtrip.cpp: save, load, compare, and replay a call script in both sandboxes.
#include "snapvm_harness/roundtrip.h"

#include <chrono>

#include "snapvm/abi/layout.h"
#include "snapvm_harness/host_stubs.h"

namespace snapvm::harness {

namespace {
double ms_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t).count();
}

std::string outcome_text(const CallOutcome& o) {
  return o.ok ? value_to_string(o.value) : std::string(error_code_name(o.error)) + ": " + o.text;
}
}  // namespace

CallScript sample_call_script() {
  return {
      {"Echo", {std::string("round trip")}},
      {"GetGlobal", {}},
      {"SetGlobal", {int64_t{0x5eed}}},
      {"Increment", {}},
      {"Increment", {}},
      {"BufferChecksum", {}},
      {"BufferAppend", {Bytes{1, 2, 3, 4, 5}}},
      {"BufferChecksum", {}},
      {"BufferFill", {uint64_t{3 * abi::kPageSize + 17}, uint32_t{42}}},
      {"CallHostAdd", {int64_t{40}, int64_t{2}}},
      {"CallHostEcho", {std::string("hi")}},
      {"AddF64", {0.1, 0.2}},
      {"GetGlobal", {}},
      {"NoSuchFunction", {}},
  };
}

std::vector<CallOutcome> run_script(MultiUseSandbox& sandbox, const CallScript& script) {
  std::vector<CallOutcome> out;
  for (const CallStep& step : script) {
    auto r = sandbox.call(step.function, step.args);
    CallOutcome o;
    if (r) {
      o.ok = true;
      o.value = std::move(*r);
    } else {
      o.error = r.error().code;
      o.text = r.error().to_string();
    }
    out.push_back(std::move(o));
  }
  return out;
}

RoundTripReport round_trip(const Snapshot& snapshot, const std::filesystem::path& file,
                           const RoundTripOptions& options) {
  RoundTripReport report;
  report.file = file;
  SaveOptions save;
  save.digest = options.digest;
  auto t0 = std::chrono::steady_clock::now();
  if (auto s = snapshot.to_file(file, save); !s) {
    report.errors.push_back("save: " + s.error().to_string());
    return report;
  }
  report.save_ms = ms_since(t0);
  t0 = std::chrono::steady_clock::now();
  auto verified = Snapshot::from_file(file);
  report.load_ms = ms_since(t0);
  auto unchecked = Snapshot::from_file_unchecked(file);
  if (!options.keep_file) std::filesystem::remove(file);
  if (!verified) report.errors.push_back("from_file: " + verified.error().to_string());
  if (!unchecked) report.errors.push_back("from_file_unchecked: " + unchecked.error().to_string());
  if (!verified || !unchecked) return report;
  report.verified = compare_snapshots(snapshot, *verified);
  report.unchecked = compare_snapshots(snapshot, *unchecked);

  auto host = host_functions_for(snapshot.host_functions());
  auto original = MultiUseSandbox::from_snapshot(snapshot, host);
  auto loaded = MultiUseSandbox::from_snapshot(*verified, host);
  if (!original) report.errors.push_back("start from original: " + original.error().to_string());
  if (!loaded) report.errors.push_back("start from file: " + loaded.error().to_string());
  if (!original || !loaded) return report;
  auto a = run_script(*original, options.script);
  auto b = run_script(*loaded, options.script);
  report.calls = a.size();
  for (size_t i = 0; i < a.size(); ++i) {
    if (!(a[i] == b[i])) {
      report.call_differences.push_back(options.script[i].function + ": " + outcome_text(a[i]) + " vs " +
                                        outcome_text(b[i]));
    }
  }
  return report;
}

nlohmann::json RoundTripReport::to_json() const {
  return {{"file", file.string()},
          {"ok", ok()},
          {"errors", errors},
          {"verified", verified.to_json()},
          {"unchecked", unchecked.to_json()},
          {"calls", calls},
          {"call_differences", call_differences},
          {"save_ms", save_ms},
          {"load_ms", load_ms}};
}

}  // namespace snapvm::harness
