// mapping.cpp: mmap/munmap and close behind RAII.
#include "memory/mapping.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>

namespace snapvm {

void UniqueFd::reset(int fd) {
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
}

Result<Mapping> Mapping::anonymous(size_t size, int prot) {
  void* p = ::mmap(nullptr, size, prot, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) return errno_error(ErrorCode::kSyscall, "mmap(anonymous)", errno);
  return Mapping(p, size);
}

Result<Mapping> Mapping::file(int fd, uint64_t offset, size_t size, int prot, int flags) {
  void* p = ::mmap(nullptr, size, prot, flags, fd, static_cast<off_t>(offset));
  if (p == MAP_FAILED) return errno_error(ErrorCode::kSyscall, "mmap(file)", errno);
  return Mapping(p, size);
}

void Mapping::reset() {
  if (addr_ != nullptr) ::munmap(addr_, size_);
  addr_ = nullptr;
  size_ = 0;
}

}  // namespace snapvm
