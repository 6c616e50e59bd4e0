// model_coverage_test.cpp: the KVM properties' generators cover what docs/properties.md says they do,
// whatever the seed. Generating needs no KVM (only running the commands does), so this runs natively:
// it draws the stateful model's cases and the equivalence property's sequences as the fast mode does
// (its case counts and maximum sizes, passed in from properties/CMakeLists.txt) for a few seeds, and
// checks that every command kind, every fault kind, every edge page and every function of the model
// appears in each seed's cases; and that the fixed cases, which run whatever the seed, hold them all.
// A generator made narrower (a kind dropped, a weight set to zero) fails here.
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "guest_model.h"
#include "model_commands.h"

namespace snapvm::properties {
namespace {

const std::vector<std::string> kCommandKinds{"command:Call",
                                             "command:Snapshot",
                                             "command:Restore",
                                             "command:Save",
                                             "command:Load",
                                             "command:NewSandbox from a file",
                                             "command:NewSandbox from a snapshot",
                                             "command:Select",
                                             "command:Drop"};
const std::vector<std::string> kFaults{"fault:abort", "fault:abort 13 (TouchPages past the buffer)", "fault:#UD",
                                       "fault:#PF", "fault:#DE"};
const std::vector<std::string> kEdges{"edge:input:first", "edge:input:last", "edge:output:first", "edge:output:last",
                                      "edge:stack:first", "edge:stack:last", "edge:heap:first",   "edge:heap:last"};
const std::vector<std::string> kFunctions{"SetGlobal",      "GetGlobal", "Increment", "BufferAppend", "BufferFill",
                                          "BufferChecksum", "SetMxcsr",  "GetMxcsr",  "TouchPages",   "Add",
                                          "EchoI64",        "EchoF64",   "Echo",      "CallHostAdd",  "CallHostEcho",
                                          "Divide",         "Abort",     "Ud2",       "NullDeref",    "WriteEdgePage"};

const std::vector<uint64_t> kSeeds{SNAPVM_PROPERTY_SEED, 1, 2, 3, 42};

// RapidCheck's sizes ramp from 0 to max_size over a run; the same here.
int size_of_case(int i, int cases, int max_size) { return cases <= 1 ? max_size : i * max_size / (cases - 1); }

std::string missing(const std::set<std::string>& seen, const std::vector<std::string>& want,
                    const std::string& prefix) {
  std::string out;
  for (const std::string& w : want) {
    if (!seen.count(prefix + w)) out += "  " + prefix + w + "\n";
  }
  return out;
}

std::vector<std::string> calls_of(const std::vector<std::string>& functions) {
  std::vector<std::string> out;
  for (const std::string& f : functions) out.push_back("call:" + f);
  return out;
}

std::set<std::string> model_tags(const ModelCommands& commands) {
  std::set<std::string> seen;
  Model m;
  for (const auto& c : commands) {
    for (std::string& t : command_tags(m, *c)) seen.insert(std::move(t));
    c->apply(m);
  }
  return seen;
}

// Every command kind, fault kind and edge page.
std::string model_missing(const std::set<std::string>& seen) {
  return missing(seen, kCommandKinds, "") + missing(seen, kFaults, "") + missing(seen, kEdges, "");
}

TEST(ModelCoverage, TheFixedModelCasesHoldEveryKind) {
  std::set<std::string> seen;
  for (const ModelCommands& c : fixed_model_cases()) {
    for (const std::string& t : model_tags(c)) seen.insert(t);
  }
  EXPECT_EQ(model_missing(seen) + missing(seen, calls_of(kFunctions), ""), "")
      << "the fixed cases of the stateful model miss these";
}

// Each seed: every command kind, fault kind and edge page; the seeds together: every function too
// (a function of weight 1 in ~35 may miss one seed's cases; it cannot miss them all unless dropped).
TEST(ModelCoverage, EverySeedsFastModeCasesHoldEveryKind) {
  std::set<std::string> all;
  for (uint64_t seed : kSeeds) {
    rc::Random random(seed);
    std::set<std::string> seen;
    for (int i = 0; i < SNAPVM_MODEL_CASES; ++i) {
      const ModelCommands commands =
          gen_model_case()(random.split(), size_of_case(i, SNAPVM_MODEL_CASES, SNAPVM_MODEL_MAX_SIZE)).value();
      for (const std::string& t : model_tags(commands)) seen.insert(t);
    }
    EXPECT_EQ(model_missing(seen), "") << "seed " << seed << ": " << SNAPVM_MODEL_CASES
                                       << " cases of the stateful model miss these";
    all.insert(seen.begin(), seen.end());
  }
  EXPECT_EQ(missing(all, calls_of(kFunctions), ""), "") << "no seed's cases hold these functions";
}

// Every fault kind in R and in Q; every edge page in P (before the snapshot) or in R (between snapshot
// and restore: what restore undoes).
std::string sequences_missing(const std::set<std::string>& seen) {
  std::string out = missing(seen, kFaults, "R:") + missing(seen, kFaults, "Q:");
  for (const std::string& e : kEdges) {
    if (!seen.count("P:" + e) && !seen.count("R:" + e)) out += "  P or R:" + e + "\n";
  }
  return out;
}

// Every function P may call (none that fails) in P, and every function in R.
std::string sequences_missing_functions(const std::set<std::string>& seen) {
  std::vector<std::string> state_functions;
  for (const std::string& f : kFunctions) {
    if (f != "Abort" && f != "Ud2" && f != "NullDeref") state_functions.push_back(f);
  }
  return missing(seen, calls_of(state_functions), "P:") + missing(seen, calls_of(kFunctions), "R:");
}

TEST(ModelCoverage, TheFixedEquivalenceCasesHoldEveryKind) {
  std::set<std::string> seen;
  for (const CallSequences& s : fixed_call_sequences()) {
    for (std::string& t : sequences_tags(s)) seen.insert(std::move(t));
  }
  // The fixed cases aim at faults and edge pages; the functions are the random cases' business.
  std::string out = missing(seen, kFaults, "R:") + missing(seen, kFaults, "Q:");
  for (const std::string& e : kEdges) out += missing(seen, {e}, "P:") + missing(seen, {e}, "R:");
  EXPECT_EQ(out, "") << "the fixed cases of the equivalence property miss these";
}

TEST(ModelCoverage, EverySeedsFastModeSequencesHoldEveryKind) {
  std::set<std::string> all;
  for (uint64_t seed : kSeeds) {
    rc::Random random(seed);
    std::set<std::string> seen;
    for (int i = 0; i < SNAPVM_EQUIVALENCE_CASES; ++i) {
      const CallSequences s =
          gen_call_sequences()(random.split(), size_of_case(i, SNAPVM_EQUIVALENCE_CASES, SNAPVM_EQUIVALENCE_MAX_SIZE))
              .value();
      for (std::string& t : sequences_tags(s)) seen.insert(std::move(t));
    }
    EXPECT_EQ(sequences_missing(seen), "")
        << "seed " << seed << ": " << SNAPVM_EQUIVALENCE_CASES << " cases of the equivalence property miss these";
    all.insert(seen.begin(), seen.end());
  }
  EXPECT_EQ(sequences_missing_functions(all), "") << "no seed's cases hold these functions";
}

// The check itself can fail: a generator without one kind is caught (here: the tags of the fixed
// cases with every #UD removed).
TEST(ModelCoverage, AMissingKindIsReported) {
  std::set<std::string> seen;
  for (const ModelCommands& c : fixed_model_cases()) {
    for (const std::string& t : model_tags(c)) {
      if (t != "fault:#UD") seen.insert(t);
    }
  }
  EXPECT_NE(model_missing(seen).find("fault:#UD"), std::string::npos);
}

}  // namespace
}  // namespace snapvm::properties
