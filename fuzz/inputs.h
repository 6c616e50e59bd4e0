// inputs.h: synthetic inputs built without KVM, byte for byte the same on every machine: a tiny
// hand-assembled guest (as ELF files and as snapshot files, before and after its initialisation),
// before-initialisation snapshot files of any guest ELF, wire messages, and ELF files cut down to
// their loadable part. The seed generator (corpus/generate_seeds.cpp) and the splice targets use them.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "snapshot/snapshot_metadata.h"
#include "snapvm/layout.h"
#include "snapvm/result.h"
#include "snapvm/snapshot.h"
#include "snapvm/value.h"

namespace snapvm::fuzz {

// Seeds record this CPU vendor whatever machine generates them, so they are reproducible everywhere.
// (A file loads only on a CPU of the vendor it records; the structured mutator rewrites the tag to
// this machine's vendor now and then, so fuzzing on other machines gets past that check quickly.)
inline constexpr std::string_view kSeedCpuVendor = "AuthenticAMD";

// The smallest configuration SandboxConfig allows: 16 KiB heap and stack, 4 KiB buffers.
SandboxConfig smallest_config();

// ---- the tiny guest --------------------------------------------------------------------------
// One page of code at the image base: the entry copies its manifest (guest function Nothing() ->
// void; host function HostEcho(string) -> string) to the output buffer, stores its dispatch address
// in the PEB and signals kInitialised; every call logs a line, calls HostEcho("fuzz") and returns
// void. One writable page after it. Its messages sit in the code page, so blob mutations reach the
// host's decoders.
inline constexpr uint64_t kTinyEntryOffset = 0x100;     // from the image base
inline constexpr uint64_t kTinyDispatchOffset = 0x140;  // from the image base

std::vector<uint8_t> tiny_guest_code();  // the code page's bytes from kTinyEntryOffset on
std::vector<uint8_t> tiny_guest_elf();   // ET_EXEC at 0x100000: r-x code page, rw- bss page (553 bytes)
std::vector<uint8_t> tiny_guest_pie();   // ET_DYN with PT_DYNAMIC and one R_X86_64_RELATIVE relocation

// ---- snapshot files ------------------------------------------------------------------------
struct FileOptions {
  SnapshotStage stage = SnapshotStage::kAfterInit;
  DigestAlgorithm digest = DigestAlgorithm::kBlake3_256;
  std::string cpu_vendor = std::string(kSeedCpuVendor);
  SandboxConfig config = smallest_config();
  uint32_t format_version = 1;  // the first seeds are format 1's; format 2 seeds ask for 2
};

// Metadata (format::encode_metadata) followed by the blob of `region_bytes` (one per region, each
// the region's size), with the content digest of that blob (format 2: the chunk table after the
// blob, its root as the digest).
std::vector<uint8_t> encode_file(const detail::SnapshotMetadata& data,
                                 const std::vector<std::vector<uint8_t>>& region_bytes, DigestAlgorithm digest,
                                 uint32_t format_version = 1);

// The snapshot a sandbox built from `elf` would take before initialisation (image loaded, PEB
// written, vCPU at the entry), as a file. With stage kAfterInit, only for the tiny guest: the state
// its initialisation leaves (manifest in the output buffer, dispatch in the PEB, functions listed).
Result<std::vector<uint8_t>> guest_file(std::span<const uint8_t> elf, const FileOptions& options);

// The tiny guest's file (guest_file of tiny_guest_elf()).
std::vector<uint8_t> tiny_guest_file(const FileOptions& options = {});

// ---- wire messages ---------------------------------------------------------------------------
std::vector<uint8_t> encode_call(uint32_t magic, std::string_view name, const std::vector<Value>& args);
std::vector<uint8_t> encode_result(const Value& value);
std::vector<uint8_t> encode_text_record(uint32_t magic, uint32_t number, std::string_view text);
std::vector<uint8_t> encode_manifest(const std::vector<FunctionInfo>& guest, const std::vector<FunctionInfo>& host);

// The guest and host functions of the sample guest (a copy of guest/samples/sample_guest.cpp's
// lists, for manifest seeds: a seed need not follow later changes to the guest).
std::vector<FunctionInfo> sample_guest_functions();
std::vector<FunctionInfo> sample_host_functions();

// ---- ELF files ------------------------------------------------------------------------------
// The bytes up to the end of the last segment's file bytes, with the section header table dropped
// (e_shoff, e_shnum, e_shstrndx zero): what the loader reads, without debug information.
std::vector<uint8_t> loadable_part(std::span<const uint8_t> elf);

}  // namespace snapvm::fuzz
