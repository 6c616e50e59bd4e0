// memory_test.cpp: tests for layout.cpp, page_tables.cpp, system_area.cpp and file_guard.cpp (no KVM).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstring>
#include <optional>

#include "memory/file_guard.h"
#include "memory/page_tables.h"
#include "memory/system_area.h"
#include "snapvm/abi/layout.h"
#include "snapvm/layout.h"

namespace snapvm {
namespace {

std::vector<Region> image() {
  return {Region{0x100000, 0x1000, kRegionRead, RegionKind::kImage},
          Region{0x101000, 0x3000, kRegionRead | kRegionExecute, RegionKind::kImage},
          Region{0x104000, 0x2000, kRegionRead | kRegionWrite, RegionKind::kImage}};
}

TEST(Layout, PlacesRegionsInOrderWithGuardPages) {
  auto l = compute_layout(SandboxConfig{}, image());
  ASSERT_TRUE(l) << l.error().to_string();
  EXPECT_EQ(l->image_base, 0x100000u);
  EXPECT_EQ(l->image_end, 0x106000u);
  EXPECT_EQ(l->input_base, 0x107000u);
  EXPECT_EQ(l->output_base, l->input_base + l->config.input_size + 4096);
  EXPECT_EQ(l->heap_base, l->output_base + l->config.output_size + 4096);
  EXPECT_EQ(l->stack_base, l->heap_base + l->config.heap_size + 4096);
  EXPECT_EQ(l->page_table_base, l->stack_top() + 4096);
  EXPECT_EQ(l->memory_size, l->page_table_base + l->page_table_size);
  ASSERT_EQ(l->regions.size(), 8u);
  EXPECT_EQ(l->regions.front().kind, RegionKind::kPeb);
  EXPECT_EQ(l->regions.back().kind, RegionKind::kStack);
  for (size_t i = 1; i < l->regions.size(); ++i) EXPECT_LT(l->regions[i - 1].end(), l->regions[i].guest_address + 1);
  EXPECT_TRUE(check_layout(*l));
}

TEST(Layout, RejectsHeapThatIsNotAPageMultiple) {
  SandboxConfig c;
  c.heap_size = 128 * kKiB + 1;
  auto l = compute_layout(c, image());
  ASSERT_FALSE(l);
  EXPECT_EQ(l.error().code, ErrorCode::kInvalidConfig);
  EXPECT_EQ(l.error().field, "heap_size");
}

TEST(Layout, RejectsTinyAndHugeSizes) {
  SandboxConfig c;
  c.stack_size = 4096;
  EXPECT_EQ(compute_layout(c, image()).error().field, "stack_size");
  c = SandboxConfig{};
  c.input_size = 1ull << 40;
  EXPECT_EQ(compute_layout(c, image()).error().field, "input_size");
}

TEST(Layout, RejectsImageBelowTheImageBase) {
  auto regions = image();
  regions[0].guest_address = 0x9000;
  auto l = compute_layout(SandboxConfig{}, regions);
  ASSERT_FALSE(l);
  EXPECT_EQ(l.error().code, ErrorCode::kImageLayout);
  EXPECT_EQ(l.error().field, "image_regions[0].guest_address");
  EXPECT_EQ(l.error().value, 0x9000u);
}

TEST(Layout, RejectsWritableExecutableImage) {
  auto regions = image();
  regions[1].flags |= kRegionWrite;
  auto l = compute_layout(SandboxConfig{}, regions);
  ASSERT_FALSE(l);
  EXPECT_EQ(l.error().code, ErrorCode::kImageLayout);
  EXPECT_EQ(l.error().field, "image_regions[1].flags");
}

TEST(Layout, RejectsImageWithoutExecutableRegion) {
  auto regions = image();
  regions[1].flags = kRegionRead;
  auto l = compute_layout(SandboxConfig{}, regions);
  ASSERT_FALSE(l);
  EXPECT_EQ(l.error().code, ErrorCode::kImageLayout);
  EXPECT_EQ(l.error().field, "image_regions");
}

TEST(Layout, CheckLayoutNamesFieldsAsTheFileDoes) {
  auto l = compute_layout(SandboxConfig{}, image());
  ASSERT_TRUE(l);
  Layout bad = *l;
  bad.config.heap_size = 4096;
  auto s = check_layout(bad);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, ErrorCode::kFieldOutOfRange);
  EXPECT_EQ(s.error().field, "config.heap_size");
  EXPECT_EQ(s.error().value, 4096u);
  bad = *l;
  bad.regions[1].guest_address = 0x9000;  // the first image region, below the image base
  s = check_layout(bad);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, ErrorCode::kFieldOutOfRange);
  EXPECT_EQ(s.error().field, "regions[1].guest_address");
}

