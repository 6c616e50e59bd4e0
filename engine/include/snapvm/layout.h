// layout.h: the sandbox configuration and the guest memory layout computed from it. A layout is a
// sorted list of regions the guest may touch (user pages) plus the fixed system area and the page
// tables (supervisor, rebuilt by the host, never stored in snapshot files). See docs/abi.md.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "snapvm/result.h"

namespace snapvm {

inline constexpr uint64_t kKiB = 1024;
inline constexpr uint64_t kMiB = 1024 * kKiB;
inline constexpr uint64_t kGiB = 1024 * kMiB;

struct SandboxConfig {
  uint64_t heap_size = 128 * kKiB;
  uint64_t stack_size = 64 * kKiB;
  uint64_t input_size = 64 * kKiB;
  uint64_t output_size = 64 * kKiB;

  // Bounds, each a page multiple: the errors name the field and the limit.
  static constexpr uint64_t kMinHeap = 16 * kKiB, kMaxHeap = 16 * kGiB;
  static constexpr uint64_t kMinStack = 16 * kKiB, kMaxStack = 256 * kMiB;
  static constexpr uint64_t kMinBuffer = 4 * kKiB, kMaxBuffer = 256 * kMiB;
  Status validate() const;
  bool operator==(const SandboxConfig&) const = default;
};

// Access a region's pages allow; every region is user-accessible. Write and execute never together.
enum RegionFlag : uint32_t { kRegionRead = 1, kRegionWrite = 2, kRegionExecute = 4 };
inline constexpr uint32_t kKnownRegionFlags = kRegionRead | kRegionWrite | kRegionExecute;

enum class RegionKind : uint32_t { kPeb = 1, kImage = 2, kInput = 3, kOutput = 4, kHeap = 5, kStack = 6 };
inline constexpr uint32_t kMaxRegionKind = 6;
std::string_view region_kind_name(RegionKind kind);
std::string region_flags_string(uint32_t flags);  // "r-x"

struct Region {
  uint64_t guest_address = 0;  // page aligned
  uint64_t size = 0;           // page multiple, > 0
  uint32_t flags = 0;
  RegionKind kind = RegionKind::kImage;
  uint64_t end() const { return guest_address + size; }
  bool operator==(const Region&) const = default;
};

// Hard caps, so no count read from a file can drive an allocation beyond what is plausible.
inline constexpr uint64_t kMaxGuestMemory = 64 * kGiB;
inline constexpr size_t kMaxRegions = 64;

struct Layout {
  SandboxConfig config;
  uint64_t image_base = 0, image_end = 0;  // page aligned: the span of the image regions
  uint64_t input_base = 0, output_base = 0, heap_base = 0, stack_base = 0;
  uint64_t page_table_base = 0, page_table_size = 0;
  uint64_t memory_size = 0;     // guest physical memory: [0, memory_size)
  std::vector<Region> regions;  // sorted, disjoint; PEB, image, input, output, heap, stack

  uint64_t stack_top() const { return stack_base + config.stack_size; }
  bool operator==(const Layout&) const = default;
};

// Places the buffers, heap and stack after the image (with guard pages between) and the page tables
// after everything. `image_regions` must be sorted, page aligned, disjoint, at or above the image base.
// Errors name the inputs: kInvalidConfig on a config field ("heap_size"), kImageLayout on
// "image_regions" or "image_regions[j].guest_address" / ".flags".
Result<Layout> compute_layout(const SandboxConfig& config, std::vector<Region> image_regions);

// Checks a layout read from somewhere untrusted: equal to what compute_layout makes from its config
// and image regions. Errors name the layout's fields as a snapshot file does: kFieldOutOfRange on
// "config.heap_size", "regions[i].guest_address", "regions.count" or "layout.memory_size" for inputs
// compute_layout refuses; kLayoutMismatch on the first field that differs ("layout.heap_base",
// "regions[4].flags").
Status check_layout(const Layout& layout);

}  // namespace snapvm
