// guest_fuzzer.h: fuzzing one guest function from a snapshot file. One sandbox is created from the file
// (verified by default) and kept: each input is split into the function's parameters (split_input),
// the function is called, and before the next input the sandbox is restored to the snapshot, at the cost
// of the pages the previous input dirtied. No VM creation, file I/O or guest-sized allocation per input.
// Faults, aborts, timeouts and guest-protocol errors are crashes; a wrong result is not.
// A guest built with coverage (snapvm_add_guest COVERAGE) announces its counters, PC table and CmpLog
// in the PEB; coverage() gives them as host views of guest memory. docs/guest-fuzzing.md.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "snapvm/abi/coverage.h"
#include "snapvm/result.h"
#include "snapvm/sandbox.h"
#include "snapvm/snapshot.h"
#include "snapvm/value.h"

namespace snapvm::harness {

// How an input becomes arguments (the documented rule): the fixed-size parameters first, in order, read
// little-endian from the start of the input (bool: one byte, non-zero is true; i32/u32/f32: 4 bytes;
// i64/u64/f64: 8), zero once the input runs out; then the string and bytes parameters in order, each
// but the last taking a 2-byte little-endian length (capped at what is left) and that many bytes, the
// last taking all that is left. Every input maps to arguments; none is refused here.
std::vector<Value> split_input(const Signature& signature, std::span<const uint8_t> input);
// The inverse, for seeds and tests: the input split_input turns into `values`. kArgumentMismatch when
// `values` do not match `signature`'s parameters, or a non-last string/bytes is longer than 65535.
Result<Bytes> join_input(const Signature& signature, const std::vector<Value>& values);

struct GuestFuzzOptions {
  std::chrono::nanoseconds call_timeout = std::chrono::seconds(1);  // per input; past it: a crash
  bool verify_digest = true;                                        // false: Snapshot::from_file_unchecked
};

enum class ExecOutcome : uint8_t {
  kReturned,  // the function returned (whatever it returned)
  kRefused,   // not a guest failure: the call does not fit the input buffer, or a host function failed
  kCrash,     // fault, abort, timeout, protocol error: `error` says which
};

struct ExecResult {
  ExecOutcome outcome = ExecOutcome::kReturned;
  Value result;                // kReturned
  std::optional<Error> error;  // kRefused, kCrash
};

// Whether an error from a guest call is a crash (the guest's failure) rather than the host refusing.
bool is_crash(const Error& e);

// The guest's coverage areas, as host views of its memory; empty when it was built without coverage.
struct GuestCoverage {
  std::span<uint8_t> counters;     // 8-bit counters, one per (hashed) edge
  std::span<const uintptr_t> pcs;  // the guest's PC table: counters.size() pairs {pc, flags}; may be empty
  const abi::CmpLog* cmp_log = nullptr;
  bool enabled() const { return !counters.empty(); }
};

class GuestFuzzer {
 public:
  // Loads `file`, starts one sandbox (host functions: harness::host_functions_for, stubs that fail) and
  // finds `function` (kUnknownFunction, listing the guest's functions, when it has none of that name).
  static Result<GuestFuzzer> open(const std::filesystem::path& file, std::string_view function,
                                  const GuestFuzzOptions& options = {});
  static Result<GuestFuzzer> from_snapshot(Snapshot snapshot, std::string_view function,
                                           const GuestFuzzOptions& options = {});

  // Restores the sandbox if the previous input ran, then calls the function with `input`. The coverage
  // areas then hold what this input did, until the next run().
  ExecResult run(std::span<const uint8_t> input);

  const FunctionInfo& function() const { return function_; }
  const GuestCoverage& coverage() const { return coverage_; }
  // The longest input whose call fits the guest's input buffer.
  size_t max_input_size() const { return max_input_size_; }
  uint64_t runs() const { return runs_; }
  // Bytes of guest memory (addresses past it are outside the guest).
  uint64_t memory_size() const { return sandbox_.layout().memory_size; }
  // Pages the last restore copied back (0 before the second run).
  uint64_t last_restore_pages() const { return sandbox_.last_restore_pages(); }
  std::string_view dirty_tracking() const { return sandbox_.dirty_tracking(); }
  const std::filesystem::path& file() const { return file_; }

 private:
  GuestFuzzer(Snapshot snapshot, MultiUseSandbox sandbox, FunctionInfo function, const GuestFuzzOptions& options);
  Status read_coverage();

  Snapshot snapshot_;
  MultiUseSandbox sandbox_;
  FunctionInfo function_;
  GuestFuzzOptions options_;
  GuestCoverage coverage_;
  std::filesystem::path file_;
  size_t max_input_size_ = 0;
  uint64_t runs_ = 0;
  bool needs_restore_ = false;
};

}  // namespace snapvm::harness
