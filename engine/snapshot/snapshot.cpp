// snapshot.cpp: Snapshot's accessors and digest names (file I/O lives in snapshot_file.cpp).
#include "snapvm/snapshot.h"

#include "snapshot/snapshot_data.h"

namespace snapvm {

std::string_view digest_algorithm_name(DigestAlgorithm a) {
  switch (a) {
    case DigestAlgorithm::kBlake3_256:
      return "blake3-256";
    case DigestAlgorithm::kXxh3_128:
      return "xxh3-128";
  }
  return "unknown";
}

std::optional<DigestAlgorithm> parse_digest_algorithm(std::string_view name) {
  if (name == "blake3" || name == "blake3-256") return DigestAlgorithm::kBlake3_256;
  if (name == "xxh3" || name == "xxh3-128") return DigestAlgorithm::kXxh3_128;
  return std::nullopt;
}

SnapshotStage Snapshot::stage() const { return data_->meta.stage; }
const Layout& Snapshot::layout() const { return data_->meta.layout; }
const VcpuState& Snapshot::vcpu() const { return data_->meta.vcpu; }
uint64_t Snapshot::entrypoint() const { return data_->meta.entrypoint; }
uint32_t Snapshot::abi_version() const { return data_->meta.abi_version; }
const std::string& Snapshot::hypervisor() const { return data_->meta.hypervisor; }
const std::string& Snapshot::cpu_vendor() const { return data_->meta.cpu_vendor; }
uint64_t Snapshot::dispatch() const { return data_->meta.dispatch; }
const std::vector<FunctionInfo>& Snapshot::guest_functions() const { return data_->meta.guest_functions; }
const std::vector<FunctionInfo>& Snapshot::host_functions() const { return data_->meta.host_functions; }
std::optional<DigestAlgorithm> Snapshot::digest_algorithm() const { return data_->meta.digest_algorithm; }
std::optional<Digest> Snapshot::digest() const { return data_->meta.digest; }
std::optional<uint32_t> Snapshot::format_version() const { return data_->meta.format_version; }
std::optional<uint64_t> Snapshot::digest_chunk_size() const { return data_->meta.digest_chunk_size; }

std::span<const uint8_t> Snapshot::region_bytes(size_t region_index) const {
  const Region& r = data_->meta.layout.regions.at(region_index);
  return {data_->memory.mapping.data() + data_->memory.region_offsets.at(region_index), r.size};
}

}  // namespace snapvm
