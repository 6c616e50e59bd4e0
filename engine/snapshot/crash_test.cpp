// crash_test.cpp: crash consistency of Snapshot::to_file and detail::write_file_atomically (the one
// write path, atomic_file.cpp). A save is interrupted at every system call and after N bytes (a
// forked child killed with SIGKILL from the test seam), made to fail at every call (injected errno),
// given short writes, and limited by RLIMIT_FSIZE; afterwards an existing target is byte-identical and
// still loads, a new target is absent or complete, and no temporary outlives the next save.
#include <fcntl.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <optional>

#include "snapshot/atomic_file.h"
#include "snapshot/test_snapshot.h"
#include "snapvm/snapshot.h"

namespace snapvm {
namespace {

namespace fs = std::filesystem;
using detail::FileOp;
using test_support::make_test_snapshot;
using test_support::TestSnapshotOptions;

std::vector<uint8_t> read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), {});
}

struct Op {
  FileOp op;
  fs::path path;
  uint64_t length;
};

// Installs a hook for the scope of a test (in the test process or a forked child).
struct ScopedHook {
  explicit ScopedHook(detail::FileOpHook h) { detail::set_file_op_hook(std::move(h)); }
  ~ScopedHook() { detail::set_file_op_hook({}); }
};

class CrashTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/snapvm-crash-test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    target_ = dir_ / "x.snap";
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  static const Snapshot& old_snapshot() {
    static const Snapshot s = make_test_snapshot(seeded(1)).value();
    return s;
  }
  static const Snapshot& new_snapshot() {
    static const Snapshot s = make_test_snapshot(seeded(2)).value();
    return s;
  }
  static TestSnapshotOptions seeded(uint64_t seed) {
    TestSnapshotOptions o;
    o.seed = seed;
    o.heap_size = 2 * kMiB;
    o.fill_heap = true;  // dense: the blob is written in several 1 MiB chunks
    return o;
  }
  static const std::vector<uint8_t>& new_bytes() {
    static const std::vector<uint8_t> b = test_support::encode_file(new_snapshot());
    return b;
  }
  static const std::vector<uint8_t>& old_bytes() {
    static const std::vector<uint8_t> b = test_support::encode_file(old_snapshot());
    return b;
  }
  void write_old_target() { ASSERT_TRUE(old_snapshot().to_file(target_).has_value()); }
  std::vector<std::string> entries() const {
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(dir_)) names.push_back(e.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
  }
  std::vector<std::string> temporaries() const {
    std::vector<std::string> t;
    for (const std::string& n : entries()) {
      if (detail::is_temporary_for("x.snap", n)) t.push_back(n);
    }
    return t;
  }
  // The operations of one successful save of new_snapshot() over an existing target.
  std::vector<Op> recorded_ops() {
    std::vector<Op> ops;
    {
      ScopedHook h([&](FileOp op, const fs::path& p, uint64_t& n) {
        ops.push_back({op, p, n});
        return 0;
      });
      EXPECT_TRUE(new_snapshot().to_file(target_).has_value());
    }
    return ops;
  }
  // Runs a save of new_snapshot() in a forked child with `hook`; returns the child's wait status.
  int save_in_child(const detail::FileOpHook& hook) {
    pid_t pid = ::fork();
    if (pid == 0) {
      detail::set_file_op_hook(hook);
      ::_exit(new_snapshot().to_file(target_).has_value() ? 0 : 1);
    }
    int status = 0;
    EXPECT_EQ(::waitpid(pid, &status, 0), pid);
    return status;
  }
  // The target holds exactly `want` and loads, digest verified.
  void expect_target(const std::vector<uint8_t>& want, const std::string& where) {
    EXPECT_TRUE(read_file(target_) == want) << where << ": the target is neither intact nor complete";
    auto loaded = Snapshot::from_file(target_);
    EXPECT_TRUE(loaded.has_value()) << where << ": " << loaded.error().to_string();
  }
  // The next save of the same target removes what a killed writer left, and succeeds.
  void expect_next_save_cleans_up(const std::string& where) {
    ASSERT_TRUE(new_snapshot().to_file(target_).has_value()) << where;
    EXPECT_EQ(entries(), std::vector<std::string>{"x.snap"}) << where;
    expect_target(new_bytes(), where + ", then saved again");
  }
  fs::path dir_, target_;
};

