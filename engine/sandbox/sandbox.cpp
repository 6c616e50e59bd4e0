// sandbox.cpp: the public sandbox classes over detail::Machine.
#include "snapvm/sandbox.h"

#include "elf/elf_loader.h"
#include "sandbox/machine.h"

namespace snapvm {

bool InterruptHandle::cancel() const { return shared_->state.cancel(); }

Status HostFunctions::add(std::string name, Signature signature, HostFunction fn) {
  if (name.empty() || name.size() > abi::kMaxNameLength) {
    Error e = make_error(ErrorCode::kInvalidConfig, "host function name", "1 to 128 bytes");
    e.value = name.size();
    return e;
  }
  if (signature.params.size() > abi::kMaxArgs) {
    return make_error(ErrorCode::kInvalidConfig, name, "more than 16 parameters");
  }
  for (ValueType t : signature.params) {
    if (t == ValueType::kVoid) return make_error(ErrorCode::kInvalidConfig, name, "a parameter of type void");
  }
  if (!fn) return make_error(ErrorCode::kInvalidConfig, name, "empty function");
  if (entries_.contains(name)) return make_error(ErrorCode::kDuplicateHostFunction, name);
  entries_.emplace(std::move(name), HostFunctionEntry{std::move(signature), std::move(fn)});
  return {};
}

const HostFunctionEntry* HostFunctions::find(std::string_view name) const {
  auto it = entries_.find(name);
  return it == entries_.end() ? nullptr : &it->second;
}

// ---- UninitializedSandbox ----------------------------------------------------------------------

UninitializedSandbox::UninitializedSandbox(std::unique_ptr<detail::Machine> m) : machine_(std::move(m)) {}
UninitializedSandbox::UninitializedSandbox(UninitializedSandbox&&) noexcept = default;
UninitializedSandbox& UninitializedSandbox::operator=(UninitializedSandbox&&) noexcept = default;
UninitializedSandbox::~UninitializedSandbox() = default;

Result<UninitializedSandbox> UninitializedSandbox::from_elf_file(const std::filesystem::path& path,
                                                                 const SandboxConfig& config) {
  TRY(config.validate());
  ElfImage image = TRY(parse_elf_file(path));
  auto m = TRY(detail::Machine::from_elf(image, config));
  return UninitializedSandbox(std::move(m));
}

Result<UninitializedSandbox> UninitializedSandbox::from_elf_bytes(std::span<const uint8_t> elf,
                                                                  const SandboxConfig& config) {
  TRY(config.validate());
  ElfImage image = TRY(parse_elf(elf));
  auto m = TRY(detail::Machine::from_elf(image, config));
  return UninitializedSandbox(std::move(m));
}

Result<Snapshot> UninitializedSandbox::snapshot() { return machine_->snapshot(); }

Result<MultiUseSandbox> UninitializedSandbox::evolve(const CallOptions& init) && {
  machine_->set_host_functions(std::move(host_functions_));
  machine_->set_log_callback(std::move(log_));
  TRY(machine_->initialise(init));
  return MultiUseSandbox(std::move(machine_));
}

// ---- MultiUseSandbox ---------------------------------------------------------------------------

MultiUseSandbox::MultiUseSandbox(std::unique_ptr<detail::Machine> m) : machine_(std::move(m)) {}
MultiUseSandbox::MultiUseSandbox(MultiUseSandbox&&) noexcept = default;
MultiUseSandbox& MultiUseSandbox::operator=(MultiUseSandbox&&) noexcept = default;
MultiUseSandbox::~MultiUseSandbox() = default;

Result<MultiUseSandbox> MultiUseSandbox::from_snapshot(const Snapshot& snapshot, HostFunctions host_functions,
                                                       LogCallback log, const CallOptions& init) {
  auto m = TRY(detail::Machine::from_snapshot(snapshot));
  m->set_host_functions(std::move(host_functions));
  m->set_log_callback(std::move(log));
  if (m->initialised()) {
    TRY(m->check_host_functions());
  } else {
    TRY(m->initialise(init));
  }
  return MultiUseSandbox(std::move(m));
}

Result<Value> MultiUseSandbox::call(std::string_view function, std::vector<Value> args, const CallOptions& options) {
  return machine_->call(function, args, options);
}
Result<Snapshot> MultiUseSandbox::snapshot() { return machine_->snapshot(); }
Status MultiUseSandbox::restore(const Snapshot& snapshot) { return machine_->restore(snapshot); }
bool MultiUseSandbox::poisoned() const { return machine_->poisoned(); }
InterruptHandle MultiUseSandbox::interrupt_handle() const { return InterruptHandle(machine_->interrupt()); }
const std::vector<FunctionInfo>& MultiUseSandbox::guest_functions() const { return machine_->guest_functions(); }
const std::vector<FunctionInfo>& MultiUseSandbox::required_host_functions() const {
  return machine_->required_host_functions();
}
const Layout& MultiUseSandbox::layout() const { return machine_->layout(); }
uint64_t MultiUseSandbox::last_restore_pages() const { return machine_->last_restore_pages(); }
std::string_view MultiUseSandbox::dirty_tracking() const { return dirty_log_mode_name(machine_->dirty_log_mode()); }

// ---- SandboxBuilder ----------------------------------------------------------------------------

SandboxBuilder SandboxBuilder::from_elf(std::filesystem::path path, SandboxConfig config) {
  SandboxBuilder b;
  b.elf_ = std::move(path);
  b.config_ = config;
  return b;
}

SandboxBuilder& SandboxBuilder::host_functions(const HostFunctions& functions) {
  for (const auto& [name, entry] : functions.entries()) {
    if (!status_) break;
    status_ = host_functions_.add(name, entry.signature, entry.fn);
  }
  return *this;
}

SandboxBuilder& SandboxBuilder::log_callback(LogCallback cb) {
  log_ = std::move(cb);
  return *this;
}

SandboxBuilder& SandboxBuilder::init_timeout(std::chrono::nanoseconds timeout) {
  init_.timeout = timeout;
  return *this;
}

Result<MultiUseSandbox> SandboxBuilder::build() {
  TRY(status_);
  auto sandbox = TRY(UninitializedSandbox::from_elf_file(elf_, config_));
  sandbox.set_host_functions(std::move(host_functions_));
  sandbox.set_log_callback(std::move(log_));
  return std::move(sandbox).evolve(init_);
}

}  // namespace snapvm
