// snapshot_data.h: what a Snapshot holds. Shared read-only between copies of a Snapshot and the
// sandboxes created from it; a file-backed snapshot keeps the validated fd and its mapping alive here.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "memory/file_guard.h"
#include "memory/mapping.h"
#include "snapvm/snapshot.h"

namespace snapvm::detail {

// The guest memory a snapshot holds: every region's bytes, back to back at page-aligned offsets,
// in a file (a snapshot file, or a memfd for in-memory snapshots) and mapped read-only.
struct MemoryBlob {
  UniqueFd fd;               // sandboxes map regions MAP_PRIVATE from this fd: zero copy
  uint64_t file_offset = 0;  // where the blob starts in the fd (page aligned)
  uint64_t size = 0;
  Mapping mapping;                       // PROT_READ view of [file_offset, file_offset + size)
  FileGuard guard;                       // file blobs: a shrinking file reads as zeros and trips this, not SIGBUS
  std::vector<uint64_t> region_offsets;  // per region, relative to the blob start
};

struct SnapshotData {
  SnapshotStage stage = SnapshotStage::kAfterInit;
  uint32_t abi_version = 0;
  Layout layout;
  uint64_t entrypoint = 0;  // ELF entry
  uint64_t dispatch = 0;    // guest dispatch entry; 0 before init
  VcpuState vcpu;
  std::vector<FunctionInfo> guest_functions;
  std::vector<FunctionInfo> host_functions;
  std::string hypervisor = "kvm";
  std::string cpu_vendor;  // CPUID vendor string of the machine that took it
  MemoryBlob memory;
  std::optional<DigestAlgorithm> digest_algorithm;  // set when loaded from a file
  std::optional<Digest> digest;
  uint64_t lineage = 0;  // identifies the sandbox the snapshot came from (0: a file)
};

}  // namespace snapvm::detail
