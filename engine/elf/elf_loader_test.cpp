// elf_loader_test.cpp: tests for elf_loader.cpp. The real sample guests for the happy paths; tiny
// hand-built ELF images for relocations and for every rejection, one test per rejection.
#include "elf/elf_loader.h"

#include <elf.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <fstream>
#include <iterator>
#include <random>
#include <string>

#include "snapvm/abi/layout.h"

namespace snapvm {
namespace {

// ---- A tiny ELF builder -----------------------------------------------------------------------
// File layout (file offset == vaddr for the PIE; +0x400000 for ET_EXEC):
//   0x0000 Ehdr, then the program headers at 0x40
//   0x1000 text (R-X), 0x20 bytes
//   0x2000 data (RW-), 0x400 file bytes + 0x1000 of bss; the dynamic section sits at 0x2000 and
//          the RELA table at 0x2100 when present; relocation targets at 0x2200.
constexpr uint64_t kTextOff = 0x1000, kTextSize = 0x20;
constexpr uint64_t kDataOff = 0x2000, kDataFile = 0x400, kDataMem = 0x1400;
constexpr uint64_t kDynOff = 0x2000, kRelaOff = 0x2100;
constexpr uint64_t kFileSize = kDataOff + kDataFile;
constexpr uint64_t kExecBase = 0x400000;
constexpr uint64_t kPhdrTable = sizeof(Elf64_Ehdr);

template <typename T>
void poke(std::vector<uint8_t>& bytes, uint64_t offset, const T& value) {  // writes what fits
  if (offset >= bytes.size()) return;
  std::memcpy(bytes.data() + offset, &value, std::min<uint64_t>(sizeof(T), bytes.size() - offset));
}

uint64_t phdr_at(size_t index, size_t member) { return kPhdrTable + index * sizeof(Elf64_Phdr) + member; }

Elf64_Phdr load(uint64_t offset, uint64_t vaddr, uint64_t filesz, uint64_t memsz, uint32_t flags) {
  return Elf64_Phdr{PT_LOAD, flags, offset, vaddr, vaddr, filesz, memsz, 0x1000};
}

struct TinyElf {
  Elf64_Ehdr eh{};
  std::vector<Elf64_Phdr> phdrs;
  std::vector<Elf64_Dyn> dynamic;  // at kDynOff, with a PT_DYNAMIC, when not empty
  std::vector<Elf64_Rela> relas;   // at kRelaOff
  uint64_t file_size = kFileSize;

  std::vector<uint8_t> build() const {
    std::vector<uint8_t> b(file_size, 0);
    for (uint64_t i = 0; i < kTextSize; ++i) poke<uint8_t>(b, kTextOff + i, static_cast<uint8_t>(0xC0 + i));
    for (uint64_t i = 0; i < kDataFile; ++i) poke<uint8_t>(b, kDataOff + i, static_cast<uint8_t>(i * 7 + 1));
    for (size_t k = 0; k < dynamic.size(); ++k) poke(b, kDynOff + k * sizeof(Elf64_Dyn), dynamic[k]);
    for (size_t k = 0; k < relas.size(); ++k) poke(b, kRelaOff + k * sizeof(Elf64_Rela), relas[k]);
    std::vector<Elf64_Phdr> all = phdrs;
    if (!dynamic.empty()) {
      const uint64_t size = dynamic.size() * sizeof(Elf64_Dyn);
      all.push_back(Elf64_Phdr{PT_DYNAMIC, PF_R | PF_W, kDynOff, vaddr(kDynOff), vaddr(kDynOff), size, size, 8});
    }
    Elf64_Ehdr h = eh;
    h.e_phnum = static_cast<uint16_t>(all.size());
    poke(b, 0, h);
    for (size_t k = 0; k < all.size(); ++k) poke(b, h.e_phoff + k * sizeof(Elf64_Phdr), all[k]);
    return b;
  }

  uint64_t vaddr(uint64_t file_offset) const { return eh.e_type == ET_EXEC ? kExecBase + file_offset : file_offset; }

