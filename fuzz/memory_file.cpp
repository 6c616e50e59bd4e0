// memory_file.cpp: the per-process memfd behind memory_file().
#include "fuzz/memory_file.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace snapvm::fuzz {

namespace {
[[noreturn]] void die(const char* what) {
  std::fprintf(stderr, "memory_file: %s: %s\n", what, std::strerror(errno));
  std::abort();
}

struct MemFd {
  int fd = -1;
  std::string path;
  MemFd() {
    fd = ::memfd_create("snapvm-fuzz-input", MFD_CLOEXEC);
    if (fd < 0) die("memfd_create");
    path = "/proc/self/fd/" + std::to_string(fd);
  }
};
}  // namespace

const std::string& memory_file(const uint8_t* data, size_t size) {
  static MemFd file;
  // Truncating first drops the previous input's pages; a snapshot still mapping them is gone by now.
  if (::ftruncate(file.fd, 0) != 0) die("ftruncate");
  size_t done = 0;
  while (done < size) {
    ssize_t n = ::pwrite(file.fd, data + done, size - done, static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) die("pwrite");
    done += static_cast<size_t>(n);
  }
  return file.path;
}

}  // namespace snapvm::fuzz
