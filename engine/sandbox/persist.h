// persist.h: capture and restore, as Firecracker's persist.rs: a Machine's memory, vCPU and program
// state into a SnapshotData, and back. Every read of SnapshotData's fields by the sandbox is here or in
// vm_assembly.cpp.
#pragma once

#include <cstdint>
#include <memory>

#include "hypervisor/vcpu.h"
#include "hypervisor/vm.h"
#include "sandbox/call_codec.h"
#include "sandbox/dirty_tracker.h"
#include "sandbox/guest_memory.h"
#include "snapvm/layout.h"
#include "snapvm/snapshot.h"

namespace snapvm::detail {

struct SnapshotData;

// What a snapshot records of the guest program besides its memory and registers.
struct GuestProgram {
  SnapshotStage stage = SnapshotStage::kBeforeInit;
  uint64_t entrypoint = 0;  // ELF entry
  uint64_t dispatch = 0;    // guest dispatch entry; 0 before init
  Manifest manifest;        // published at initialisation
};

// The Machine's parts that capture reads and restore writes.
struct PersistParts {
  const Layout& layout;
  GuestMemory& memory;
  const Vm& vm;
  Vcpu& vcpu;
  DirtyTracker& dirty;
};

// Sets `program` to what `data` records. Assigns in place, so a restore reuses the storage it has.
void load_program(GuestProgram& program, const SnapshotData& data);
// True when the snapshot's file shrank after it was mapped (its missing pages read as zeros).
bool snapshot_file_shrank(const SnapshotData& data);

// Captures the vCPU and every region into a new memfd blob. With a `base` (the snapshot memory equals
// but for the dirty pages), reads only the pages that may hold data: the base's data and the dirty ones.
// Collects the dirty log; the caller clears the tracker once the snapshot is its new base.
Result<std::shared_ptr<SnapshotData>> capture(const PersistParts& parts, const GuestProgram& program, uint64_t lineage,
                                              const SnapshotData* base);

// Brings memory and the vCPU back to `data` (kSnapshotMismatch for another layout). When `data` is the
// base, copies back only the dirty pages; else maps its regions over guest memory, copy-on-write, as a
// cold start would. Returns the pages restored.
Result<uint64_t> restore_state(const PersistParts& parts, const SnapshotData& data, bool is_base);

}  // namespace snapvm::detail
