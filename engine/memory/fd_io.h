// fd_io.h: positional writes that finish the job (short writes and EINTR retried), with the error
// naming what was written.
#pragma once

#include <cstdint>

#include "snapvm/error.h"
#include "snapvm/result.h"

namespace snapvm::detail {

// Writes all `size` bytes at `offset`; an error is `code` with `what` (e.g. "pwrite(memfd)") and errno.
Status pwrite_all(int fd, const uint8_t* data, uint64_t size, uint64_t offset, ErrorCode code, const char* what);

}  // namespace snapvm::detail
