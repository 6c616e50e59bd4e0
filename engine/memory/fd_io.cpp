#include "memory/fd_io.h"

#include <sys/types.h>
#include <unistd.h>

#include <cerrno>

namespace snapvm::detail {

Status pwrite_all(int fd, const uint8_t* data, uint64_t size, uint64_t offset, ErrorCode code, const char* what) {
  while (size > 0) {
    ssize_t n = ::pwrite(fd, data, size, static_cast<off_t>(offset));
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno_error(code, what, errno);
    }
    data += n;
    size -= static_cast<uint64_t>(n);
    offset += static_cast<uint64_t>(n);
  }
  return {};
}

}  // namespace snapvm::detail
