// snapshot_vm_test.cpp: snapshot files end to end with a real VM: cold start from a file, before- and
// after-init snapshots, save/load/restore cycles, independence and copy-on-write of file mappings.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "testing/kvm_test_support.h"

namespace snapvm {
namespace {

using testing::make_sample_sandbox;
using testing::sample_host_functions;
namespace fs = std::filesystem;

class SnapshotVmTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SNAPVM_REQUIRE_KVM();
    dir_ = fs::temp_directory_path() / ("snapvm-vm-test-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override {
    if (!dir_.empty()) fs::remove_all(dir_);
  }
  fs::path file(const std::string& name) const { return dir_ / name; }

  // A sandbox with recognisable state, saved to `path`.
  Snapshot bake(const fs::path& path, int64_t global = 7, SandboxConfig config = {}) {
    auto sb = make_sample_sandbox(config);
    EXPECT_TRUE(sb) << sb.error().to_string();
    EXPECT_TRUE(sb->call("SetGlobal", {global}));
    EXPECT_TRUE(sb->call("BufferFill", {uint64_t{20000}, uint32_t{5}}));
    auto snap = sb->snapshot();
    EXPECT_TRUE(snap);
    auto saved = snap->to_file(path);
    EXPECT_TRUE(saved) << saved.error().to_string();
    return *snap;
  }

  static std::vector<uint8_t> read(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  }

  fs::path dir_;
};

TEST_F(SnapshotVmTest, ColdStartFromFileAndCall) {
  bake(file("a.svm"), 41);
  auto snap = Snapshot::from_file(file("a.svm"));
  ASSERT_OK(snap);
  auto sb = MultiUseSandbox::from_snapshot(*snap, sample_host_functions());
  ASSERT_OK(sb);
  EXPECT_EQ(*sb->call_as<int64_t>("GetGlobal"), 41);
  EXPECT_EQ(*sb->call_as<std::string>("Echo", {std::string("cold")}), "cold");
  EXPECT_EQ(*sb->call_as<int64_t>("CallHostAdd", {int64_t{1}, int64_t{2}}), 3);
}

TEST_F(SnapshotVmTest, LoadedFileCallsTheHostFunctionsGivenAtStart) {
  bake(file("a.svm"));
  auto snap = Snapshot::from_file_unchecked(file("a.svm"));
  ASSERT_OK(snap);
  HostFunctions host;
  ASSERT_OK(host.add_typed("HostAdd", [](int64_t a, int64_t b) { return a * b; }));
  ASSERT_OK(host.add_typed("HostEcho", [](std::string s) { return s + "!"; }));
  auto sb = MultiUseSandbox::from_snapshot(*snap, host);
  ASSERT_OK(sb);
  EXPECT_EQ(*sb->call_as<int64_t>("CallHostAdd", {int64_t{6}, int64_t{7}}), 42);
}

TEST_F(SnapshotVmTest, FileWhoseHostFunctionsAreNotProvidedIsRefused) {
  bake(file("a.svm"));
  auto snap = Snapshot::from_file(file("a.svm"));
  ASSERT_OK(snap);
  HostFunctions partial;
  ASSERT_OK(partial.add_typed("HostAdd", [](int64_t a, int64_t b) { return a + b; }));
  auto missing = MultiUseSandbox::from_snapshot(*snap, partial);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::kHostFunctionMissing);
  HostFunctions wrong;
  ASSERT_OK(wrong.add_typed("HostAdd", [](int64_t a, int64_t b) { return a + b; }));
  ASSERT_OK(wrong.add_typed("HostEcho", [](Bytes b) { return b; }));
  auto mismatched = MultiUseSandbox::from_snapshot(*snap, wrong);
  ASSERT_FALSE(mismatched);
  EXPECT_EQ(mismatched.error().code, ErrorCode::kHostFunctionSignature);
}

TEST_F(SnapshotVmTest, BeforeInitFileInitialisesOnStart) {
  auto un = UninitializedSandbox::from_elf_file(testing::sample_guest_path());
  ASSERT_OK(un);
  auto snap = un->snapshot();
  ASSERT_OK(snap);
  ASSERT_OK(snap->to_file(file("before.svm")));
  auto loaded = Snapshot::from_file(file("before.svm"));
  ASSERT_OK(loaded);
  EXPECT_EQ(loaded->stage(), SnapshotStage::kBeforeInit);
  EXPECT_TRUE(loaded->guest_functions().empty());
  auto sb = MultiUseSandbox::from_snapshot(*loaded, sample_host_functions());
  ASSERT_OK(sb);
  EXPECT_EQ(*sb->call_as<int32_t>("Add", {int32_t{20}, int32_t{22}}), 42);
}

