// atomic_file.cpp: AtomicFile (temporary beside the target, fsync, rename, fsync the directory) and
// the removal of temporaries that killed writers left behind. See atomic_file.h.
#include "snapshot/atomic_file.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <utility>

namespace snapvm::detail {

namespace {
constexpr std::string_view kTmpInfix = ".tmp-";
constexpr size_t kSuffixDigits = 16;

FileOpHook& hook() {
  static FileOpHook h;
  return h;
}

// 0, or the errno the test seam injects for `op`.
int before(FileOp op, const std::filesystem::path& path, uint64_t& length) {
  return hook() ? hook()(op, path, length) : 0;
}
int before(FileOp op, const std::filesystem::path& path) {
  uint64_t none = 0;
  return before(op, path, none);
}

std::string random_suffix() {
  uint64_t r = 0;
  if (::getrandom(&r, sizeof r, 0) != sizeof r)
    r = static_cast<uint64_t>(::getpid()) * 0x9e3779b97f4a7c15ull ^ reinterpret_cast<uintptr_t>(&r);
  char buf[kSuffixDigits + 1];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(r));
  return buf;
}

// Unlinks the temporaries of `target_name` in `dir` whose writer is gone (nobody holds their flock).
void remove_stale_temporaries(const std::filesystem::path& dir, const std::string& target_name) {
  UniqueFd dfd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dfd.valid()) return;  // create() reports the real problem
  DIR* d = ::fdopendir(::dup(dfd.get()));
  if (d == nullptr) return;
  std::vector<std::string> stale;
  while (const dirent* e = ::readdir(d)) {
    if (is_temporary_for(target_name, e->d_name)) stale.emplace_back(e->d_name);
  }
  ::closedir(d);
  for (const std::string& name : stale) {
    UniqueFd fd(::openat(dfd.get(), name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
    struct stat st {};
    if (!fd.valid() || ::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
    if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) continue;  // a live writer's
    ::unlinkat(dfd.get(), name.c_str(), 0);
  }
}
}  // namespace

const char* file_op_name(FileOp op) {
  switch (op) {
    case FileOp::kCreate:
      return "create";
    case FileOp::kTruncate:
      return "truncate";
    case FileOp::kWrite:
      return "write";
    case FileOp::kFsync:
      return "fsync";
    case FileOp::kRename:
      return "rename";
    case FileOp::kFsyncDir:
      return "fsync-dir";
  }
  return "?";
}

void set_file_op_hook(FileOpHook h) { hook() = std::move(h); }

bool is_temporary_for(std::string_view target_name, std::string_view name) {
  const size_t prefix = 1 + target_name.size() + kTmpInfix.size();
  if (name.size() != prefix + kSuffixDigits || name[0] != '.' || name.substr(1, target_name.size()) != target_name ||
      name.substr(1 + target_name.size(), kTmpInfix.size()) != kTmpInfix) {
    return false;
  }
  for (char c : name.substr(prefix)) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

Result<AtomicFile> AtomicFile::create(const std::filesystem::path& target) {
  const std::filesystem::path name = target.filename();
  if (name.empty() || name == "." || name == "..") {
    return make_error(ErrorCode::kIo, target.string(), "the path does not name a file");
  }
  AtomicFile t;
  t.dir_ = target.parent_path().empty() ? std::filesystem::path(".") : target.parent_path();
  t.target_ = target;
  remove_stale_temporaries(t.dir_, name.string());
  for (int attempt = 0;; ++attempt) {
    std::filesystem::path path = t.dir_ / ("." + name.string() + std::string(kTmpInfix) + random_suffix());
    if (int err = before(FileOp::kCreate, path)) return errno_error(ErrorCode::kIo, "create " + path.string(), err);
    UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
    if (!fd.valid()) {
      if (errno == EEXIST && attempt < 8) continue;
      return errno_error(ErrorCode::kIo, "create a temporary file in " + t.dir_.string(), errno);
    }
    // The lock marks the temporary as a live writer's. Between open and flock another save may have
    // taken it for stale and unlinked it: then start again under a new name.
    struct stat by_fd = {};
    struct stat by_name = {};
    const bool locked = ::flock(fd.get(), LOCK_EX) == 0;
    if (locked && ::fstat(fd.get(), &by_fd) == 0 && ::stat(path.c_str(), &by_name) == 0 &&
        by_fd.st_ino == by_name.st_ino && by_fd.st_dev == by_name.st_dev) {
      t.path_ = std::move(path);
      t.fd_ = std::move(fd);
      return t;
    }
    if (!locked) {
      int err = errno;
      ::unlink(path.c_str());
      return errno_error(ErrorCode::kIo, "flock " + path.string(), err);
    }
    if (attempt >= 8) return make_error(ErrorCode::kIo, path.string(), "the temporary file kept disappearing");
  }
}

AtomicFile::AtomicFile(AtomicFile&& o) noexcept
    : dir_(std::move(o.dir_)),
      target_(std::move(o.target_)),
      path_(std::exchange(o.path_, {})),
      fd_(std::move(o.fd_)) {}

AtomicFile::~AtomicFile() {
  if (!path_.empty()) ::unlink(path_.c_str());  // before the fd (and its lock) goes
  fd_.reset();
}

Status AtomicFile::truncate(uint64_t size) {
  if (int err = before(FileOp::kTruncate, path_))
    return errno_error(ErrorCode::kIo, "ftruncate " + path_.string(), err);
  if (::ftruncate(fd_.get(), static_cast<off_t>(size)) != 0) {
    return errno_error(ErrorCode::kIo, "ftruncate " + path_.string(), errno);
  }
  return {};
}

Status AtomicFile::pwrite(const uint8_t* data, uint64_t size, uint64_t offset) {
  while (size > 0) {
    uint64_t length = size;
    if (int err = before(FileOp::kWrite, path_, length)) {
      return errno_error(ErrorCode::kIo, "pwrite " + path_.string(), err);
    }
    ssize_t n = ::pwrite(fd_.get(), data, length, static_cast<off_t>(offset));
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno_error(ErrorCode::kIo, "pwrite " + path_.string(), errno);
    }
    if (n == 0) return make_error(ErrorCode::kIo, "pwrite " + path_.string(), "wrote nothing");
    data += n;
    size -= static_cast<uint64_t>(n);
    offset += static_cast<uint64_t>(n);
  }
  return {};
}

Status AtomicFile::commit(Durability durability) {
  const bool durable = durability == Durability::kDurable;
  if (durable) {
    if (int err = before(FileOp::kFsync, path_); err != 0 || ::fsync(fd_.get()) != 0) {
      return errno_error(ErrorCode::kIo, "fsync " + path_.string(), err != 0 ? err : errno);
    }
  }
  if (int err = before(FileOp::kRename, target_); err != 0 || ::rename(path_.c_str(), target_.c_str()) != 0) {
    return errno_error(ErrorCode::kIo, "rename to " + target_.string(), err != 0 ? err : errno);
  }
  path_.clear();  // renamed: nothing left to clean up
  fd_.reset();
  if (!durable) return {};
  int err = before(FileOp::kFsyncDir, dir_);
  UniqueFd dir(err != 0 ? -1 : ::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (err == 0 && (!dir.valid() || ::fsync(dir.get()) != 0)) err = errno;
  if (err != 0) {
    return errno_error(ErrorCode::kIo,
                       "fsync directory " + dir_.string() + " (the file is in place, maybe not durable)", err);
  }
  return {};
}

Status write_file_atomically(const std::filesystem::path& path, std::span<const uint8_t> bytes, Durability durability) {
  AtomicFile f = TRY(AtomicFile::create(path));
  TRY(f.pwrite(bytes.data(), bytes.size(), 0));
  return f.commit(durability);
}

Status write_file_atomically(const std::filesystem::path& path, std::string_view text, Durability durability) {
  return write_file_atomically(path, std::span(reinterpret_cast<const uint8_t*>(text.data()), text.size()), durability);
}

Status sync_directory(const std::filesystem::path& dir) {
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd.valid()) return errno_error(ErrorCode::kIo, "open " + dir.string(), errno);
  if (::syncfs(fd.get()) != 0) return errno_error(ErrorCode::kIo, "syncfs " + dir.string(), errno);
  return {};
}

}  // namespace snapvm::detail
