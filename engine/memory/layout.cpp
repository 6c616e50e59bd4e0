// layout.cpp: the guest memory layout from a configuration and the image's regions.
#include "snapvm/layout.h"

#include <cstdio>
#include <functional>
#include <string>

#include "memory/page_tables.h"
#include "snapvm/abi/layout.h"

namespace snapvm {

namespace {
constexpr uint64_t kGuard = abi::kPageSize;

bool page_aligned(uint64_t v) { return v % abi::kPageSize == 0; }

// Who a layout problem is reported to. compute_layout speaks of its inputs (a configuration with
// bare field names, "image_regions[1].guest_address"); check_layout of the layout's own fields as a
// snapshot file names them ("config.heap_size", "regions[2].guest_address", "layout.memory_size").
struct Naming {
  ErrorCode config_code;
  const char* config_prefix;
  ErrorCode image_code;
  const char* image_count;                                      // the field naming the image as a whole
  std::function<std::string(size_t, const char*)> image_field;  // image region j's member
  const char* memory_field;  // the guard and page tables past the cap; nullptr: name them as such
};

Error layout_error(ErrorCode code, std::string field, uint64_t value, std::string detail) {
  Error e = make_error(code, std::move(field), std::move(detail));
  e.value = value;
  return e;
}

const Naming& input_naming() {
  static const Naming n{
      ErrorCode::kInvalidConfig,
      "",
      ErrorCode::kImageLayout,
      "image_regions",
      [](size_t j, const char* member) { return "image_regions[" + std::to_string(j) + "]." + member; },
      nullptr};
  return n;
}

Status check_bound(const Naming& n, const char* field, uint64_t value, uint64_t min, uint64_t max) {
  if (!page_aligned(value) || value < min || value > max) {
    return layout_error(n.config_code, std::string(n.config_prefix) + field, value,
                        "expected a multiple of 4096 in [" + std::to_string(min) + ", " + std::to_string(max) + "]");
  }
  return {};
}

Status check_config(const SandboxConfig& c, const Naming& n) {
  TRY(check_bound(n, "heap_size", c.heap_size, SandboxConfig::kMinHeap, SandboxConfig::kMaxHeap));
  TRY(check_bound(n, "stack_size", c.stack_size, SandboxConfig::kMinStack, SandboxConfig::kMaxStack));
  TRY(check_bound(n, "input_size", c.input_size, SandboxConfig::kMinBuffer, SandboxConfig::kMaxBuffer));
  TRY(check_bound(n, "output_size", c.output_size, SandboxConfig::kMinBuffer, SandboxConfig::kMaxBuffer));
  return {};
}

// Sorted, page aligned, disjoint, at or above the image base, never writable and executable, at
// least one executable, room for the five regions snapvm adds.
Status check_image(const std::vector<Region>& image, const Naming& n) {
  if (image.empty()) return layout_error(n.image_code, n.image_count, 0, "the image has no region");
  if (image.size() > kMaxRegions - 5) {
    return layout_error(n.image_code, n.image_count, image.size(),
                        "at most " + std::to_string(kMaxRegions - 5) + " image regions");
  }
  uint64_t previous_end = abi::kDefaultImageBase;
  bool any_executable = false;
  for (size_t j = 0; j < image.size(); ++j) {
    const Region& r = image[j];
    if (!page_aligned(r.guest_address) || !page_aligned(r.size) || r.size == 0 || r.guest_address < previous_end ||
        r.guest_address > kMaxGuestMemory || r.size > kMaxGuestMemory - r.guest_address) {
      return layout_error(
          n.image_code, n.image_field(j, "guest_address"), r.guest_address,
          "image regions page aligned, sorted, disjoint and at or above " + hex(abi::kDefaultImageBase));
    }
    if ((r.flags & ~kKnownRegionFlags) != 0 || ((r.flags & kRegionWrite) && (r.flags & kRegionExecute))) {
      return layout_error(n.image_code, n.image_field(j, "flags"), r.flags,
                          "known flags, never writable and executable together");
    }
    any_executable |= (r.flags & kRegionExecute) != 0;
    previous_end = r.end();
  }
  if (!any_executable) return layout_error(n.image_code, n.image_count, 0, "an executable image region");
  return {};
}

// Adds `size` to `cursor`, failing on overflow or past the memory cap. `what` names a config field,
// or (`system`) the stack guard or the page tables.
Status advance(const Naming& n, uint64_t& cursor, uint64_t size, const char* what, bool system) {
  if (size > kMaxGuestMemory || cursor > kMaxGuestMemory - size) {
    std::string field = !system ? std::string(n.config_prefix) + what : n.memory_field ? n.memory_field : what;
    return layout_error(n.config_code, std::move(field), size, "guest memory would exceed the 64 GiB cap");
  }
  cursor += size;
  return {};
}

Result<Layout> lay_out(const SandboxConfig& config, std::vector<Region> image_regions, const Naming& n) {
  TRY(check_config(config, n));
  TRY(check_image(image_regions, n));
  Layout layout;
  layout.config = config;
  layout.image_base = image_regions.front().guest_address;
  layout.image_end = image_regions.back().end();

  layout.regions.push_back(Region{abi::kPebAddress, abi::kPageSize, kRegionRead | kRegionWrite, RegionKind::kPeb});
  for (Region& r : image_regions) {
    r.kind = RegionKind::kImage;
    layout.regions.push_back(r);
  }

  uint64_t cursor = layout.image_end;
  auto place = [&](uint64_t& base, uint64_t size, RegionKind kind, const char* what) -> Status {
    TRY(advance(n, cursor, kGuard, what, false));
    base = cursor;
    TRY(advance(n, cursor, size, what, false));
    layout.regions.push_back(Region{base, size, kRegionRead | kRegionWrite, kind});
    return {};
  };
  TRY(place(layout.input_base, config.input_size, RegionKind::kInput, "input_size"));
  TRY(place(layout.output_base, config.output_size, RegionKind::kOutput, "output_size"));
  TRY(place(layout.heap_base, config.heap_size, RegionKind::kHeap, "heap_size"));
  TRY(place(layout.stack_base, config.stack_size, RegionKind::kStack, "stack_size"));
  TRY(advance(n, cursor, kGuard, "stack guard", true));

  layout.page_table_base = cursor;
  layout.page_table_size = page_table_bytes(mapped_ranges(layout));
  TRY(advance(n, cursor, layout.page_table_size, "page tables", true));
  layout.memory_size = cursor;
  return layout;
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

Status SandboxConfig::validate() const { return check_config(*this, input_naming()); }

Result<Layout> compute_layout(const SandboxConfig& config, std::vector<Region> image_regions) {
  return lay_out(config, std::move(image_regions), input_naming());
}

Status check_layout(const Layout& layout) {
  std::vector<Region> image;
  std::vector<size_t> index;  // where each image region sits in layout.regions
  for (size_t k = 0; k < layout.regions.size(); ++k) {
    if (layout.regions[k].kind != RegionKind::kImage) continue;
    image.push_back(layout.regions[k]);
    index.push_back(k);
  }
  const Naming naming{
      ErrorCode::kFieldOutOfRange,
      "config.",
      ErrorCode::kFieldOutOfRange,
      "regions.count",
      [&](size_t j, const char* member) { return "regions[" + std::to_string(index[j]) + "]." + member; },
      "layout.memory_size"};
  Layout expected = TRY(lay_out(layout.config, std::move(image), naming));
  auto mismatch = [](const std::string& field, uint64_t got, uint64_t want) {
    return layout_error(ErrorCode::kLayoutMismatch, field, got, "expected " + hex(want) + " by the layout rules");
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
