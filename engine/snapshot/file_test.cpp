// file_test.cpp: tests for snapshot_file.cpp: save/load round trips, digest verification, pinned
// digests, corrupt and truncated files, atomic saves that leave nothing behind, zero-copy mapping.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "snapshot/chunk_digest.h"
#include "snapshot/digest.h"
#include "snapshot/file_patch.h"
#include "snapshot/format.h"
#include "snapshot/snapshot_access.h"
#include "snapshot/test_snapshot.h"
#include "snapvm/snapshot.h"

namespace snapvm {
namespace {

namespace fs = std::filesystem;
using test_support::make_test_snapshot;
using test_support::TestSnapshotOptions;

std::vector<uint8_t> read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), {});
}
void write_file(const fs::path& p, const std::vector<uint8_t>& bytes) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

class FileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/snapvm-file-test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  std::vector<std::string> entries(const fs::path& d) const {
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(d)) names.push_back(e.path().filename().string());
    return names;
  }
  static const Snapshot& snapshot() {
    static const Snapshot s = make_test_snapshot().value();
    return s;
  }
  fs::path saved(const std::string& name = "a.snap", DigestAlgorithm a = DigestAlgorithm::kBlake3_256,
                 uint32_t version = format::kFormatVersion) {
    fs::path p = dir_ / name;
    SaveOptions o;
    o.digest = a;
    o.format_version = version;
    Status s = snapshot().to_file(p, o);
    EXPECT_TRUE(s.has_value()) << s.error().to_string();
    return p;
  }
  fs::path dir_;
};

void expect_same(const Snapshot& got, const Snapshot& want) {
  EXPECT_EQ(got.stage(), want.stage());
  EXPECT_EQ(got.layout(), want.layout());
  EXPECT_EQ(got.vcpu(), want.vcpu());
  EXPECT_EQ(got.entrypoint(), want.entrypoint());
  EXPECT_EQ(got.dispatch(), want.dispatch());
  EXPECT_EQ(got.guest_functions(), want.guest_functions());
  EXPECT_EQ(got.host_functions(), want.host_functions());
  EXPECT_EQ(got.abi_version(), want.abi_version());
  EXPECT_EQ(got.hypervisor(), want.hypervisor());
  EXPECT_EQ(got.cpu_vendor(), want.cpu_vendor());
  ASSERT_EQ(got.layout().regions.size(), want.layout().regions.size());
  for (size_t i = 0; i < want.layout().regions.size(); ++i) {
    std::span<const uint8_t> a = got.region_bytes(i), b = want.region_bytes(i);
    ASSERT_EQ(a.size(), b.size());
    EXPECT_EQ(std::memcmp(a.data(), b.data(), a.size()), 0) << "region " << i;
  }
}

TEST_F(FileTest, RoundTripsEveryFieldAndRegionByte) {
  for (uint32_t version : {1u, 2u}) {
    for (DigestAlgorithm a : {DigestAlgorithm::kBlake3_256, DigestAlgorithm::kXxh3_128}) {
      for (SnapshotStage stage : {SnapshotStage::kBeforeInit, SnapshotStage::kAfterInit}) {
        TestSnapshotOptions o;
        o.stage = stage;
        o.seed = 5;
        Snapshot want = make_test_snapshot(o).value();
        fs::path p = dir_ / "rt.snap";
        SaveOptions so;
        so.digest = a;
        so.format_version = version;
        ASSERT_TRUE(want.to_file(p, so).has_value());
        auto got = Snapshot::from_file(p);
        ASSERT_TRUE(got.has_value()) << got.error().to_string();
        expect_same(*got, want);
        EXPECT_EQ(got->digest_algorithm(), a);
        EXPECT_EQ(got->format_version(), version);
        std::vector<uint8_t> file = read_file(p);
        const detail::MemoryBlob& m = detail::snapshot_data(*got)->memory;
        std::span<const uint8_t> blob = std::span<const uint8_t>(file).subspan(m.file_offset, m.size);
        if (version == 1) {
          EXPECT_EQ(m.file_offset + m.size, file.size());
          EXPECT_EQ(got->digest(), compute_digest(a, blob));
          EXPECT_EQ(got->digest_chunk_size(), std::nullopt);
        } else {
          EXPECT_EQ(got->digest(), compute_chunked_digest(a, blob).value().root);
          EXPECT_EQ(got->digest_chunk_size(), kDigestChunkSize);
        }
        EXPECT_EQ(detail::snapshot_data(*got)->lineage, 0u);
      }
    }
  }
}

