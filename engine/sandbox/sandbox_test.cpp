// sandbox_test.cpp: calls, host calls, faults, aborts, timeouts and cancellation against the sample guest
// in a real VM (restore_test.cpp: snapshot and restore; sandbox_setup_test.cpp: starting sandboxes).
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <thread>

#include "sandbox/sandbox_fixture.h"
#include "testing/kvm_test_support.h"

namespace snapvm {
namespace {

using namespace std::chrono_literals;
using testing::make_sample_sandbox;
using testing::sample_host_functions;

TEST_F(SandboxTest, EchoReturnsItsArgument) {
  auto r = sb().call_as<std::string>("Echo", {std::string("hello")});
  ASSERT_OK(r);
  EXPECT_EQ(*r, "hello");
}

TEST_F(SandboxTest, AddAddsAndWraps) {
  EXPECT_EQ(*sb().call_as<int32_t>("Add", {int32_t{2}, int32_t{40}}), 42);
  EXPECT_EQ(*sb().call_as<int32_t>("Add", {std::numeric_limits<int32_t>::max(), int32_t{1}}),
            std::numeric_limits<int32_t>::min());
}

TEST_F(SandboxTest, EveryValueTypeRoundTrips) {
  EXPECT_EQ(*sb().call_as<bool>("EchoBool", {true}), true);
  EXPECT_EQ(*sb().call_as<int32_t>("EchoI32", {int32_t{-7}}), -7);
  EXPECT_EQ(*sb().call_as<uint32_t>("EchoU32", {uint32_t{0xfffffffe}}), 0xfffffffeu);
  EXPECT_EQ(*sb().call_as<int64_t>("EchoI64", {int64_t{-1} << 40}), int64_t{-1} << 40);
  EXPECT_EQ(*sb().call_as<uint64_t>("EchoU64", {~uint64_t{0}}), ~uint64_t{0});
  EXPECT_EQ(*sb().call_as<float>("EchoF32", {1.5f}), 1.5f);
  EXPECT_EQ(*sb().call_as<double>("EchoF64", {-2.25}), -2.25);
  Bytes blob = {0, 1, 2, 255};
  EXPECT_EQ(*sb().call_as<Bytes>("EchoBytes", {blob}), blob);
  EXPECT_EQ(*sb().call_as<std::string>("Echo", {std::string()}), "");
}

TEST_F(SandboxTest, FloatingPointRunsInTheGuest) {
  EXPECT_EQ(*sb().call_as<double>("AddF64", {0.5, 0.25}), 0.75);
  EXPECT_TRUE(std::isnan(*sb().call_as<double>("EchoF64", {std::nan("")})));
}

TEST_F(SandboxTest, SseStartsWithDefaultControlAndInexactResultsDoNotFault) {
  EXPECT_EQ(*sb().call_as<uint32_t>("GetMxcsr") & 0xffc0, 0x1f80u);
  EXPECT_EQ(*sb().call_as<double>("AddF64", {0.1, 0.2}), 0.1 + 0.2);
}

TEST_F(SandboxTest, GlobalStatePersistsAcrossCalls) {
  ASSERT_OK(sb().call("SetGlobal", {int64_t{1234}}));
  EXPECT_EQ(*sb().call_as<int64_t>("GetGlobal"), 1234);
  EXPECT_EQ(*sb().call_as<int64_t>("Increment"), 1);
  EXPECT_EQ(*sb().call_as<int64_t>("Increment"), 2);
}

TEST_F(SandboxTest, HeapBufferAppendAndChecksum) {
  EXPECT_EQ(*sb().call_as<uint64_t>("BufferAppend", {Bytes{1, 2, 3}}), 3u);
  EXPECT_EQ(*sb().call_as<uint64_t>("BufferAppend", {Bytes(1000, 7)}), 1003u);
  uint64_t a = *sb().call_as<uint64_t>("BufferChecksum");
  uint64_t fill = *sb().call_as<uint64_t>("BufferFill", {uint64_t{64 * 1024}, uint32_t{9}});
  EXPECT_EQ(*sb().call_as<uint64_t>("BufferChecksum"), fill);
  EXPECT_NE(a, fill);
}

TEST_F(SandboxTest, HostFunctionsAreCalled) {
  EXPECT_EQ(*sb().call_as<int64_t>("CallHostAdd", {int64_t{20}, int64_t{22}}), 42);
  EXPECT_EQ(*sb().call_as<std::string>("CallHostEcho", {std::string("x")}), "host:x");
}

TEST_F(SandboxTest, UnknownFunctionIsATypedError) {
  auto r = sb().call("NoSuchFunction");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kUnknownFunction);
  EXPECT_FALSE(sb().poisoned());
}

TEST_F(SandboxTest, ArgumentMismatchIsATypedErrorAndHarmless) {
  auto r = sb().call("Add", {int32_t{1}, int64_t{2}});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kArgumentMismatch);
  auto n = sb().call("Add", {int32_t{1}});
  ASSERT_FALSE(n);
  EXPECT_EQ(n.error().code, ErrorCode::kArgumentMismatch);
  EXPECT_FALSE(sb().poisoned());
  EXPECT_EQ(*sb().call_as<int32_t>("Add", {int32_t{1}, int32_t{2}}), 3);
}

