// equivalence_properties.cpp: snapshotting is invisible. For random call sequences P and Q (Q ends
// by reading the whole observable state), running P, then snapshot, save, load, a new sandbox from the
// file, then Q gives exactly the results of running P then Q in a sandbox that was never snapshotted;
// and so does running P, snapshot, some garbage R (which may poison the sandbox), restore, then Q. No
// model is involved: the reference is the engine itself, without snapshots. Both paths are also held
// to the snapshot itself: right after the restore or the cold start, a new snapshot equals it.
#include <optional>

#include "guest_model.h"
#include "kvm_support.h"
#include "snapvm_harness/compare.h"
#include "support.h"

namespace snapvm::properties {
namespace {

namespace gen = rc::gen;

struct Sequences {
  std::vector<GuestCall> p, q, r;
  DigestAlgorithm algorithm = DigestAlgorithm::kBlake3_256;
};
void showValue(const Sequences& s, std::ostream& os) {
  os << "P = " << show_calls(s.p) << "\n  Q = " << show_calls(s.q) << " + observe\n  R = " << show_calls(s.r)
     << "\n  file digest " << digest_algorithm_name(s.algorithm);
}

// As long as the size (RC_PARAMS max_size bounds it: the fast mode keeps it small for QEMU).
rc::Gen<std::vector<GuestCall>> calls(rc::Gen<GuestCall> one) {
  return gen::container<std::vector<GuestCall>>(std::move(one));
}

rc::Gen<Sequences> gen_sequences() {
  return gen::build<Sequences>(
      gen::set(&Sequences::p, calls(gen_state_call())),  // P must leave it snapshottable
      gen::set(&Sequences::q, calls(gen_any_call())), gen::set(&Sequences::r, calls(gen_any_call())),
      gen::set(&Sequences::algorithm, gen::element(DigestAlgorithm::kBlake3_256, DigestAlgorithm::kXxh3_128)));
}

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

SNAPVM_KVM_PROPERTY(SnapshotEquivalence, SnapshotSaveLoadAndRestoreAreInvisible, ()) {
  const Sequences s = *gen_sequences();
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

}  // namespace
}  // namespace snapvm::properties
