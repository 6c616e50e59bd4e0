// golden_vm_test.cpp: every committed golden snapshot file (corpus/golden/v<N>/) still starts a
// sandbox and answers calls (needs KVM; golden_test.cpp checks loading everywhere).
// A format or ABI change must keep these passing or refuse them with its clear error; see
// docs/snapshot-versioning.md for the procedure.
#include <gtest/gtest.h>

#include <filesystem>

#include "golden_files.h"
#include "testing/kvm_test_support.h"

namespace snapvm {
namespace {

namespace fs = std::filesystem;

using golden::golden_files;

TEST(GoldenVm, EveryFileStartsAndAnswersCalls) {
  SNAPVM_REQUIRE_KVM();
  for (const fs::path& file : golden_files()) {
    SCOPED_TRACE(file.string());
    auto snap = Snapshot::from_file(file);
    if (!snap && snap.error().code == ErrorCode::kPlatformMismatch) continue;  // checked above
    ASSERT_TRUE(snap) << snap.error().to_string();
    auto sb = MultiUseSandbox::from_snapshot(*snap, testing::sample_host_functions());
    ASSERT_TRUE(sb) << sb.error().to_string();
    EXPECT_EQ(*sb->call_as<std::string>("Echo", {std::string("golden")}), "golden");
    EXPECT_EQ(*sb->call_as<int32_t>("Add", {int32_t{40}, int32_t{2}}), 42);
    EXPECT_EQ(*sb->call_as<std::string>("CallHostEcho", {std::string("g")}), "host:g");
  }
}

}  // namespace
}  // namespace snapvm
