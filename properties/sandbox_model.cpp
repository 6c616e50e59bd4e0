// sandbox_model.cpp: the stateful property (rc::state) over the commands of model_commands.h. The
// model predicts every call's result (and every poisoning), every snapshot, restore, save and load must
// succeed (or fail exactly as predicted), and shrinking gives the shortest command sequence that still
// breaks, each command printed as a line of what it did. Each case reports what it exercised
// (RC_CLASSIFY, and a count of every command kind, fault kind and edge page after the run);
// model_coverage_test.cpp checks natively that the generator covers them all within the fast mode's
// cases. The fixed cases run first, whatever the seed, and cover each by construction.
#include <gtest/gtest.h>

#include <cstdio>
#include <map>
#include <set>
#include <string>

#include "kvm_support.h"
#include "model_commands.h"

namespace snapvm::properties {
namespace {

std::map<std::string, int>& kind_counts() {
  static std::map<std::string, int> counts;
  return counts;
}

// Reports what one case exercises: RC_CLASSIFY of the broad classes (a few combinations), and the
// per-kind counts printed after the run.
void report(const ModelCommands& commands) {
  Model m;
  bool fault = false, restore = false, file = false, edge = false;
  std::set<std::string> seen;
  for (const auto& c : commands) {
    for (const std::string& t : command_tags(m, *c)) {
      seen.insert(t);
      fault |= t.rfind("fault:", 0) == 0;
      restore |= t == "command:Restore" || t == "command:Restore (of a poisoned sandbox)";
      file |= t == "command:Save";
      edge |= t.rfind("edge:", 0) == 0 && t != "edge:stack:last" && t != "edge:input:first" &&
              t != "edge:output:first" && t != "edge:heap:first";
    }
    c->apply(m);
  }
  for (const std::string& t : seen) ++kind_counts()[t];
  RC_CLASSIFY(fault, "fault");
  RC_CLASSIFY(restore, "restore");
  RC_CLASSIFY(file, "file");
  RC_CLASSIFY(edge, "edge page");
}

void print_counts(const char* what) {
  std::printf("%s: cases exercising each kind\n", what);
  for (const auto& [kind, n] : kind_counts()) std::printf("  %5d  %s\n", n, kind.c_str());
}

TEST(SandboxModel, MatchesThePlainModel) {
  SNAPVM_REQUIRE_KVM();
  kind_counts().clear();
  ::rc::detail::checkGTest([] {
    System sut;
    sut.sandboxes.push_back(sandbox_from(sample_base_snapshot()));
    const ModelCommands commands = *gen_model_case();
    report(commands);
    rc::state::runAll(commands, Model{}, sut);
  });
  print_counts("SandboxModel.MatchesThePlainModel");
}

// The fixed cases: every command kind, fault kind, edge page and model function, whatever the seed.
TEST(SandboxModel, FixedCasesMatchThePlainModel) {
  SNAPVM_REQUIRE_KVM();
  const std::vector<ModelCommands> cases = fixed_model_cases();
  for (size_t i = 0; i < cases.size(); ++i) {
    SCOPED_TRACE("fixed case " + std::to_string(i) + ":\n" + rc::toString(cases[i]));
    System sut;
    sut.sandboxes.push_back(sandbox_from(sample_base_snapshot()));
    try {
      rc::state::runAll(cases[i], Model{}, sut);
    } catch (const rc::detail::CaseResult& r) {
      ADD_FAILURE() << r.description;
    }
  }
}

}  // namespace
}  // namespace snapvm::properties
