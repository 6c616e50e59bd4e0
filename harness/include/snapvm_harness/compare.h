// compare.h: field-by-field comparison of two snapshots: header fields, layout and regions, every
// register by name, functions, and memory page by page (reported as page ranges with counts).
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "snapvm/snapshot.h"

namespace snapvm::harness {

struct Difference {
  std::string where;  // "header.stage", "layout.heap_base", "regions[2].flags", "regs.rip", "memory"
  std::string a, b;   // the two values as text; for memory, page ranges
};

struct MemoryDifference {
  uint64_t first_page_address = 0;  // guest address of the first differing page of a run
  uint64_t pages = 0;               // length of the run
};

struct CompareReport {
  std::vector<Difference> fields;
  std::vector<MemoryDifference> memory;  // runs of differing pages, sorted
  uint64_t memory_pages_compared = 0;
  uint64_t memory_pages_different = 0;

  bool equal() const { return fields.empty() && memory.empty(); }
  nlohmann::json to_json() const;
  std::string to_text() const;
};

struct CompareOptions {
  bool compare_memory = true;
  bool compare_digest = false;  // a loaded file has one, an in-memory snapshot none: off by default
};

CompareReport compare_snapshots(const Snapshot& a, const Snapshot& b, const CompareOptions& options = {});

}  // namespace snapvm::harness