TEST_F(FileTest, RefusesAFormatItCannotWrite) {
  for (uint32_t version : {0u, 3u}) {
    SaveOptions o;
    o.format_version = version;
    Status s = snapshot().to_file(dir_ / "x.snap", o);
    ASSERT_FALSE(s.has_value());
    EXPECT_EQ(s.error().code, ErrorCode::kInvalidConfig);
    EXPECT_EQ(s.error().field, "format_version");
    EXPECT_EQ(s.error().value, version);
  }
  EXPECT_TRUE(entries(dir_).empty());
}

// A copy that stores every hole as zero bytes (cp --sparse=never, a download, a tarball) still
// verifies: a zero chunk's digest is the same whether it is a hole or data.
TEST_F(FileTest, DesparsifiedCopyStillVerifies) {
  for (uint32_t version : {1u, 2u}) {
    fs::path p = saved("sparse.snap", DigestAlgorithm::kBlake3_256, version);
    std::vector<uint8_t> bytes = read_file(p);
    fs::path dense = dir_ / "dense.snap";
    write_file(dense, bytes);  // written byte by byte: no holes
    struct stat st {};
    ASSERT_EQ(::stat(dense.c_str(), &st), 0);
    EXPECT_GE(static_cast<uint64_t>(st.st_blocks) * 512, bytes.size() - 4096) << "the copy is not dense";
    auto r = Snapshot::from_file(dense);
    ASSERT_TRUE(r.has_value()) << version << ": " << r.error().to_string();
    EXPECT_EQ(r->digest(), Snapshot::from_file(p).value().digest());
  }
}

TEST_F(FileTest, VerifiesWithOneThreadOrMany) {
  fs::path p = saved();
  for (unsigned threads : {1u, 2u, 8u}) {
    LoadOptions o;
    o.hash_threads = threads;
    auto r = Snapshot::load(p, o);
    EXPECT_TRUE(r.has_value()) << threads << ": " << r.error().to_string();
  }
}

TEST_F(FileTest, SavedFileEqualsTheInMemoryEncoding) {
  fs::path p = saved();
  EXPECT_EQ(read_file(p), test_support::encode_file(snapshot()));
}

TEST_F(FileTest, LoadedSnapshotSavesToIdenticalBytes) {
  fs::path a = saved();
  Snapshot loaded = Snapshot::from_file(a).value();
  ASSERT_TRUE(loaded.to_file(dir_ / "b.snap").has_value());
  EXPECT_EQ(read_file(a), read_file(dir_ / "b.snap"));
}

TEST_F(FileTest, FromFileAndUncheckedBothLoadAGoodFile) {
  fs::path p = saved();
  auto a = Snapshot::from_file(p);
  ASSERT_TRUE(a.has_value()) << a.error().to_string();
  auto b = Snapshot::from_file_unchecked(p);
  ASSERT_TRUE(b.has_value()) << b.error().to_string();
  expect_same(*a, snapshot());
  expect_same(*b, snapshot());
}

