// elf_loader.h: the guest ELF loader. Parses and validates a static x86-64 guest (ET_EXEC, or a
// static PIE with only R_X86_64_RELATIVE relocations), then copies it into guest memory.
// All validation happens in parse_elf; every rejection is a typed Error naming the field.
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <utility>
#include <vector>

#include "snapvm/layout.h"
#include "snapvm/result.h"

namespace snapvm {

// Caps, so nothing read from a file drives an allocation or a layout beyond what is plausible.
inline constexpr uint64_t kMaxElfFileSize = 64 * kMiB;
inline constexpr uint64_t kMaxElfImageSpan = 1 * kGiB;  // page-rounded span of the PT_LOADs
inline constexpr uint16_t kMaxElfProgramHeaders = 64;

// One PT_LOAD, unrelocated. Zero-size PT_LOADs are dropped at parse time.
struct ElfSegment {
  uint64_t vaddr = 0;
  uint64_t memsz = 0;
  uint64_t filesz = 0;
  uint64_t file_offset = 0;
  uint32_t flags = 0;  // kRegionRead | kRegionWrite | kRegionExecute
  bool operator==(const ElfSegment&) const = default;
};

struct ElfImage {
  bool position_independent = false;                               // ET_DYN
  uint64_t entry = 0;                                              // as in the file (unrelocated)
  uint64_t min_vaddr = 0, max_vaddr = 0;                           // page-rounded span of the PT_LOADs, unrelocated
  std::vector<ElfSegment> segments;                                // PT_LOAD, sorted by vaddr, disjoint
  std::vector<std::pair<uint64_t, int64_t>> relative_relocations;  // (r_offset, r_addend)
  std::vector<uint8_t> bytes;                                      // the whole file (owned copy)

  // Added to every vaddr to get a guest address: 0 for ET_EXEC (loaded at its own vaddrs, which are
  // >= abi::kDefaultImageBase); for a PIE, abi::kDefaultImageBase - min_vaddr (modulo 2^64).
  uint64_t load_base() const;
  uint64_t relocated_entry() const { return entry + load_base(); }

  // Page-granular image regions (kind kImage, guest addresses after the bias), sorted. Segments that
  // share a page are merged; parse_elf guarantees such segments have the same flags (if a hand-made
  // image breaks that, the regions come out overlapping, which compute_layout refuses).
  std::vector<Region> regions() const;
};

// Validates everything: header, program headers, segment layout, W^X, entry, dynamic section and
// relocations. Errors are kElfMalformed or kElfUnsupported with field, file offset and value.
Result<ElfImage> parse_elf(std::span<const uint8_t> bytes);

// Reads the file (at most kMaxElfFileSize bytes, else kElfUnsupported), then parse_elf.
Result<ElfImage> parse_elf_file(const std::filesystem::path& path);

// Copies the image into guest memory (guest physical address 0 == memory[0]): zeroes the image's
// regions, copies each segment's file bytes, and applies the relative relocations. Re-checks every
// bound against `memory` and `image.bytes`, so a hand-made image cannot write out of bounds.
Status load_elf(const ElfImage& image, std::span<uint8_t> memory);

}  // namespace snapvm
