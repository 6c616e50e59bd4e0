// model_commands.cpp: the stateful model's commands and their generator (model_commands.h).
#include "model_commands.h"

#include "generators.h"
#include "kvm_support.h"

namespace snapvm::properties {
namespace {

namespace gen = rc::gen;

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

const char* region_name(uint32_t kind) {
  switch (kind) {
    case 3:
      return "input";
    case 4:
      return "output";
    case 5:
      return "heap";
    case 6:
      return "stack";
    default:
      return "unknown";
  }
}

GuestCall call(std::string f, std::vector<Value> args = {}) { return GuestCall{std::move(f), std::move(args)}; }

}  // namespace

// The focus of a case, which it is sure to hold (inserted at a random place): every fault kind
// and every edge page no other call writes, so the random cases cover each far more often than the
// weights alone would (model_coverage_test.cpp). A call has no precondition of its own, but one that
// poisons may break a later command's (gen_model_case then appends it instead).
static std::vector<GuestCall> focus_calls() {
  std::vector<GuestCall> out = edge_page_calls();
  for (GuestCall f : {call("Abort", {Value{int32_t{3}}, Value{std::string("focus")}}), call("Ud2"), call("NullDeref"),
                      call("Divide", {Value{int32_t{0}}}), call("TouchPages", {Value{uint64_t{5}}})}) {
    out.push_back(std::move(f));
  }
  return out;
}

// Appends what makes a second sandbox current-selectable, then Select or Drop (the commands that need
// two sandboxes, rare otherwise); where no second sandbox can be had, Select of the only one, or no Drop.
void append_select_or_drop(ModelCommands& commands, bool drop) {
  Model m;
  for (const auto& c : commands) c->apply(m);
  ModelCommands tail;
  if (m.sandboxes.size() < 2) {
    if (m.snapshots.empty()) {
      if (m.sandboxes[m.current].poisoned) {  // no second sandbox to be had: Select of the only one
        if (!drop) commands.push_back(std::make_shared<Select>(0));
        return;
      }
      tail.push_back(std::make_shared<TakeSnapshot>());
    }
    tail.push_back(std::make_shared<NewSandbox>(false, 0, false));  // two sandboxes now, the new one current
  }
  if (drop) {
    tail.push_back(std::make_shared<Drop>(0));
  } else {
    tail.push_back(std::make_shared<Select>(0));
  }
  ModelCommands out = commands;
  out.insert(out.end(), tail.begin(), tail.end());
  if (rc::state::isValidSequence(out, Model{})) commands = std::move(out);
}

rc::Gen<ModelCommands> gen_model_case() {
  auto random = gen::withSize([](int size) {
    return gen::resize(kMaxCommands - 1, rc::state::gen::commands(Model{}, [size](const Model& m) {
                         return gen::resize(size, gen_command(m));
                       }));
  });
  // The focus: one of focus_calls(), or Select, or Drop.
  const std::vector<GuestCall> focus = focus_calls();
  return gen::mapcat(random, [focus](ModelCommands commands) {
    return gen::map(
        gen::noShrink(gen::pair(uniform<size_t>(0, focus.size() + 2), uniform<size_t>(0, commands.size() + 1))),
        [commands, focus](std::pair<size_t, size_t> pick) {
          ModelCommands out = commands;
          if (pick.first >= focus.size()) {
            append_select_or_drop(out, pick.first == focus.size() + 1);
            return out;
          }
          out.insert(out.begin() + static_cast<long>(pick.second), std::make_shared<Call>(focus[pick.first]));
          // A poisoning call changes what later commands may do (a snapshot of a poisoned sandbox adds
          // none): where it would break a later precondition, it goes last.
          if (!rc::state::isValidSequence(out, Model{})) {
            out = commands;
            out.push_back(std::make_shared<Call>(focus[pick.first]));
          }
          return out;
        });
  });
}

std::vector<std::string> call_tags(const SandboxState& s, const GuestCall& c) {
  std::vector<std::string> tags{"call:" + c.function};
  if (s.poisoned) return tags;  // refused: it ran nothing
  SandboxState after = s;
  const Outcome o = predict(after, c);
  if (!o.ok) {
    if (o.vector) {
      tags.push_back(*o.vector == 0    ? "fault:#DE"
                     : *o.vector == 6  ? "fault:#UD"
                     : *o.vector == 14 ? "fault:#PF"
                                       : "fault:other");
    } else if (c.function == "TouchPages") {
      tags.push_back("fault:abort 13 (TouchPages past the buffer)");
    } else {
      tags.push_back("fault:abort");
    }
    return tags;
  }
  // Every call that runs writes the stack's top page, the input and output buffers' first pages and the
  // heap's first page (the runtime copies the call there).
  for (const char* e : {"edge:stack:last", "edge:input:first", "edge:output:first", "edge:heap:first"})
    tags.push_back(e);
  if (c.function == "WriteEdgePage") {
    tags.push_back(std::string("edge:") + region_name(std::get<uint32_t>(c.args.at(0))) + ":" +
                   (std::get<bool>(c.args.at(1)) ? "last" : "first"));
  }
  return tags;
}

std::vector<std::string> command_tags(const Model& m, const Command& command) {
  if (const auto* c = dynamic_cast<const Call*>(&command)) {
    std::vector<std::string> tags = call_tags(m.sandboxes[m.current], c->call);
    tags.insert(tags.begin(), "command:Call");
    return tags;
  }
  if (dynamic_cast<const TakeSnapshot*>(&command)) {
    return {m.sandboxes[m.current].poisoned ? "command:Snapshot (refused: poisoned)" : "command:Snapshot"};
  }
  if (dynamic_cast<const Restore*>(&command)) {
    return {m.sandboxes[m.current].poisoned ? "command:Restore (of a poisoned sandbox)" : "command:Restore"};
  }
  if (dynamic_cast<const Save*>(&command)) return {"command:Save"};
  if (dynamic_cast<const Load*>(&command)) return {"command:Load"};
  if (const auto* n = dynamic_cast<const NewSandbox*>(&command)) {
    return {n->from_file ? "command:NewSandbox from a file" : "command:NewSandbox from a snapshot"};
  }
  if (dynamic_cast<const Select*>(&command)) return {"command:Select"};
  if (dynamic_cast<const Drop*>(&command)) return {"command:Drop"};
  return {"command:unknown"};
}

std::vector<ModelCommands> fixed_model_cases() {
  using Ptr = std::shared_ptr<const Command>;
  auto c = [](GuestCall g) -> Ptr { return std::make_shared<Call>(std::move(g)); };
  // 1. Every call that changes state, the edge pages, and every command kind.
  ModelCommands every_command{c(call("BufferFill", {Value{uint64_t{2 * 4096}}, Value{uint32_t{5}}})),
                              c(call("SetGlobal", {Value{int64_t{-3}}})),
                              c(call("SetMxcsr", {Value{uint32_t{0x7f80}}})),
                              c(call("BufferAppend", {Value{Bytes{1, 2, 3}}})), c(call("Increment"))};
  for (const GuestCall& e : edge_page_calls()) every_command.push_back(c(e));
  for (Ptr p : {Ptr(std::make_shared<TakeSnapshot>()), c(call("TouchPages", {Value{uint64_t{2}}})),
                Ptr(std::make_shared<Save>(0, DigestAlgorithm::kBlake3_256)), Ptr(std::make_shared<Restore>(0)),
                Ptr(std::make_shared<Load>(0, true)), Ptr(std::make_shared<NewSandbox>(true, 0, false)),
                c(call("SetGlobal", {Value{int64_t{9}}})), Ptr(std::make_shared<NewSandbox>(false, 1, false)),
                Ptr(std::make_shared<Select>(1)), Ptr(std::make_shared<Drop>(2)),
                Ptr(std::make_shared<Save>(1, DigestAlgorithm::kXxh3_128)), Ptr(std::make_shared<Load>(1, false)),
                Ptr(std::make_shared<NewSandbox>(false, 2, true))}) {
    every_command.push_back(p);
  }
  // 2. Every pure and host-call function once.
  ModelCommands every_call{c(call("GetGlobal")),
                           c(call("BufferChecksum")),
                           c(call("GetMxcsr")),
                           c(call("TouchPages", {Value{uint64_t{0}}})),
                           c(call("Add", {Value{int32_t{2}}, Value{int32_t{-7}}})),
                           c(call("EchoI64", {Value{int64_t{-1}}})),
                           c(call("EchoF64", {Value{-0.0}}))},
      faults;
  every_call.push_back(c(call("Echo", {Value{std::string("edge")}})));
  every_call.push_back(c(call("CallHostAdd", {Value{int64_t{40}}, Value{int64_t{2}}})));
  every_call.push_back(c(call("CallHostEcho", {Value{std::string("x")}})));
  every_call.push_back(c(call("Divide", {Value{int32_t{-7}}})));
  // 3. Every fault kind, each followed by a restore of the snapshot taken before it.
  faults.push_back(c(call("BufferFill", {Value{uint64_t{4096}}, Value{uint32_t{1}}})));
  faults.push_back(std::make_shared<TakeSnapshot>());
  for (const GuestCall& f :
       {call("Abort", {Value{int32_t{77}}, Value{std::string("planned")}}), call("Ud2"), call("NullDeref"),
        call("Divide", {Value{int32_t{0}}}), call("TouchPages", {Value{uint64_t{3}}})}) {
    faults.push_back(c(f));
    faults.push_back(std::make_shared<TakeSnapshot>());  // refused: poisoned
    faults.push_back(std::make_shared<Restore>(0));
  }
  return {every_command, every_call, faults};
}

void showValue(const CallSequences& s, std::ostream& os) {
  os << "P = " << show_calls(s.p) << "\n  Q = " << show_calls(s.q) << " + observe\n  R = " << show_calls(s.r)
     << "\n  file digest " << digest_algorithm_name(s.algorithm);
}

rc::Gen<CallSequences> gen_call_sequences() {
  // As long as the size (RC_PARAMS max_size bounds it: the fast mode keeps it small for QEMU).
  auto calls = [](rc::Gen<GuestCall> one) { return gen::container<std::vector<GuestCall>>(std::move(one)); };
  auto random = gen::build<CallSequences>(
      gen::set(&CallSequences::p, calls(gen_state_call())),  // P must leave it snapshottable
      gen::set(&CallSequences::q, calls(gen_any_call())), gen::set(&CallSequences::r, calls(gen_any_call())),
      gen::set(&CallSequences::algorithm, gen::element(DigestAlgorithm::kBlake3_256, DigestAlgorithm::kXxh3_128)));
  // One focus call inserted in each case: an edge page in P (or R), a fault in R or Q (see focus_calls).
  const std::vector<GuestCall> focus = focus_calls();
  const size_t edges = edge_page_calls().size();
  return gen::mapcat(random, [focus, edges](CallSequences s) {
    return gen::map(
        gen::noShrink(gen::tuple(uniform<size_t>(0, focus.size()), gen::arbitrary<bool>(), uniform<size_t>(0, 1000))),
        [s, focus, edges](std::tuple<size_t, bool, size_t> pick) {
          CallSequences out = s;
          const auto [which, second, at] = pick;
          std::vector<GuestCall>& into = which < edges ? (second ? out.r : out.p) : (second ? out.q : out.r);
          into.insert(into.begin() + static_cast<long>(at % (into.size() + 1)), focus[which]);
          return out;
        });
  });
}

std::vector<std::string> sequences_tags(const CallSequences& s) {
  std::vector<std::string> tags;
  auto walk = [&](const char* part, const std::vector<GuestCall>& calls, SandboxState state) {
    for (const GuestCall& c : calls) {
      for (std::string& t : call_tags(state, c)) tags.push_back(std::string(part) + ":" + t);
      predict(state, c);
    }
    return state;
  };
  const SandboxState after_p = walk("P", s.p, SandboxState{});
  walk("R", s.r, after_p);
  walk("Q", s.q, after_p);
  return tags;
}

std::vector<CallSequences> fixed_call_sequences() {
  std::vector<GuestCall> p{call("BufferFill", {Value{uint64_t{3 * 4096}}, Value{uint32_t{9}}}),
                           call("SetGlobal", {Value{int64_t{11}}}), call("SetMxcsr", {Value{uint32_t{0x5f80}}})};
  for (const GuestCall& e : edge_page_calls()) p.push_back(e);
  std::vector<CallSequences> out;
  const std::vector<GuestCall> faults{call("Abort", {Value{int32_t{-9}}, Value{std::string("r")}}), call("Ud2"),
                                      call("NullDeref"), call("Divide", {Value{int32_t{0}}}),
                                      call("TouchPages", {Value{uint64_t{4}}})};
  for (size_t i = 0; i < faults.size(); ++i) {
    CallSequences s;
    s.p = p;
    // R: the edge pages written again, then the fault; Q: another fault after a state change.
    s.r = edge_page_calls();
    s.r.push_back(call("TouchPages", {Value{uint64_t{2}}}));
    s.r.push_back(faults[i]);
    s.q = {call("Increment"), faults[(i + 1) % faults.size()]};
    s.algorithm = i % 2 == 0 ? DigestAlgorithm::kBlake3_256 : DigestAlgorithm::kXxh3_128;
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace snapvm::properties
