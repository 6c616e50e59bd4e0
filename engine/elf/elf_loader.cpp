// elf_loader.cpp: parse, validate and load a static x86-64 guest ELF. The fixed headers are checked
// from the raw bytes first (so each error names its field), libelf then reads the program headers,
// and the dynamic section and relocations are read with bounds-checked memcpy.
#include "elf/elf_loader.h"

#include <elf.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstring>
#include <limits>
#include <memory>
#include <string>

#include "memory/mapping.h"
#include "snapvm/abi/layout.h"

namespace snapvm {

namespace {

constexpr uint64_t kU64Max = std::numeric_limits<uint64_t>::max();
constexpr uint64_t kPhdrSize = sizeof(Elf64_Phdr);
constexpr uint64_t kDynSize = sizeof(Elf64_Dyn);
constexpr uint64_t kRelaSize = sizeof(Elf64_Rela);

uint64_t page_floor(uint64_t v) { return v & ~(abi::kPageSize - 1); }
uint64_t page_ceil(uint64_t v) {
  return (v + abi::kPageSize - 1) & ~(abi::kPageSize - 1);
}  // wraps only on hand-made input

// [offset, offset + len) lies inside [0, size), without overflow.
bool fits(uint64_t offset, uint64_t len, uint64_t size) { return offset <= size && len <= size - offset; }

Error malformed(std::string field, uint64_t offset, uint64_t value, std::string expected) {
  return field_error(ErrorCode::kElfMalformed, std::move(field), offset, value, std::move(expected));
}
Error unsupported(std::string field, uint64_t offset, uint64_t value, std::string expected) {
  return field_error(ErrorCode::kElfUnsupported, std::move(field), offset, value, std::move(expected));
}

template <typename T>
T read_at(std::span<const uint8_t> bytes, uint64_t offset) {  // caller checked fits(offset, sizeof(T))
  T v;
  std::memcpy(&v, bytes.data() + offset, sizeof(T));
  return v;
}

// ---- ELF header -------------------------------------------------------------------------------

Status check_ident(std::span<const uint8_t> b) {
  if (b.size() < SELFMAG || std::memcmp(b.data(), ELFMAG, SELFMAG) != 0) {
    uint32_t magic = 0;
    if (!b.empty()) std::memcpy(&magic, b.data(), std::min<size_t>(b.size(), sizeof magic));
    return malformed("e_ident[EI_MAG]", EI_MAG0, magic, "the ELF magic \\x7fELF");
  }
  if (b.size() < EI_NIDENT) return malformed("e_ident", 0, b.size(), "a 16-byte e_ident; the file is shorter");
  if (b[EI_CLASS] != ELFCLASS64) return unsupported("e_ident[EI_CLASS]", EI_CLASS, b[EI_CLASS], "ELFCLASS64 (2)");
  if (b[EI_DATA] != ELFDATA2LSB) return unsupported("e_ident[EI_DATA]", EI_DATA, b[EI_DATA], "ELFDATA2LSB (1)");
  if (b[EI_VERSION] != EV_CURRENT) return malformed("e_ident[EI_VERSION]", EI_VERSION, b[EI_VERSION], "EV_CURRENT (1)");
  return {};
}

#define SNAPVM_EHDR_AT(member) offsetof(Elf64_Ehdr, member)

Status check_header_fields(const Elf64_Ehdr& eh) {
  if (eh.e_machine != EM_X86_64) {
    return unsupported("e_machine", SNAPVM_EHDR_AT(e_machine), eh.e_machine, "EM_X86_64 (62)");
  }
  if (eh.e_type != ET_EXEC && eh.e_type != ET_DYN) {
    return unsupported("e_type", SNAPVM_EHDR_AT(e_type), eh.e_type, "ET_EXEC (2) or ET_DYN (3)");
  }
  if (eh.e_version != EV_CURRENT)
    return malformed("e_version", SNAPVM_EHDR_AT(e_version), eh.e_version, "EV_CURRENT (1)");
  if (eh.e_phentsize != kPhdrSize) {
    return malformed("e_phentsize", SNAPVM_EHDR_AT(e_phentsize), eh.e_phentsize, "56, the size of Elf64_Phdr");
  }
  if (eh.e_phnum == 0) return malformed("e_phnum", SNAPVM_EHDR_AT(e_phnum), 0, "at least one program header");
  if (eh.e_phnum > kMaxElfProgramHeaders) {
    return unsupported("e_phnum", SNAPVM_EHDR_AT(e_phnum), eh.e_phnum, "at most 64 program headers");
  }
  return {};
}

Status check_program_header_table(const Elf64_Ehdr& eh, uint64_t file_size) {
  if (eh.e_phoff == 0) return malformed("e_phoff", SNAPVM_EHDR_AT(e_phoff), 0, "a program header table (0 means none)");
  const uint64_t bytes = uint64_t{eh.e_phnum} * kPhdrSize;  // phnum is capped: no overflow
  if (!fits(eh.e_phoff, bytes, file_size)) {
    return malformed("e_phoff", SNAPVM_EHDR_AT(e_phoff), eh.e_phoff,
                     "a program header table of " + hex(bytes) + " bytes inside the file of " + hex(file_size));
  }
  return {};
}

// We load no sections, but libelf reads the section header table, so it must lie inside the file.
// e_shnum 0 with a non-zero e_shoff means the count is in section header 0's sh_size.
Status check_section_header_table(std::span<const uint8_t> b, const Elf64_Ehdr& eh) {
  const uint64_t size = b.size();
  uint64_t count = eh.e_shnum;
  if (count == 0 && eh.e_shoff != 0 && fits(eh.e_shoff, sizeof(Elf64_Shdr), size)) {
    const uint64_t at = eh.e_shoff + offsetof(Elf64_Shdr, sh_size);
    count = read_at<uint64_t>(b, at);
    if (count > size / sizeof(Elf64_Shdr)) {
      return malformed("shdr[0].sh_size", at, count, "an extended section count that fits in the file");
    }
  }
  const uint64_t bytes = count * sizeof(Elf64_Shdr);  // count <= 0xffff or <= size / 64: no overflow
  if (count != 0 && !fits(eh.e_shoff, bytes, size)) {
    return malformed("e_shoff", SNAPVM_EHDR_AT(e_shoff), eh.e_shoff,
                     "a section header table of " + hex(bytes) + " bytes inside the file of " + hex(size));
  }
  return {};
}

Result<Elf64_Ehdr> read_ehdr(std::span<const uint8_t> b) {
  TRY(check_ident(b));
  if (b.size() < sizeof(Elf64_Ehdr)) return malformed("ehdr", 0, b.size(), "a 64-byte ELF header; the file is shorter");
  const auto eh = read_at<Elf64_Ehdr>(b, 0);
  TRY(check_header_fields(eh));
  TRY(check_program_header_table(eh, b.size()));
  TRY(check_section_header_table(b, eh));
  return eh;
}

// ---- Program headers via libelf ---------------------------------------------------------------

struct ElfCloser {
  void operator()(Elf* e) const { elf_end(e); }
};
using ElfHandle = std::unique_ptr<Elf, ElfCloser>;

bool libelf_ready() {
  static const bool ready = elf_version(EV_CURRENT) != EV_NONE;  // once, thread-safe
  return ready;
}

Error libelf_error(std::string what) {
  return make_error(ErrorCode::kElfMalformed, std::move(what), std::string("libelf: ") + elf_errmsg(-1));
}

// `bytes` is the image's own copy: elf_memory wants a mutable buffer.
Result<std::vector<Elf64_Phdr>> read_phdrs(std::vector<uint8_t>& bytes, const Elf64_Ehdr& eh) {
  if (!libelf_ready()) return make_error(ErrorCode::kElfUnsupported, "elf_version", "libelf refused EV_CURRENT");
  ElfHandle elf(elf_memory(reinterpret_cast<char*>(bytes.data()), bytes.size()));
  if (!elf || elf_kind(elf.get()) != ELF_K_ELF) return libelf_error("elf_memory");
  GElf_Ehdr gh;
  if (gelf_getehdr(elf.get(), &gh) == nullptr) return libelf_error("gelf_getehdr");
  std::vector<Elf64_Phdr> phdrs(eh.e_phnum);
  for (int i = 0; i < eh.e_phnum; ++i) {
    GElf_Phdr p;
    if (gelf_getphdr(elf.get(), i, &p) == nullptr) return libelf_error("phdr[" + std::to_string(i) + "]");
    phdrs[static_cast<size_t>(i)] = p;  // GElf_Phdr is Elf64_Phdr
  }
  return phdrs;
}

// ---- Segments ---------------------------------------------------------------------------------

// A program header with where it sits in the file, for error reports.
struct Phdr {
  Elf64_Phdr h;
  size_t index;
  uint64_t file_offset;
  std::string field(const char* member) const { return "phdr[" + std::to_string(index) + "]." + member; }
};
#define SNAPVM_PHDR_AT(p, member) ((p).file_offset + offsetof(Elf64_Phdr, member))

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

// The segment containing [addr, addr + len) (by memsz), if any. `segs` sorted and disjoint.
const ElfSegment* find_segment(const std::vector<ElfSegment>& segs, uint64_t addr, uint64_t len) {
  auto it =
      std::upper_bound(segs.begin(), segs.end(), addr, [](uint64_t a, const ElfSegment& s) { return a < s.vaddr; });
  if (it == segs.begin()) return nullptr;
  const ElfSegment& s = *std::prev(it);
  return fits(addr - s.vaddr, len, s.memsz) ? &s : nullptr;
}

Status check_entry(const ElfImage& image) {
  const ElfSegment* s = find_segment(image.segments, image.entry, 1);
  if (s == nullptr || (s->flags & kRegionExecute) == 0) {
    return malformed("e_entry", SNAPVM_EHDR_AT(e_entry), image.entry, "an address inside an executable PT_LOAD");
  }
  return {};
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

// ---- Dynamic section and relocations ----------------------------------------------------------

// One dynamic tag's value and the file offset of its d_val.
struct DynValue {
  bool present = false;
  uint64_t value = 0;
  uint64_t offset = 0;
};

struct DynamicInfo {
  DynValue rela, relasz, relaent, relsz, pltrelsz, relrsz;
};

Result<DynamicInfo> scan_dynamic(std::span<const uint8_t> bytes, uint64_t offset, uint64_t size) {
  DynamicInfo info;
  for (uint64_t k = 0; k < size / kDynSize; ++k) {
    const uint64_t at = offset + k * kDynSize;
    const auto d = read_at<Elf64_Dyn>(bytes, at);
    const DynValue v{true, d.d_un.d_val, at + offsetof(Elf64_Dyn, d_un)};
    switch (d.d_tag) {
      case DT_NULL:
        return info;
      case DT_NEEDED:
        return unsupported("dynamic[" + std::to_string(k) + "].d_tag", at, DT_NEEDED,
                           "no DT_NEEDED: shared libraries need a dynamic linker");
      case DT_RELA:
        info.rela = v;
        break;
      case DT_RELASZ:
        info.relasz = v;
        break;
      case DT_RELAENT:
        info.relaent = v;
        break;
      case DT_RELSZ:
        info.relsz = v;
        break;
      case DT_PLTRELSZ:
        info.pltrelsz = v;
        break;
      case DT_RELRSZ:
        info.relrsz = v;
        break;
      default:
        break;  // symbols, hashes, flags: nothing a static guest needs
    }
  }
  return info;
}

Status check_dynamic_tables(const DynamicInfo& d) {
  if (d.relsz.value != 0)
    return unsupported("DT_RELSZ", d.relsz.offset, d.relsz.value, "no DT_REL relocations, only DT_RELA");
  if (d.pltrelsz.value != 0) {
    return unsupported("DT_PLTRELSZ", d.pltrelsz.offset, d.pltrelsz.value, "no PLT relocations (DT_JMPREL)");
  }
  if (d.relrsz.value != 0) {
    return unsupported("DT_RELRSZ", d.relrsz.offset, d.relrsz.value, "no packed DT_RELR relocations");
  }
  if (d.relaent.present && d.relaent.value != kRelaSize) {
    return malformed("DT_RELAENT", d.relaent.offset, d.relaent.value, "24, the size of Elf64_Rela");
  }
  if (d.relasz.value % kRelaSize != 0) {
    return malformed("DT_RELASZ", d.relasz.offset, d.relasz.value, "a multiple of 24, the size of Elf64_Rela");
  }
  if (d.relasz.value != 0 && !d.rela.present) {
    return malformed("DT_RELASZ", d.relasz.offset, d.relasz.value, "a DT_RELA to go with a non-zero DT_RELASZ");
  }
  return {};
}

// File offset of the relocation table: it must lie in the file bytes of one PT_LOAD.
Result<uint64_t> rela_file_offset(const std::vector<ElfSegment>& segs, const DynamicInfo& d) {
  const uint64_t addr = d.rela.value, size = d.relasz.value;
  for (const ElfSegment& s : segs) {
    if (addr >= s.vaddr && fits(addr - s.vaddr, size, s.filesz)) return s.file_offset + (addr - s.vaddr);
  }
  return malformed("DT_RELA", d.rela.offset, addr,
                   "a table of " + hex(size) + " bytes inside one PT_LOAD's file bytes");
}

Status read_relocations(ElfImage& image, uint64_t table, uint64_t count) {
  const std::span<const uint8_t> bytes(image.bytes);
  image.relative_relocations.reserve(count);  // the table lies inside the file: count is justified
  for (uint64_t j = 0; j < count; ++j) {
    const uint64_t at = table + j * kRelaSize;
    const auto r = read_at<Elf64_Rela>(bytes, at);
    auto field = [j](const char* member) { return "rela[" + std::to_string(j) + "]." + member; };  // on error only
    const uint64_t type = ELF64_R_TYPE(r.r_info);
    if (type == R_X86_64_NONE) continue;
    if (type != R_X86_64_RELATIVE) {
      return unsupported(field("r_info"), at + offsetof(Elf64_Rela, r_info), type, "R_X86_64_RELATIVE (8)");
    }
    if (find_segment(image.segments, r.r_offset, sizeof(uint64_t)) == nullptr) {
      return malformed(field("r_offset"), at + offsetof(Elf64_Rela, r_offset), r.r_offset,
                       "8 bytes inside one PT_LOAD's memory");
    }
    image.relative_relocations.emplace_back(r.r_offset, r.r_addend);
  }
  return {};
}

Status collect_relocations(ElfImage& image, const Phdr& dyn) {
  TRY(check_file_range(dyn, image.bytes.size()));
  const DynamicInfo d = TRY(scan_dynamic(image.bytes, dyn.h.p_offset, dyn.h.p_filesz));
  TRY(check_dynamic_tables(d));
  if (d.relasz.value == 0) return {};
  const uint64_t table = TRY(rela_file_offset(image.segments, d));
  return read_relocations(image, table, d.relasz.value / kRelaSize);
}

// ---- Putting it together ----------------------------------------------------------------------

// Refuses what needs a runtime we do not have; returns the PT_DYNAMIC, if any.
Result<const Phdr*> check_program_types(const std::vector<Phdr>& phdrs) {
  const Phdr* dynamic = nullptr;
  for (const Phdr& p : phdrs) {
    if (p.h.p_type == PT_INTERP) {
      return unsupported(p.field("p_type"), SNAPVM_PHDR_AT(p, p_type), PT_INTERP, "no PT_INTERP: a static guest");
    }
    if (p.h.p_type == PT_TLS) {
      return unsupported(p.field("p_type"), SNAPVM_PHDR_AT(p, p_type), PT_TLS, "no PT_TLS: the guest has no TLS");
    }
    if (p.h.p_type == PT_DYNAMIC && dynamic != nullptr) {
      return malformed(p.field("p_type"), SNAPVM_PHDR_AT(p, p_type), PT_DYNAMIC, "at most one PT_DYNAMIC");
    }
    if (p.h.p_type == PT_DYNAMIC) dynamic = &p;
  }
  return dynamic;
}

Result<ElfImage> parse_owned(std::vector<uint8_t> bytes) {
  if (bytes.size() > kMaxElfFileSize) return unsupported("file size", 0, bytes.size(), "at most 64 MiB");
  const Elf64_Ehdr eh = TRY(read_ehdr(bytes));
  ElfImage image;
  image.bytes = std::move(bytes);
  image.position_independent = eh.e_type == ET_DYN;
  image.entry = eh.e_entry;
  const std::vector<Elf64_Phdr> raw = TRY(read_phdrs(image.bytes, eh));
  std::vector<Phdr> phdrs;
  for (size_t i = 0; i < raw.size(); ++i) phdrs.push_back({raw[i], i, eh.e_phoff + i * kPhdrSize});
  const Phdr* dynamic = TRY(check_program_types(phdrs));
  TRY(collect_segments(image, phdrs));
  if (dynamic != nullptr) TRY(collect_relocations(image, *dynamic));
  return image;
}

Error memory_error(uint64_t address, uint64_t size, uint64_t memory_size) {
  Error e = make_error(ErrorCode::kInvalidConfig, "memory",
                       "guest memory covering [" + hex(address) + ", +" + hex(size) + ") for the image");
  e.value = memory_size;
  return e;
}

}  // namespace

uint64_t ElfImage::load_base() const { return position_independent ? abi::kDefaultImageBase - min_vaddr : 0; }

std::vector<Region> ElfImage::regions() const {
  const uint64_t bias = load_base();
  std::vector<Region> out;
  for (const ElfSegment& s : segments) {
    if (s.memsz == 0) continue;
    const uint64_t start = page_floor(s.vaddr) + bias;
    const uint64_t end = page_ceil(s.vaddr + s.memsz) + bias;
    if (!out.empty() && start < out.back().end() && out.back().flags == s.flags) {  // shares a page
      out.back().size = std::max(out.back().end(), end) - out.back().guest_address;
      continue;
    }
    out.push_back(Region{start, end - start, s.flags, RegionKind::kImage});
  }
  return out;
}

Result<ElfImage> parse_elf(std::span<const uint8_t> bytes) {
  if (bytes.size() > kMaxElfFileSize) return unsupported("file size", 0, bytes.size(), "at most 64 MiB");
  return parse_owned(std::vector<uint8_t>(bytes.begin(), bytes.end()));
}

Result<ElfImage> parse_elf_file(const std::filesystem::path& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return errno_error(ErrorCode::kIo, "open " + path.string(), errno);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return errno_error(ErrorCode::kIo, "fstat " + path.string(), errno);
  if (!S_ISREG(st.st_mode)) return make_error(ErrorCode::kIo, path.string(), "a regular file");
  const auto size = static_cast<uint64_t>(st.st_size);
  if (size > kMaxElfFileSize) return unsupported("file size", 0, size, "at most 64 MiB");
  std::vector<uint8_t> bytes(size + 1);  // one spare byte notices a file that grew
  uint64_t got = 0;
  while (got < bytes.size()) {
    const ssize_t n = ::read(fd.get(), bytes.data() + got, bytes.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno_error(ErrorCode::kIo, "read " + path.string(), errno);
    if (n == 0) break;
    got += static_cast<uint64_t>(n);
  }
  if (got != size) return make_error(ErrorCode::kIo, path.string(), "the file changed size while being read");
  bytes.resize(size);
  return parse_owned(std::move(bytes));
}

Status load_elf(const ElfImage& image, std::span<uint8_t> memory) {
  const uint64_t bias = image.load_base();
  for (const Region& r : image.regions()) {  // page padding and bss start out zero
    if (!fits(r.guest_address, r.size, memory.size())) return memory_error(r.guest_address, r.size, memory.size());
    std::memset(memory.data() + r.guest_address, 0, r.size);
  }
  for (size_t i = 0; i < image.segments.size(); ++i) {
    const ElfSegment& s = image.segments[i];
    if (s.filesz > s.memsz || !fits(s.file_offset, s.filesz, image.bytes.size())) {
      return malformed("segments[" + std::to_string(i) + "].filesz", s.file_offset, s.filesz,
                       "file bytes inside the image's file and at most memsz");
    }
    const uint64_t dest = s.vaddr + bias;
    if (!fits(dest, s.memsz, memory.size())) return memory_error(dest, s.memsz, memory.size());
    if (s.filesz != 0) std::memcpy(memory.data() + dest, image.bytes.data() + s.file_offset, s.filesz);
  }
  for (size_t j = 0; j < image.relative_relocations.size(); ++j) {
    const auto [offset, addend] = image.relative_relocations[j];
    const uint64_t target = offset + bias;
    if (find_segment(image.segments, offset, sizeof(uint64_t)) == nullptr ||
        !fits(target, sizeof(uint64_t), memory.size())) {
      return malformed("relative_relocations[" + std::to_string(j) + "]", 0, offset, "8 bytes inside a segment");
    }
    const uint64_t value = bias + static_cast<uint64_t>(addend);  // modulo 2^64, as the CPU computes it
    std::memcpy(memory.data() + target, &value, sizeof value);
  }
  return {};
}

}  // namespace snapvm

#undef SNAPVM_EHDR_AT
#undef SNAPVM_PHDR_AT