TEST_F(FileTest, CorruptBlobFailsFromFileButNotUnchecked) {
  for (uint32_t version : {1u, 2u}) {
    fs::path p = saved("a.snap", DigestAlgorithm::kBlake3_256, version);
    std::vector<uint8_t> good = read_file(p);
    const uint64_t blob = *format::get_field(good, "blob_offset");
    const uint64_t blob_end = blob + *format::get_field(good, "blob_size");
    // A patterned byte (chunk 0), a byte of a hole page in the heap (chunk 3), the blob's last byte, and
    // for format 2 the last byte of the chunk table (what the root covers).
    struct Corruption {
      uint64_t at;
      std::string field;  // format 2's; format 1 names "digest" for each
    };
    std::vector<Corruption> cases = {
        {blob + 5, "blob.chunks[0]"},
        {blob + 0x30000, "blob.chunks[3]"},
        {blob_end - 1, "blob.chunks[" + std::to_string((blob_end - 1 - blob) >> 16) + "]"}};
    if (version == 2) cases.push_back({good.size() - 1, "blob.chunks.root"});
    for (const Corruption& c : cases) {
      SCOPED_TRACE(std::to_string(version) + ": byte " + std::to_string(c.at));
      std::vector<uint8_t> bad = good;
      bad[c.at] ^= 0x01;
      write_file(p, bad);
      auto checked = Snapshot::from_file(p);
      ASSERT_FALSE(checked.has_value());
      EXPECT_EQ(checked.error().code, ErrorCode::kContentDigest) << checked.error().to_string();
      EXPECT_EQ(checked.error().field, version == 1 ? "digest" : c.field) << checked.error().to_string();
      auto unchecked = Snapshot::from_file_unchecked(p);
      ASSERT_TRUE(unchecked.has_value()) << unchecked.error().to_string();
    }
  }
}

TEST_F(FileTest, CorruptHeaderByteFailsBoth) {
  fs::path p = saved();
  const std::vector<uint8_t> good = read_file(p);
  uint64_t header = *format::get_field(good, "header_length");
  for (uint64_t at = 0; at < header; at += (at < 0x600 ? 7 : 331)) {
    std::vector<uint8_t> bad = good;
    bad[at] ^= 0x10;
    write_file(p, bad);
    for (bool verify : {true, false}) {
      LoadOptions o;
      o.verify_digest = verify;
      auto r = Snapshot::load(p, o);
      ASSERT_FALSE(r.has_value()) << "byte " << at;
      EXPECT_NE(r.error().cls(), ErrorClass::Io) << r.error().to_string();
    }
  }
}

TEST_F(FileTest, RejectsTruncationAtFieldBoundariesAndBlobPages) {
  fs::path p = saved();
  const std::vector<uint8_t> good = read_file(p);
  std::vector<uint64_t> cuts;
  for (const format::FieldInfo& f : format::describe_fields(good)) cuts.push_back(f.offset);
  for (uint64_t at = *format::get_field(good, "blob_offset"); at < good.size(); at += 4096) cuts.push_back(at);
  cuts.push_back(good.size() - 1);
  for (uint64_t n : cuts) {
    write_file(p, std::vector<uint8_t>(good.begin(), good.begin() + static_cast<ptrdiff_t>(n)));
    auto r = Snapshot::from_file_unchecked(p);
    ASSERT_FALSE(r.has_value()) << n;
    EXPECT_EQ(r.error().code, ErrorCode::kFileTooShort) << n << ": " << r.error().to_string();
  }
}

TEST_F(FileTest, RejectsMissingFileAndDirectory) {
  auto missing = Snapshot::from_file(dir_ / "nope.snap");
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().code, ErrorCode::kIo);
  EXPECT_EQ(missing.error().sys_errno, ENOENT);
  auto directory = Snapshot::from_file(dir_);
  ASSERT_FALSE(directory.has_value());
  EXPECT_EQ(directory.error().code, ErrorCode::kIo);
}

TEST_F(FileTest, PinnedDigestMustMatch) {
  fs::path p = saved();
  LoadOptions o;
  o.expected_digest = Snapshot::from_file(p).value().digest();
  EXPECT_TRUE(Snapshot::load(p, o).has_value());
  (*o.expected_digest)[0] ^= 1;
  auto r = Snapshot::load(p, o);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kContentDigest);
  EXPECT_NE(r.error().detail.find("pinned"), std::string::npos) << r.error().to_string();
}

