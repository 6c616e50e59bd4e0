// sandbox_setup_test.cpp: starting sandboxes in a real VM: host functions checked at initialisation,
// initialisation timeouts, logs, fixed-address guests, before-init snapshots, no leaked fds or mappings.
#include <dirent.h>
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

#include "testing/kvm_test_support.h"

namespace snapvm {
namespace {

using namespace std::chrono_literals;
using testing::make_sample_sandbox;
using testing::sample_host_functions;

TEST(SandboxSetup, FailingHostFunctionEndsTheCallWithItsError) {
  SNAPVM_REQUIRE_KVM();
  HostFunctions host;
  ASSERT_OK(host.add_typed("HostAdd", [](int64_t, int64_t) -> Result<int64_t> {
    return make_error(ErrorCode::kInvalidConfig, "HostAdd", "refused on purpose");
  }));
  ASSERT_OK(host.add_typed("HostEcho", [](std::string s) { return s; }));
  auto sb = SandboxBuilder::from_elf(testing::sample_guest_path()).host_functions(host).build();
  ASSERT_OK(sb);
  auto r = sb->call("CallHostAdd", {int64_t{1}, int64_t{2}});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kHostFunctionError);
  EXPECT_NE(r.error().detail.find("refused on purpose"), std::string::npos);
  EXPECT_TRUE(sb->poisoned());
}

std::string spin_init_guest_path() { return std::string(SNAPVM_BUILD_DIR) + "/guest/spin_init_guest"; }

TEST(SandboxSetup, EndlessInitialisationTimesOut) {
  SNAPVM_REQUIRE_KVM();
  auto sb = SandboxBuilder::from_elf(spin_init_guest_path()).init_timeout(50ms).build();
  ASSERT_FALSE(sb);
  EXPECT_EQ(sb.error().code, ErrorCode::kTimeout);
}

TEST(SandboxSetup, EndlessInitialisationFromABeforeInitSnapshotTimesOut) {
  SNAPVM_REQUIRE_KVM();
  auto un = UninitializedSandbox::from_elf_file(spin_init_guest_path());
  ASSERT_OK(un);
  auto before = un->snapshot();
  ASSERT_OK(before);
  CallOptions init;
  init.timeout = 50ms;
  auto sb = MultiUseSandbox::from_snapshot(*before, {}, {}, init);
  ASSERT_FALSE(sb);
  EXPECT_EQ(sb.error().code, ErrorCode::kTimeout);
  auto evolved = std::move(*un).evolve(init);
  ASSERT_FALSE(evolved);
  EXPECT_EQ(evolved.error().code, ErrorCode::kTimeout);
}

TEST(SandboxSetup, InitTimeoutLeavesAQuickInitialisationAlone) {
  SNAPVM_REQUIRE_KVM();
  auto sb = SandboxBuilder::from_elf(testing::sample_guest_path())
                .host_functions(testing::sample_host_functions())
                .init_timeout(60s)
                .build();
  ASSERT_OK(sb);
  EXPECT_EQ(*sb->call_as<int32_t>("Add", {int32_t{2}, int32_t{3}}), 5);
}

TEST(SandboxSetup, MissingHostFunctionIsRefusedAtInitialisation) {
  SNAPVM_REQUIRE_KVM();
  HostFunctions host;
  ASSERT_OK(host.add_typed("HostAdd", [](int64_t a, int64_t b) { return a + b; }));
  auto sb = SandboxBuilder::from_elf(testing::sample_guest_path()).host_functions(host).build();
  ASSERT_FALSE(sb);
  EXPECT_EQ(sb.error().code, ErrorCode::kHostFunctionMissing);
  EXPECT_EQ(sb.error().field, "HostEcho");
}

TEST(SandboxSetup, HostFunctionWithOtherSignatureIsRefused) {
  SNAPVM_REQUIRE_KVM();
  HostFunctions host;
  ASSERT_OK(host.add_typed("HostAdd", [](int32_t a, int32_t b) { return a + b; }));
  ASSERT_OK(host.add_typed("HostEcho", [](std::string s) { return s; }));
  auto sb = SandboxBuilder::from_elf(testing::sample_guest_path()).host_functions(host).build();
  ASSERT_FALSE(sb);
  EXPECT_EQ(sb.error().code, ErrorCode::kHostFunctionSignature);
}

TEST(SandboxSetup, GuestLogsReachTheCallback) {
  SNAPVM_REQUIRE_KVM();
  std::vector<std::string> lines;
  auto sb = SandboxBuilder::from_elf(testing::sample_guest_path())
                .host_functions(sample_host_functions())
                .log_callback([&](LogLevel, std::string_view m) { lines.emplace_back(m); })
                .build();
  ASSERT_OK(sb);
  ASSERT_OK(sb->call("Log", {std::string("from the guest")}));
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0], "sample guest initialised");
  EXPECT_EQ(lines[1], "from the guest");
}

