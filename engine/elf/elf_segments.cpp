// elf_segments.cpp: the PT_LOAD segments: inside the file, W^X, disjoint, placed within the image
// span and the image base; the entry point inside an executable segment.
#include <algorithm>

#include "elf/elf_parts.h"

namespace snapvm::elf_parts {

namespace {

struct LoadSegment {
  ElfSegment seg;
  const Phdr* phdr;
  uint64_t end() const { return seg.vaddr + seg.memsz; }
};

uint32_t region_flags(uint32_t p_flags) {
  uint32_t flags = 0;
  if (p_flags & PF_R) flags |= kRegionRead;
  if (p_flags & PF_W) flags |= kRegionWrite;
  if (p_flags & PF_X) flags |= kRegionExecute;
  return flags;
}

Status check_load(const Phdr& p, uint64_t file_size) {
  const Elf64_Phdr& h = p.h;
  if (h.p_filesz > h.p_memsz) {
    return malformed(p.field("p_filesz"), SNAPVM_PHDR_AT(p, p_filesz), h.p_filesz, "at most p_memsz " + hex(h.p_memsz));
  }
  TRY(check_file_range(p, file_size));
  if (h.p_memsz > kMaxElfImageSpan) {
    return unsupported(p.field("p_memsz"), SNAPVM_PHDR_AT(p, p_memsz), h.p_memsz, "at most 1 GiB");
  }
  if (h.p_vaddr > kU64Max - (abi::kPageSize - 1) - h.p_memsz) {  // room to round the end up to a page too
    return malformed(p.field("p_vaddr"), SNAPVM_PHDR_AT(p, p_vaddr), h.p_vaddr, "p_vaddr + p_memsz without overflow");
  }
  if (h.p_align > 1 && (h.p_align & (h.p_align - 1)) != 0) {
    return malformed(p.field("p_align"), SNAPVM_PHDR_AT(p, p_align), h.p_align, "a power of two");
  }
  if (h.p_align >= abi::kPageSize && h.p_vaddr % abi::kPageSize != h.p_offset % abi::kPageSize) {
    return malformed(p.field("p_offset"), SNAPVM_PHDR_AT(p, p_offset), h.p_offset,
                     "p_offset % 4096 == p_vaddr % 4096 (p_vaddr " + hex(h.p_vaddr) + ")");
  }
  if ((h.p_flags & PF_W) && (h.p_flags & PF_X)) {
    return unsupported(p.field("p_flags"), SNAPVM_PHDR_AT(p, p_flags), h.p_flags,
                       "not both writable and executable (W^X)");
  }
  return {};
}

// Sorted by vaddr: no two overlap, and two that share a page have the same flags.
Status check_disjoint(const std::vector<LoadSegment>& segs) {
  for (size_t k = 1; k < segs.size(); ++k) {
    const LoadSegment& prev = segs[k - 1];
    const LoadSegment& cur = segs[k];
    const std::string other = "phdr[" + std::to_string(prev.phdr->index) + "]";
    if (cur.seg.vaddr < prev.end()) {
      return malformed(cur.phdr->field("p_vaddr"), SNAPVM_PHDR_AT(*cur.phdr, p_vaddr), cur.seg.vaddr,
                       "no overlap with " + other + ", which ends at " + hex(prev.end()));
    }
    if (page_floor(cur.seg.vaddr) < page_ceil(prev.end()) && cur.seg.flags != prev.seg.flags) {
      return unsupported(cur.phdr->field("p_flags"), SNAPVM_PHDR_AT(*cur.phdr, p_flags), cur.phdr->h.p_flags,
                         "the same flags as " + other + ", which shares its page (permissions are per page)");
    }
  }
  return {};
}

// The span is capped; a fixed-address image must sit between the image base and the memory cap.
Status check_placement(const std::vector<LoadSegment>& segs, bool pie, uint64_t min_vaddr, uint64_t max_vaddr) {
  const Phdr& first = *segs.front().phdr;
  const Phdr& last = *segs.back().phdr;
  if (max_vaddr - min_vaddr > kMaxElfImageSpan) {
    return unsupported(last.field("p_vaddr"), SNAPVM_PHDR_AT(last, p_vaddr), last.h.p_vaddr,
                       "PT_LOADs spanning at most 1 GiB; they span " + hex(max_vaddr - min_vaddr));
  }
  if (pie) return {};
  if (min_vaddr < abi::kDefaultImageBase) {
    return unsupported(first.field("p_vaddr"), SNAPVM_PHDR_AT(first, p_vaddr), first.h.p_vaddr,
                       "a fixed-address image at or above " + hex(abi::kDefaultImageBase));
  }
  if (max_vaddr > kMaxGuestMemory) {
    return unsupported(last.field("p_vaddr"), SNAPVM_PHDR_AT(last, p_vaddr), last.h.p_vaddr,
                       "a fixed-address image ending at or below " + hex(kMaxGuestMemory));
  }
  return {};
}

Status check_entry(const ElfImage& image) {
  const ElfSegment* s = find_segment(image.segments, image.entry, 1);
  if (s == nullptr || (s->flags & kRegionExecute) == 0) {
    return malformed("e_entry", SNAPVM_EHDR_AT(e_entry), image.entry, "an address inside an executable PT_LOAD");
  }
  return {};
}

}  // namespace

// The segment's bytes lie inside the file.
Status check_file_range(const Phdr& p, uint64_t file_size) {
  if (p.h.p_offset > file_size) {
    return malformed(p.field("p_offset"), SNAPVM_PHDR_AT(p, p_offset), p.h.p_offset,
                     "an offset inside the file of " + hex(file_size) + " bytes");
  }
  if (p.h.p_filesz > file_size - p.h.p_offset) {
    return malformed(p.field("p_filesz"), SNAPVM_PHDR_AT(p, p_filesz), p.h.p_filesz,
                     "p_offset + p_filesz within the file of " + hex(file_size) + " bytes");
  }
  return {};
}

// The segment containing [addr, addr + len) (by memsz), if any. `segs` sorted and disjoint.
const ElfSegment* find_segment(const std::vector<ElfSegment>& segs, uint64_t addr, uint64_t len) {
  auto it =
      std::upper_bound(segs.begin(), segs.end(), addr, [](uint64_t a, const ElfSegment& s) { return a < s.vaddr; });
  if (it == segs.begin()) return nullptr;
  const ElfSegment& s = *std::prev(it);
  return fits(addr - s.vaddr, len, s.memsz) ? &s : nullptr;
}

// Fills image.segments, min_vaddr and max_vaddr from the PT_LOADs.
Status collect_segments(ElfImage& image, const std::vector<Phdr>& phdrs) {
  std::vector<LoadSegment> segs;
  for (const Phdr& p : phdrs) {
    if (p.h.p_type != PT_LOAD) continue;
    TRY(check_load(p, image.bytes.size()));
    if (p.h.p_memsz == 0) continue;  // occupies nothing
    segs.push_back({{p.h.p_vaddr, p.h.p_memsz, p.h.p_filesz, p.h.p_offset, region_flags(p.h.p_flags)}, &p});
  }
  if (segs.empty()) return make_error(ErrorCode::kElfMalformed, "phdrs", "at least one non-empty PT_LOAD");
  std::stable_sort(segs.begin(), segs.end(), [](const auto& a, const auto& b) { return a.seg.vaddr < b.seg.vaddr; });
  TRY(check_disjoint(segs));
  image.min_vaddr = page_floor(segs.front().seg.vaddr);
  image.max_vaddr = page_ceil(segs.back().end());
  TRY(check_placement(segs, image.position_independent, image.min_vaddr, image.max_vaddr));
  bool any_executable = false;
  for (const LoadSegment& s : segs) {
    image.segments.push_back(s.seg);
    any_executable |= (s.seg.flags & kRegionExecute) != 0;
  }
  if (!any_executable) return make_error(ErrorCode::kElfMalformed, "phdrs", "at least one executable PT_LOAD");
  return check_entry(image);
}

}  // namespace snapvm::elf_parts