TEST_F(CrashTest, OperationsRunInCrashSafeOrder) {
  write_old_target();
  std::vector<Op> ops = recorded_ops();
  ASSERT_GE(ops.size(), 6u);
  const fs::path temp = ops[0].path;
  EXPECT_EQ(ops[0].op, FileOp::kCreate);
  EXPECT_EQ(temp.parent_path(), dir_) << "the temporary must be beside the target (same filesystem)";
  EXPECT_TRUE(detail::is_temporary_for("x.snap", temp.filename().string())) << temp;
  EXPECT_EQ(ops[1].op, FileOp::kTruncate);
  // write... fsync(file) rename fsync(dir), nothing else, each on the right path.
  const size_t n = ops.size();
  uint64_t written = 0;
  for (size_t i = 2; i + 3 < n; ++i) {
    EXPECT_EQ(ops[i].op, FileOp::kWrite) << i;
    EXPECT_EQ(ops[i].path, temp) << i;
    written += ops[i].length;
  }
  EXPECT_GT(written, 2 * kMiB);
  EXPECT_EQ(ops[n - 3].op, FileOp::kFsync);
  EXPECT_EQ(ops[n - 3].path, temp);
  EXPECT_EQ(ops[n - 2].op, FileOp::kRename);
  EXPECT_EQ(ops[n - 2].path, target_);
  EXPECT_EQ(ops[n - 1].op, FileOp::kFsyncDir);
  EXPECT_EQ(ops[n - 1].path, dir_);
  expect_target(new_bytes(), "after the save");
}

TEST_F(CrashTest, KilledBeforeEachOperationLeavesOldOrNewTarget) {
  write_old_target();
  const std::vector<Op> ops = recorded_ops();
  for (size_t kill_at = 0; kill_at <= ops.size(); ++kill_at) {
    const std::string where = kill_at < ops.size() ? std::string("killed before op ") + std::to_string(kill_at) + " (" +
                                                         detail::file_op_name(ops[kill_at].op) + ")"
                                                   : "not killed";
    ASSERT_TRUE(old_snapshot().to_file(target_).has_value());
    size_t seen = 0;
    int status = save_in_child([&](FileOp, const fs::path&, uint64_t&) {
      if (seen++ == kill_at) ::raise(SIGKILL);
      return 0;
    });
    if (kill_at < ops.size()) {
      ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << where;
    } else {
      ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << where;
    }
    // Until the rename has run the old file stands; from then on the complete new one.
    const bool renamed = kill_at > ops.size() - 2;
    expect_target(renamed ? new_bytes() : old_bytes(), where);
    EXPECT_LE(temporaries().size(), renamed ? 0u : 1u) << where;
    expect_next_save_cleans_up(where);
  }
}

TEST_F(CrashTest, KilledAfterNBytesLeavesTheOldTargetIntact) {
  write_old_target();
  uint64_t total = 0;  // what a save writes (zero pages stay holes)
  for (const Op& o : recorded_ops()) total += o.op == FileOp::kWrite ? o.length : 0;
  ASSERT_GT(total, 2 * kMiB);
  std::vector<uint64_t> cuts = {0,        1, 4095, 4096, 4097, 65536, 1 * kMiB, 1 * kMiB + 1, total / 2, total - 4096,
                                total - 1};
  for (bool existing : {true, false}) {
    for (uint64_t cut : cuts) {
      const std::string where = (existing ? "over an existing file" : "a new file") + std::string(", killed after ") +
                                std::to_string(cut) + " bytes";
      if (existing) {
        ASSERT_TRUE(old_snapshot().to_file(target_).has_value());
      } else {
        fs::remove(target_);
      }
      uint64_t written = 0;
      int status = save_in_child([&](FileOp op, const fs::path&, uint64_t& n) {
        if (op != FileOp::kWrite) return 0;
        if (written >= cut) ::raise(SIGKILL);
        n = std::min(n, cut - written);
        written += n;
        return 0;
      });
      ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << where;
      if (existing) {
        expect_target(old_bytes(), where);
      } else {
        EXPECT_FALSE(fs::exists(target_)) << where << ": a partial new file is visible";
      }
      EXPECT_EQ(temporaries().size(), 1u) << where << ": the killed writer's temporary";
      expect_next_save_cleans_up(where);
    }
  }
}

