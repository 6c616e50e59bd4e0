// snapshot_metadata.h: everything a snapshot holds except its memory, as a plain copyable value: what
// the format codec encodes and decodes (no fds, no mappings), and what a Snapshot shares with the
// memory blob beside it (snapshot_data.h).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "snapvm/layout.h"
#include "snapvm/snapshot.h"
#include "snapvm/value.h"
#include "snapvm/vcpu_state.h"

namespace snapvm::detail {

struct SnapshotMetadata {
  SnapshotStage stage = SnapshotStage::kAfterInit;
  uint32_t abi_version = 0;
  Layout layout;
  uint64_t entrypoint = 0;  // ELF entry
  uint64_t dispatch = 0;    // guest dispatch entry; 0 before init
  VcpuState vcpu;
  std::vector<FunctionInfo> guest_functions, host_functions;
  std::string hypervisor = "kvm";
  std::string cpu_vendor;                           // CPUID vendor string of the machine that took it
  std::optional<DigestAlgorithm> digest_algorithm;  // set when decoded from a file
  std::optional<Digest> digest;                     // format 2: the chunk table's root
  std::optional<uint32_t> format_version;           // set when decoded from a file
  std::optional<uint64_t> digest_chunk_size;        // set for format 2 files (chunked digest)
  bool operator==(const SnapshotMetadata&) const = default;
};

}  // namespace snapvm::detail