TEST_F(SnapshotVmTest, AfterInitFileRecordsItsFunctions) {
  bake(file("a.svm"));
  auto loaded = Snapshot::from_file(file("a.svm"));
  ASSERT_OK(loaded);
  EXPECT_EQ(loaded->stage(), SnapshotStage::kAfterInit);
  EXPECT_FALSE(loaded->guest_functions().empty());
  ASSERT_EQ(loaded->host_functions().size(), 2u);
  EXPECT_EQ(loaded->host_functions()[0].name, "HostAdd");
}

TEST_F(SnapshotVmTest, SaveLoadCallSnapshotRestore) {
  bake(file("a.svm"), 3);
  auto sb = MultiUseSandbox::from_snapshot(*Snapshot::from_file(file("a.svm")), sample_host_functions());
  ASSERT_OK(sb);
  ASSERT_OK(sb->call("SetGlobal", {int64_t{4}}));
  auto mid = sb->snapshot();
  ASSERT_OK(mid);
  ASSERT_OK(sb->call("SetGlobal", {int64_t{5}}));
  ASSERT_OK(sb->restore(*mid));
  EXPECT_EQ(*sb->call_as<int64_t>("GetGlobal"), 4);
  // Restoring the file's own snapshot works too (maps it again).
  auto original = Snapshot::from_file(file("a.svm"));
  ASSERT_OK(original);
  ASSERT_OK(sb->restore(*original));
  EXPECT_EQ(*sb->call_as<int64_t>("GetGlobal"), 3);
  // And the sandbox's snapshot saves again.
  ASSERT_OK(mid->to_file(file("b.svm")));
  auto again = MultiUseSandbox::from_snapshot(*Snapshot::from_file(file("b.svm")), sample_host_functions());
  ASSERT_OK(again);
  EXPECT_EQ(*again->call_as<int64_t>("GetGlobal"), 4);
}

TEST_F(SnapshotVmTest, TwoSandboxesFromOneFileAreIndependent) {
  bake(file("a.svm"), 10);
  auto snap = Snapshot::from_file(file("a.svm"));
  ASSERT_OK(snap);
  auto a = MultiUseSandbox::from_snapshot(*snap, sample_host_functions());
  auto b = MultiUseSandbox::from_snapshot(*snap, sample_host_functions());
  ASSERT_OK(a);
  ASSERT_OK(b);
  ASSERT_OK(a->call("SetGlobal", {int64_t{11}}));
  ASSERT_OK(a->call("BufferFill", {uint64_t{20000}, uint32_t{99}}));
  EXPECT_EQ(*b->call_as<int64_t>("GetGlobal"), 10);
  EXPECT_EQ(*a->call_as<int64_t>("GetGlobal"), 11);
  EXPECT_NE(*a->call_as<uint64_t>("BufferChecksum"), *b->call_as<uint64_t>("BufferChecksum"));
}

TEST_F(SnapshotVmTest, GuestWritesNeverReachTheFile) {
  bake(file("a.svm"));
  auto before = read(file("a.svm"));
  {
    auto sb = MultiUseSandbox::from_snapshot(*Snapshot::from_file(file("a.svm")), sample_host_functions());
    ASSERT_OK(sb);
    ASSERT_OK(sb->call("SetGlobal", {int64_t{-1}}));
    ASSERT_OK(sb->call("BufferFill", {uint64_t{100000}, uint32_t{77}}));
    ASSERT_OK(sb->call("TouchPages", {uint64_t{20}}));
  }
  EXPECT_EQ(read(file("a.svm")), before);
  auto reloaded = Snapshot::from_file(file("a.svm"));
  ASSERT_OK(reloaded);
}

TEST_F(SnapshotVmTest, LoadMutateSaveLoadKeepsTheMutation) {
  bake(file("a.svm"), 1);
  auto sb = MultiUseSandbox::from_snapshot(*Snapshot::from_file(file("a.svm")), sample_host_functions());
  ASSERT_OK(sb);
  ASSERT_OK(sb->call("SetGlobal", {int64_t{2}}));
  uint64_t sum = *sb->call_as<uint64_t>("BufferFill", {uint64_t{50000}, uint32_t{8}});
  ASSERT_OK(sb->snapshot()->to_file(file("b.svm")));
  auto again = MultiUseSandbox::from_snapshot(*Snapshot::from_file(file("b.svm")), sample_host_functions());
  ASSERT_OK(again);
  EXPECT_EQ(*again->call_as<int64_t>("GetGlobal"), 2);
  EXPECT_EQ(*again->call_as<uint64_t>("BufferChecksum"), sum);
}

