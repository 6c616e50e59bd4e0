// model_commands.h: the stateful model's commands (sandbox_model.cpp runs them): a plain model
// (guest_model.h) of a set of sample-guest sandboxes, the snapshots taken of them and the files saved,
// against the real engine; one Command per operation: Call, Snapshot, Restore, Save, Load, NewSandbox
// (from a file or a snapshot), Select, Drop. Generating commands needs no KVM (only running them
// does), so model_coverage_test.cpp runs the generator natively and checks what it covers.
#pragma once

#include <rapidcheck.h>
#include <rapidcheck/state.h>

#include <filesystem>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "guest_model.h"
#include "snapvm/snapshot.h"
#include "support.h"

namespace snapvm::properties {

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

using ModelCommands = rc::state::Commands<Command>;

// One case's commands: 1 to kMaxCommands of them, uniformly (rc::state::check would tie the count to
// the size, which ramps up from 0 over the run: most of the fast mode's few cases would be a couple of
// commands long). The commands' arguments still follow the ramp.
rc::Gen<ModelCommands> gen_model_case();

// What a command exercises, as the distribution and the coverage test count it: "command:<Kind>",
// plus for a call "call:<Function>", "fault:<kind>" for a call that fails (abort, #UD, #PF, #DE,
// TouchPages past the buffer: abort 13) and "edge:<region>:<first|last>" for a call that writes the
// first or last page of a region. `model` is the state before the command.
std::vector<std::string> command_tags(const Model& model, const Command& command);
// The same for a single call in a sandbox of state `s` (the equivalence property's sequences).
std::vector<std::string> call_tags(const SandboxState& s, const GuestCall& call);

// Cases run before the random ones, whatever the seed (sandbox_model.cpp, SandboxModel.FixedCases...):
// together they hold every command kind, every fault kind, every edge page and every function the
// model knows, so the fast mode covers each even where the seed's random cases would not.
std::vector<ModelCommands> fixed_model_cases();

// The equivalence property's call sequences: P (never failing), R (garbage between snapshot and
// restore) and Q (after; followed by observe_calls()), and the digest of the file saved.
struct CallSequences {
  std::vector<GuestCall> p, q, r;
  DigestAlgorithm algorithm = DigestAlgorithm::kBlake3_256;
};
void showValue(const CallSequences& s, std::ostream& os);
rc::Gen<CallSequences> gen_call_sequences();
// call_tags of every call, prefixed "P:", "R:" or "Q:".
std::vector<std::string> sequences_tags(const CallSequences& s);
// Run before the random cases (equivalence_properties.cpp): every fault kind in R and in Q, every
// edge page written in P and again in R.
std::vector<CallSequences> fixed_call_sequences();

}  // namespace snapvm::properties

// A counterexample prints under a readable heading, not the demangled std::vector<std::shared_ptr<...>>.
template <>
struct rc::ShowType<snapvm::properties::ModelCommands> {
  static void showType(std::ostream& os) { os << "commands, in order"; }
};