TEST(Layout, CheckLayoutNamesTheFieldThatDiffers) {
  auto l = compute_layout(SandboxConfig{}, image());
  ASSERT_TRUE(l);
  Layout bad = *l;
  bad.heap_base += 4096;
  auto s = check_layout(bad);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, ErrorCode::kLayoutMismatch);
  EXPECT_EQ(s.error().field, "layout.heap_base");
  bad = *l;
  bad.regions[4].flags = kRegionRead;  // the input buffer, made read-only
  auto r = check_layout(bad);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().field, "regions[4].flags");
}

// Walks the page tables like the MMU: the leaf entry for `va`, or nullopt when not present.
std::optional<uint64_t> translate(const std::vector<uint8_t>& mem, uint64_t cr3, uint64_t va, bool* large) {
  auto entry = [&](uint64_t table, uint64_t index) {
    uint64_t e;
    std::memcpy(&e, &mem[table + 8 * index], 8);
    return e;
  };
  const uint64_t addr_mask = 0x000ffffffffff000ull;
  uint64_t e = entry(cr3, (va >> 39) & 511);
  if (!(e & 1)) return std::nullopt;
  e = entry(e & addr_mask, (va >> 30) & 511);
  if (!(e & 1)) return std::nullopt;
  e = entry(e & addr_mask, (va >> 21) & 511);
  if (!(e & 1)) return std::nullopt;
  if (e & 0x80) {
    *large = true;
    return e;
  }
  *large = false;
  e = entry(e & addr_mask, (va >> 12) & 511);
  if (!(e & 1)) return std::nullopt;
  return e;
}

class PageTables : public ::testing::Test {
 protected:
  void SetUp() override {
    SandboxConfig c;
    c.heap_size = 8 * kMiB;
    layout_ = *compute_layout(c, image());
    mem_.assign(layout_.memory_size, 0xee);
    cr3_ = build_page_tables(mem_, layout_.page_table_base, mapped_ranges(layout_));
  }
  std::optional<uint64_t> pte(uint64_t va) {
    bool large = false;
    return translate(mem_, cr3_, va, &large);
  }
  Layout layout_;
  std::vector<uint8_t> mem_;
  uint64_t cr3_ = 0;
};

TEST_F(PageTables, NullPageAndGuardPagesAreNotMapped) {
  EXPECT_FALSE(pte(0));
  EXPECT_FALSE(pte(0x5000));
  EXPECT_FALSE(pte(0x8000));
  EXPECT_FALSE(pte(layout_.stack_base - 4096));
  EXPECT_FALSE(pte(layout_.heap_base - 4096));
  EXPECT_FALSE(pte(layout_.page_table_base));
}

TEST_F(PageTables, SystemPagesAreSupervisorOnly) {
  for (uint64_t va :
       {abi::kGdtAddress, abi::kIdtAddress, abi::kTssAddress, abi::kTrapStubAddress, abi::kRing0StackBase}) {
    auto e = pte(va);
    ASSERT_TRUE(e) << std::hex << va;
    EXPECT_EQ(*e & 4, 0u) << std::hex << va;
  }
  EXPECT_EQ(*pte(abi::kTrapStubAddress) >> 63, 0u);  // stubs execute
  EXPECT_EQ(*pte(abi::kIdtAddress) & 2, 0u);         // IDT read-only
}

TEST_F(PageTables, RegionFlagsDecideUserWriteAndExecuteBits) {
  auto code = pte(0x101000);
  ASSERT_TRUE(code);
  EXPECT_EQ(*code & 4, 4u);
  EXPECT_EQ(*code & 2, 0u);
  EXPECT_EQ(*code >> 63, 0u);
  auto data = pte(0x104000);
  EXPECT_EQ(*data & 2, 2u);
  EXPECT_EQ(*data >> 63, 1u);
  auto rodata = pte(0x100000);
  EXPECT_EQ(*rodata & 2, 0u);
  EXPECT_EQ(*rodata >> 63, 1u);
  auto stack = pte(layout_.stack_top() - 8);
  EXPECT_EQ(*stack & 0x6, 0x6u);
  EXPECT_EQ(*stack >> 63, 1u);
}

