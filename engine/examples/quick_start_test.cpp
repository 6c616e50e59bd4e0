// quick_start_test.cpp: the README's example, compiled and run (label kvm), so the README cannot
// drift from the API: readme_example_in_sync checks that README.md shows exactly the lines between
// the markers below.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "snapvm/snapvm.h"
#include "testing/kvm_test_support.h"

namespace {

TEST(QuickStart, ReadmeExampleRuns) {
  SNAPVM_REQUIRE_KVM();
  const std::string guest = snapvm::testing::sample_guest_path();
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("snapvm-quick-start-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string file = (dir / "echo.svm").string();
  // README begin
  snapvm::HostFunctions host;
  (void)host.add_typed("HostAdd", [](int64_t a, int64_t b) { return a + b; });
  (void)host.add_typed("HostEcho", [](const std::string& s) { return "host:" + s; });

  auto sandbox = snapvm::SandboxBuilder::from_elf(guest).host_functions(host).build();
  auto hello = sandbox->call_as<std::string>("Echo", {std::string("hello")});  // "hello"

  auto snap = sandbox->snapshot();  // in memory: sandbox->restore(*snap) brings it back
  auto saved = snap->to_file(file);

  auto loaded = snapvm::Snapshot::from_file(file);                              // verified; memory mapped copy-on-write
  auto cold = snapvm::MultiUseSandbox::from_snapshot(*loaded, host);            // no ELF, no guest initialisation
  auto sum = cold->call_as<int64_t>("CallHostAdd", {int64_t{40}, int64_t{2}});  // the guest calls HostAdd: 42
  // README end
  // Every step returns a Result (value or typed snapvm::Error); the README leaves the checks out.
  ASSERT_TRUE(sandbox) << sandbox.error().to_string();
  ASSERT_TRUE(hello) << hello.error().to_string();
  EXPECT_EQ(*hello, "hello");
  ASSERT_TRUE(snap) << snap.error().to_string();
  ASSERT_TRUE(saved) << saved.error().to_string();
  ASSERT_TRUE(loaded) << loaded.error().to_string();
  ASSERT_TRUE(cold) << cold.error().to_string();
  ASSERT_TRUE(sum) << sum.error().to_string();
  EXPECT_EQ(*sum, 42);
  std::filesystem::remove_all(dir);
}

}  // namespace
