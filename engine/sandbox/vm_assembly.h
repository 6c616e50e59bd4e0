// vm_assembly.h: building the VM a Machine runs: guest memory (from an ELF image, or mapped
// copy-on-write from a snapshot's blob), the system area and page tables, the KVM VM with its memory
// slot, and the vCPU in its starting state.
#pragma once

#include <cstdint>

#include "hypervisor/dirty_log.h"
#include "hypervisor/vcpu.h"
#include "hypervisor/vm.h"
#include "sandbox/guest_memory.h"
#include "snapvm/layout.h"
#include "snapvm/vcpu_state.h"

namespace snapvm {
struct ElfImage;
}

namespace snapvm::detail {

struct MemoryBlob;
struct SnapshotData;

struct VmParts {
  Layout layout;
  GuestMemory memory;
  Vm vm;
  Vcpu vcpu;
  DirtyLog dirty_log;  // the mode chosen for this VM (hypervisor/dirty_log.h)
};

// Registers that start the guest at `rip` (its ELF entry, or its dispatch entry for a call): rsp at the
// stack top, rdi the PEB.
GeneralRegisters entry_registers(uint64_t rip, const Layout& layout);

// The image loaded, the PEB written, the vCPU at `entry` (the relocated ELF entry) in long mode.
Result<VmParts> assemble_from_elf(const ElfImage& image, const SandboxConfig& config, uint64_t entry);
// The snapshot's regions mapped copy-on-write, the vCPU in the snapshot's state.
Result<VmParts> assemble_from_snapshot(const SnapshotData& data);

// Maps every region of `layout` MAP_PRIVATE from `blob` over guest memory (zero copy).
Status map_snapshot_regions(GuestMemory& memory, const Layout& layout, const MemoryBlob& blob);

}  // namespace snapvm::detail
