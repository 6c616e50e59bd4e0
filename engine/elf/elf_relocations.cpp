// elf_relocations.cpp: the dynamic section of a static PIE and its R_X86_64_RELATIVE relocations,
// read with bounds-checked copies: nothing else is supported (no symbols, no other relocation types).
#include "elf/elf_parts.h"

namespace snapvm::elf_parts {

namespace {

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

}  // namespace

Status collect_relocations(ElfImage& image, const Phdr& dyn) {
  TRY(check_file_range(dyn, image.bytes.size()));
  const DynamicInfo d = TRY(scan_dynamic(image.bytes, dyn.h.p_offset, dyn.h.p_filesz));
  TRY(check_dynamic_tables(d));
  if (d.relasz.value == 0) return {};
  const uint64_t table = TRY(rela_file_offset(image.segments, d));
  return read_relocations(image, table, d.relasz.value / kRelaSize);
}

}  // namespace snapvm::elf_parts