TEST_F(FileTest, PinnedDigestDetectsARewrittenFileWithFixedChecksums) {
  fs::path p = saved();
  LoadOptions o;
  o.expected_digest = Snapshot::from_file(p).value().digest();
  std::vector<uint8_t> file = read_file(p);
  file[*format::get_field(file, "blob_offset") + 9] ^= 0x40;
  format::fix_content_digest(file);  // what someone who can write the file can do
  write_file(p, file);
  EXPECT_TRUE(Snapshot::from_file(p).has_value());  // checksums alone do not catch it
  auto r = Snapshot::load(p, o);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kContentDigest);
}

TEST_F(FileTest, PinnedDigestRequiresVerification) {
  fs::path p = saved();
  LoadOptions o;
  o.verify_digest = false;
  o.expected_digest = Digest{};
  auto r = Snapshot::load(p, o);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidConfig);
}

TEST_F(FileTest, ReportsProgress) {
  uint64_t last_done = 0, last_total = 0;
  SaveOptions so;
  so.progress = [&](uint64_t d, uint64_t t) { last_done = d, last_total = t; };
  ASSERT_TRUE(snapshot().to_file(dir_ / "p.snap", so).has_value());
  EXPECT_GT(last_total, 0u);
  EXPECT_EQ(last_done, last_total);
  LoadOptions lo;
  last_done = last_total = 0;
  lo.progress = so.progress;
  ASSERT_TRUE(Snapshot::load(dir_ / "p.snap", lo).has_value());
  EXPECT_GT(last_total, 0u);
  EXPECT_EQ(last_done, last_total);
}

TEST_F(FileTest, BlobMappingIsReadOnlyPrivateAndSharesTheFile) {
  fs::path p = saved();
  Snapshot s = Snapshot::from_file(p).value();
  const detail::MemoryBlob& m = detail::snapshot_data(s)->memory;
  struct stat file_st {
  }, fd_st{};
  ASSERT_EQ(::stat(p.c_str(), &file_st), 0);
  ASSERT_EQ(::fstat(m.fd.get(), &fd_st), 0);
  EXPECT_EQ(file_st.st_ino, fd_st.st_ino);  // the same file the loader validated

  std::vector<uint8_t> file = read_file(p);
  for (size_t i = 0; i < s.layout().regions.size(); ++i) {
    uint64_t at = m.file_offset + m.region_offsets[i];
    EXPECT_EQ(s.region_bytes(i)[0], file[at]) << i;
    EXPECT_EQ(s.region_bytes(i)[1], file[at + 1]) << i;
  }
  // /proc/self/maps: the blob is a read-only private mapping of the file itself (zero copy).
  auto addr = reinterpret_cast<uintptr_t>(m.mapping.data());
  std::ifstream maps("/proc/self/maps");
  std::string line;
  bool found = false;
  while (std::getline(maps, line)) {
    std::istringstream in(line);
    std::string range, perms, offset, dev, inode, path;
    in >> range >> perms >> offset >> dev >> inode >> path;
    uintptr_t lo = std::stoull(range.substr(0, range.find('-')), nullptr, 16);
    uintptr_t hi = std::stoull(range.substr(range.find('-') + 1), nullptr, 16);
    if (addr < lo || addr >= hi) continue;
    found = true;
    EXPECT_EQ(perms, "r--p");
    EXPECT_EQ(fs::path(path), fs::canonical(p));
    EXPECT_EQ(std::stoull(offset, nullptr, 16), m.file_offset);
  }
  EXPECT_TRUE(found);
  // A sandbox maps regions MAP_PRIVATE from the same fd: its writes never reach the file.
  void* w = ::mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE, m.fd.get(), static_cast<off_t>(m.file_offset));
  ASSERT_NE(w, MAP_FAILED);
  static_cast<uint8_t*>(w)[0] ^= 0xff;
  ::munmap(w, 4096);
  EXPECT_EQ(read_file(p), file);
  EXPECT_TRUE(Snapshot::from_file(p).has_value());
}