TEST_F(PageTables, IdentityMapsEveryRegionPage) {
  for (const Region& r : layout_.regions) {
    for (uint64_t va = r.guest_address; va < r.end(); va += 4096) {
      bool large = false;
      auto e = translate(mem_, cr3_, va, &large);
      ASSERT_TRUE(e) << std::hex << va;
      uint64_t mask = large ? ~uint64_t{0x1fffff} : ~uint64_t{0xfff};
      EXPECT_EQ(*e & 0x000ffffffffff000ull & mask, va & mask);
    }
  }
}

TEST_F(PageTables, WholeChunksOfTheHeapUseLargePages) {
  uint64_t chunk = (layout_.heap_base + 2 * kMiB - 1) & ~(2 * kMiB - 1);
  bool large = false;
  ASSERT_TRUE(translate(mem_, cr3_, chunk, &large));
  EXPECT_TRUE(large);
  EXPECT_LE(layout_.page_table_size, 16 * 4096u);
}

TEST(SystemArea, IdtGatesPointAtTheirStubs) {
  std::vector<uint8_t> mem(abi::kSystemAreaEnd, 0);
  write_system_area(mem);
  for (uint64_t v = 0; v < abi::kIdtEntries; ++v) {
    const uint8_t* e = &mem[abi::kIdtAddress + 16 * v];
    uint64_t target = uint64_t{e[0]} | uint64_t{e[1]} << 8 | uint64_t{e[6]} << 16 | uint64_t{e[7]} << 24;
    EXPECT_EQ(target, abi::kTrapStubAddress + v * abi::kTrapStubSize);
    EXPECT_EQ(e[5], 0x8e);
    const uint8_t* stub = &mem[target];
    EXPECT_EQ(stub[2], 0x6a);
    EXPECT_EQ(stub[3], v);
    EXPECT_EQ(stub[0], vector_has_error_code(static_cast<uint8_t>(v)) ? 0x90 : 0x6a);
  }
  uint64_t rsp0;
  std::memcpy(&rsp0, &mem[abi::kTssAddress + 4], 8);
  EXPECT_EQ(rsp0, abi::kRing0StackTop);
}

TEST(SystemArea, InitialStateIsRingThreeLongMode) {
  SpecialRegisters s = initial_special_registers(0x123000);
  EXPECT_EQ(s.cs.dpl, 3);
  EXPECT_EQ(s.cs.l, 1);
  EXPECT_EQ(s.cs.selector & 3, 3);
  EXPECT_EQ(s.cr3, 0x123000u);
  EXPECT_TRUE(s.cr0 & kCr0Pg);
  EXPECT_TRUE(s.efer & kEferLma);
  EXPECT_FALSE(s.cr0 & (kCr0Em | kCr0Ts));
}

TEST(FileGuard, ShrunkFileReadsAsZerosAndTrips) {
  char path[] = "/tmp/snapvm-guard-XXXXXX";
  int fd = ::mkstemp(path);
  ASSERT_GE(fd, 0);
  ::unlink(path);
  std::vector<uint8_t> data(3 * 4096, 0x5a);
  ASSERT_EQ(::write(fd, data.data(), data.size()), static_cast<ssize_t>(data.size()));
  void* p = ::mmap(nullptr, data.size(), PROT_READ, MAP_PRIVATE, fd, 0);
  ASSERT_NE(p, MAP_FAILED);
  auto* bytes = static_cast<volatile uint8_t*>(p);
  {
    FileGuard guard = FileGuard::protect(p, data.size());
    EXPECT_EQ(bytes[0], 0x5a);
    ASSERT_EQ(::ftruncate(fd, 4096), 0);
    EXPECT_EQ(bytes[2 * 4096 + 7], 0);  // would be SIGBUS without the guard
    EXPECT_TRUE(guard.tripped());
  }
  ::munmap(p, data.size());
  ::close(fd);
}

}  // namespace
}  // namespace snapvm
