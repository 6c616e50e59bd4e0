// machine.cpp: a sandbox's guest, composed of its parts: start, initialise, call, snapshot, restore.
#include "sandbox/machine.h"

#include <atomic>

#include "elf/elf_loader.h"
#include "sandbox/guest_exits.h"
#include "sandbox/host_calls.h"
#include "snapshot/snapshot_access.h"
#include "snapshot/snapshot_data.h"
#include "snapvm/abi/byte_order.h"
#include "snapvm/abi/layout.h"
#include "snapvm/abi/ports.h"

namespace snapvm::detail {

namespace {
uint64_t next_lineage() {
  static std::atomic<uint64_t> counter{1};
  return counter.fetch_add(1);
}

bool in_code(const Layout& layout, uint64_t address) {
  for (const Region& r : layout.regions) {
    if ((r.flags & kRegionExecute) && address >= r.guest_address && address < r.end()) return true;
  }
  return false;
}
}  // namespace

Machine::Machine(VmParts parts)
    : layout_(std::move(parts.layout)),
      memory_(std::move(parts.memory)),
      vm_(std::move(parts.vm)),
      vcpu_(std::move(parts.vcpu)),
      dirty_(memory_.size() / abi::kPageSize, std::move(parts.dirty_log)),
      lineage_(next_lineage()) {}

Result<std::unique_ptr<Machine>> Machine::from_elf(const ElfImage& image, const SandboxConfig& config) {
  const uint64_t entry = image.relocated_entry();
  // Assembled first: a TRY inside the new-expression would return after operator new, leaking it.
  VmParts parts = TRY(assemble_from_elf(image, config, entry));
  auto m = std::unique_ptr<Machine>(new Machine(std::move(parts)));
  m->program_.entrypoint = entry;
  m->dirty_.mark_host_write(abi::kPebAddress, sizeof(abi::Peb));
  return m;
}

Result<std::unique_ptr<Machine>> Machine::from_snapshot(const Snapshot& snapshot) {
  const std::shared_ptr<const SnapshotData>& data = snapshot_data(snapshot);
  VmParts parts = TRY(assemble_from_snapshot(*data));
  auto m = std::unique_ptr<Machine>(new Machine(std::move(parts)));
  load_program(m->program_, *data);
  m->base_ = data;
  return m;
}

Error Machine::poison(Error e) {
  poisoned_ = true;
  return e;
}

Status Machine::check_files() {
  if (!memory_.file_changed() && !(base_ && snapshot_file_shrank(*base_))) return {};
  return poison(make_error(ErrorCode::kFileChanged, "snapshot file",
                           "the file shrank under a live sandbox; its missing pages read as zeros"));
}

Status Machine::run(Stop until, const CallTimer& timer) {
  InterruptScope scope(interrupt_->state, vcpu_.run_page());
  GuestExits exits({layout_, memory_, vcpu_, vm_, dirty_, host_functions_, log_, interrupt_->state, timer});
  Status s = run_until(vcpu_, until, exits);
  if (!s) return poison(std::move(s).error());
  return {};
}

Status Machine::initialise(const CallOptions& options) {
  Status s = initialise_inner(options);
  TRY(check_files());
  return s;
}

Status Machine::initialise_inner(const CallOptions& options) {
  if (program_.stage == SnapshotStage::kAfterInit) return {};
  auto timer = TRY(CallTimer::arm(options.timeout));
  TRY(run(Stop::kInitialised, timer));
  auto peb = TRY(memory_.range(abi::kPebAddress, sizeof(abi::Peb), "peb"));
  const uint64_t dispatch = abi::load_le<uint64_t>(peb.data() + offsetof(abi::Peb, dispatch));
  if (!in_code(layout_, dispatch)) {
    Error e = make_error(ErrorCode::kGuestProtocol, "peb.dispatch", "the guest's dispatch entry is not in its code");
    e.value = dispatch;
    return poison(e);
  }
  auto manifest = decode_manifest(output_buffer(layout_, memory_));
  if (!manifest) return poison(as_guest_protocol(std::move(manifest).error()));
  program_.manifest = std::move(*manifest);
  program_.dispatch = dispatch;
  program_.stage = SnapshotStage::kAfterInit;
  return check_host_functions();
}

Status Machine::check_host_functions() const {
  for (const FunctionInfo& need : program_.manifest.host_functions) {
    const HostFunctionEntry* have = host_functions_.find(need.name);
    if (have == nullptr) {
      return make_error(ErrorCode::kHostFunctionMissing, need.name,
                        "the guest needs " + signature_to_string(need.name, need.signature));
    }
    if (!(have->signature == need.signature)) {
      return make_error(ErrorCode::kHostFunctionSignature, need.name,
                        "guest expects " + signature_to_string(need.name, need.signature) + ", host has " +
                            signature_to_string(need.name, have->signature));
    }
  }
  return {};
}

Result<Value> Machine::call(std::string_view function, std::span<const Value> args, const CallOptions& options) {
  TRY(check_files());
  Result<Value> r = call_inner(function, args, options);
  TRY(check_files());
  return r;
}

Result<Value> Machine::call_inner(std::string_view function, std::span<const Value> args, const CallOptions& options) {
  if (program_.stage != SnapshotStage::kAfterInit) {
    return make_error(ErrorCode::kGuestProtocol, std::string(function), "the sandbox is not initialised");
  }
  if (poisoned_) return make_error(ErrorCode::kPoisoned, std::string(function));
  const FunctionInfo* fn = nullptr;
  for (const FunctionInfo& f : program_.manifest.guest_functions) {
    if (f.name == function) fn = &f;
  }
  if (fn == nullptr) return make_error(ErrorCode::kUnknownFunction, std::string(function));
  TRY(check_arguments(function, fn->signature, args));
  size_t n = TRY(encode_call(input_buffer(layout_, memory_), abi::kCallMagic, function, args));
  dirty_.mark_host_write(layout_.input_base, n);
  TRY(vcpu_.set_regs(entry_registers(program_.dispatch, layout_)));
  auto timer = TRY(CallTimer::arm(options.timeout));
  TRY(run(Stop::kCallDone, timer));
  auto value = decode_result(output_buffer(layout_, memory_));
  if (!value) return poison(as_guest_protocol(std::move(value).error()));
  if (type_of(*value) != fn->signature.result) {
    return poison(make_error(ErrorCode::kReturnMismatch, std::string(function),
                             "guest returned " + std::string(value_type_name(type_of(*value)))));
  }
  return std::move(*value);
}

Result<Snapshot> Machine::snapshot() {
  if (poisoned_) return make_error(ErrorCode::kPoisoned, "snapshot", "restore a snapshot before taking another");
  TRY(check_files());
  std::shared_ptr<SnapshotData> data = TRY(capture(persist_parts(), program_, lineage_, base_.get()));
  TRY(check_files());  // pages lost while copying would be zeros in the snapshot
  TRY(dirty_.collect(vm_));
  TRY(dirty_.clear(vm_));
  base_ = data;
  return make_snapshot(std::move(data));
}

Status Machine::restore(const Snapshot& snapshot) {
  Status s = restore_inner(snapshot);
  if (!s) return s;
  if (snapshot_file_shrank(*snapshot_data(snapshot))) {
    return poison(make_error(ErrorCode::kFileChanged, "snapshot file", "the file shrank while it was restored"));
  }
  return check_files();
}

Status Machine::restore_inner(const Snapshot& snapshot) {
  const std::shared_ptr<const SnapshotData>& data = snapshot_data(snapshot);
  last_restore_pages_ = TRY(restore_state(persist_parts(), *data, data == base_));
  load_program(program_, *data);
  base_ = data;
  if (Status s = dirty_.clear(vm_); !s) return poison(std::move(s).error());
  poisoned_ = false;
  return {};
}

}  // namespace snapvm::detail
