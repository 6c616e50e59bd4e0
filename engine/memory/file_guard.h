// file_guard.h: survive a snapshot file shrinking under a live mapping. Touching a mapped page past
// the file's new end raises SIGBUS; for ranges registered here the handler maps a zero page in its
// place and marks the range tripped, so the host carries on and the owner reports kFileChanged
// (and poisons the sandbox) instead of the process dying. Other SIGBUSes go to the previous handler.
#pragma once

#include <cstddef>
#include <utility>

namespace snapvm {

class FileGuard {
 public:
  FileGuard() = default;
  // Registers [addr, addr + size). With no free slot left the range is simply not guarded.
  static FileGuard protect(const void* addr, size_t size);
  FileGuard(FileGuard&& o) noexcept : slot_(std::exchange(o.slot_, -1)) {}
  FileGuard& operator=(FileGuard&& o) noexcept {
    if (this != &o) {
      release();
      slot_ = std::exchange(o.slot_, -1);
    }
    return *this;
  }
  FileGuard(const FileGuard&) = delete;
  FileGuard& operator=(const FileGuard&) = delete;
  ~FileGuard() { release(); }

  // True once a page of the range was found past the end of its file (and now reads as zeros).
  bool tripped() const;

 private:
  explicit FileGuard(int slot) : slot_(slot) {}
  void release();
  int slot_ = -1;
};

}  // namespace snapvm
