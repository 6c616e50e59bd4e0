// memory_blob.cpp: sparse memfd blobs for in-memory snapshots and file-backed blobs for loaded files.
#include "snapshot/memory_blob.h"

#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>

#include "memory/fd_io.h"
#include "memory/page_bitmap.h"
#include "snapvm/abi/layout.h"
#include "snapvm/layout.h"

namespace snapvm::detail {

namespace {
constexpr uint64_t kPage = abi::kPageSize;

}  // namespace

bool is_zero_page(const uint8_t* page) {
  // Eight words per step: the compiler vectorises the OR; the early exit keeps non-zero pages cheap.
  for (uint64_t at = 0; at < kPage; at += 64) {
    uint64_t w[8];
    std::memcpy(w, page + at, sizeof w);
    if ((w[0] | w[1] | w[2] | w[3] | w[4] | w[5] | w[6] | w[7]) != 0) return false;
  }
  return true;
}

Result<MemoryBlob> make_memory_blob(const std::vector<std::span<const uint8_t>>& regions,
                                    const std::vector<uint64_t>* may_hold_data) {
  uint64_t total = 0;
  std::vector<uint64_t> offsets;
  offsets.reserve(regions.size());
  for (size_t i = 0; i < regions.size(); ++i) {
    uint64_t size = regions[i].size();
    if (size == 0 || size % kPage != 0 || total > kMaxGuestMemory - size) {
      Error e = make_error(ErrorCode::kInvalidConfig, "regions[" + std::to_string(i) + "].size",
                           "expected a non-zero page multiple, all regions within 64 GiB");
      e.value = size;
      return e;
    }
    offsets.push_back(total);
    total += size;
  }
  if (total == 0) return make_error(ErrorCode::kInvalidConfig, "regions", "a memory blob needs at least one region");

  UniqueFd fd(::memfd_create("snapvm-snapshot", MFD_CLOEXEC));
  if (!fd.valid()) return errno_error(ErrorCode::kSyscall, "memfd_create", errno);
  if (::ftruncate(fd.get(), static_cast<off_t>(total)) != 0)
    return errno_error(ErrorCode::kSyscall, "ftruncate(memfd)", errno);

  if (may_hold_data != nullptr && may_hold_data->size() * 64 < total / kPage) {
    Error e = make_error(ErrorCode::kInvalidConfig, "may_hold_data", "the page bitmap is shorter than the blob");
    e.value = may_hold_data->size();
    return e;
  }
  // A page is read only if it may hold data; of those, all-zero ones stay holes and cost no memory.
  // Runs of consecutive non-zero pages are written with one pwrite each.
  for (size_t i = 0; i < regions.size(); ++i) {
    const uint8_t* src = regions[i].data();
    const uint64_t pages = regions[i].size() / kPage, first = offsets[i] / kPage;
    uint64_t run = 0, run_end = 0;  // [run, run_end): pages of this region waiting to be written
    Status written;
    auto flush = [&]() {
      if (run_end > run && written) {
        written = pwrite_all(fd.get(), src + run * kPage, (run_end - run) * kPage, offsets[i] + run * kPage,
                             ErrorCode::kSyscall, "pwrite(memfd)");
      }
      run = run_end = 0;
    };
    auto visit = [&](uint64_t p) {
      if (is_zero_page(src + p * kPage)) return;
      if (p != run_end || run == run_end) {  // not contiguous with the run (or no run yet)
        flush();
        run = p;
      }
      run_end = p + 1;
    };
    if (may_hold_data == nullptr) {
      for (uint64_t p = 0; p < pages; ++p) visit(p);
    } else {
      for_each_set_page(*may_hold_data, first, first + pages, [&](uint64_t blob_page) { visit(blob_page - first); });
    }
    flush();
    TRY(written);
  }

  Mapping mapping = TRY(Mapping::file(fd.get(), 0, total, PROT_READ, MAP_SHARED));
  MemoryBlob blob;
  blob.fd = std::move(fd);
  blob.file_offset = 0;
  blob.size = total;
  blob.mapping = std::move(mapping);
  blob.region_offsets = std::move(offsets);
  return blob;
}

Result<MemoryBlob> map_memory_blob(UniqueFd fd, uint64_t file_offset, uint64_t size,
                                   std::vector<uint64_t> region_offsets) {
  if (size == 0 || file_offset % kPage != 0 || file_offset > UINT64_MAX - size) {
    Error e = make_error(ErrorCode::kFieldOutOfRange, "blob", "expected a page-aligned offset and a non-zero size");
    e.offset = file_offset;
    e.value = size;
    return e;
  }
  Mapping mapping = TRY(Mapping::file(fd.get(), file_offset, size, PROT_READ, MAP_PRIVATE));
  // The file may have been truncated between validation and mmap: touching the missing pages would
  // SIGBUS, so check again now that the mapping exists.
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return errno_error(ErrorCode::kSyscall, "fstat", errno);
  if (static_cast<uint64_t>(st.st_size) < file_offset + size) {
    Error e = make_error(
        ErrorCode::kFileChanged, "file size",
        "the file shrank below the end of the memory blob (" + hex(file_offset + size) + ") after it was validated");
    e.value = static_cast<uint64_t>(st.st_size);
    return e;
  }
  MemoryBlob blob;
  blob.fd = std::move(fd);
  blob.file_offset = file_offset;
  blob.size = size;
  blob.mapping = std::move(mapping);
  blob.guard = FileGuard::protect(blob.mapping.data(), size);
  blob.region_offsets = std::move(region_offsets);
  return blob;
}

Status for_each_extent(int fd, uint64_t offset, uint64_t size,
                       const std::function<Status(uint64_t, uint64_t, bool)>& fn) {
  const uint64_t end = offset + size;
  uint64_t pos = offset;
  while (pos < end) {
    off_t data = ::lseek(fd, static_cast<off_t>(pos), SEEK_DATA);
    if (data < 0) {
      if (errno == ENXIO) {
        data = static_cast<off_t>(end);  // nothing but a hole up to the end of the file
      } else {
        return fn(pos - offset, end - pos, true);  // no SEEK_DATA here: treat the rest as data
      }
    }
    uint64_t data_at = std::min<uint64_t>(static_cast<uint64_t>(data), end);
    if (data_at > pos) {
      TRY(fn(pos - offset, data_at - pos, false));
      pos = data_at;
    }
    if (pos >= end) break;
    off_t hole = ::lseek(fd, static_cast<off_t>(pos), SEEK_HOLE);
    uint64_t hole_at = hole < 0 ? end : std::min<uint64_t>(static_cast<uint64_t>(hole), end);
    if (hole_at <= pos) hole_at = end;  // never loop without progress
    TRY(fn(pos - offset, hole_at - pos, true));
    pos = hole_at;
  }
  return {};
}

}  // namespace snapvm::detail
