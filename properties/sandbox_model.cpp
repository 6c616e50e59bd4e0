// sandbox_model.cpp: the stateful property (rc::state). A plain model (guest_model.h) of a set of
// sample-guest sandboxes, the snapshots taken of them and the files saved, against the real engine;
// one Command per operation: Call, Snapshot, Restore, Save, Load, NewFromFile, NewFromSnapshot,
// Select, Drop. The model predicts every call's result (and every poisoning), every snapshot, restore,
// save and load must succeed (or fail exactly as predicted), and shrinking gives the shortest command
// sequence that still breaks, each command printed as a line of what it did.
#include <rapidcheck/state.h>

#include <filesystem>

#include "generators.h"
#include "guest_model.h"
#include "kvm_support.h"
#include "support.h"

namespace snapvm::properties {
namespace {

namespace gen = rc::gen;

constexpr size_t kMaxSandboxes = 3, kMaxSnapshots = 6, kMaxFiles = 4;
// Commands per case, drawn uniformly from 1..kMaxCommands. A constant, not max_size: a reproduce
// string must replay the same draws whatever RC_PARAMS it is given with.
constexpr int kMaxCommands = 16;

struct Model {
  std::vector<SandboxState> sandboxes{SandboxState{}};
  size_t current = 0;
  std::vector<GuestState> snapshots;
  std::vector<GuestState> files;
};

struct System {
  TempDir dir;
  std::vector<MultiUseSandbox> sandboxes;
  size_t current = 0;
  std::vector<Snapshot> snapshots;
  std::vector<std::filesystem::path> files;
  MultiUseSandbox& sandbox() { return sandboxes.at(current); }
};

using Command = rc::state::Command<Model, System>;

}  // namespace
}  // namespace snapvm::properties

// A counterexample prints under a readable heading, not the demangled std::vector<std::shared_ptr<...>>.
template <>
struct rc::ShowType<rc::state::Commands<snapvm::properties::Command>> {
  static void showType(std::ostream& os) { os << "commands, in order"; }
};

