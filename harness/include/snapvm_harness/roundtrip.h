// roundtrip.h: the round-trip driver. Save a snapshot, load it back (verified and unchecked), compare
// field by field; then start sandboxes from the original and from the loaded copy, run the same call
// script in both and compare every result. Returns a structured report of any difference.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "snapvm/sandbox.h"
#include "snapvm/snapshot.h"
#include "snapvm_harness/compare.h"

namespace snapvm::harness {

struct CallStep {
  std::string function;
  std::vector<Value> args;
};
using CallScript = std::vector<CallStep>;

// A script for the sample guest that reads and changes global and heap state and calls the host.
CallScript sample_call_script();

// What one call gave: a value, or the error's code (and text, for the report).
struct CallOutcome {
  bool ok = false;
  Value value;
  ErrorCode error{};
  std::string text;
  bool operator==(const CallOutcome& o) const { return ok == o.ok && (ok ? value == o.value : error == o.error); }
};

// Runs the script in order; the outcomes are comparable across sandboxes.
std::vector<CallOutcome> run_script(MultiUseSandbox& sandbox, const CallScript& script);

struct RoundTripOptions {
  DigestAlgorithm digest = DigestAlgorithm::kBlake3_256;
  CallScript script = sample_call_script();
  bool keep_file = false;
};

struct RoundTripReport {
  std::filesystem::path file;
  std::vector<std::string> errors;  // save/load/start failures: each is a finding
  CompareReport verified;           // original vs from_file
  CompareReport unchecked;          // original vs from_file_unchecked
  std::vector<std::string> call_differences;
  size_t calls = 0;
  double save_ms = 0, load_ms = 0;

  bool ok() const { return errors.empty() && verified.equal() && unchecked.equal() && call_differences.empty(); }
  nlohmann::json to_json() const;
};

RoundTripReport round_trip(const Snapshot& snapshot, const std::filesystem::path& file,
                           const RoundTripOptions& options = {});

}  // namespace snapvm::harness
