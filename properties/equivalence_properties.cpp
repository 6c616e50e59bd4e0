// equivalence_properties.cpp: snapshotting is invisible. For random call sequences P and Q (Q ends
// by reading the whole observable state), running P, then snapshot, save, load, a new sandbox from the
// file, then Q gives exactly the results of running P then Q in a sandbox that was never snapshotted;
// and so does running P, snapshot, some garbage R (which may poison the sandbox), restore, then Q. No
// model is involved: the reference is the engine itself, without snapshots. Both paths are also held
// to the snapshot itself: right after the restore or the cold start, a new snapshot equals it.
#include <gtest/gtest.h>

#include <cstdio>
#include <map>
#include <optional>
#include <set>
#include <string>

#include "guest_model.h"
#include "kvm_support.h"
#include "model_commands.h"
#include "snapvm_harness/compare.h"
#include "support.h"

namespace snapvm::properties {
namespace {

namespace gen = rc::gen;

std::vector<Outcome> run_all(MultiUseSandbox& s, const std::vector<GuestCall>& calls) {
  std::vector<Outcome> out;
  for (const GuestCall& c : calls) out.push_back(run_call(s, c));
  return out;
}

// "" if equal, else the first call whose outcome differs.
std::string compare(const char* path, const std::vector<GuestCall>& calls, const std::vector<Outcome>& got,
                    const std::vector<Outcome>& want) {
  for (size_t i = 0; i < calls.size(); ++i) {
    if (!(got[i] == want[i])) {
      return std::string(path) + ": call " + std::to_string(i) + " of Q+observe, " + rc::toString(calls[i]) +
             ", returned " + rc::toString(got[i]) + "; without snapshots it returned " + rc::toString(want[i]);
    }
  }
  return {};
}

// A snapshot of `sandbox` now equals `expected` in every field, register and page.
void same_state(const char* path, MultiUseSandbox& sandbox, const Snapshot& expected) {
  auto now = sandbox.snapshot();
  if (!now) RC_FAIL(std::string(path) + ", then snapshot: " + show_error(now.error()));
  auto report = harness::compare_snapshots(expected, *now);
  if (!report.equal()) RC_FAIL(std::string(path) + ": the sandbox differs from the snapshot:\n" + report.to_text());
}

void check_equivalence(const CallSequences& s) {
  std::vector<GuestCall> q = s.q;
  for (const GuestCall& c : observe_calls()) q.push_back(c);

  // The reference: P then Q, never snapshotted.
  MultiUseSandbox reference = fresh_sample_sandbox();
  const std::vector<Outcome> p_want = run_all(reference, s.p);
  const std::vector<Outcome> q_want = run_all(reference, q);

  MultiUseSandbox a = fresh_sample_sandbox();
  const std::vector<Outcome> p_got = run_all(a, s.p);
  for (size_t i = 0; i < s.p.size(); ++i) {
    if (!(p_got[i] == p_want[i]))
      RC_FAIL("P is not deterministic at call " + std::to_string(i) + ": " + rc::toString(s.p[i]));
  }
  auto snap = a.snapshot();
  if (!snap) RC_FAIL("snapshot after P: " + show_error(snap.error()));
  TempDir dir;
  const auto path = dir.file("p.svm");
  SaveOptions save;
  save.digest = s.algorithm;
  if (auto st = snap->to_file(path, save); !st) RC_FAIL("to_file: " + show_error(st.error()));

  // In memory: garbage R, restore, Q. Right after the restore the sandbox must BE the snapshot:
  // another snapshot taken there equals it register by register and page by page (what calls alone
  // cannot see: every call starts from fresh general registers).
  run_all(a, s.r);
  if (auto st = a.restore(*snap); !st) RC_FAIL("restore after R: " + show_error(st.error()));
  same_state("snapshot, R, restore", a, *snap);
  std::string diff = compare("snapshot, R, restore, Q", q, run_all(a, q), q_want);
  if (!diff.empty()) RC_FAIL(diff);

  // Through the file: load it, a new sandbox from it, Q.
  auto loaded = Snapshot::from_file(path);
  if (!loaded) RC_FAIL("from_file: " + show_error(loaded.error()));
  MultiUseSandbox b = sandbox_from(*loaded);
  same_state("snapshot, save, load, new sandbox", b, *snap);
  diff = compare("snapshot, save, load, new sandbox, Q", q, run_all(b, q), q_want);
  if (!diff.empty()) RC_FAIL(diff);
}

std::map<std::string, int>& kind_counts() {
  static std::map<std::string, int> counts;
  return counts;
}

// What one case exercises: RC_CLASSIFY of the broad classes, and per-kind counts printed after the run.
void report(const CallSequences& s) {
  const std::vector<std::string> tags = sequences_tags(s);
  const std::set<std::string> seen(tags.begin(), tags.end());
  bool fault_r = false, fault_q = false, edge = false;
  for (const std::string& t : seen) {
    ++kind_counts()[t];
    fault_r |= t.rfind("R:fault:", 0) == 0;
    fault_q |= t.rfind("Q:fault:", 0) == 0;
    edge |= t.find(":call:WriteEdgePage") != std::string::npos;
  }
  RC_CLASSIFY(fault_r, "fault in R");
  RC_CLASSIFY(fault_q, "fault in Q");
  RC_CLASSIFY(edge, "edge page");
}

TEST(SnapshotEquivalence, SnapshotSaveLoadAndRestoreAreInvisible) {
  SNAPVM_REQUIRE_KVM();
  kind_counts().clear();
  ::rc::detail::checkGTest([] {
    const CallSequences s = *gen_call_sequences();
    report(s);
    check_equivalence(s);
  });
  std::printf("SnapshotEquivalence: cases exercising each kind\n");
  for (const auto& [kind, n] : kind_counts()) std::printf("  %5d  %s\n", n, kind.c_str());
}

// The fixed cases: every fault kind in R and in Q, every edge page, whatever the seed.
TEST(SnapshotEquivalence, FixedCasesAreInvisible) {
  SNAPVM_REQUIRE_KVM();
  for (const CallSequences& s : fixed_call_sequences()) {
    SCOPED_TRACE(rc::toString(s));
    try {
      check_equivalence(s);
    } catch (const rc::detail::CaseResult& r) {
      ADD_FAILURE() << r.description;
    }
  }
}

}  // namespace
}  // namespace snapvm::properties
