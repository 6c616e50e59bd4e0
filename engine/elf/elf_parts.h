// elf_parts.h: what the ELF loader's parts share (internal to engine/elf/): bounds and error helpers,
// a program header with its file position, and the steps parse_elf runs in order: the fixed headers
// (elf_headers.cpp), the PT_LOAD segments (elf_segments.cpp), the relocations (elf_relocations.cpp).
#pragma once

#include <elf.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <span>
#include <string>
#include <vector>

#include "elf/elf_loader.h"
#include "snapvm/abi/layout.h"
#include "snapvm/error.h"

namespace snapvm::elf_parts {

inline constexpr uint64_t kU64Max = std::numeric_limits<uint64_t>::max();
inline constexpr uint64_t kPhdrSize = sizeof(Elf64_Phdr);
inline constexpr uint64_t kDynSize = sizeof(Elf64_Dyn);
inline constexpr uint64_t kRelaSize = sizeof(Elf64_Rela);

inline uint64_t page_floor(uint64_t v) { return v & ~(abi::kPageSize - 1); }
inline uint64_t page_ceil(uint64_t v) {
  return (v + abi::kPageSize - 1) & ~(abi::kPageSize - 1);
}  // wraps only on hand-made input

// [offset, offset + len) lies inside [0, size), without overflow.
inline bool fits(uint64_t offset, uint64_t len, uint64_t size) { return offset <= size && len <= size - offset; }

inline Error malformed(std::string field, uint64_t offset, uint64_t value, std::string expected) {
  return field_error(ErrorCode::kElfMalformed, std::move(field), offset, value, std::move(expected));
}
inline Error unsupported(std::string field, uint64_t offset, uint64_t value, std::string expected) {
  return field_error(ErrorCode::kElfUnsupported, std::move(field), offset, value, std::move(expected));
}

template <typename T>
T read_at(std::span<const uint8_t> bytes, uint64_t offset) {  // caller checked fits(offset, sizeof(T))
  T v;
  std::memcpy(&v, bytes.data() + offset, sizeof(T));
  return v;
}

// A program header with where it sits in the file, for error reports.
struct Phdr {
  Elf64_Phdr h;
  size_t index;
  uint64_t file_offset;
  std::string field(const char* member) const { return "phdr[" + std::to_string(index) + "]." + member; }
};
#define SNAPVM_PHDR_AT(p, member) ((p).file_offset + offsetof(Elf64_Phdr, member))
#define SNAPVM_EHDR_AT(member) offsetof(Elf64_Ehdr, member)

// The fixed ELF header, checked from the raw bytes (each error names its field).
Result<Elf64_Ehdr> read_ehdr(std::span<const uint8_t> bytes);
// The program headers through libelf. `bytes` is the image's own copy: elf_memory wants it mutable.
Result<std::vector<Elf64_Phdr>> read_phdrs(std::vector<uint8_t>& bytes, const Elf64_Ehdr& eh);
// The segment's bytes lie inside the file.
Status check_file_range(const Phdr& p, uint64_t file_size);
// Fills image.segments, min_vaddr and max_vaddr from the PT_LOADs, checked; then the entry.
Status collect_segments(ElfImage& image, const std::vector<Phdr>& phdrs);
// The segment containing [addr, addr + len) (by memsz), if any. `segs` sorted and disjoint.
const ElfSegment* find_segment(const std::vector<ElfSegment>& segs, uint64_t addr, uint64_t len);
// Reads the R_X86_64_RELATIVE relocations the PT_DYNAMIC describes into image.relative_relocations.
Status collect_relocations(ElfImage& image, const Phdr& dyn);

}  // namespace snapvm::elf_parts
