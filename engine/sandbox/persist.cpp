// persist.cpp: snapshot capture and restore.
#include "sandbox/persist.h"

#include <cstring>
#include <vector>

#include "memory/page_bitmap.h"
#include "sandbox/vm_assembly.h"
#include "snapshot/memory_blob.h"
#include "snapshot/platform.h"
#include "snapshot/snapshot_data.h"
#include "snapvm/abi/layout.h"
#include "snapvm/abi/ports.h"

namespace snapvm::detail {

namespace {

// One bit per page of the base's blob: set where memory may hold data now. Since the base was taken,
// restored or loaded, memory differs from it only in the pages written since (the invariant restore
// relies on too). So a page may hold data only if the base's blob has data there or it was written
// since; every other page is zero and need not be read.
Result<std::vector<uint64_t>> pages_that_may_hold_data(const MemoryBlob& blob, const Layout& layout,
                                                       const DirtyTracker& dirty) {
  std::vector<uint64_t> bits(page_bitmap_words(blob.size / abi::kPageSize), 0);
  TRY(for_each_extent(blob.fd.get(), blob.file_offset, blob.size,
                      [&](uint64_t at, uint64_t length, bool data) -> Status {
                        if (data) {
                          for (uint64_t page = at / abi::kPageSize;
                               page < (at + length + abi::kPageSize - 1) / abi::kPageSize; ++page) {
                            set_page(bits, page);
                          }
                        }
                        return {};
                      }));
  for (size_t i = 0; i < layout.regions.size(); ++i) {
    const Region& r = layout.regions[i];
    const uint64_t first = r.guest_address / abi::kPageSize, last = first + r.size / abi::kPageSize;
    const uint64_t blob_first = blob.region_offsets[i] / abi::kPageSize;
    dirty.for_each_dirty_page(first, last, [&](uint64_t page) { set_page(bits, blob_first + (page - first)); });
  }
  return bits;
}

// Copies the dirty pages back from the base's blob: restore costs what the guest changed.
uint64_t copy_back_dirty_pages(const PersistParts& parts, const MemoryBlob& blob) {
  uint64_t pages = 0;
  for (size_t i = 0; i < parts.layout.regions.size(); ++i) {
    const Region& r = parts.layout.regions[i];
    const uint8_t* src = blob.mapping.data() + blob.region_offsets[i];
    uint8_t* dst = parts.memory.host_base() + r.guest_address;
    const uint64_t first = r.guest_address / abi::kPageSize, last = first + r.size / abi::kPageSize;
    parts.dirty.for_each_dirty_page(first, last, [&](uint64_t page) {
      std::memcpy(dst + (page - first) * abi::kPageSize, src + (page - first) * abi::kPageSize, abi::kPageSize);
      ++pages;
    });
  }
  return pages;
}
}  // namespace

void load_program(GuestProgram& program, const SnapshotData& data) {
  program.stage = data.meta.stage;
  program.entrypoint = data.meta.entrypoint;
  program.dispatch = data.meta.dispatch;
  program.manifest.guest_functions = data.meta.guest_functions;
  program.manifest.host_functions = data.meta.host_functions;
}

bool snapshot_file_shrank(const SnapshotData& data) { return data.memory.guard.tripped(); }

Result<std::shared_ptr<SnapshotData>> capture(const PersistParts& parts, const GuestProgram& program, uint64_t lineage,
                                              const SnapshotData* base) {
  VcpuState state = TRY(parts.vcpu.get_state());
  std::vector<std::span<const uint8_t>> regions;
  for (const Region& r : parts.layout.regions) {
    regions.emplace_back(parts.memory.host_base() + r.guest_address, r.size);
  }
  TRY(parts.dirty.collect(parts.vm));
  std::optional<std::vector<uint64_t>> may_hold_data;
  if (base != nullptr) may_hold_data = TRY(pages_that_may_hold_data(base->memory, parts.layout, parts.dirty));
  MemoryBlob blob = TRY(make_memory_blob(regions, may_hold_data ? &*may_hold_data : nullptr));
  auto data = std::make_shared<SnapshotData>();
  data->meta.stage = program.stage;
  data->meta.abi_version = abi::kAbiVersion;
  data->meta.layout = parts.layout;
  data->meta.entrypoint = program.entrypoint;
  data->meta.dispatch = program.dispatch;
  data->meta.vcpu = state;
  data->meta.guest_functions = program.manifest.guest_functions;
  data->meta.host_functions = program.manifest.host_functions;
  data->meta.cpu_vendor = format::host_cpu_vendor();
  data->memory = std::move(blob);
  data->lineage = lineage;
  return data;
}

Result<uint64_t> restore_state(const PersistParts& parts, const SnapshotData& data, bool is_base) {
  if (!(data.meta.layout == parts.layout)) {
    return make_error(ErrorCode::kSnapshotMismatch, "layout",
                      "the snapshot was taken of a sandbox with another layout");
  }
  TRY(parts.dirty.collect(parts.vm));
  uint64_t pages = 0;
  if (is_base) {
    // Only the pages written since this snapshot was taken or last restored differ from it.
    pages = copy_back_dirty_pages(parts, data.memory);
  } else {
    // Another snapshot: map its regions over ours, copy-on-write, as a cold start would.
    parts.memory.clear_file_guards();
    TRY(map_snapshot_regions(parts.memory, parts.layout, data.memory));
    for (const Region& r : parts.layout.regions) pages += r.size / abi::kPageSize;
  }
  TRY(parts.vcpu.set_state(data.meta.vcpu));
  return pages;
}

}  // namespace snapvm::detail