  // DT_RELA/DT_RELASZ/DT_RELAENT for `relas`, terminated by DT_NULL.
  TinyElf& with_relas(std::vector<Elf64_Rela> r) {
    relas = std::move(r);
    dynamic = {{DT_RELA, {vaddr(kRelaOff)}},
               {DT_RELASZ, {relas.size() * sizeof(Elf64_Rela)}},
               {DT_RELAENT, {sizeof(Elf64_Rela)}},
               {DT_NULL, {0}}};
    return *this;
  }
};

TinyElf tiny(uint16_t type = ET_DYN) {
  TinyElf t;
  const uint64_t base = type == ET_EXEC ? kExecBase : 0;
  std::memcpy(t.eh.e_ident, ELFMAG, SELFMAG);
  t.eh.e_ident[EI_CLASS] = ELFCLASS64;
  t.eh.e_ident[EI_DATA] = ELFDATA2LSB;
  t.eh.e_ident[EI_VERSION] = EV_CURRENT;
  t.eh.e_type = type;
  t.eh.e_machine = EM_X86_64;
  t.eh.e_version = EV_CURRENT;
  t.eh.e_entry = base + kTextOff;
  t.eh.e_phoff = kPhdrTable;
  t.eh.e_ehsize = sizeof(Elf64_Ehdr);
  t.eh.e_phentsize = sizeof(Elf64_Phdr);
  t.phdrs = {load(kTextOff, base + kTextOff, kTextSize, kTextSize, PF_R | PF_X),
             load(kDataOff, base + kDataOff, kDataFile, kDataMem, PF_R | PF_W)};
  return t;
}

Elf64_Rela relative(uint64_t offset, int64_t addend) {
  return Elf64_Rela{offset, ELF64_R_INFO(0, R_X86_64_RELATIVE), addend};
}

// ---- Assertions -------------------------------------------------------------------------------

::testing::AssertionResult Rejects(const Result<ElfImage>& r, ErrorCode code, const std::string& field) {
  if (r.has_value())
    return ::testing::AssertionFailure() << "parsed, expected " << error_code_name(code) << " " << field;
  const Error& e = r.error();
  if (e.code != code || e.field != field) {
    return ::testing::AssertionFailure() << "got " << e.to_string() << "; expected " << error_code_name(code) << " "
                                         << field;
  }
  return ::testing::AssertionSuccess() << e.to_string();
}

Result<ElfImage> parse(const std::vector<uint8_t>& bytes) { return parse_elf(bytes); }
Result<ElfImage> parse(const TinyElf& t) { return parse_elf(t.build()); }

#define EXPECT_MALFORMED(r, field) EXPECT_TRUE(Rejects((r), ErrorCode::kElfMalformed, (field)))
#define EXPECT_UNSUPPORTED(r, field) EXPECT_TRUE(Rejects((r), ErrorCode::kElfUnsupported, (field)))

std::vector<uint8_t> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

const std::string kSamplePie = std::string(SNAPVM_BUILD_DIR) + "/guest/sample_guest";
const std::string kSampleExec = std::string(SNAPVM_BUILD_DIR) + "/guest/sample_guest_exec";

uint64_t memory_for(const ElfImage& image) { return image.regions().back().end() + abi::kPageSize; }

// Loads `image` into fresh memory full of junk and checks every segment's bytes, bss and padding.
void expect_loaded(const ElfImage& image) {
  std::vector<uint8_t> memory(memory_for(image), 0xAA);
  ASSERT_TRUE(load_elf(image, memory).has_value());
  const uint64_t bias = image.load_base();
  for (const Region& r : image.regions()) {  // padding and bss are zero unless a segment says otherwise
    for (uint64_t a = r.guest_address; a < r.end(); ++a) {
      bool in_file = false;
      for (const ElfSegment& s : image.segments) in_file |= a >= s.vaddr + bias && a < s.vaddr + bias + s.filesz;
      if (!in_file) {
        ASSERT_EQ(memory[a], 0) << "at " << hex(a);
      }
    }
  }
  for (const ElfSegment& s : image.segments) {
    ASSERT_EQ(0, std::memcmp(memory.data() + s.vaddr + bias, image.bytes.data() + s.file_offset, s.filesz))
        << "segment at " << hex(s.vaddr);
  }
}

void expect_sane_regions(const ElfImage& image) {
  const std::vector<Region> regions = image.regions();
  ASSERT_FALSE(regions.empty());
  EXPECT_EQ(regions.front().guest_address, image.min_vaddr + image.load_base());
  for (size_t i = 0; i < regions.size(); ++i) {
    EXPECT_EQ(regions[i].guest_address % abi::kPageSize, 0u);
    EXPECT_EQ(regions[i].size % abi::kPageSize, 0u);
    EXPECT_GT(regions[i].size, 0u);
    EXPECT_EQ(regions[i].kind, RegionKind::kImage);
    if (i > 0) {
      EXPECT_GE(regions[i].guest_address, regions[i - 1].end());
    }
  }
  bool entry_executable = false;
  for (const Region& r : regions) {
    entry_executable |=
        (r.flags & kRegionExecute) && image.relocated_entry() >= r.guest_address && image.relocated_entry() < r.end();
  }
  EXPECT_TRUE(entry_executable) << hex(image.relocated_entry());
  EXPECT_TRUE(compute_layout(SandboxConfig{}, regions).has_value());
}

// ---- The real sample guests -------------------------------------------------------------------

// The guests link with -z separate-code and max-page-size 4096: headers, text, rodata, data+bss.
void expect_sample_segments(const ElfImage& image) {
  ASSERT_EQ(image.segments.size(), 4u);
  EXPECT_EQ(image.segments[0].flags, kRegionRead);
  EXPECT_EQ(image.segments[1].flags, kRegionRead | kRegionExecute);
  EXPECT_EQ(image.segments[2].flags, kRegionRead);
  EXPECT_EQ(image.segments[3].flags, kRegionRead | kRegionWrite);
  EXPECT_GT(image.segments[3].memsz, image.segments[3].filesz);  // has bss
  for (size_t i = 1; i < image.segments.size(); ++i) EXPECT_GT(image.segments[i].vaddr, image.segments[i - 1].vaddr);
}

TEST(ElfLoaderSample, ParsesPositionIndependentGuest) {
  auto image = parse_elf_file(kSamplePie);
  ASSERT_TRUE(image.has_value()) << image.error().to_string();
  EXPECT_TRUE(image->position_independent);
  expect_sample_segments(*image);
  EXPECT_EQ(image->min_vaddr % abi::kPageSize, 0u);
  EXPECT_EQ(image->load_base() + image->min_vaddr, abi::kDefaultImageBase);
  EXPECT_EQ(image->relocated_entry(), image->entry + image->load_base());
  expect_sane_regions(*image);
}

TEST(ElfLoaderSample, ParsesFixedAddressGuest) {
  auto image = parse_elf_file(kSampleExec);
  ASSERT_TRUE(image.has_value()) << image.error().to_string();
  EXPECT_FALSE(image->position_independent);
  expect_sample_segments(*image);
  EXPECT_EQ(image->load_base(), 0u);
  EXPECT_EQ(image->min_vaddr, 0x400000u);
  EXPECT_EQ(image->relocated_entry(), image->entry);
  EXPECT_TRUE(image->relative_relocations.empty());
  expect_sane_regions(*image);
}

TEST(ElfLoaderSample, ParseFileMatchesParseBytes) {
  auto from_file = parse_elf_file(kSamplePie);
  auto from_bytes = parse(read_file(kSamplePie));
  ASSERT_TRUE(from_file.has_value() && from_bytes.has_value());
  EXPECT_EQ(from_file->segments, from_bytes->segments);
  EXPECT_EQ(from_file->bytes, from_bytes->bytes);
}

TEST(ElfLoaderSample, LoadsPositionIndependentGuest) {
  auto image = parse_elf_file(kSamplePie);
  ASSERT_TRUE(image.has_value()) << image.error().to_string();
  expect_loaded(*image);
}

TEST(ElfLoaderSample, LoadsFixedAddressGuest) {
  auto image = parse_elf_file(kSampleExec);
  ASSERT_TRUE(image.has_value()) << image.error().to_string();
  expect_loaded(*image);
}

// Every cut loses the section header table at the end, and below it the segments and headers.
TEST(ElfLoaderSample, RejectsEveryTruncation) {
  for (const std::string& path : {kSamplePie, kSampleExec}) {
    const std::vector<uint8_t> bytes = read_file(path);
    ASSERT_GT(bytes.size(), 4096u);
    for (size_t len = 0; len < bytes.size(); len += (len < 256 ? 1 : 64)) {
      auto r = parse_elf(std::span(bytes).first(len));
      ASSERT_FALSE(r.has_value()) << path << " cut at " << len;
      ASSERT_EQ(r.error().code, ErrorCode::kElfMalformed) << path << " cut at " << len << ": " << r.error().to_string();
    }
  }
}

// Without a section header table, truncation reaches the segment checks: every cut into a segment's
// file bytes is refused, and the whole stripped file still parses.
TEST(ElfLoaderSample, RejectsTruncatedSegmentsOfStrippedGuest) {
  for (const std::string& path : {kSamplePie, kSampleExec}) {
    std::vector<uint8_t> bytes = read_file(path);
    auto whole = parse(bytes);
    ASSERT_TRUE(whole.has_value()) << whole.error().to_string();
    uint64_t end = 0;
    for (const ElfSegment& s : whole->segments) end = std::max(end, s.file_offset + s.filesz);
    bytes.resize(end);
    poke<uint64_t>(bytes, offsetof(Elf64_Ehdr, e_shoff), 0);
    poke<uint16_t>(bytes, offsetof(Elf64_Ehdr, e_shnum), 0);
    poke<uint16_t>(bytes, offsetof(Elf64_Ehdr, e_shstrndx), 0);
    ASSERT_TRUE(parse(bytes).has_value()) << path;
    for (size_t len = 0; len < bytes.size(); len += (len < 256 ? 1 : 64)) {
      auto r = parse_elf(std::span(bytes).first(len));
      ASSERT_FALSE(r.has_value()) << path << " cut at " << len;
      ASSERT_EQ(r.error().code, ErrorCode::kElfMalformed) << path << " cut at " << len << ": " << r.error().to_string();
    }
    auto cut = parse_elf(std::span(bytes).first(bytes.size() - 1));  // the last segment loses a byte
    ASSERT_FALSE(cut.has_value());
    EXPECT_EQ(cut.error().code, ErrorCode::kElfMalformed);
    EXPECT_TRUE(cut.error().field.ends_with(".p_filesz")) << cut.error().to_string();
  }
}

// Random byte changes in the headers and dynamic section: a typed error or a valid image, never a crash.
TEST(ElfLoaderSample, MutatedHeadersNeverCrash) {
  for (const std::string& path : {kSamplePie, kSampleExec}) {
    const std::vector<uint8_t> original = read_file(path);
    auto parsed = parse(original);
    ASSERT_TRUE(parsed.has_value());
    std::vector<uint8_t> memory(memory_for(*parsed));  // reused: load_elf must stay inside it or refuse
    std::mt19937_64 rng(42);
    for (int round = 0; round < 3000; ++round) {
      std::vector<uint8_t> bytes = original;
      for (int k = 0; k < 1 + round % 4; ++k) {  // mostly the headers, sometimes anywhere (dynamic, relocations)
        const size_t at = (k % 2 == 0) ? rng() % 0x200 : rng() % bytes.size();
        bytes[at] = static_cast<uint8_t>(rng());
      }
      auto r = parse_elf(bytes);
      if (!r.has_value()) {
        ASSERT_EQ(r.error().cls(), ErrorClass::Elf) << r.error().to_string();
        continue;
      }
      auto loaded = load_elf(*r, memory);
      if (!loaded.has_value()) {
        ASSERT_EQ(loaded.error().code, ErrorCode::kInvalidConfig) << loaded.error().to_string();
      }
    }
  }
}

// ---- Hand-built images: the happy paths -------------------------------------------------------

TEST(ElfLoaderTiny, ParsesMinimalImage) {
  auto image = parse(tiny());
  ASSERT_TRUE(image.has_value()) << image.error().to_string();
  ASSERT_EQ(image->segments.size(), 2u);
  EXPECT_EQ(image->segments[0], (ElfSegment{kTextOff, kTextSize, kTextSize, kTextOff, kRegionRead | kRegionExecute}));
  EXPECT_EQ(image->segments[1], (ElfSegment{kDataOff, kDataMem, kDataFile, kDataOff, kRegionRead | kRegionWrite}));
  EXPECT_EQ(image->min_vaddr, 0x1000u);
  EXPECT_EQ(image->max_vaddr, 0x4000u);
  EXPECT_EQ(image->load_base(), abi::kDefaultImageBase - 0x1000);
  EXPECT_EQ(image->relocated_entry(), abi::kDefaultImageBase);
  const std::vector<Region> expected = {{0x100000, 0x1000, kRegionRead | kRegionExecute, RegionKind::kImage},
                                        {0x101000, 0x2000, kRegionRead | kRegionWrite, RegionKind::kImage}};
  EXPECT_EQ(image->regions(), expected);
  expect_loaded(*image);
}

TEST(ElfLoaderTiny, SortsSegmentsByVaddr) {
  TinyElf t = tiny();
  std::swap(t.phdrs[0], t.phdrs[1]);
  auto image = parse(t);
  ASSERT_TRUE(image.has_value()) << image.error().to_string();
  EXPECT_EQ(image->segments[0].vaddr, kTextOff);
  EXPECT_EQ(image->segments[1].vaddr, kDataOff);
}

TEST(ElfLoaderTiny, SkipsEmptyLoadSegment) {
  TinyElf t = tiny();
  t.phdrs.push_back(load(0, 0x8000, 0, 0, PF_R));
  auto image = parse(t);
  ASSERT_TRUE(image.has_value()) << image.error().to_string();
  EXPECT_EQ(image->segments.size(), 2u);
}

TEST(ElfLoaderTiny, MergesSharedPageWithSameFlags) {
  TinyElf t = tiny();
  t.phdrs.push_back(load(0x1800, 0x1800, 0x10, 0x10, PF_R | PF_X));
  auto image = parse(t);
  ASSERT_TRUE(image.has_value()) << image.error().to_string();
  EXPECT_EQ(image->segments.size(), 3u);
  ASSERT_EQ(image->regions().size(), 2u);
  EXPECT_EQ(image->regions()[0].size, 0x1000u);
}

TEST(ElfLoaderTiny, AcceptsOffsetNotCongruentWhenAlignmentIsSmall) {
  TinyElf t = tiny();
  t.phdrs[1] = load(0x2010, 0x2000, 0x3f0, 0x1400, PF_R | PF_W);
  t.phdrs[1].p_align = 8;
  EXPECT_TRUE(parse(t).has_value());
}

TEST(ElfLoaderTiny, AppliesRelativeRelocations) {
  TinyElf t = tiny();
  t.with_relas({relative(0x2200, 0x1000), relative(0x2208, -0x10), relative(0x2800, 0x2000)});  // last: in bss
  auto image = parse(t);
  ASSERT_TRUE(image.has_value()) << image.error().to_string();
  ASSERT_EQ(image->relative_relocations.size(), 3u);
  EXPECT_EQ(image->relative_relocations[1], (std::pair<uint64_t, int64_t>{0x2208, -0x10}));
  std::vector<uint8_t> memory(memory_for(*image), 0xAA);
  ASSERT_TRUE(load_elf(*image, memory).has_value());
  const uint64_t bias = image->load_base();
  auto u64_at = [&](uint64_t vaddr) {
    uint64_t v;
    std::memcpy(&v, memory.data() + bias + vaddr, sizeof v);
    return v;
  };
  EXPECT_EQ(u64_at(0x2200), bias + 0x1000);
  EXPECT_EQ(u64_at(0x2208), bias - 0x10);
  EXPECT_EQ(u64_at(0x2800), bias + 0x2000);
  EXPECT_EQ(memory[bias + 0x2210], static_cast<uint8_t>(0x210 * 7 + 1));  // neighbours keep their file bytes
}

TEST(ElfLoaderTiny, AppliesRelocationsInFixedAddressImage) {
  TinyElf t = tiny(ET_EXEC);
  t.with_relas({relative(kExecBase + 0x2200, kExecBase + 0x1000)});
  auto image = parse(t);
  ASSERT_TRUE(image.has_value()) << image.error().to_string();
  std::vector<uint8_t> memory(memory_for(*image));
  ASSERT_TRUE(load_elf(*image, memory).has_value());
  uint64_t v;
  std::memcpy(&v, memory.data() + kExecBase + 0x2200, sizeof v);
  EXPECT_EQ(v, kExecBase + 0x1000);
}

// The bias is negative here (0x100000 - 0x401000); it wraps modulo 2^64 and everything lands right.
TEST(ElfLoaderTiny, RelocatesPieLinkedAboveImageBase) {
  TinyElf t = tiny(ET_EXEC);
  t.with_relas({relative(kExecBase + 0x2200, kExecBase + 0x1000)});
  t.eh.e_type = ET_DYN;
  auto image = parse(t);
  ASSERT_TRUE(image.has_value()) << image.error().to_string();
  EXPECT_EQ(image->regions().front().guest_address, abi::kDefaultImageBase);
  EXPECT_EQ(image->relocated_entry(), abi::kDefaultImageBase);
  std::vector<uint8_t> memory(memory_for(*image));
  ASSERT_TRUE(load_elf(*image, memory).has_value());
  uint64_t v;
  std::memcpy(&v, memory.data() + abi::kDefaultImageBase + 0x1200, sizeof v);
  EXPECT_EQ(v, abi::kDefaultImageBase);
}

TEST(ElfLoaderTiny, SkipsNoneRelocations) {
  TinyElf t = tiny();
  t.with_relas({relative(0x2200, 1), Elf64_Rela{0, ELF64_R_INFO(0, R_X86_64_NONE), 0}});
  auto image = parse(t);
  ASSERT_TRUE(image.has_value()) << image.error().to_string();
  EXPECT_EQ(image->relative_relocations.size(), 1u);
}

TEST(ElfLoaderTiny, AcceptsDynamicWithoutRelocations) {
  TinyElf t = tiny();
  t.dynamic = {{DT_DEBUG, {0}}, {DT_NULL, {0}}};
  auto image = parse(t);
  ASSERT_TRUE(image.has_value()) << image.error().to_string();
  EXPECT_TRUE(image->relative_relocations.empty());
}

// ---- ELF header rejections --------------------------------------------------------------------

TEST(ElfLoaderHeader, RejectsEmptyFile) { EXPECT_MALFORMED(parse(std::vector<uint8_t>{}), "e_ident[EI_MAG]"); }

TEST(ElfLoaderHeader, RejectsNonElf) {
  const std::string text = "#!/bin/sh\necho not an ELF file at all, but long enough to have a header\n";
  auto r = parse(std::vector<uint8_t>(text.begin(), text.end()));
  EXPECT_MALFORMED(r, "e_ident[EI_MAG]");
  EXPECT_EQ(r.error().offset, 0u);
}

TEST(ElfLoaderHeader, RejectsTruncatedIdent) {
  std::vector<uint8_t> b = tiny().build();
  b.resize(10);
  EXPECT_MALFORMED(parse(b), "e_ident");
}

TEST(ElfLoaderHeader, RejectsElfClass32) {
  TinyElf t = tiny();
  t.eh.e_ident[EI_CLASS] = ELFCLASS32;
  auto r = parse(t);
  EXPECT_UNSUPPORTED(r, "e_ident[EI_CLASS]");
  EXPECT_EQ(r.error().offset, uint64_t{EI_CLASS});
  EXPECT_EQ(r.error().value, uint64_t{ELFCLASS32});
}

TEST(ElfLoaderHeader, RejectsBigEndian) {
  TinyElf t = tiny();
  t.eh.e_ident[EI_DATA] = ELFDATA2MSB;
  EXPECT_UNSUPPORTED(parse(t), "e_ident[EI_DATA]");
}

TEST(ElfLoaderHeader, RejectsBadIdentVersion) {
  TinyElf t = tiny();
  t.eh.e_ident[EI_VERSION] = 2;
  EXPECT_MALFORMED(parse(t), "e_ident[EI_VERSION]");
}

TEST(ElfLoaderHeader, RejectsTruncatedHeader) {
  std::vector<uint8_t> b = tiny().build();
  b.resize(40);
  auto r = parse(b);
  EXPECT_MALFORMED(r, "ehdr");
  EXPECT_EQ(r.error().value, 40u);
}

TEST(ElfLoaderHeader, RejectsWrongMachine) {
  TinyElf t = tiny();
  t.eh.e_machine = EM_AARCH64;
  auto r = parse(t);
  EXPECT_UNSUPPORTED(r, "e_machine");
  EXPECT_EQ(r.error().offset, offsetof(Elf64_Ehdr, e_machine));
  EXPECT_EQ(r.error().value, uint64_t{EM_AARCH64});
}

TEST(ElfLoaderHeader, RejectsRelocatableObject) {
  TinyElf t = tiny();
  t.eh.e_type = ET_REL;
  auto r = parse(t);
  EXPECT_UNSUPPORTED(r, "e_type");
  EXPECT_EQ(r.error().offset, offsetof(Elf64_Ehdr, e_type));
}

TEST(ElfLoaderHeader, RejectsBadVersion) {
  TinyElf t = tiny();
  t.eh.e_version = 7;
  EXPECT_MALFORMED(parse(t), "e_version");
}

TEST(ElfLoaderHeader, RejectsWrongProgramHeaderEntrySize) {
  TinyElf t = tiny();
  t.eh.e_phentsize = sizeof(Elf32_Phdr);
  auto r = parse(t);
  EXPECT_MALFORMED(r, "e_phentsize");
  EXPECT_EQ(r.error().value, sizeof(Elf32_Phdr));
}

TEST(ElfLoaderHeader, RejectsZeroProgramHeaders) {
  std::vector<uint8_t> b = tiny().build();
  poke<uint16_t>(b, offsetof(Elf64_Ehdr, e_phnum), 0);
  EXPECT_MALFORMED(parse(b), "e_phnum");
}

TEST(ElfLoaderHeader, RejectsAbsurdProgramHeaderCount) {
  std::vector<uint8_t> b = tiny().build();
  poke<uint16_t>(b, offsetof(Elf64_Ehdr, e_phnum), kMaxElfProgramHeaders + 1);
  EXPECT_UNSUPPORTED(parse(b), "e_phnum");
  poke<uint16_t>(b, offsetof(Elf64_Ehdr, e_phnum), PN_XNUM);
  auto r = parse(b);
  EXPECT_UNSUPPORTED(r, "e_phnum");
  EXPECT_EQ(r.error().value, uint64_t{PN_XNUM});
}

TEST(ElfLoaderHeader, RejectsTruncatedProgramHeaders) {
  std::vector<uint8_t> b = tiny().build();
  b.resize(kPhdrTable + sizeof(Elf64_Phdr) + 10);  // the second program header is cut
  auto r = parse(b);
  EXPECT_MALFORMED(r, "e_phoff");
  EXPECT_EQ(r.error().offset, offsetof(Elf64_Ehdr, e_phoff));
}

TEST(ElfLoaderHeader, RejectsProgramHeaderOffsetPastEnd) {
  TinyElf t = tiny();
  t.eh.e_phoff = kFileSize;
  EXPECT_MALFORMED(parse(t), "e_phoff");
}

TEST(ElfLoaderHeader, RejectsProgramHeaderOffsetOverflow) {
  std::vector<uint8_t> b = tiny().build();
  poke<uint64_t>(b, offsetof(Elf64_Ehdr, e_phoff), ~uint64_t{0} - 8);
  auto r = parse(b);
  EXPECT_MALFORMED(r, "e_phoff");
  EXPECT_EQ(r.error().value, ~uint64_t{0} - 8);
}

TEST(ElfLoaderHeader, RejectsMissingProgramHeaderTable) {
  std::vector<uint8_t> b = tiny().build();
  poke<uint64_t>(b, offsetof(Elf64_Ehdr, e_phoff), 0);
  EXPECT_MALFORMED(parse(b), "e_phoff");
}

TEST(ElfLoaderHeader, RejectsExtendedSectionCountPastEnd) {
  TinyElf t = tiny();
  t.eh.e_shoff = kDataOff;  // e_shnum 0: the count is section header 0's sh_size
  std::vector<uint8_t> b = t.build();
  poke<uint64_t>(b, kDataOff + offsetof(Elf64_Shdr, sh_size), uint64_t{1} << 54);
  auto r = parse(b);
  EXPECT_MALFORMED(r, "shdr[0].sh_size");
  EXPECT_EQ(r.error().offset, kDataOff + offsetof(Elf64_Shdr, sh_size));
}

TEST(ElfLoaderHeader, RejectsSectionHeadersPastEnd) {
  TinyElf t = tiny();
  t.eh.e_shoff = kFileSize - 10;
  t.eh.e_shnum = 3;
  t.eh.e_shentsize = sizeof(Elf64_Shdr);
  EXPECT_MALFORMED(parse(t), "e_shoff");
}

TEST(ElfLoaderHeader, RejectsOversizedInput) {
  std::vector<uint8_t> b = tiny().build();
  b.resize(kMaxElfFileSize + 1);
  EXPECT_UNSUPPORTED(parse(b), "file size");
}

// ---- Program header rejections ----------------------------------------------------------------

TEST(ElfLoaderSegments, RejectsFileSizeAboveMemorySize) {
  TinyElf t = tiny();
  t.phdrs[1].p_memsz = kDataFile - 1;
  auto r = parse(t);
  EXPECT_MALFORMED(r, "phdr[1].p_filesz");
  EXPECT_EQ(r.error().offset, phdr_at(1, offsetof(Elf64_Phdr, p_filesz)));
  EXPECT_EQ(r.error().value, kDataFile);
}

TEST(ElfLoaderSegments, RejectsSegmentOffsetPastEnd) {
  TinyElf t = tiny();
  t.phdrs[1].p_offset = 0x10000;
  EXPECT_MALFORMED(parse(t), "phdr[1].p_offset");
}

TEST(ElfLoaderSegments, RejectsSegmentPastEndOfFile) {
  TinyElf t = tiny();
  t.phdrs[1].p_filesz = kDataFile + 1;
  auto r = parse(t);
  EXPECT_MALFORMED(r, "phdr[1].p_filesz");
  EXPECT_EQ(r.error().value, kDataFile + 1);
}

TEST(ElfLoaderSegments, RejectsSegmentFileRangeOverflow) {
  TinyElf t = tiny();
  t.phdrs[1].p_filesz = ~uint64_t{0} - 0x1000;  // offset + filesz wraps to a small number
  t.phdrs[1].p_memsz = ~uint64_t{0};
  EXPECT_MALFORMED(parse(t), "phdr[1].p_filesz");
}

TEST(ElfLoaderSegments, RejectsVaddrOverflow) {
  TinyElf t = tiny();
  t.phdrs[1].p_vaddr = ~uint64_t{0} - 0xfff;
  auto r = parse(t);
  EXPECT_MALFORMED(r, "phdr[1].p_vaddr");
  EXPECT_EQ(r.error().offset, phdr_at(1, offsetof(Elf64_Phdr, p_vaddr)));
}

TEST(ElfLoaderSegments, RejectsAbsurdSegmentSize) {
  TinyElf t = tiny();
  t.phdrs[1].p_memsz = 2 * kGiB;
  EXPECT_UNSUPPORTED(parse(t), "phdr[1].p_memsz");
}

TEST(ElfLoaderSegments, RejectsAbsurdImageSpan) {
  TinyElf t = tiny();
  t.phdrs[1].p_vaddr += 2 * kGiB;
  EXPECT_UNSUPPORTED(parse(t), "phdr[1].p_vaddr");
}

TEST(ElfLoaderSegments, RejectsNonPowerOfTwoAlignment) {
  TinyElf t = tiny();
  t.phdrs[1].p_align = 0x3000;
  auto r = parse(t);
  EXPECT_MALFORMED(r, "phdr[1].p_align");
  EXPECT_EQ(r.error().value, 0x3000u);
}

TEST(ElfLoaderSegments, RejectsOffsetNotCongruentWithVaddr) {
  TinyElf t = tiny();
  t.phdrs[1] = load(0x2010, 0x2000, 0x3f0, 0x1400, PF_R | PF_W);
  EXPECT_MALFORMED(parse(t), "phdr[1].p_offset");
}

TEST(ElfLoaderSegments, RejectsOverlappingSegments) {
  TinyElf t = tiny();
  t.phdrs[1] = load(0x2010, 0x1010, 0x3f0, 0x1400, PF_R | PF_W);  // text ends at 0x1020
  auto r = parse(t);
  EXPECT_MALFORMED(r, "phdr[1].p_vaddr");
  EXPECT_EQ(r.error().value, 0x1010u);
}

TEST(ElfLoaderSegments, RejectsSharedPageWithDifferentFlags) {
  TinyElf t = tiny();
  t.phdrs[1] = load(0x2100, 0x1100, 0x300, 0x300, PF_R | PF_W);  // page 0x1000 is also text's
  EXPECT_UNSUPPORTED(parse(t), "phdr[1].p_flags");
}

TEST(ElfLoaderSegments, RejectsWritableExecutableSegment) {
  TinyElf t = tiny();
  t.phdrs[1].p_flags = PF_R | PF_W | PF_X;
  auto r = parse(t);
  EXPECT_UNSUPPORTED(r, "phdr[1].p_flags");
  EXPECT_EQ(r.error().value, uint64_t{PF_R | PF_W | PF_X});
}

TEST(ElfLoaderSegments, RejectsNoExecutableSegment) {
  TinyElf t = tiny();
  t.phdrs[0].p_flags = PF_R;
  EXPECT_MALFORMED(parse(t), "phdrs");
}

TEST(ElfLoaderSegments, RejectsNoLoadableSegment) {
  TinyElf t = tiny();
  for (Elf64_Phdr& p : t.phdrs) p.p_type = PT_NOTE;
  EXPECT_MALFORMED(parse(t), "phdrs");
}

TEST(ElfLoaderSegments, RejectsEntryOutsideExecutableSegment) {
  TinyElf t = tiny();
  t.eh.e_entry = kDataOff;
  auto r = parse(t);
  EXPECT_MALFORMED(r, "e_entry");
  EXPECT_EQ(r.error().offset, offsetof(Elf64_Ehdr, e_entry));
  EXPECT_EQ(r.error().value, kDataOff);
}

TEST(ElfLoaderSegments, RejectsEntryOutsideEverySegment) {
  TinyElf t = tiny();
  t.eh.e_entry = kTextOff + kTextSize;  // one past the end of text
  EXPECT_MALFORMED(parse(t), "e_entry");
}

TEST(ElfLoaderSegments, RejectsFixedAddressBelowImageBase) {
  TinyElf t = tiny();
  t.eh.e_type = ET_EXEC;  // linked at 0x1000
  EXPECT_UNSUPPORTED(parse(t), "phdr[0].p_vaddr");
}

TEST(ElfLoaderSegments, RejectsFixedAddressAboveGuestMemory) {
  TinyElf t = tiny(ET_EXEC);
  for (Elf64_Phdr& p : t.phdrs) p.p_vaddr += kMaxGuestMemory;
  t.eh.e_entry += kMaxGuestMemory;
  EXPECT_UNSUPPORTED(parse(t), "phdr[1].p_vaddr");
}

TEST(ElfLoaderSegments, RejectsInterpreter) {
  TinyElf t = tiny();
  t.phdrs.push_back(Elf64_Phdr{PT_INTERP, PF_R, 0x1000, 0x1000, 0x1000, 0x10, 0x10, 1});
  auto r = parse(t);
  EXPECT_UNSUPPORTED(r, "phdr[2].p_type");
  EXPECT_EQ(r.error().value, uint64_t{PT_INTERP});
}

TEST(ElfLoaderSegments, RejectsThreadLocalStorage) {
  TinyElf t = tiny();
  t.phdrs.push_back(Elf64_Phdr{PT_TLS, PF_R, 0x2000, 0x2000, 0x2000, 0x10, 0x20, 8});
  EXPECT_UNSUPPORTED(parse(t), "phdr[2].p_type");
}

// ---- Dynamic section and relocation rejections ------------------------------------------------

TEST(ElfLoaderDynamic, RejectsDynamicOutsideFile) {
  TinyElf t = tiny();
  t.phdrs.push_back(Elf64_Phdr{PT_DYNAMIC, PF_R, 0x2300, 0x2300, 0x2300, 0x200, 0x200, 8});
  EXPECT_MALFORMED(parse(t), "phdr[2].p_filesz");
}

TEST(ElfLoaderDynamic, RejectsTwoDynamicSegments) {
  TinyElf t = tiny();
  t.phdrs.push_back(Elf64_Phdr{PT_DYNAMIC, PF_R, 0x2000, 0x2000, 0x2000, 0x10, 0x10, 8});
  t.dynamic = {{DT_NULL, {0}}};  // build() adds the second
  EXPECT_MALFORMED(parse(t), "phdr[3].p_type");
}

TEST(ElfLoaderDynamic, RejectsNeededLibrary) {
  TinyElf t = tiny();
  t.dynamic = {{DT_DEBUG, {0}}, {DT_NEEDED, {1}}, {DT_NULL, {0}}};
  auto r = parse(t);
  EXPECT_UNSUPPORTED(r, "dynamic[1].d_tag");
  EXPECT_EQ(r.error().offset, kDynOff + sizeof(Elf64_Dyn));
}

TEST(ElfLoaderDynamic, RejectsRelTable) {
  TinyElf t = tiny();
  t.dynamic = {{DT_REL, {kRelaOff}}, {DT_RELSZ, {16}}, {DT_NULL, {0}}};
  EXPECT_UNSUPPORTED(parse(t), "DT_RELSZ");
}

TEST(ElfLoaderDynamic, RejectsPltRelocations) {
  TinyElf t = tiny();
  t.dynamic = {{DT_JMPREL, {kRelaOff}}, {DT_PLTRELSZ, {24}}, {DT_NULL, {0}}};
  EXPECT_UNSUPPORTED(parse(t), "DT_PLTRELSZ");
}

TEST(ElfLoaderDynamic, RejectsPackedRelativeRelocations) {
  TinyElf t = tiny();
  t.dynamic = {{DT_RELR, {kRelaOff}}, {DT_RELRSZ, {8}}, {DT_NULL, {0}}};
  EXPECT_UNSUPPORTED(parse(t), "DT_RELRSZ");
}

TEST(ElfLoaderDynamic, RejectsWrongRelaEntrySize) {
  TinyElf t = tiny();
  t.with_relas({relative(0x2200, 0)});
  t.dynamic[2].d_un.d_val = 16;
  auto r = parse(t);
  EXPECT_MALFORMED(r, "DT_RELAENT");
  EXPECT_EQ(r.error().offset, kDynOff + 2 * sizeof(Elf64_Dyn) + 8);
  EXPECT_EQ(r.error().value, 16u);
}

TEST(ElfLoaderDynamic, RejectsRelaSizeNotMultipleOfEntry) {
  TinyElf t = tiny();
  t.with_relas({relative(0x2200, 0)});
  t.dynamic[1].d_un.d_val = 25;
  EXPECT_MALFORMED(parse(t), "DT_RELASZ");
}

TEST(ElfLoaderDynamic, RejectsRelaSizeWithoutTable) {
  TinyElf t = tiny();
  t.dynamic = {{DT_RELASZ, {24}}, {DT_NULL, {0}}};
  EXPECT_MALFORMED(parse(t), "DT_RELASZ");
}

TEST(ElfLoaderDynamic, RejectsRelaTableOutsideSegments) {
  TinyElf t = tiny();
  t.with_relas({relative(0x2200, 0)});
  t.dynamic[0].d_un.d_ptr = 0x9000;
  auto r = parse(t);
  EXPECT_MALFORMED(r, "DT_RELA");
  EXPECT_EQ(r.error().value, 0x9000u);
}

TEST(ElfLoaderDynamic, RejectsRelaTablePastSegmentFileBytes) {
  TinyElf t = tiny();
  t.with_relas({relative(0x2200, 0)});
  t.dynamic[0].d_un.d_ptr = kDataOff + kDataFile - 8;  // starts in the file bytes, ends in bss
  EXPECT_MALFORMED(parse(t), "DT_RELA");
}

// A huge count is refused by the bounds check before anything is allocated for it.
TEST(ElfLoaderDynamic, RejectsRelaSizeLargerThanFile) {
  TinyElf t = tiny();
  t.with_relas({relative(0x2200, 0)});
  t.dynamic[1].d_un.d_val = sizeof(Elf64_Rela) << 58;
  EXPECT_MALFORMED(parse(t), "DT_RELA");
}

TEST(ElfLoaderDynamic, RejectsNonRelativeRelocation) {
  TinyElf t = tiny();
  t.with_relas({relative(0x2200, 0), Elf64_Rela{0x2208, ELF64_R_INFO(1, R_X86_64_64), 0}});
  auto r = parse(t);
  EXPECT_UNSUPPORTED(r, "rela[1].r_info");
  EXPECT_EQ(r.error().offset, kRelaOff + sizeof(Elf64_Rela) + offsetof(Elf64_Rela, r_info));
  EXPECT_EQ(r.error().value, uint64_t{R_X86_64_64});
}

TEST(ElfLoaderDynamic, RejectsRelocationOutsideSegments) {
  TinyElf t = tiny();
  t.with_relas({relative(0x9000, 0)});
  auto r = parse(t);
  EXPECT_MALFORMED(r, "rela[0].r_offset");
  EXPECT_EQ(r.error().value, 0x9000u);
}

TEST(ElfLoaderDynamic, RejectsRelocationStraddlingSegmentEnd) {
  TinyElf t = tiny();
  t.with_relas({relative(kDataOff + kDataMem - 4, 0)});
  EXPECT_MALFORMED(parse(t), "rela[0].r_offset");
}

TEST(ElfLoaderDynamic, RejectsRelocationBelowFirstSegment) {
  TinyElf t = tiny();
  t.with_relas({relative(0x10, 0)});
  EXPECT_MALFORMED(parse(t), "rela[0].r_offset");
}

// ---- load_elf and parse_elf_file --------------------------------------------------------------

TEST(ElfLoaderLoad, RejectsTooSmallMemory) {
  auto image = parse(tiny());
  ASSERT_TRUE(image.has_value());
  std::vector<uint8_t> memory(abi::kDefaultImageBase + 0x1000);
  auto r = load_elf(*image, memory);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidConfig);
  EXPECT_EQ(r.error().field, "memory");
}

TEST(ElfLoaderLoad, RejectsHandMadeSegmentOutsideFile) {
  auto image = parse(tiny());
  ASSERT_TRUE(image.has_value());
  image->segments[1].filesz = image->segments[1].memsz = 0x10000;
  std::vector<uint8_t> memory(memory_for(*image) + 0x10000);
  auto r = load_elf(*image, memory);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kElfMalformed);
}

