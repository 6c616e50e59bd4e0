// kvm_test.cpp: the consumer's sandbox tests (ctest label kvm): the counter guest survives snapvm's
// round trip (save, load verified and unchecked, compare, replay a call script in both), and its errors
// arrive typed. Skips with the reason where /dev/kvm is unusable, unless SNAPVM_REQUIRE_KVM=1.
#include <gtest/gtest.h>

#include <snapvm/snapvm.h>
#include <snapvm_harness/roundtrip.h>
#include <unistd.h>
#include <cstdlib>
#include <filesystem>
#include <string>

namespace {

snapvm::HostFunctions host_functions() {
  snapvm::HostFunctions host;
  (void)host.add_typed("HostTwice", [](int64_t x) { return 2 * x; });
  return host;
}

// The sandbox, or a skip (a failure with SNAPVM_REQUIRE_KVM=1) when KVM is what is missing.
#define BUILD_OR_SKIP(var)                                                                             \
  auto var = snapvm::SandboxBuilder::from_elf(COUNTER_GUEST).host_functions(host_functions()).build(); \
  if (!var && var.error().cls() == snapvm::ErrorClass::Kvm) {                                          \
    const char* require = std::getenv("SNAPVM_REQUIRE_KVM");                                           \
    if (require != nullptr && std::string(require) == "1")                                             \
      FAIL() << "SNAPVM_REQUIRE_KVM=1: " << var.error().to_string();                                   \
    GTEST_SKIP() << "needs /dev/kvm: " << var.error().to_string();                                     \
  }                                                                                                    \
  ASSERT_TRUE(var.has_value()) << var.error().to_string()

TEST(ConsumerSandbox, RoundTripKeepsStateAndCalls) {
  BUILD_OR_SKIP(sandbox);
  ASSERT_TRUE(sandbox->call_as<uint64_t>("Bump").has_value());
  auto snap = sandbox->snapshot();
  ASSERT_TRUE(snap.has_value()) << snap.error().to_string();

  snapvm::harness::RoundTripOptions options;
  options.script = {{"Bump", {}},
                    {"Add", {int64_t{40}, int64_t{2}}},
                    {"Twice", {int64_t{-8}}},
                    {"Greet", {std::string("rt")}},
                    {"Fail", {int32_t{7}}},
                    {"Bump", {}}};
  const auto file = std::filesystem::temp_directory_path() / ("consumer-rt-" + std::to_string(::getpid()) + ".svm");
  auto report = snapvm::harness::round_trip(*snap, file, options);
  EXPECT_TRUE(report.ok()) << report.to_json().dump(2);
  EXPECT_EQ(report.calls, options.script.size());
}

TEST(ConsumerSandbox, GuestAbortIsATypedError) {
  BUILD_OR_SKIP(sandbox);
  auto r = sandbox->call("Fail", {int32_t{7}});
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, snapvm::ErrorCode::kGuestAbort);
  ASSERT_TRUE(r.error().guest_code.has_value());
  EXPECT_EQ(*r.error().guest_code, 7);
}

}  // namespace
