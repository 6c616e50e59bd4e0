// atomic_file.h: the one way snapvm writes a file a user keeps (snapshot files, the CLI's mutants,
// artifacts and reports, the fuzz seeds): a temporary file beside the target, written, fsync()ed,
// renamed over the target, then the directory fsync()ed. The target is at every moment either the
// old file or the complete new one, whatever kills the writer.
//
// The temporary is `.<target name>.tmp-<16 hex digits>` in the target's directory. A failed save
// unlinks it. A writer killed outright (SIGKILL, power loss) leaves it behind: the next save of the
// same target removes every such temporary that no live writer holds (writers hold an flock(2) on
// theirs until the rename), so stale temporaries never pile up and a concurrent save is never hurt.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <span>
#include <string_view>

#include "memory/mapping.h"
#include "snapvm/error.h"
#include "snapvm/result.h"

namespace snapvm::detail {

// The system calls of a save, in the order they happen: create, truncate (snapshot files), write
// (one per pwrite(2) call), fsync of the file, rename over the target, fsync of the directory.
enum class FileOp : uint8_t { kCreate, kTruncate, kWrite, kFsync, kRename, kFsyncDir };
const char* file_op_name(FileOp op);

// Test seam (crash_test.cpp): called before each operation with the path it acts on (the temporary;
// the target for kRename; the directory for kFsyncDir). For kWrite, `length` holds the bytes about to
// be written and the hook may lower it (a short write, which the writer must finish). A non-zero
// return fails the operation with that errno without running it. One hook per process; empty: none.
using FileOpHook = std::function<int(FileOp op, const std::filesystem::path& path, uint64_t& length)>;
void set_file_op_hook(FileOpHook hook);

// Whether `name` is a temporary that a save of `target_name` creates.
bool is_temporary_for(std::string_view target_name, std::string_view name);

enum class Durability : uint8_t { kDurable, kAtomicOnly };

class AtomicFile {
 public:
  // Removes the target's stale temporaries, then creates and locks a new one.
  static Result<AtomicFile> create(const std::filesystem::path& target);
  AtomicFile(AtomicFile&& o) noexcept;
  AtomicFile& operator=(AtomicFile&&) = delete;
  ~AtomicFile();  // unlinks the temporary unless commit() renamed it

  const std::filesystem::path& temporary() const { return path_; }
  Status truncate(uint64_t size);
  // All `size` bytes at `offset` (short writes and EINTR retried).
  Status pwrite(const uint8_t* data, uint64_t size, uint64_t offset);
  // fsync, rename over the target, fsync the directory. After a failed directory fsync the new file
  // is in place but maybe not durable (the error says so). kAtomicOnly skips both fsyncs: the rename is
  // still atomic for every process (a killed writer never leaves a partial target), only a power cut
  // may lose the file; for many files written in one go, synced once at the end (sync_directory).
  Status commit(Durability durability = Durability::kDurable);

 private:
  AtomicFile() = default;
  std::filesystem::path dir_, target_, path_;
  UniqueFd fd_;
};

// The whole file in one go, through AtomicFile.
Status write_file_atomically(const std::filesystem::path& path, std::span<const uint8_t> bytes,
                             Durability durability = Durability::kDurable);
Status write_file_atomically(const std::filesystem::path& path, std::string_view text,
                             Durability durability = Durability::kDurable);
// syncfs(2) of the filesystem holding `dir`: makes the kAtomicOnly files written there durable.
Status sync_directory(const std::filesystem::path& dir);

}  // namespace snapvm::detail
