// elf_headers.cpp: the ELF header, checked field by field from the raw bytes, and the program headers
// read through libelf (which needs the section header table inside the file).
#include <gelf.h>
#include <libelf.h>

#include <memory>

#include "elf/elf_parts.h"

namespace snapvm::elf_parts {

namespace {

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

}  // namespace

Result<Elf64_Ehdr> read_ehdr(std::span<const uint8_t> b) {
  TRY(check_ident(b));
  if (b.size() < sizeof(Elf64_Ehdr)) return malformed("ehdr", 0, b.size(), "a 64-byte ELF header; the file is shorter");
  const auto eh = read_at<Elf64_Ehdr>(b, 0);
  TRY(check_header_fields(eh));
  TRY(check_program_header_table(eh, b.size()));
  TRY(check_section_header_table(b, eh));
  return eh;
}

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

}  // namespace snapvm::elf_parts
