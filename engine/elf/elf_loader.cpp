// elf_loader.cpp: parse_elf runs the parts in order (elf_headers.cpp: fixed headers, then program
// headers via libelf; elf_segments.cpp: the PT_LOADs; elf_relocations.cpp: the dynamic section and
// relative relocations), and load_elf copies a parsed image into guest memory.
#include "elf/elf_loader.h"

#include <elf.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "elf/elf_parts.h"
#include "memory/mapping.h"
#include "snapvm/abi/layout.h"

namespace snapvm {

namespace {

using namespace elf_parts;  // NOLINT(google-build-using-namespace): the loader is these parts

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
