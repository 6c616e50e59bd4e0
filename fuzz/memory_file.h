// memory_file.h: fuzz inputs as files without touching the disk: one memfd per process, rewritten
// for every input and opened by path (/proc/self/fd/N), so Snapshot::from_file runs its real
// open/fstat/pread/mmap path.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace snapvm::fuzz {

// Replaces the in-memory file's contents with `data` and returns its path. Aborts if the memfd
// cannot be made or written (the environment is broken, not the input).
const std::string& memory_file(const uint8_t* data, size_t size);

}  // namespace snapvm::fuzz
