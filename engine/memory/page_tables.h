// page_tables.h: 4-level x86-64 page tables built by the host from the layout. Identity mapped;
// each page's bits come from its region's flags: user pages only for guest regions, no-execute on
// everything not executable, nothing at all for the null page and guard pages. Whole 2 MiB chunks of
// one range use large pages, so big heaps cost a handful of entries.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "snapvm/layout.h"

namespace snapvm {

struct MappedRange {
  uint64_t address = 0;  // page aligned
  uint64_t size = 0;     // page multiple
  uint32_t flags = 0;    // RegionFlag bits
  bool user = false;
};

// The system area (supervisor) and the layout's regions (user), sorted.
std::vector<MappedRange> mapped_ranges(const Layout& layout);

// Bytes of page-table pages the ranges need.
uint64_t page_table_bytes(const std::vector<MappedRange>& ranges);

// Writes the tables into `memory` (guest physical [0, size)) at `base`; returns CR3.
// `memory` must hold [base, base + page_table_bytes(ranges)), which is zeroed first.
uint64_t build_page_tables(std::span<uint8_t> memory, uint64_t base, const std::vector<MappedRange>& ranges);

}  // namespace snapvm
