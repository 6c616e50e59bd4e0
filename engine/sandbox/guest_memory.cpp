// guest_memory.cpp: the guest memory reservation and its bounds-checked host access.
#include "sandbox/guest_memory.h"

#include <sys/mman.h>

#include <cerrno>
#include <cstring>

namespace snapvm::detail {

Result<GuestMemory> GuestMemory::create(uint64_t size) {
  auto m = Mapping::anonymous(size, PROT_READ | PROT_WRITE);
  if (!m) return std::move(m).error();
  return GuestMemory(std::move(*m));
}

Status GuestMemory::map_private(uint64_t guest_address, uint64_t size, int fd, uint64_t file_offset) {
  if (guest_address > this->size() || size > this->size() - guest_address) {
    Error e = make_error(ErrorCode::kFieldOutOfRange, "region", "outside guest memory");
    e.value = guest_address;
    return e;
  }
  void* want = mapping_.data() + guest_address;
  void* got = ::mmap(want, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_FIXED | MAP_NORESERVE, fd,
                     static_cast<off_t>(file_offset));
  if (got == MAP_FAILED) return errno_error(ErrorCode::kSyscall, "mmap(MAP_PRIVATE|MAP_FIXED)", errno);
  guards_.push_back(FileGuard::protect(want, size));
  return {};
}

bool GuestMemory::file_changed() const {
  for (const FileGuard& g : guards_) {
    if (g.tripped()) return true;
  }
  return false;
}

Result<std::span<uint8_t>> GuestMemory::range(uint64_t address, uint64_t length, const char* what) const {
  if (address > size() || length > size() - address) {
    Error e = make_error(ErrorCode::kGuestProtocol, what, "outside guest memory");
    e.value = address;
    return e;
  }
  return std::span<uint8_t>(mapping_.data() + address, length);
}

Result<uint64_t> GuestMemory::read_u64(uint64_t address) const {
  auto r = TRY(range(address, 8, "u64"));
  uint64_t v;
  std::memcpy(&v, r.data(), 8);
  return v;
}

}  // namespace snapvm::detail