TEST_F(FileTest, SavedFileKeepsHolesForZeroPages) {
  TestSnapshotOptions o;
  o.heap_size = 64 * kMiB;
  Snapshot big = make_test_snapshot(o).value();
  struct stat st {};
  ASSERT_EQ(::fstat(detail::snapshot_data(big)->memory.fd.get(), &st), 0);
  EXPECT_LT(static_cast<uint64_t>(st.st_blocks) * 512, 4 * kMiB);  // the memfd is sparse too
  fs::path p = dir_ / "big.snap";
  ASSERT_TRUE(big.to_file(p).has_value());
  ASSERT_EQ(::stat(p.c_str(), &st), 0);
  EXPECT_GT(static_cast<uint64_t>(st.st_size), 64 * kMiB);
  EXPECT_LT(static_cast<uint64_t>(st.st_blocks) * 512, 4 * kMiB);
  auto loaded = Snapshot::from_file(p);
  ASSERT_TRUE(loaded.has_value()) << loaded.error().to_string();
  expect_same(*loaded, big);
}

TEST_F(FileTest, TrailingZeroPagesKeepTheFileSize) {
  // The last page of the blob all zeros: the save writes no byte there (a hole), so only the
  // ftruncate to the full size makes the file long enough (ci/mutants.list).
  std::vector<uint8_t> file = read_file(saved());
  std::fill(file.end() - 4096, file.end(), uint8_t{0});
  format::fix_content_digest(file);
  write_file(dir_ / "zero-tail.snap", file);
  Snapshot tail = Snapshot::from_file(dir_ / "zero-tail.snap").value();
  ASSERT_TRUE(tail.to_file(dir_ / "again.snap").has_value());
  EXPECT_EQ(read_file(dir_ / "again.snap"), file);
  auto loaded = Snapshot::from_file(dir_ / "again.snap");
  ASSERT_TRUE(loaded.has_value()) << loaded.error().to_string();
  expect_same(*loaded, tail);
}

TEST_F(FileTest, SaveReplacesAnExistingFileAndLeavesNoTemporaries) {
  fs::path p = dir_ / "x.snap";
  write_file(p, {1, 2, 3});
  ASSERT_TRUE(snapshot().to_file(p).has_value());
  EXPECT_EQ(entries(dir_), std::vector<std::string>{"x.snap"});
  EXPECT_TRUE(Snapshot::from_file(p).has_value());
}

TEST_F(FileTest, SaveToRelativePath) {
  fs::path old = fs::current_path();
  fs::current_path(dir_);
  Status s = snapshot().to_file("rel.snap");
  fs::current_path(old);
  ASSERT_TRUE(s.has_value()) << s.error().to_string();
  EXPECT_EQ(entries(dir_), std::vector<std::string>{"rel.snap"});
}

TEST_F(FileTest, FailedSaveToMissingDirectoryLeavesNothing) {
  Status s = snapshot().to_file(dir_ / "missing" / "a.snap");
  ASSERT_FALSE(s.has_value());
  EXPECT_EQ(s.error().code, ErrorCode::kIo);
  EXPECT_EQ(s.error().sys_errno, ENOENT);
  EXPECT_TRUE(entries(dir_).empty());
}

TEST_F(FileTest, FailedRenameOntoADirectoryLeavesNoTemporary) {
  fs::create_directory(dir_ / "taken");
  fs::create_directory(dir_ / "taken" / "child");  // rename() onto a non-empty directory fails
  Status s = snapshot().to_file(dir_ / "taken");
  ASSERT_FALSE(s.has_value());
  EXPECT_EQ(s.error().code, ErrorCode::kIo);
  EXPECT_EQ(entries(dir_), std::vector<std::string>{"taken"});
}