TEST(ElfLoaderLoad, RejectsHandMadeRelocationOutsideSegments) {
  auto image = parse(tiny());
  ASSERT_TRUE(image.has_value());
  image->relative_relocations.emplace_back(0x9000, 0);
  std::vector<uint8_t> memory(memory_for(*image) + 0x10000);
  auto r = load_elf(*image, memory);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kElfMalformed);
}

TEST(ElfLoaderFile, RejectsMissingFile) {
  auto r = parse_elf_file(std::string(SNAPVM_BUILD_DIR) + "/no/such/guest");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kIo);
  EXPECT_EQ(r.error().sys_errno, ENOENT);
}

TEST(ElfLoaderFile, RejectsDirectory) {
  auto r = parse_elf_file(SNAPVM_BUILD_DIR);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kIo);
}

TEST(ElfLoaderFile, RejectsOversizedFile) {
  const std::filesystem::path path =
      std::filesystem::temp_directory_path() / ("snapvm_elf_oversized_" + std::to_string(::getpid()));
  std::ofstream(path).close();
  ASSERT_EQ(::truncate(path.c_str(), kMaxElfFileSize + 1), 0);  // sparse: no disk used
  auto r = parse_elf_file(path);
  std::filesystem::remove(path);
  EXPECT_UNSUPPORTED(r, "file size");
  EXPECT_EQ(r.error().value, kMaxElfFileSize + 1);
}

}  // namespace
}  // namespace snapvm