TEST_F(CrashTest, FailureAtEachOperationLeavesTheOldTargetAndNoTemporary) {
  write_old_target();
  const std::vector<Op> ops = recorded_ops();
  for (size_t fail_at = 0; fail_at < ops.size(); ++fail_at) {
    const FileOp op = ops[fail_at].op;
    const std::string where =
        std::string("failing op ") + std::to_string(fail_at) + " (" + detail::file_op_name(op) + ")";
    ASSERT_TRUE(old_snapshot().to_file(target_).has_value());
    const int err = op == FileOp::kWrite ? ENOSPC : EIO;
    size_t seen = 0;
    Status s = [&] {
      ScopedHook h([&](FileOp, const fs::path&, uint64_t&) { return seen++ == fail_at ? err : 0; });
      return new_snapshot().to_file(target_);
    }();
    ASSERT_FALSE(s.has_value()) << where;
    EXPECT_EQ(s.error().code, ErrorCode::kIo) << where;
    EXPECT_EQ(s.error().sys_errno, err) << where << ": " << s.error().to_string();
    EXPECT_EQ(entries(), std::vector<std::string>{"x.snap"}) << where << ": a temporary was left behind";
    if (op == FileOp::kFsyncDir) {  // the rename has happened: the new file is in place, said so
      EXPECT_NE(s.error().to_string().find("maybe not durable"), std::string::npos) << s.error().to_string();
      expect_target(new_bytes(), where);
    } else {
      expect_target(old_bytes(), where);
    }
  }
}

TEST_F(CrashTest, ShortWritesAreFinished) {
  write_old_target();
  for (uint64_t most : {1ull, 511ull, 4097ull}) {
    uint64_t calls = 0;
    Status s = [&] {
      ScopedHook h([&](FileOp op, const fs::path&, uint64_t& n) {
        if (op == FileOp::kWrite && n > most && (calls++ % 64) != 0) n = most;  // short, now and then not
        return 0;
      });
      return new_snapshot().to_file(target_);
    }();
    ASSERT_TRUE(s.has_value()) << most << ": " << s.error().to_string();
    EXPECT_GT(calls, 0u);
    expect_target(new_bytes(), "short writes of at most " + std::to_string(most));
    ASSERT_TRUE(old_snapshot().to_file(target_).has_value());
  }
}

TEST_F(CrashTest, FileSizeLimitLeavesTheOldTargetAndNoTemporary) {
  write_old_target();
  const Snapshot& snap = new_snapshot();  // built before the limit (its memfd counts against it too)
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    std::signal(SIGXFSZ, SIG_IGN);
    struct rlimit lim = {1 * kMiB, 1 * kMiB};
    ::setrlimit(RLIMIT_FSIZE, &lim);
    Status s = snap.to_file(target_);
    ::_exit(s.has_value() ? 1 : s.error().code != ErrorCode::kIo ? 2 : s.error().sys_errno != EFBIG ? 3 : 0);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  EXPECT_EQ(entries(), std::vector<std::string>{"x.snap"});
  expect_target(old_bytes(), "after EFBIG");
}

