// campaign.h: a mutation campaign. Every mutant goes through from_file and from_file_unchecked and,
// when it loads, a cold start and a call, each attempt in a forked child so a host crash is caught,
// counted and saved instead of ending the campaign.
#pragma once

#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "snapvm_harness/mutators.h"

namespace snapvm::harness {

struct CampaignOptions {
  bool run_guest = true;                           // cold start + call for mutants that load
  std::optional<std::filesystem::path> artifacts;  // where crashing and wrongly accepted mutants go
  unsigned call_timeout_ms = 1000;
  bool progress = false;  // a line on stderr every 250 mutants
};

struct CampaignReport {
  size_t tried = 0;
  size_t rejected = 0;                            // by from_file, with a typed error
  size_t accepted = 0;                            // by from_file
  size_t accepted_identical = 0;                  // ...and identical in meaning to the original
  size_t wrongly_accepted = 0;                    // must_reject mutants from_file let through (findings)
  size_t unchecked_accepted_header_mutation = 0;  // raw metadata changes from_file_unchecked let through
  size_t started = 0, calls_ok = 0, calls_failed = 0;
  size_t crashes = 0;  // children killed by a signal: host crashes (findings)
  std::map<std::string, size_t> rejected_by_code;
  std::map<std::string, size_t> by_family;
  std::vector<std::string> findings;  // one line per crash or wrong acceptance

  bool ok() const { return crashes == 0 && wrongly_accepted == 0 && unchecked_accepted_header_mutation == 0; }
  nlohmann::json to_json() const;
  std::string to_text() const;
};

// Generates the mutants of `original_file` (streamed, never all in memory) and runs each.
CampaignReport run_campaign(std::span<const uint8_t> original_file, const MutateOptions& mutate,
                            const CampaignOptions& options = {});
// Runs the given mutants (tests, replays).
CampaignReport run_campaign(std::span<const uint8_t> original_file, const std::vector<Mutant>& mutants,
                            const CampaignOptions& options = {});

}  // namespace snapvm::harness
