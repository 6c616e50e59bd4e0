// run_loop_test.cpp: the exit dispatch (one switch from an exit to its handler), without KVM.
#include "sandbox/run_loop.h"

#include <gtest/gtest.h>

#include <string>

#include "snapvm/abi/ports.h"

namespace snapvm::detail {
namespace {

// Records which handler ran; fails with `fail` when set.
struct FakeHandler : ExitHandler {
  std::string ran;
  bool fail = false;
  Status result(const char* name) {
    ran += name;
    if (fail) return make_error(ErrorCode::kCancelled, name);
    return {};
  }
  Status on_host_call() override { return result("host_call"); }
  Status on_log() override { return result("log"); }
  Error on_abort() override {
    ran += "abort";
    return make_error(ErrorCode::kGuestAbort, "guest");
  }
  Error on_fault() override {
    ran += "fault";
    return make_error(ErrorCode::kGuestFault, "guest");
  }
  Status on_interrupted() override { return result("interrupted"); }
  Status on_dirty_ring_full() override { return result("ring"); }
};

Exit port(abi::Port p) { return exit::PortOut{static_cast<uint16_t>(p), 0}; }

TEST(RunLoop, StopsAtTheSignalItWaitsFor) {
  FakeHandler h;
  EXPECT_EQ(*dispatch_exit(port(abi::Port::kInitialised), Stop::kInitialised, h), Next::kStop);
  EXPECT_EQ(*dispatch_exit(port(abi::Port::kCallDone), Stop::kCallDone, h), Next::kStop);
  EXPECT_EQ(h.ran, "");
}

TEST(RunLoop, TheOtherStopSignalIsAGuestProtocolError) {
  FakeHandler h;
  auto during_call = dispatch_exit(port(abi::Port::kInitialised), Stop::kCallDone, h);
  ASSERT_FALSE(during_call);
  EXPECT_EQ(during_call.error().code, ErrorCode::kGuestProtocol);
  EXPECT_EQ(during_call.error().detail, "initialised signal during a call");
  auto during_init = dispatch_exit(port(abi::Port::kCallDone), Stop::kInitialised, h);
  ASSERT_FALSE(during_init);
  EXPECT_EQ(during_init.error().detail, "call-done signal during initialisation");
}

TEST(RunLoop, HostCallsLogsAndInterruptionsResume) {
  FakeHandler h;
  EXPECT_EQ(*dispatch_exit(port(abi::Port::kHostCall), Stop::kCallDone, h), Next::kResume);
  EXPECT_EQ(*dispatch_exit(port(abi::Port::kLog), Stop::kCallDone, h), Next::kResume);
  EXPECT_EQ(*dispatch_exit(exit::Interrupted{}, Stop::kCallDone, h), Next::kResume);
  EXPECT_EQ(h.ran, "host_callloginterrupted");
  EXPECT_EQ(*dispatch_exit(exit::DirtyRingFull{}, Stop::kCallDone, h), Next::kResume);
  EXPECT_EQ(h.ran, "host_callloginterruptedring");
}

TEST(RunLoop, HandlerErrorsEndTheRun) {
  FakeHandler h;
  h.fail = true;
  for (Exit e : {port(abi::Port::kHostCall), port(abi::Port::kLog), Exit{exit::Interrupted{}}}) {
    auto r = dispatch_exit(e, Stop::kCallDone, h);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ErrorCode::kCancelled);
  }
}

TEST(RunLoop, AbortAndFaultEndTheRunWithTheirErrors) {
  FakeHandler h;
  auto abort = dispatch_exit(port(abi::Port::kAbort), Stop::kCallDone, h);
  ASSERT_FALSE(abort);
  EXPECT_EQ(abort.error().code, ErrorCode::kGuestAbort);
  auto fault = dispatch_exit(port(abi::Port::kFault), Stop::kInitialised, h);
  ASSERT_FALSE(fault);
  EXPECT_EQ(fault.error().code, ErrorCode::kGuestFault);
  EXPECT_EQ(h.ran, "abortfault");
}

TEST(RunLoop, UnknownPortIsAGuestProtocolErrorNamingIt) {
  FakeHandler h;
  auto r = dispatch_exit(exit::PortOut{0x1234, 0}, Stop::kCallDone, h);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kGuestProtocol);
  EXPECT_EQ(r.error().value, 0x1234u);
  EXPECT_EQ(h.ran, "");
}

TEST(RunLoop, OtherExitsStopTheGuest) {
  FakeHandler h;
  for (Exit e :
       {Exit{exit::Halt{}}, Exit{exit::Shutdown{}}, Exit{exit::PortIn{0x5100}}, Exit{exit::Mmio{0x1000, true}}}) {
    auto r = dispatch_exit(e, Stop::kCallDone, h);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ErrorCode::kGuestStopped);
    EXPECT_EQ(r.error().detail, describe_exit(e));
  }
}

}  // namespace
}  // namespace snapvm::detail
