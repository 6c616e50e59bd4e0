// machine.cpp: building a VM for a guest (from an ELF or a snapshot) and running it.
#include "sandbox/machine.h"

#include <atomic>
#include <cstring>
#include <exception>

#include "elf/elf_loader.h"
#include "hypervisor/kvm.h"
#include "memory/page_tables.h"
#include "memory/peb.h"
#include "memory/system_area.h"
#include "snapshot/format.h"
#include "snapshot/memory_blob.h"
#include "snapshot/snapshot_access.h"
#include "snapvm/abi/layout.h"
#include "snapvm/abi/ports.h"

namespace snapvm::detail {

namespace {
constexpr uint64_t kPage = abi::kPageSize;

uint64_t next_lineage() {
  static std::atomic<uint64_t> counter{1};
  return counter.fetch_add(1);
}

GeneralRegisters entry_registers(uint64_t rip, uint64_t stack_top) {
  GeneralRegisters r;
  r.rip = rip;
  r.rsp = stack_top;
  r.rdi = abi::kPebAddress;
  r.rflags = abi::kInitialRflags;
  return r;
}

FpuState initial_fpu() {
  FpuState f;
  f.fcw = 0x37f;     // x87 default: all exceptions masked, extended precision
  f.mxcsr = 0x1f80;  // SSE default: all exceptions masked, round to nearest
  return f;
}

const char* exception_name(uint8_t vector) {
  static const char* const kNames[] = {"#DE divide error",
                                       "#DB debug",
                                       "NMI",
                                       "#BP breakpoint",
                                       "#OF overflow",
                                       "#BR bound range",
                                       "#UD invalid opcode",
                                       "#NM device not available",
                                       "#DF double fault",
                                       "coprocessor segment overrun",
                                       "#TS invalid TSS",
                                       "#NP segment not present",
                                       "#SS stack fault",
                                       "#GP general protection",
                                       "#PF page fault",
                                       "reserved",
                                       "#MF x87 floating point",
                                       "#AC alignment check",
                                       "#MC machine check",
                                       "#XM SIMD floating point",
                                       "#VE virtualization",
                                       "#CP control protection"};
  return vector < std::size(kNames) ? kNames[vector] : "reserved vector";
}

template <typename F>
struct ScopeExit {
  F f;
  ~ScopeExit() { f(); }
};
template <typename F>
ScopeExit(F) -> ScopeExit<F>;
}  // namespace

Machine::Machine(Layout layout, GuestMemory memory, Vm vm, Vcpu vcpu)
    : layout_(std::move(layout)),
      memory_(std::move(memory)),
      vm_(std::move(vm)),
      vcpu_(std::move(vcpu)),
      dirty_(memory_.bitmap_words(), 0) {}

Result<std::unique_ptr<Machine>> Machine::assemble(Layout layout, GuestMemory memory) {
  // The system area and page tables are rebuilt from the layout on every start: they are never read
  // from a snapshot, so a snapshot file cannot give the guest supervisor pages.
  write_system_area(memory.all());
  build_page_tables(memory.all(), layout.page_table_base, mapped_ranges(layout));
  auto kvm = TRY(Kvm::get());
  Vm vm = TRY(Vm::create(std::move(kvm)));
  TRY(vm.set_memory(0, memory.size(), memory.host_base(), /*log_dirty=*/true));
  Vcpu vcpu = TRY(vm.create_vcpu());
  return std::unique_ptr<Machine>(new Machine(std::move(layout), std::move(memory), std::move(vm), std::move(vcpu)));
}

Result<std::unique_ptr<Machine>> Machine::from_elf(const ElfImage& image, const SandboxConfig& config) {
  std::vector<Region> image_regions = image.regions();
  Layout layout = TRY(compute_layout(config, std::move(image_regions)));
  GuestMemory memory = TRY(GuestMemory::create(layout.memory_size));
  TRY(load_elf(image, memory.all()));
  auto m = TRY(assemble(std::move(layout), std::move(memory)));
  m->entrypoint_ = image.relocated_entry();
  m->lineage_ = next_lineage();
  TRY(m->write_peb());
  VcpuState state;
  state.sregs = initial_special_registers(m->layout_.page_table_base);
  state.regs = entry_registers(m->entrypoint_, m->layout_.stack_top());
  state.fpu = initial_fpu();
  TRY(m->vcpu_.set_state(state));
  return m;
}

Result<std::unique_ptr<Machine>> Machine::from_snapshot(const Snapshot& snapshot) {
  const std::shared_ptr<const SnapshotData>& data = detail::snapshot_data(snapshot);
  const Layout& layout = data->meta.layout;
  GuestMemory memory = TRY(GuestMemory::create(layout.memory_size));
  const MemoryBlob& blob = data->memory;
  for (size_t i = 0; i < layout.regions.size(); ++i) {
    const Region& r = layout.regions[i];
    TRY(memory.map_private(r.guest_address, r.size, blob.fd.get(), blob.file_offset + blob.region_offsets[i]));
  }
  auto m = TRY(assemble(layout, std::move(memory)));
  TRY(m->vcpu_.set_state(data->meta.vcpu));
  m->stage_ = data->meta.stage;
  m->entrypoint_ = data->meta.entrypoint;
  m->dispatch_ = data->meta.dispatch;
  m->manifest_.guest_functions = data->meta.guest_functions;
  m->manifest_.host_functions = data->meta.host_functions;
  m->lineage_ = next_lineage();
  m->base_ = data;
  return m;
}

std::span<uint8_t> Machine::input() const {
  return memory_.all().subspan(layout_.input_base, layout_.config.input_size);
}
std::span<uint8_t> Machine::output() const {
  return memory_.all().subspan(layout_.output_base, layout_.config.output_size);
}

Status Machine::write_peb() {
  const abi::Peb peb = make_peb(layout_);
  auto dst = TRY(memory_.range(abi::kPebAddress, sizeof peb, "peb"));
  std::memcpy(dst.data(), &peb, sizeof peb);
  memory_.mark_host_write(abi::kPebAddress, sizeof peb);
  return {};
}

Error Machine::poison(Error e) {
  poisoned_ = true;
  return e;
}

Status Machine::check_files() {
  if (!memory_.file_changed() && !(base_ && base_->memory.guard.tripped())) return {};
  return poison(make_error(ErrorCode::kFileChanged, "snapshot file",
                           "the file shrank under a live sandbox; its missing pages read as zeros"));
}

Status Machine::initialise(const CallOptions& options) {
  Status s = initialise_inner(options);
  TRY(check_files());
  return s;
}

Status Machine::initialise_inner(const CallOptions& options) {
  if (stage_ == SnapshotStage::kAfterInit) return {};
  auto timer = TRY(CallTimer::arm(options.timeout));
  TRY(run_until(Stop::kInitialised, timer));
  auto peb = TRY(memory_.range(abi::kPebAddress, sizeof(abi::Peb), "peb"));
  uint64_t dispatch = 0;
  std::memcpy(&dispatch, peb.data() + offsetof(abi::Peb, dispatch), 8);
  bool executable = false;
  for (const Region& r : layout_.regions) {
    if ((r.flags & kRegionExecute) && dispatch >= r.guest_address && dispatch < r.end()) executable = true;
  }
  if (!executable) {
    Error e = make_error(ErrorCode::kGuestProtocol, "peb.dispatch", "the guest's dispatch entry is not in its code");
    e.value = dispatch;
    return poison(e);
  }
  auto manifest = decode_manifest(output());
  if (!manifest) {
    Error e = std::move(manifest).error();
    e.code = ErrorCode::kGuestProtocol;
    return poison(e);
  }
  manifest_ = std::move(*manifest);
  dispatch_ = dispatch;
  stage_ = SnapshotStage::kAfterInit;
  return check_host_functions();
}

Status Machine::check_host_functions() const {
  for (const FunctionInfo& need : manifest_.host_functions) {
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

Status Machine::run_until(Stop until, const CallTimer& timer) {
  InterruptState& interrupt = interrupt_->state;
  interrupt.begin_call(vcpu_.run_page());
  ScopeExit end{[&] { interrupt.end_call(); }};
  for (;;) {
    auto exit_or = vcpu_.run();
    if (!exit_or) return poison(std::move(exit_or).error());
    const Exit& e = *exit_or;
    if (const auto* out = std::get_if<exit::PortOut>(&e)) {
      switch (static_cast<abi::Port>(out->port)) {
        case abi::Port::kInitialised:
          if (until == Stop::kInitialised) return {};
          return poison(make_error(ErrorCode::kGuestProtocol, "port", "initialised signal during a call"));
        case abi::Port::kCallDone:
          if (until == Stop::kCallDone) return {};
          return poison(make_error(ErrorCode::kGuestProtocol, "port", "call-done signal during initialisation"));
        case abi::Port::kHostCall: {
          Status s = handle_host_call();
          if (!s) return poison(std::move(s).error());
          continue;
        }
        case abi::Port::kLog: {
          Status s = handle_log();
          if (!s) return poison(std::move(s).error());
          continue;
        }
        case abi::Port::kAbort:
          return poison(guest_abort());
        case abi::Port::kFault:
          return poison(guest_fault());
      }
      Error err = make_error(ErrorCode::kGuestProtocol, "port", "the guest wrote to an unknown port");
      err.value = out->port;
      return poison(err);
    }
    if (std::holds_alternative<exit::Interrupted>(e)) {
      if (interrupt.cancel_requested()) return poison(make_error(ErrorCode::kCancelled, "call"));
      if (timer.expired()) return poison(make_error(ErrorCode::kTimeout, "call"));
      interrupt.clear_spurious(vcpu_.run_page());
      continue;
    }
    return poison(make_error(ErrorCode::kGuestStopped, "vcpu", describe_exit(e)));
  }
}

Status Machine::handle_host_call() {
  auto call_or = decode_call(output(), abi::kHostCallMagic);
  if (!call_or) {
    Error e = std::move(call_or).error();
    e.code = ErrorCode::kGuestProtocol;
    return e;
  }
  DecodedCall& call = *call_or;
  const HostFunctionEntry* entry = host_functions_.find(call.name);
  if (entry == nullptr) return make_error(ErrorCode::kUnknownHostFunction, call.name, "no host function of that name");
  TRY(check_arguments(call.name, entry->signature, call.args));
  Result<Value> result = make_error(ErrorCode::kHostFunctionError, call.name);
  try {
    result = entry->fn(call.args);
  } catch (const std::exception& ex) {
    return make_error(ErrorCode::kHostFunctionError, call.name, std::string("threw: ") + ex.what());
  } catch (...) {
    return make_error(ErrorCode::kHostFunctionError, call.name, "threw a non-standard exception");
  }
  if (!result) {
    const Error& inner = result.error();
    return make_error(ErrorCode::kHostFunctionError, call.name, inner.to_string());
  }
  if (type_of(*result) != entry->signature.result) {
    return make_error(ErrorCode::kHostFunctionError, call.name,
                      std::string("returned ") + std::string(value_type_name(type_of(*result))) + ", signature says " +
                          std::string(value_type_name(entry->signature.result)));
  }
  size_t n = TRY(encode_result(input(), *result));
  memory_.mark_host_write(layout_.input_base, n);
  return {};
}

Status Machine::handle_log() {
  auto rec = decode_text_record(output(), abi::kLogMagic);
  if (!rec) {
    Error e = std::move(rec).error();
    e.code = ErrorCode::kGuestProtocol;
    return e;
  }
  if (log_) {
    uint32_t level =
        rec->number > static_cast<uint32_t>(LogLevel::kError) ? static_cast<uint32_t>(LogLevel::kError) : rec->number;
    log_(static_cast<LogLevel>(level), rec->text);
  }
  return {};
}

Error Machine::guest_abort() {
  auto rec = decode_text_record(output(), abi::kAbortMagic);
  Error e = make_error(ErrorCode::kGuestAbort, "guest");
  if (rec) {
    e.guest_code = static_cast<int32_t>(rec->number);
    e.detail = rec->text;
  } else {
    e.detail = "malformed abort record: " + rec.error().to_string();
  }
  return e;
}

Error Machine::guest_fault() {
  auto regs = vcpu_.get_regs();
  auto sregs = vcpu_.get_sregs();
  if (!regs) return std::move(regs).error();
  if (!sregs) return std::move(sregs).error();
  // The stub pushed the vector over the error code and the CPU's frame: [vector, error, rip, cs, ...].
  uint64_t sp = regs->rsp;
  if (sp < abi::kRing0StackBase || sp + 24 > abi::kRing0StackTop) {
    Error e = make_error(ErrorCode::kGuestProtocol, "fault frame", "the ring-0 stack pointer is outside its stack");
    e.value = sp;
    return e;
  }
  FaultInfo f;
  f.vector = static_cast<uint8_t>(*memory_.read_u64(sp));
  f.error_code = *memory_.read_u64(sp + 8);
  f.rip = *memory_.read_u64(sp + 16);
  f.cr2 = sregs->cr2;
  Error e = make_error(ErrorCode::kGuestFault, "guest", exception_name(f.vector));
  e.fault = f;
  return e;
}

Result<Value> Machine::call(std::string_view function, std::span<const Value> args, const CallOptions& options) {
  TRY(check_files());
  Result<Value> r = call_inner(function, args, options);
  TRY(check_files());
  return r;
}

Result<Value> Machine::call_inner(std::string_view function, std::span<const Value> args, const CallOptions& options) {
  if (stage_ != SnapshotStage::kAfterInit) {
    return make_error(ErrorCode::kGuestProtocol, std::string(function), "the sandbox is not initialised");
  }
  if (poisoned_) return make_error(ErrorCode::kPoisoned, std::string(function));
  const FunctionInfo* fn = nullptr;
  for (const FunctionInfo& f : manifest_.guest_functions) {
    if (f.name == function) fn = &f;
  }
  if (fn == nullptr) return make_error(ErrorCode::kUnknownFunction, std::string(function));
  TRY(check_arguments(function, fn->signature, args));
  size_t n = TRY(encode_call(input(), abi::kCallMagic, function, args));
  memory_.mark_host_write(layout_.input_base, n);
  TRY(vcpu_.set_regs(entry_registers(dispatch_, layout_.stack_top())));
  auto timer = TRY(CallTimer::arm(options.timeout));
  TRY(run_until(Stop::kCallDone, timer));
  auto value = decode_result(output());
  if (!value) {
    Error e = std::move(value).error();
    e.code = ErrorCode::kGuestProtocol;
    return poison(e);
  }
  if (type_of(*value) != fn->signature.result) {
    return poison(make_error(ErrorCode::kReturnMismatch, std::string(function),
                             "guest returned " + std::string(value_type_name(type_of(*value)))));
  }
  return std::move(*value);
}

Status Machine::collect_dirty() {
  std::vector<uint64_t> log(dirty_.size(), 0);
  TRY(vm_.get_dirty_log(log));
  for (size_t i = 0; i < log.size(); ++i) dirty_[i] |= log[i];
  return {};
}

void Machine::clear_dirty() {
  std::fill(dirty_.begin(), dirty_.end(), 0);
  std::fill(memory_.host_dirty().begin(), memory_.host_dirty().end(), 0);
}

Result<std::vector<uint64_t>> Machine::pages_that_may_hold_data() const {
  // Since the base was taken, restored or loaded, memory differs from it only in the pages written
  // since (the invariant restore relies on too). So a page may hold data only if the base's blob has
  // data there or it was written since; every other page is zero and need not be read.
  const MemoryBlob& blob = base_->memory;
  std::vector<uint64_t> bits((blob.size / kPage + 63) / 64, 0);
  auto set = [&](uint64_t page) { bits[page / 64] |= uint64_t{1} << (page % 64); };
  TRY(for_each_extent(blob.fd.get(), blob.file_offset, blob.size,
                      [&](uint64_t at, uint64_t length, bool data) -> Status {
                        if (data) {
                          for (uint64_t page = at / kPage; page < (at + length + kPage - 1) / kPage; ++page) set(page);
                        }
                        return {};
                      }));
  const std::vector<uint64_t>& host = memory_.host_dirty();
  for (size_t i = 0; i < layout_.regions.size(); ++i) {
    const Region& r = layout_.regions[i];
    const uint64_t first = r.guest_address / kPage, last = first + r.size / kPage;
    const uint64_t blob_first = blob.region_offsets[i] / kPage;
    for (uint64_t page = first; page < last;) {
      const uint64_t word = dirty_[page / 64] | host[page / 64];
      if (word == 0) {
        page = (page / 64 + 1) * 64;
        continue;
      }
      if ((word >> (page % 64)) & 1) set(blob_first + (page - first));
      ++page;
    }
  }
  return bits;
}

Result<Snapshot> Machine::snapshot() {
  if (poisoned_) return make_error(ErrorCode::kPoisoned, "snapshot", "restore a snapshot before taking another");
  TRY(check_files());
  VcpuState state = TRY(vcpu_.get_state());
  std::vector<std::span<const uint8_t>> regions;
  for (const Region& r : layout_.regions) regions.emplace_back(memory_.host_base() + r.guest_address, r.size);
  TRY(collect_dirty());
  std::optional<std::vector<uint64_t>> may_hold_data;
  if (base_) may_hold_data = TRY(pages_that_may_hold_data());
  MemoryBlob blob = TRY(make_memory_blob(regions, may_hold_data ? &*may_hold_data : nullptr));
  auto data = std::make_shared<SnapshotData>();
  data->meta.stage = stage_;
  data->meta.abi_version = abi::kAbiVersion;
  data->meta.layout = layout_;
  data->meta.entrypoint = entrypoint_;
  data->meta.dispatch = dispatch_;
  data->meta.vcpu = state;
  data->meta.guest_functions = manifest_.guest_functions;
  data->meta.host_functions = manifest_.host_functions;
  data->meta.cpu_vendor = format::host_cpu_vendor();
  data->memory = std::move(blob);
  data->lineage = lineage_;
  TRY(check_files());  // pages lost while copying would be zeros in the snapshot
  TRY(collect_dirty());
  clear_dirty();
  base_ = data;
  return detail::make_snapshot(std::move(data));
}

Status Machine::restore(const Snapshot& snapshot) {
  Status s = restore_inner(snapshot);
  if (!s) return s;
  if (detail::snapshot_data(snapshot)->memory.guard.tripped()) {
    return poison(make_error(ErrorCode::kFileChanged, "snapshot file", "the file shrank while it was restored"));
  }
  return check_files();
}

Status Machine::restore_inner(const Snapshot& snapshot) {
  const std::shared_ptr<const SnapshotData>& data = detail::snapshot_data(snapshot);
  if (!(data->meta.layout == layout_)) {
    return make_error(ErrorCode::kSnapshotMismatch, "layout",
                      "the snapshot was taken of a sandbox with another layout");
  }
  TRY(collect_dirty());
  const MemoryBlob& blob = data->memory;
  uint64_t pages = 0;
  if (data == base_) {
    // Only the pages written since this snapshot was taken or last restored differ from it.
    const std::vector<uint64_t>& host = memory_.host_dirty();
    for (size_t i = 0; i < layout_.regions.size(); ++i) {
      const Region& r = layout_.regions[i];
      const uint8_t* src = blob.mapping.data() + blob.region_offsets[i];
      uint8_t* dst = memory_.host_base() + r.guest_address;
      const uint64_t first = r.guest_address / kPage, last = first + r.size / kPage;
      for (uint64_t page = first; page < last;) {
        uint64_t word = dirty_[page / 64] | host[page / 64];
        if (word == 0) {  // 64 clean pages at once: restore scans words, not pages
          page = (page / 64 + 1) * 64;
          continue;
        }
        if ((word >> (page % 64)) & 1) {
          std::memcpy(dst + (page - first) * kPage, src + (page - first) * kPage, kPage);
          ++pages;
        }
        ++page;
      }
    }
  } else {
    // Another snapshot: map its regions over ours, copy-on-write, as a cold start would.
    memory_.clear_file_guards();
    for (size_t i = 0; i < layout_.regions.size(); ++i) {
      const Region& r = layout_.regions[i];
      TRY(memory_.map_private(r.guest_address, r.size, blob.fd.get(), blob.file_offset + blob.region_offsets[i]));
      pages += r.size / kPage;
    }
  }
  TRY(vcpu_.set_state(data->meta.vcpu));
  stage_ = data->meta.stage;
  entrypoint_ = data->meta.entrypoint;
  dispatch_ = data->meta.dispatch;
  manifest_.guest_functions = data->meta.guest_functions;
  manifest_.host_functions = data->meta.host_functions;
  base_ = data;
  clear_dirty();
  poisoned_ = false;
  last_restore_pages_ = pages;
  return {};
}

}  // namespace snapvm::detail