TEST(SandboxSetup, FixedAddressGuestRunsToo) {
  SNAPVM_REQUIRE_KVM();
  auto sb = SandboxBuilder::from_elf(testing::sample_guest_exec_path()).host_functions(sample_host_functions()).build();
  ASSERT_OK(sb);
  EXPECT_EQ(*sb->call_as<std::string>("Echo", {std::string("exec")}), "exec");
  EXPECT_EQ(sb->layout().image_base, 0x400000u);
}

TEST(SandboxSetup, BeforeInitSnapshotInitialisesWhenStarted) {
  SNAPVM_REQUIRE_KVM();
  auto un = UninitializedSandbox::from_elf_file(testing::sample_guest_path());
  ASSERT_OK(un);
  auto snap = un->snapshot();
  ASSERT_OK(snap);
  EXPECT_EQ(snap->stage(), SnapshotStage::kBeforeInit);
  auto sb = MultiUseSandbox::from_snapshot(*snap, sample_host_functions());
  ASSERT_OK(sb);
  EXPECT_EQ(*sb->call_as<std::string>("Echo", {std::string("late")}), "late");
}

size_t count_entries(const char* dir) {
  size_t n = 0;
  if (DIR* d = opendir(dir)) {
    while (readdir(d) != nullptr) ++n;
    closedir(d);
  }
  return n;
}
#if defined(__SANITIZE_ADDRESS__)
constexpr bool kSanitizerAllocator = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool kSanitizerAllocator = true;
#else
constexpr bool kSanitizerAllocator = false;
#endif
#else
constexpr bool kSanitizerAllocator = false;
#endif

// Lines of /proc/self/maps. Under ASan its allocator maps anonymous regions as the heap grows, so
// there only named mappings count (memfd blobs, the vCPU's kvm_run page, files); the plain build
// counts every mapping, our anonymous guest-memory reservations included.
size_t count_mappings() {
  std::ifstream in("/proc/self/maps");
  size_t n = 0;
  for (std::string line; std::getline(in, line);) {
    // Fields: address perms offset dev inode [path]; an anonymous mapping has no path.
    std::istringstream fields(line);
    std::string address, perms, offset, dev, inode, path;
    fields >> address >> perms >> offset >> dev >> inode >> path;
    if (!kSanitizerAllocator || !path.empty()) ++n;
  }
  return n;
}

TEST(SandboxSetup, HundredSandboxesLeakNoFdsOrMappings) {
  SNAPVM_REQUIRE_KVM();
  {
    auto warm = testing::make_sample_sandbox();
    ASSERT_OK(warm);
  }  // opens /dev/kvm once for the process
  size_t fds = count_entries("/proc/self/fd");
  size_t maps = count_mappings();
  for (int i = 0; i < 100; ++i) {
    auto sb = testing::make_sample_sandbox();
    ASSERT_OK(sb);
    auto snap = sb->snapshot();
    ASSERT_OK(snap);
    ASSERT_OK(sb->call("Increment"));
  }
  EXPECT_EQ(count_entries("/proc/self/fd"), fds);
  EXPECT_EQ(count_mappings(), maps);
}

}  // namespace
}  // namespace snapvm
