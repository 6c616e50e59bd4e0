// snapshot.h: a sandbox's state at one moment (guest memory regions and the complete vCPU state),
// in memory or in a snapshot file. Cheap to copy: copies share the read-only memory. See
// docs/snapshot-format.md for the file, byte by byte.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "snapvm/layout.h"
#include "snapvm/result.h"
#include "snapvm/value.h"
#include "snapvm/vcpu_state.h"

namespace snapvm {

namespace detail {
struct SnapshotData;
struct SnapshotAccess;  // the engine's way in (engine/snapshot/snapshot_access.h)
}  // namespace detail

enum class DigestAlgorithm : uint32_t { kBlake3_256 = 1, kXxh3_128 = 2 };
std::string_view digest_algorithm_name(DigestAlgorithm a);  // "blake3-256", "xxh3-128"
std::optional<DigestAlgorithm> parse_digest_algorithm(std::string_view name);

// Before guest initialisation (rip at the ELF entry) or after it (ready for calls).
enum class SnapshotStage : uint32_t { kBeforeInit = 1, kAfterInit = 2 };

using Digest = std::array<uint8_t, 32>;  // XXH3-128 uses the first 16 bytes; the rest are zero

struct SaveOptions {
  DigestAlgorithm digest = DigestAlgorithm::kBlake3_256;
  // 2 (the default): the chunked content digest, whose verification costs what the file holds. 1: the
  // flat digest over every blob byte, for readers that only know format 1 (snapvm before format 2).
  uint32_t format_version = 2;
  // Called with (bytes done, bytes total) while the memory is written and hashed.
  std::function<void(uint64_t, uint64_t)> progress;
};

struct LoadOptions {
  bool verify_digest = true;
  // When set, the file's content digest must equal this (and verify_digest must be on): the only way
  // a file becomes trusted against someone who can rewrite it (they can recompute its checksums).
  std::optional<Digest> expected_digest;
  std::function<void(uint64_t, uint64_t)> progress;
  // Format 2: threads that read and hash chunks (0: one per hardware thread, at most 8; 1: the caller's).
  unsigned hash_threads = 0;
};

class Snapshot {
 public:
  // Verifies the header, every structural and semantic check, and the content digest.
  static Result<Snapshot> from_file(const std::filesystem::path& path);
  // The same checks except the content digest: faster, for files the caller already trusts.
  static Result<Snapshot> from_file_unchecked(const std::filesystem::path& path);
  static Result<Snapshot> load(const std::filesystem::path& path, const LoadOptions& options);

  // Atomic: a temporary file in the same directory (.<name>.tmp-<16 hex>), fsync, rename, fsync of
  // the directory. The target is always the old file or the complete new one; a failed save leaves
  // no temporary, and one left by a killed writer is removed by the next save of the same path.
  Status to_file(const std::filesystem::path& path, const SaveOptions& options = {}) const;

  SnapshotStage stage() const;
  const Layout& layout() const;
  const VcpuState& vcpu() const;
  uint64_t entrypoint() const;
  uint32_t abi_version() const;
  const std::string& hypervisor() const;  // "kvm"
  const std::string& cpu_vendor() const;  // CPUID vendor of the machine that took it
  uint64_t dispatch() const;
  const std::vector<FunctionInfo>& guest_functions() const;
  const std::vector<FunctionInfo>& host_functions() const;
  // Bytes of one region as the snapshot holds them (read-only; file-backed snapshots map the file).
  std::span<const uint8_t> region_bytes(size_t region_index) const;
  // Set for snapshots loaded from a file: its digest algorithm and digest.
  std::optional<DigestAlgorithm> digest_algorithm() const;
  std::optional<Digest> digest() const;  // format 2: the root of the chunk table
  // Set for snapshots loaded from a file: its format version, and for format 2 the digest's chunk size.
  std::optional<uint32_t> format_version() const;
  std::optional<uint64_t> digest_chunk_size() const;

 private:
  friend struct detail::SnapshotAccess;
  explicit Snapshot(std::shared_ptr<const detail::SnapshotData> data) : data_(std::move(data)) {}

  std::shared_ptr<const detail::SnapshotData> data_;
};

}  // namespace snapvm