TEST_F(FileTest, FailedSaveOverFileSizeLimitLeavesNothing) {
  // RLIMIT_FSIZE in a child: writes past it fail with EFBIG (SIGXFSZ ignored).
  fs::path p = dir_ / "limited.snap";
  const Snapshot& snap = snapshot();  // built before the limit (its memfd counts against it too)
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    std::signal(SIGXFSZ, SIG_IGN);
    struct rlimit lim = {64 * 1024, 64 * 1024};
    ::setrlimit(RLIMIT_FSIZE, &lim);
    Status s = snap.to_file(p);
    int rc = s.has_value() ? 1 : s.error().code != ErrorCode::kIo ? 2 : s.error().sys_errno != EFBIG ? 3 : 0;
    ::_exit(rc);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  EXPECT_TRUE(entries(dir_).empty());
}

TEST_F(FileTest, FailedSaveOnAFullFilesystemLeavesNothing) {
  fs::path mnt = dir_ / "tiny";
  fs::create_directory(mnt);
  if (::mount("tmpfs", mnt.c_str(), "tmpfs", 0, "size=256k") != 0) GTEST_SKIP() << "cannot mount a tmpfs here";
  TestSnapshotOptions o;
  o.heap_size = 1 * kMiB;
  o.fill_heap = true;  // dense: the blob cannot fit in 256 KiB
  Snapshot dense = make_test_snapshot(o).value();
  Status s = dense.to_file(mnt / "full.snap");
  std::vector<std::string> left = entries(mnt);
  ::umount(mnt.c_str());
  ASSERT_FALSE(s.has_value());
  EXPECT_EQ(s.error().code, ErrorCode::kIo);
  EXPECT_EQ(s.error().sys_errno, ENOSPC) << s.error().to_string();
  EXPECT_TRUE(left.empty());
}

TEST_F(FileTest, FailedSaveToAReadOnlyFilesystemLeavesNothing) {
  fs::path mnt = dir_ / "ro";
  fs::create_directory(mnt);
  if (::mount("tmpfs", mnt.c_str(), "tmpfs", 0, "size=1m") != 0) GTEST_SKIP() << "cannot mount a tmpfs here";
  bool remounted = ::mount(nullptr, mnt.c_str(), nullptr, MS_REMOUNT | MS_RDONLY, nullptr) == 0;
  Status s = remounted ? snapshot().to_file(mnt / "a.snap") : Status{};
  std::vector<std::string> left = entries(mnt);
  ::umount(mnt.c_str());
  if (!remounted) GTEST_SKIP() << "cannot remount read-only here";
  ASSERT_FALSE(s.has_value());
  EXPECT_EQ(s.error().code, ErrorCode::kIo);
  EXPECT_EQ(s.error().sys_errno, EROFS) << s.error().to_string();
  EXPECT_TRUE(left.empty());
}

TEST_F(FileTest, SavingOverTheFileALoadedSnapshotMapsIsSafe) {
  fs::path p = saved();
  Snapshot loaded = Snapshot::from_file(p).value();
  ASSERT_TRUE(loaded.to_file(p).has_value());  // the old inode stays mapped; rename swaps the name
  expect_same(loaded, snapshot());
  expect_same(Snapshot::from_file(p).value(), snapshot());
  EXPECT_EQ(entries(dir_), std::vector<std::string>{"a.snap"});
}

TEST_F(FileTest, RefusesToSaveASnapshotThatWouldNotLoad) {
  auto data = std::make_shared<detail::SnapshotData>();
  const detail::SnapshotData& src = *detail::snapshot_data(snapshot());
  data->meta = src.meta;
  data->meta.vcpu.regs.rip = src.meta.layout.heap_base;  // not executable
  data->memory.fd = UniqueFd(::dup(src.memory.fd.get()));
  data->memory.size = src.memory.size;
  data->memory.region_offsets = src.memory.region_offsets;
  data->memory.mapping = Mapping::file(data->memory.fd.get(), 0, src.memory.size, PROT_READ, MAP_SHARED).value();
  Status s = detail::make_snapshot(data).to_file(dir_ / "bad.snap");
  ASSERT_FALSE(s.has_value());
  EXPECT_EQ(s.error().code, ErrorCode::kBadRegisters);
  EXPECT_EQ(s.error().field, "regs.rip");
  EXPECT_TRUE(entries(dir_).empty());
}

}  // namespace
}  // namespace snapvm