TEST_F(CrashTest, NextSaveRemovesOnlyStaleTemporariesOfItsTarget) {
  write_old_target();
  auto touch = [&](const std::string& name) { std::ofstream(dir_ / name) << "partial"; };
  touch(".x.snap.tmp-0123456789abcdef");  // stale: nobody holds it
  touch(".x.snap.tmp-0123");              // not our pattern
  touch(".y.snap.tmp-0123456789abcdef");  // another target's
  touch("x.snap.tmp-0123456789abcdef");   // not hidden: not ours
  touch(".x.snap.tmp-fedcba9876543210");  // a live writer's: locked below
  UniqueFd live(::open((dir_ / ".x.snap.tmp-fedcba9876543210").c_str(), O_RDONLY | O_CLOEXEC));
  ASSERT_EQ(::flock(live.get(), LOCK_EX), 0);
  ASSERT_TRUE(new_snapshot().to_file(target_).has_value());
  EXPECT_EQ(entries(),
            (std::vector<std::string>{".x.snap.tmp-0123", ".x.snap.tmp-fedcba9876543210",
                                      ".y.snap.tmp-0123456789abcdef", "x.snap", "x.snap.tmp-0123456789abcdef"}));
  live.reset();  // the writer is gone: the next save takes its temporary
  ASSERT_TRUE(new_snapshot().to_file(target_).has_value());
  EXPECT_EQ(entries(), (std::vector<std::string>{".x.snap.tmp-0123", ".y.snap.tmp-0123456789abcdef", "x.snap",
                                                 "x.snap.tmp-0123456789abcdef"}));
}

TEST_F(CrashTest, WriteFileAtomicallyKilledOrFailingKeepsTheOldFile) {
  const fs::path p = dir_ / "index.json";
  const std::string old_text = "old contents\n", new_text(100000, 'n');
  ASSERT_TRUE(detail::write_file_atomically(p, old_text).has_value());
  for (FileOp kill_before : {FileOp::kCreate, FileOp::kWrite, FileOp::kFsync, FileOp::kRename}) {
    const std::string where = std::string("killed before ") + detail::file_op_name(kill_before);
    size_t writes = 0;
    pid_t pid = ::fork();
    if (pid == 0) {
      detail::set_file_op_hook([&](FileOp op, const fs::path&, uint64_t& n) {
        // kWrite: the 10th of many short writes
        if (op == kill_before && (op != FileOp::kWrite || ++writes == 10)) ::raise(SIGKILL);
        n = std::min<uint64_t>(n, 1000);
        return 0;
      });
      ::_exit(detail::write_file_atomically(p, new_text).has_value() ? 0 : 1);
    }
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFSIGNALED(status)) << where;
    std::ifstream in(p);
    EXPECT_EQ(std::string(std::istreambuf_iterator<char>(in), {}), old_text) << where;
    // A save that fails removes the killed writer's temporary and its own.
    ScopedHook h([](FileOp op, const fs::path&, uint64_t&) { return op == FileOp::kRename ? EXDEV : 0; });
    ASSERT_FALSE(detail::write_file_atomically(p, new_text).has_value());
    EXPECT_EQ(entries(), std::vector<std::string>{"index.json"}) << where;
  }
  ASSERT_TRUE(detail::write_file_atomically(p, new_text).has_value());
  EXPECT_EQ(entries(), std::vector<std::string>{"index.json"});
  EXPECT_EQ(fs::file_size(p), new_text.size());
}

TEST_F(CrashTest, AtomicOnlyWritesSkipTheFsyncsButStillRename) {
  std::vector<FileOp> ops;
  {
    ScopedHook h([&](FileOp op, const fs::path&, uint64_t&) {
      ops.push_back(op);
      return 0;
    });
    ASSERT_TRUE(detail::write_file_atomically(dir_ / "m.svm", "mutant", detail::Durability::kAtomicOnly).has_value());
  }
  EXPECT_EQ(ops, (std::vector<FileOp>{FileOp::kCreate, FileOp::kWrite, FileOp::kRename}));
  EXPECT_EQ(entries(), std::vector<std::string>{"m.svm"});
  EXPECT_TRUE(detail::sync_directory(dir_).has_value());
}

}  // namespace
}  // namespace snapvm