TEST_F(SnapshotVmTest, OneCorruptBlobByteFailsFromFileButNotUnchecked) {
  Snapshot snap = bake(file("a.svm"));
  auto bytes = read(file("a.svm"));
  // The last byte of the file lies in the blob (the stack's last page).
  bytes.back() ^= 0x40;
  std::ofstream(file("bad.svm"), std::ios::binary)
      .write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  auto verified = Snapshot::from_file(file("bad.svm"));
  ASSERT_FALSE(verified);
  EXPECT_EQ(verified.error().code, ErrorCode::kContentDigest);
  auto unchecked = Snapshot::from_file_unchecked(file("bad.svm"));
  ASSERT_OK(unchecked);
}

TEST_F(SnapshotVmTest, XxhashFilesWorkTheSame) {
  Snapshot snap = bake(file("a.svm"), 12);
  SaveOptions o;
  o.digest = DigestAlgorithm::kXxh3_128;
  ASSERT_OK(snap.to_file(file("x.svm"), o));
  auto loaded = Snapshot::from_file(file("x.svm"));
  ASSERT_OK(loaded);
  EXPECT_EQ(loaded->digest_algorithm(), DigestAlgorithm::kXxh3_128);
  auto sb = MultiUseSandbox::from_snapshot(*loaded, sample_host_functions());
  ASSERT_OK(sb);
  EXPECT_EQ(*sb->call_as<int64_t>("GetGlobal"), 12);
}

TEST_F(SnapshotVmTest, PinnedDigestMustMatch) {
  bake(file("a.svm"));
  auto snap = Snapshot::from_file(file("a.svm"));
  ASSERT_OK(snap);
  LoadOptions good;
  good.expected_digest = snap->digest();
  ASSERT_OK(Snapshot::load(file("a.svm"), good));
  LoadOptions bad = good;
  (*bad.expected_digest)[0] ^= 1;
  auto r = Snapshot::load(file("a.svm"), bad);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kContentDigest);
}

TEST_F(SnapshotVmTest, LargeMostlyEmptyHeapSavesSparse) {
  SandboxConfig big;
  big.heap_size = 64 * kMiB;
  bake(file("big.svm"), 1, big);
  struct stat st {};
  ASSERT_EQ(::stat(file("big.svm").c_str(), &st), 0);
  EXPECT_GT(static_cast<uint64_t>(st.st_size), 64 * kMiB);
  EXPECT_LT(static_cast<uint64_t>(st.st_blocks) * 512, 8 * kMiB);  // untouched heap pages are holes
  auto sb = MultiUseSandbox::from_snapshot(*Snapshot::from_file(file("big.svm")), sample_host_functions());
  ASSERT_OK(sb);
  EXPECT_EQ(*sb->call_as<int64_t>("GetGlobal"), 1);
}

}  // namespace
}  // namespace snapvm

namespace snapvm {
namespace {

TEST_F(SnapshotVmTest, FileShrinkingUnderALiveSandboxIsAnErrorNotACrash) {
  bake(file("a.svm"), 5);
  auto snap = Snapshot::from_file(file("a.svm"));
  ASSERT_OK(snap);
  auto sb = MultiUseSandbox::from_snapshot(*snap, sample_host_functions());
  ASSERT_OK(sb);
  // Cut the file back to its metadata: every page of the blob is gone.
  ASSERT_EQ(::truncate(file("a.svm").c_str(), 8192), 0);
  auto r = sb->call("BufferChecksum");
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().code == ErrorCode::kFileChanged || r.error().code == ErrorCode::kKvmIoctl)
      << r.error().to_string();
  EXPECT_TRUE(sb->poisoned());
  auto restored = sb->restore(*snap);
  ASSERT_FALSE(restored);
  EXPECT_EQ(restored.error().code, ErrorCode::kFileChanged) << restored.error().to_string();
  auto saved = snap->to_file(file("b.svm"));
  ASSERT_FALSE(saved);
  EXPECT_FALSE(fs::exists(file("b.svm")));
}

}  // namespace
}  // namespace snapvm