namespace snapvm::properties {
namespace {

std::string fail_text(const char* what, const Error& e) { return std::string(what) + " failed: " + show_error(e); }

// After a restore or a cold start, reads the state back at once (GetGlobal, BufferChecksum: calls
// that change nothing the model sees), so a restore that misses something fails right there.
void check_state(const char* after, MultiUseSandbox& sandbox, const GuestState& expected) {
  SandboxState model{expected, false};
  for (const GuestCall& c : {GuestCall{"GetGlobal", {}}, GuestCall{"BufferChecksum", {}}, GuestCall{"GetMxcsr", {}}}) {
    const Outcome want = predict(model, c);
    const Outcome got = run_call(sandbox, c);
    if (!(got == want)) {
      RC_FAIL(std::string("after ") + after + ", " + rc::toString(c) + " returned " + rc::toString(got) +
              ", the model says " + rc::toString(want) + " (model state " + rc::toString(expected) + ")");
    }
  }
}

struct Call : Command {
  GuestCall call;
  explicit Call(GuestCall c) : call(std::move(c)) {}
  void apply(Model& m) const override { predict(m.sandboxes[m.current], call); }
  void run(const Model& m, System& sut) const override {
    SandboxState s = m.sandboxes[m.current];
    const Outcome want = predict(s, call);
    const Outcome got = run_call(sut.sandbox(), call);
    if (!(got == want)) {
      RC_FAIL(rc::toString(call) + " in sandbox " + std::to_string(m.current) + " returned " + rc::toString(got) +
              ", the model says " + rc::toString(want) + " (model state before: " +
              rc::toString(m.sandboxes[m.current].guest) + (m.sandboxes[m.current].poisoned ? ", poisoned" : "") + ")");
    }
  }
  void show(std::ostream& os) const override { os << "Call " << rc::toString(call); }
};

struct TakeSnapshot : Command {
  void checkPreconditions(const Model& m) const override { RC_PRE(m.snapshots.size() < kMaxSnapshots); }
  void apply(Model& m) const override {
    if (!m.sandboxes[m.current].poisoned) m.snapshots.push_back(m.sandboxes[m.current].guest);
  }
  void run(const Model& m, System& sut) const override {
    auto snap = sut.sandbox().snapshot();
    if (m.sandboxes[m.current].poisoned) {
      if (snap) RC_FAIL("snapshot of a poisoned sandbox succeeded");
      RC_ASSERT(snap.error().code == ErrorCode::kPoisoned);
      return;
    }
    if (!snap) RC_FAIL(fail_text("snapshot", snap.error()));
    sut.snapshots.push_back(std::move(*snap));
  }
  void show(std::ostream& os) const override { os << "Snapshot (the current sandbox, pushed)"; }
};

struct Restore : Command {
  size_t k;
  explicit Restore(size_t snapshot) : k(snapshot) {}
  void checkPreconditions(const Model& m) const override { RC_PRE(k < m.snapshots.size()); }
  void apply(Model& m) const override { m.sandboxes[m.current] = SandboxState{m.snapshots[k], false}; }
  void run(const Model& m, System& sut) const override {
    if (auto s = sut.sandbox().restore(sut.snapshots[k]); !s) RC_FAIL(fail_text("restore", s.error()));
    check_state("the restore", sut.sandbox(), m.snapshots[k]);
  }
  void show(std::ostream& os) const override {
    os << "Restore snapshot " << k << " into the current sandbox (and read its state back)";
  }
};

struct Save : Command {
  size_t k;
  DigestAlgorithm algorithm;
  Save(size_t snapshot, DigestAlgorithm a) : k(snapshot), algorithm(a) {}
  void checkPreconditions(const Model& m) const override {
    RC_PRE(k < m.snapshots.size());
    RC_PRE(m.files.size() < kMaxFiles);
  }
  void apply(Model& m) const override { m.files.push_back(m.snapshots[k]); }
  void run(const Model&, System& sut) const override {
    auto path = sut.dir.file("file" + std::to_string(sut.files.size()) + ".svm");
    SaveOptions o;
    o.digest = algorithm;
    if (auto s = sut.snapshots[k].to_file(path, o); !s) RC_FAIL(fail_text("to_file", s.error()));
    sut.files.push_back(path);
  }
  void show(std::ostream& os) const override {
    os << "Save snapshot " << k << " to a file (" << digest_algorithm_name(algorithm) << ")";
  }
};

struct Load : Command {
  size_t f;
  bool verify;
  Load(size_t file, bool v) : f(file), verify(v) {}
  void checkPreconditions(const Model& m) const override {
    RC_PRE(f < m.files.size());
    RC_PRE(m.snapshots.size() < kMaxSnapshots);
  }
  void apply(Model& m) const override { m.snapshots.push_back(m.files[f]); }
  void run(const Model&, System& sut) const override {
    auto snap = verify ? Snapshot::from_file(sut.files[f]) : Snapshot::from_file_unchecked(sut.files[f]);
    if (!snap) RC_FAIL(fail_text(verify ? "from_file" : "from_file_unchecked", snap.error()));
    sut.snapshots.push_back(std::move(*snap));
  }
  void show(std::ostream& os) const override {
    os << "Load file " << f << (verify ? " (from_file)" : " (from_file_unchecked)") << " as a snapshot (pushed)";
  }
};

// A new sandbox, cold-started from a file or an in-memory snapshot: added (and made current), or in
// place of the current one.
struct NewSandbox : Command {
  bool from_file;
  size_t source;
  bool replace;
  NewSandbox(bool file, size_t src, bool repl) : from_file(file), source(src), replace(repl) {}
  void checkPreconditions(const Model& m) const override {
    RC_PRE(source < (from_file ? m.files.size() : m.snapshots.size()));
    RC_PRE(replace || m.sandboxes.size() < kMaxSandboxes);
  }
  void apply(Model& m) const override {
    SandboxState s{from_file ? m.files[source] : m.snapshots[source], false};
    if (replace) {
      m.sandboxes[m.current] = s;
    } else {
      m.sandboxes.push_back(s);
      m.current = m.sandboxes.size() - 1;
    }
  }
  void run(const Model& m, System& sut) const override {
    std::optional<Snapshot> loaded;
    if (from_file) {
      auto snap = Snapshot::from_file(sut.files[source]);
      if (!snap) RC_FAIL(fail_text("from_file", snap.error()));
      loaded = std::move(*snap);
    }
    MultiUseSandbox s = sandbox_from(from_file ? *loaded : sut.snapshots[source]);
    if (replace) {
      sut.sandbox() = std::move(s);
    } else {
      sut.sandboxes.push_back(std::move(s));
      sut.current = sut.sandboxes.size() - 1;
    }
    check_state("the cold start", sut.sandbox(), from_file ? m.files[source] : m.snapshots[source]);
  }
  void show(std::ostream& os) const override {
    os << "New sandbox from " << (from_file ? "file " : "snapshot ") << source
       << (replace ? ", replacing the current one" : ", made current") << " (and read its state back)";
  }
};

struct Select : Command {
  size_t i;
  explicit Select(size_t index) : i(index) {}
  void checkPreconditions(const Model& m) const override { RC_PRE(i < m.sandboxes.size()); }
  void apply(Model& m) const override { m.current = i; }
  void run(const Model&, System& sut) const override { sut.current = i; }
  void show(std::ostream& os) const override { os << "Select sandbox " << i; }
};

struct Drop : Command {
  size_t i;
  explicit Drop(size_t index) : i(index) {}
  void checkPreconditions(const Model& m) const override {
    RC_PRE(i < m.sandboxes.size());
    RC_PRE(m.sandboxes.size() > 1);
  }
  static size_t after(size_t current, size_t dropped) {
    if (dropped < current) return current - 1;
    if (dropped == current) return 0;
    return current;
  }
  void apply(Model& m) const override {
    m.sandboxes.erase(m.sandboxes.begin() + static_cast<long>(i));
    m.current = after(m.current, i);
  }
  void run(const Model&, System& sut) const override {
    sut.sandboxes.erase(sut.sandboxes.begin() + static_cast<long>(i));
    sut.current = after(sut.current, i);
  }
  void show(std::ostream& os) const override { os << "Drop sandbox " << i << " (sandbox 0 becomes current if it was)"; }
};

// Only commands that can apply to `m`, weighted towards calls.
rc::Gen<std::shared_ptr<const Command>> gen_command(const Model& m) {
  using Ptr = std::shared_ptr<const Command>;
  auto make = [](auto f) { return gen::exec([f]() -> Ptr { return Ptr(f()); }); };
  std::vector<std::pair<size_t, rc::Gen<Ptr>>> choices;
  choices.push_back({10, make([] { return new Call(*gen_any_call()); })});
  // Calls that fit the current state: TouchPages over the pages the buffer has (dirtying a page each,
  // what a page-granular restore must put back), which gen_any_call mostly aims past the buffer.
  const uint64_t buffer_pages = m.sandboxes[m.current].guest.buffer.size() / 4096;
  if (buffer_pages > 0 && !m.sandboxes[m.current].poisoned) {
    choices.push_back({3, make([buffer_pages] {
                         return new Call(GuestCall{"TouchPages", {Value{*uniform<uint64_t>(1, buffer_pages + 1)}}});
                       })});
  }
  if (m.snapshots.size() < kMaxSnapshots) choices.push_back({3, make([] { return new TakeSnapshot(); })});
  const size_t snaps = m.snapshots.size(), files = m.files.size(), boxes = m.sandboxes.size();
  if (snaps > 0) {
    choices.push_back({4, make([snaps] { return new Restore(*uniform<size_t>(0, snaps)); })});
    if (files < kMaxFiles) {
      choices.push_back({2, make([snaps] {
                           return new Save(*uniform<size_t>(0, snaps),
                                           *gen::element(DigestAlgorithm::kBlake3_256, DigestAlgorithm::kXxh3_128));
                         })});
    }
    choices.push_back(
        {1, make([snaps] { return new NewSandbox(false, *uniform<size_t>(0, snaps), *gen::arbitrary<bool>()); })});
  }
  if (files > 0) {
    if (snaps < kMaxSnapshots) {
      choices.push_back({1, make([files] { return new Load(*uniform<size_t>(0, files), *gen::arbitrary<bool>()); })});
    }
    choices.push_back(
        {2, make([files] { return new NewSandbox(true, *uniform<size_t>(0, files), *gen::arbitrary<bool>()); })});
  }
  if (boxes > 1) {
    choices.push_back({1, make([boxes] { return new Select(*uniform<size_t>(0, boxes)); })});
    choices.push_back({1, make([boxes] { return new Drop(*uniform<size_t>(0, boxes)); })});
  }
  // weightedOneOf takes an initializer_list: pick the weighted index by hand.
  size_t total = 0;
  for (const auto& c : choices) total += c.first;
  return gen::mapcat(gen::noShrink(uniform<size_t>(0, total)), [choices](size_t r) {
    for (const auto& c : choices) {
      if (r < c.first) return c.second;
      r -= c.first;
    }
    return choices.back().second;
  });
}

SNAPVM_KVM_PROPERTY(SandboxModel, MatchesThePlainModel, ()) {
  System sut;
  sut.sandboxes.push_back(sandbox_from(sample_base_snapshot()));
  // Each case draws 1 to kMaxCommands commands, uniformly (rc::state::check would tie the count to the
  // size, which ramps up from 0 over the run: most of the fast mode's few cases would be a couple of
  // commands long). The commands' arguments still follow the ramp.
  const auto commands = *gen::withSize([](int size) {
    return gen::resize(kMaxCommands - 1, rc::state::gen::commands(Model{}, [size](const Model& m) {
                         return gen::resize(size, gen_command(m));
                       }));
  });
  rc::state::runAll(commands, Model{}, sut);
}

}  // namespace
}  // namespace snapvm::properties
