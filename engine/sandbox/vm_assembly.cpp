// vm_assembly.cpp: guest memory, system area, page tables, VM, vCPU.
#include "sandbox/vm_assembly.h"

#include <cstring>

#include "elf/elf_loader.h"
#include "hypervisor/kvm.h"
#include "memory/page_tables.h"
#include "memory/peb.h"
#include "memory/system_area.h"
#include "snapshot/snapshot_data.h"
#include "snapvm/abi/layout.h"

namespace snapvm::detail {

namespace {
FpuState initial_fpu() {
  FpuState f;
  f.fcw = 0x37f;     // x87 default: all exceptions masked, extended precision
  f.mxcsr = 0x1f80;  // SSE default: all exceptions masked, round to nearest
  return f;
}

Status write_peb(GuestMemory& memory, const Layout& layout) {
  const abi::Peb peb = make_peb(layout);
  auto dst = TRY(memory.range(abi::kPebAddress, sizeof peb, "peb"));
  std::memcpy(dst.data(), &peb, sizeof peb);
  return {};
}

// The system area and page tables are rebuilt from the layout on every start: they are never read
// from a snapshot, so a snapshot file cannot give the guest supervisor pages.
Result<VmParts> assemble(Layout layout, GuestMemory memory) {
  write_system_area(memory.all());
  build_page_tables(memory.all(), layout.page_table_base, mapped_ranges(layout));
  auto kvm = TRY(Kvm::get());
  Vm vm = TRY(Vm::create(std::move(kvm)));
  // The dirty log's mode is enabled before the slot and the vCPU exist (the ring must be).
  DirtyLog dirty_log = TRY(DirtyLog::enable(vm, TRY(requested_dirty_log_mode())));
  TRY(vm.set_memory(0, memory.size(), memory.host_base(), /*log_dirty=*/true));
  Vcpu vcpu = TRY(vm.create_vcpu());
  TRY(dirty_log.attach(vcpu));
  return VmParts{std::move(layout), std::move(memory), std::move(vm), std::move(vcpu), std::move(dirty_log)};
}
}  // namespace

GeneralRegisters entry_registers(uint64_t rip, const Layout& layout) {
  GeneralRegisters r;
  r.rip = rip;
  r.rsp = layout.stack_top();
  r.rdi = abi::kPebAddress;
  r.rflags = abi::kInitialRflags;
  return r;
}

Result<VmParts> assemble_from_elf(const ElfImage& image, const SandboxConfig& config, uint64_t entry) {
  Layout layout = TRY(compute_layout(config, image.regions()));
  GuestMemory memory = TRY(GuestMemory::create(layout.memory_size));
  TRY(load_elf(image, memory.all()));
  VmParts parts = TRY(assemble(std::move(layout), std::move(memory)));
  TRY(write_peb(parts.memory, parts.layout));
  VcpuState state;
  state.sregs = initial_special_registers(parts.layout.page_table_base);
  state.regs = entry_registers(entry, parts.layout);
  state.fpu = initial_fpu();
  TRY(parts.vcpu.set_state(state));
  return parts;
}

Result<VmParts> assemble_from_snapshot(const SnapshotData& data) {
  GuestMemory memory = TRY(GuestMemory::create(data.meta.layout.memory_size));
  TRY(map_snapshot_regions(memory, data.meta.layout, data.memory));
  VmParts parts = TRY(assemble(data.meta.layout, std::move(memory)));
  TRY(parts.vcpu.set_state(data.meta.vcpu));
  return parts;
}

Status map_snapshot_regions(GuestMemory& memory, const Layout& layout, const MemoryBlob& blob) {
  for (size_t i = 0; i < layout.regions.size(); ++i) {
    const Region& r = layout.regions[i];
    TRY(memory.map_private(r.guest_address, r.size, blob.fd.get(), blob.file_offset + blob.region_offsets[i]));
  }
  return {};
}

}  // namespace snapvm::detail