TEST_F(SandboxTest, OversizedArgumentIsRefusedBeforeEnteringTheGuest) {
  auto r = sb().call("Echo", {std::string(sb().layout().config.input_size + 1, 'a')});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kCallTooLarge);
  EXPECT_FALSE(sb().poisoned());
}

void expect_fault(MultiUseSandbox& sb, std::string_view fn, std::vector<Value> args, uint8_t vector) {
  auto r = sb.call(fn, std::move(args));
  ASSERT_FALSE(r) << fn;
  EXPECT_EQ(r.error().code, ErrorCode::kGuestFault) << r.error().to_string();
  ASSERT_TRUE(r.error().fault.has_value());
  EXPECT_EQ(r.error().fault->vector, vector) << r.error().to_string();
  EXPECT_TRUE(sb.poisoned());
}

TEST_F(SandboxTest, NullDereferenceIsAPageFaultAtAddressZero) {
  auto r = sb().call("NullDeref");
  ASSERT_FALSE(r);
  ASSERT_EQ(r.error().code, ErrorCode::kGuestFault) << r.error().to_string();
  EXPECT_EQ(r.error().fault->vector, 14);
  EXPECT_EQ(r.error().fault->cr2, 0u);
  EXPECT_EQ(r.error().fault->error_code & 0x4, 0x4u);  // from user mode
}

TEST_F(SandboxTest, Ud2IsAnInvalidOpcodeFault) { expect_fault(sb(), "Ud2", {}, 6); }
TEST_F(SandboxTest, DivideByZeroIsADivideError) { expect_fault(sb(), "Divide", {int32_t{0}}, 0); }

TEST_F(SandboxTest, WritingItsOwnCodeIsAWriteProtectionFault) {
  auto r = sb().call("WriteCode");
  ASSERT_FALSE(r);
  ASSERT_EQ(r.error().code, ErrorCode::kGuestFault) << r.error().to_string();
  EXPECT_EQ(r.error().fault->vector, 14);
  EXPECT_EQ(r.error().fault->error_code & 0x7, 0x7u);  // present, write, user
}

TEST_F(SandboxTest, UnboundedRecursionHitsTheStackGuardPage) {
  auto r = sb().call("StackOverflow");
  ASSERT_FALSE(r);
  ASSERT_EQ(r.error().code, ErrorCode::kGuestFault) << r.error().to_string();
  EXPECT_EQ(r.error().fault->vector, 14);
  const Layout& l = sb().layout();
  EXPECT_GE(r.error().fault->cr2, l.stack_base - 4096);
  EXPECT_LT(r.error().fault->cr2, l.stack_base);
}

TEST_F(SandboxTest, AbortCarriesCodeAndMessage) {
  auto r = sb().call("Abort", {int32_t{77}, std::string("gave up")});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kGuestAbort);
  EXPECT_EQ(r.error().guest_code, 77);
  EXPECT_EQ(r.error().detail, "gave up");
  EXPECT_TRUE(sb().poisoned());
}

TEST_F(SandboxTest, EndlessLoopTimesOut) {
  CallOptions o;
  o.timeout = 50ms;
  auto r = sb().call("Spin", {}, o);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kTimeout);
  EXPECT_TRUE(sb().poisoned());
}

TEST_F(SandboxTest, EndlessLoopCanBeCancelledFromAnotherThread) {
  InterruptHandle handle = sb().interrupt_handle();
  std::thread canceller([&] {
    while (!handle.cancel()) std::this_thread::sleep_for(1ms);
  });
  auto r = sb().call("Spin");
  canceller.join();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kCancelled);
  EXPECT_TRUE(sb().poisoned());
}

TEST_F(SandboxTest, CancelWithNoCallRunningDoesNothing) {
  EXPECT_FALSE(sb().interrupt_handle().cancel());
  EXPECT_EQ(*sb().call_as<int32_t>("Add", {int32_t{1}, int32_t{1}}), 2);
}

}  // namespace
}  // namespace snapvm
