// layout.cpp: the guest memory layout from a configuration and the image's regions.
#include "snapvm/layout.h"

#include <cstdio>
#include <string>

#include "memory/page_tables.h"
#include "snapvm/abi/layout.h"

namespace snapvm {

namespace {
constexpr uint64_t kPage = abi::kPageSize;
constexpr uint64_t kGuard = kPage;

bool page_aligned(uint64_t v) { return v % kPage == 0; }

Status check_bound(const char* field, uint64_t value, uint64_t min, uint64_t max) {
  if (!page_aligned(value) || value < min || value > max) {
    Error e = make_error(ErrorCode::kInvalidConfig, field,
                         "expected a multiple of 4096 in [" + std::to_string(min) + ", " + std::to_string(max) + "]");
    e.value = value;
    return e;
  }
  return {};
}

// Adds `size` to `cursor`, failing on overflow or past the memory cap.
Status advance(uint64_t& cursor, uint64_t size, const char* what) {
  if (size > kMaxGuestMemory || cursor > kMaxGuestMemory - size) {
    Error e = make_error(ErrorCode::kInvalidConfig, what, "guest memory would exceed the 64 GiB cap");
    e.value = size;
    return e;
  }
  cursor += size;
  return {};
}
}  // namespace

std::string_view region_kind_name(RegionKind kind) {
  switch (kind) {
    case RegionKind::kPeb:
      return "peb";
    case RegionKind::kImage:
      return "image";
    case RegionKind::kInput:
      return "input";
    case RegionKind::kOutput:
      return "output";
    case RegionKind::kHeap:
      return "heap";
    case RegionKind::kStack:
      return "stack";
  }
  return "unknown";
}

std::string region_flags_string(uint32_t flags) {
  std::string s = "---";
  if (flags & kRegionRead) s[0] = 'r';
  if (flags & kRegionWrite) s[1] = 'w';
  if (flags & kRegionExecute) s[2] = 'x';
  return s;
}

Status SandboxConfig::validate() const {
  TRY(check_bound("heap_size", heap_size, kMinHeap, kMaxHeap));
  TRY(check_bound("stack_size", stack_size, kMinStack, kMaxStack));
  TRY(check_bound("input_size", input_size, kMinBuffer, kMaxBuffer));
  TRY(check_bound("output_size", output_size, kMinBuffer, kMaxBuffer));
  return {};
}

Result<Layout> compute_layout(const SandboxConfig& config, std::vector<Region> image_regions) {
  TRY(config.validate());
  if (image_regions.empty())
    return make_error(ErrorCode::kElfMalformed, "segments", "the image has no loadable segment");
  if (image_regions.size() > kMaxRegions - 5) {
    Error e = make_error(ErrorCode::kElfUnsupported, "segments", "too many loadable segments");
    e.value = image_regions.size();
    return e;
  }
  Layout layout;
  layout.config = config;
  layout.image_base = image_regions.front().guest_address;
  uint64_t previous_end = abi::kDefaultImageBase;
  bool any_executable = false;
  for (const Region& r : image_regions) {
    if (!page_aligned(r.guest_address) || !page_aligned(r.size) || r.size == 0 || r.guest_address < previous_end ||
        r.guest_address > kMaxGuestMemory || r.size > kMaxGuestMemory - r.guest_address) {
      Error e = make_error(ErrorCode::kElfMalformed, "segment",
                           "segments must be page aligned, sorted, disjoint and at or above 0x100000");
      e.value = r.guest_address;
      return e;
    }
    if ((r.flags & ~kKnownRegionFlags) != 0 || ((r.flags & kRegionWrite) && (r.flags & kRegionExecute))) {
      Error e = make_error(ErrorCode::kElfUnsupported, "segment flags", "writable and executable segments are refused");
      e.value = r.guest_address;
      return e;
    }
    any_executable |= (r.flags & kRegionExecute) != 0;
    previous_end = r.end();
  }
  if (!any_executable) return make_error(ErrorCode::kElfMalformed, "segments", "no executable segment");
  layout.image_end = previous_end;

  layout.regions.push_back(Region{abi::kPebAddress, kPage, kRegionRead | kRegionWrite, RegionKind::kPeb});
  for (Region& r : image_regions) {
    r.kind = RegionKind::kImage;
    layout.regions.push_back(r);
  }

  uint64_t cursor = layout.image_end;
  auto place = [&](uint64_t& base, uint64_t size, RegionKind kind, const char* what) -> Status {
    TRY(advance(cursor, kGuard, what));
    base = cursor;
    TRY(advance(cursor, size, what));
    layout.regions.push_back(Region{base, size, kRegionRead | kRegionWrite, kind});
    return {};
  };
  TRY(place(layout.input_base, config.input_size, RegionKind::kInput, "input_size"));
  TRY(place(layout.output_base, config.output_size, RegionKind::kOutput, "output_size"));
  TRY(place(layout.heap_base, config.heap_size, RegionKind::kHeap, "heap_size"));
  TRY(place(layout.stack_base, config.stack_size, RegionKind::kStack, "stack_size"));
  TRY(advance(cursor, kGuard, "stack guard"));

  layout.page_table_base = cursor;
  layout.page_table_size = page_table_bytes(mapped_ranges(layout));
  TRY(advance(cursor, layout.page_table_size, "page tables"));
  layout.memory_size = cursor;
  return layout;
}

Status check_layout(const Layout& layout) {
  std::vector<Region> image;
  for (const Region& r : layout.regions) {
    if (r.kind == RegionKind::kImage) image.push_back(r);
  }
  Layout expected = TRY(compute_layout(layout.config, image));
  auto mismatch = [](const std::string& field, uint64_t got, uint64_t want) {
    Error e = make_error(ErrorCode::kFieldOutOfRange, field, "expected " + hex(want) + " by the layout rules");
    e.value = got;
    return e;
  };
#define SNAPVM_CHECK_FIELD(f) \
  if (layout.f != expected.f) return mismatch("layout." #f, layout.f, expected.f)
  SNAPVM_CHECK_FIELD(image_base);
  SNAPVM_CHECK_FIELD(image_end);
  SNAPVM_CHECK_FIELD(input_base);
  SNAPVM_CHECK_FIELD(output_base);
  SNAPVM_CHECK_FIELD(heap_base);
  SNAPVM_CHECK_FIELD(stack_base);
  SNAPVM_CHECK_FIELD(page_table_base);
  SNAPVM_CHECK_FIELD(page_table_size);
  SNAPVM_CHECK_FIELD(memory_size);
#undef SNAPVM_CHECK_FIELD
  if (layout.regions.size() != expected.regions.size()) {
    return mismatch("regions.count", layout.regions.size(), expected.regions.size());
  }
  for (size_t i = 0; i < layout.regions.size(); ++i) {
    const Region& a = layout.regions[i];
    const Region& b = expected.regions[i];
    std::string field = "regions[" + std::to_string(i) + "]";
    if (a.guest_address != b.guest_address) return mismatch(field + ".guest_address", a.guest_address, b.guest_address);
    if (a.size != b.size) return mismatch(field + ".size", a.size, b.size);
    if (a.flags != b.flags) return mismatch(field + ".flags", a.flags, b.flags);
    if (a.kind != b.kind)
      return mismatch(field + ".kind", static_cast<uint64_t>(a.kind), static_cast<uint64_t>(b.kind));
  }
  return {};
}

}  // namespace snapvm
