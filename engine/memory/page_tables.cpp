// page_tables.cpp: builds identity-mapped 4-level page tables from mapped ranges.
#include "memory/page_tables.h"

#include <algorithm>
#include <cstring>
#include <map>

#include "snapvm/abi/layout.h"

namespace snapvm {

namespace {
constexpr uint64_t k2M = 2 * kMiB;
constexpr uint64_t k1G = kGiB;

constexpr uint64_t kPresent = 1ull << 0;
constexpr uint64_t kWritable = 1ull << 1;
constexpr uint64_t kUser = 1ull << 2;
constexpr uint64_t kAccessed = 1ull << 5;  // pre-set, so the CPU never writes A/D bits back
constexpr uint64_t kDirty = 1ull << 6;
constexpr uint64_t kLargePage = 1ull << 7;
constexpr uint64_t kNoExecute = 1ull << 63;
constexpr uint64_t kTableEntry = kPresent | kWritable | kUser | kAccessed;  // leaves decide access

struct Plan {
  std::map<uint64_t, bool> chunks;  // 2 MiB chunk index -> mapped by one large page
  std::map<uint64_t, int> gigs;     // 1 GiB index -> (unused)
};

Plan plan(const std::vector<MappedRange>& ranges) {
  Plan p;
  for (const MappedRange& r : ranges) {
    for (uint64_t c = r.address / k2M; c * k2M < r.address + r.size; ++c) {
      bool covered = r.address <= c * k2M && r.address + r.size >= (c + 1) * k2M;
      p.chunks[c] = covered;
      p.gigs[c * k2M / k1G] = 0;
    }
  }
  return p;
}

uint64_t leaf_bits(const MappedRange& r) {
  uint64_t bits = kPresent | kAccessed | kDirty;
  if (r.flags & kRegionWrite) bits |= kWritable;
  if (r.user) bits |= kUser;
  if (!(r.flags & kRegionExecute)) bits |= kNoExecute;
  return bits;
}

void put(std::span<uint8_t> memory, uint64_t address, uint64_t value) { std::memcpy(&memory[address], &value, 8); }
}  // namespace

std::vector<MappedRange> mapped_ranges(const Layout& layout) {
  std::vector<MappedRange> ranges = {
      {abi::kGdtAddress, abi::kPageSize, kRegionRead | kRegionWrite, false},
      {abi::kIdtAddress, abi::kPageSize, kRegionRead, false},
      {abi::kTssAddress, abi::kPageSize, kRegionRead | kRegionWrite, false},
      {abi::kTrapStubAddress, abi::kPageSize, kRegionRead | kRegionExecute, false},
      {abi::kRing0StackBase, abi::kRing0StackTop - abi::kRing0StackBase, kRegionRead | kRegionWrite, false},
  };
  for (const Region& r : layout.regions) ranges.push_back({r.guest_address, r.size, r.flags, true});
  std::sort(ranges.begin(), ranges.end(), [](const auto& a, const auto& b) { return a.address < b.address; });
  return ranges;
}

uint64_t page_table_bytes(const std::vector<MappedRange>& ranges) {
  Plan p = plan(ranges);
  uint64_t tables = 2 + p.gigs.size();  // PML4, PDPT, one PD per GiB
  for (const auto& [chunk, large] : p.chunks) tables += large ? 0 : 1;
  return tables * abi::kPageSize;
}

uint64_t build_page_tables(std::span<uint8_t> memory, uint64_t base, const std::vector<MappedRange>& ranges) {
  Plan p = plan(ranges);
  std::memset(&memory[base], 0, page_table_bytes(ranges));
  const uint64_t pml4 = base, pdpt = base + abi::kPageSize;
  put(memory, pml4, pdpt | kTableEntry);
  uint64_t next = base + 2 * abi::kPageSize;
  std::map<uint64_t, uint64_t> pd_of_gig, pt_of_chunk;
  for (const auto& [gig, unused] : p.gigs) {
    pd_of_gig[gig] = next;
    put(memory, pdpt + 8 * gig, next | kTableEntry);
    next += abi::kPageSize;
  }
  for (const auto& [chunk, large] : p.chunks) {
    if (large) continue;
    pt_of_chunk[chunk] = next;
    uint64_t pd = pd_of_gig[chunk * k2M / k1G];
    put(memory, pd + 8 * (chunk % 512), next | kTableEntry);
    next += abi::kPageSize;
  }
  for (const MappedRange& r : ranges) {
    const uint64_t bits = leaf_bits(r);
    for (uint64_t a = r.address; a < r.address + r.size;) {
      uint64_t chunk = a / k2M;
      if (p.chunks[chunk]) {
        put(memory, pd_of_gig[a / k1G] + 8 * (chunk % 512), a | bits | kLargePage);
        a += k2M;
      } else {
        put(memory, pt_of_chunk[chunk] + 8 * ((a / abi::kPageSize) % 512), a | bits);
        a += abi::kPageSize;
      }
    }
  }
  return pml4;
}

}  // namespace snapvm
