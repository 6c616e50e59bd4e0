// sandbox_test.cpp: tests for sandbox.cpp and machine.cpp against the sample guest in a real VM.
#include <dirent.h>
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <limits>
#include <sstream>
#include <thread>

#include "testing/kvm_test_support.h"

namespace snapvm {
namespace {

using namespace std::chrono_literals;
using testing::make_sample_sandbox;
using testing::sample_host_functions;

class SandboxTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SNAPVM_REQUIRE_KVM();
    auto sb = make_sample_sandbox();
    ASSERT_OK(sb);
    sandbox_.emplace(std::move(*sb));
  }
  MultiUseSandbox& sb() { return *sandbox_; }
  std::optional<MultiUseSandbox> sandbox_;
};

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

// A snapshot taken after another reads only the pages that may hold data (the base's data and the
// pages written since): every state it captures must still start a sandbox that reads back the same.
TEST_F(SandboxTest, EverySnapshotInAChainHoldsTheWholeState) {
  struct Taken {
    Snapshot snapshot;
    uint64_t checksum;
    int64_t global;
  };
  std::vector<Taken> taken;
  auto take = [&] {
    auto snap = sb().snapshot();
    ASSERT_OK(snap);
    auto sum = sb().call_as<uint64_t>("BufferChecksum");
    auto global = sb().call_as<int64_t>("GetGlobal");
    ASSERT_OK(sum);
    ASSERT_OK(global);
    taken.push_back({std::move(*snap), *sum, *global});
  };
  auto check_all = [&] {
    for (size_t i = 0; i < taken.size(); ++i) {
      auto cold = MultiUseSandbox::from_snapshot(taken[i].snapshot, testing::sample_host_functions());
      ASSERT_OK(cold);
      EXPECT_EQ(*cold->call_as<uint64_t>("BufferChecksum"), taken[i].checksum) << "snapshot " << i;
      EXPECT_EQ(*cold->call_as<int64_t>("GetGlobal"), taken[i].global) << "snapshot " << i;
    }
  };
  take();  // the first: a full scan
  ASSERT_OK(sb().call("BufferFill", {uint64_t{3 * 4096}, uint32_t{1}}));
  take();  // three pages that were holes in the base now hold data
  ASSERT_OK(sb().call("TouchPages", {uint64_t{2}}));
  ASSERT_OK(sb().call("SetGlobal", {int64_t{-5}}));
  take();  // two of them changed again
  ASSERT_OK(sb().restore(taken[0].snapshot));
  take();  // back to the first state: the base is now that one
  ASSERT_OK(sb().call("BufferFill", {uint64_t{5000}, uint32_t{2}}));
  take();
  ASSERT_OK(sb().restore(taken[2].snapshot));  // not the base: mapped anew
  take();
  check_all();
  EXPECT_EQ(taken[3].checksum, taken[0].checksum);
  EXPECT_EQ(taken[5].checksum, taken[2].checksum);
}

TEST_F(SandboxTest, SnapshotRestoreBringsBackTheSseControlRegister) {
  ASSERT_OK(sb().call("SetMxcsr", {uint32_t{0x3f80}}));  // round down
  auto snap = sb().snapshot();
  ASSERT_OK(snap);
  EXPECT_EQ(snap->vcpu().fpu.mxcsr & 0xffc0, 0x3f80u);
  ASSERT_OK(sb().call("SetMxcsr", {uint32_t{0x1f80}}));
  ASSERT_OK(sb().restore(*snap));
  EXPECT_EQ(*sb().call_as<uint32_t>("GetMxcsr") & 0xffc0, 0x3f80u);
  auto other = MultiUseSandbox::from_snapshot(*snap, sample_host_functions());
  ASSERT_OK(other);
  EXPECT_EQ(*other->call_as<uint32_t>("GetMxcsr") & 0xffc0, 0x3f80u);
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

TEST_F(SandboxTest, PoisonedSandboxRefusesCallsUntilRestored) {
  auto snap = sb().snapshot();
  ASSERT_OK(snap);
  ASSERT_FALSE(sb().call("Ud2"));
  auto refused = sb().call("Echo", {std::string("x")});
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::kPoisoned);
  auto no_snapshot = sb().snapshot();
  ASSERT_FALSE(no_snapshot);
  EXPECT_EQ(no_snapshot.error().code, ErrorCode::kPoisoned);
  ASSERT_OK(sb().restore(*snap));
  EXPECT_FALSE(sb().poisoned());
  EXPECT_EQ(*sb().call_as<std::string>("Echo", {std::string("back")}), "back");
}

TEST_F(SandboxTest, SandboxWorksAgainAfterTimeoutAndRestore) {
  auto snap = sb().snapshot();
  ASSERT_OK(snap);
  CallOptions o;
  o.timeout = 20ms;
  ASSERT_FALSE(sb().call("Spin", {}, o));
  ASSERT_OK(sb().restore(*snap));
  EXPECT_EQ(*sb().call_as<int32_t>("Add", {int32_t{2}, int32_t{3}}), 5);
}

TEST_F(SandboxTest, SnapshotRestoreBringsBackGlobalAndHeapState) {
  ASSERT_OK(sb().call("SetGlobal", {int64_t{5}}));
  uint64_t fill = *sb().call_as<uint64_t>("BufferFill", {uint64_t{8192}, uint32_t{1}});
  auto snap = sb().snapshot();
  ASSERT_OK(snap);
  ASSERT_OK(sb().call("SetGlobal", {int64_t{6}}));
  ASSERT_OK(sb().call("BufferFill", {uint64_t{16384}, uint32_t{2}}));
  ASSERT_OK(sb().restore(*snap));
  EXPECT_EQ(*sb().call_as<int64_t>("GetGlobal"), 5);
  EXPECT_EQ(*sb().call_as<uint64_t>("BufferChecksum"), fill);
}

TEST_F(SandboxTest, RestoreAfterManyDirtyPagesCopiesOnlyThosePages) {
  SandboxConfig big;
  big.heap_size = 8 * kMiB;
  auto made = make_sample_sandbox(big);
  ASSERT_OK(made);
  MultiUseSandbox& s = *made;
  ASSERT_OK(s.call("BufferFill", {uint64_t{4 * kMiB}, uint32_t{3}}));
  uint64_t before = *s.call_as<uint64_t>("BufferChecksum");
  auto snap = s.snapshot();
  ASSERT_OK(snap);
  ASSERT_OK(s.call("TouchPages", {uint64_t{1000}}));
  EXPECT_NE(*s.call_as<uint64_t>("BufferChecksum"), before);
  ASSERT_OK(s.restore(*snap));
  EXPECT_EQ(*s.call_as<uint64_t>("BufferChecksum"), before);
  // 1000 heap pages plus the few the calls themselves touch (stack, buffers, globals).
  ASSERT_OK(s.restore(*snap));
  ASSERT_OK(s.call("TouchPages", {uint64_t{10}}));
  ASSERT_OK(s.restore(*snap));
  EXPECT_GE(s.last_restore_pages(), 10u);
  EXPECT_LT(s.last_restore_pages(), 40u);
}

TEST_F(SandboxTest, SeveralSnapshotsRestoreInAnyOrder) {
  std::vector<Snapshot> snaps;
  for (int64_t i = 0; i < 4; ++i) {
    ASSERT_OK(sb().call("SetGlobal", {i * 10}));
    auto s = sb().snapshot();
    ASSERT_OK(s);
    snaps.push_back(*s);
  }
  for (int idx : {2, 0, 3, 1, 1, 3}) {
    ASSERT_OK(sb().restore(snaps[idx]));
    EXPECT_EQ(*sb().call_as<int64_t>("GetGlobal"), idx * 10) << "snapshot " << idx;
  }
}

TEST_F(SandboxTest, NewSandboxFromInMemorySnapshotIsIndependent) {
  ASSERT_OK(sb().call("SetGlobal", {int64_t{99}}));
  auto snap = sb().snapshot();
  ASSERT_OK(snap);
  auto other = MultiUseSandbox::from_snapshot(*snap, sample_host_functions());
  ASSERT_OK(other);
  EXPECT_EQ(*other->call_as<int64_t>("GetGlobal"), 99);
  ASSERT_OK(other->call("SetGlobal", {int64_t{1}}));
  EXPECT_EQ(*sb().call_as<int64_t>("GetGlobal"), 99);
  EXPECT_EQ(*other->call_as<int64_t>("GetGlobal"), 1);
}

TEST_F(SandboxTest, RestoreRefusesASnapshotOfAnotherLayout) {
  SandboxConfig big;
  big.heap_size = 1 * kMiB;
  auto other = make_sample_sandbox(big);
  ASSERT_OK(other);
  auto snap = other->snapshot();
  ASSERT_OK(snap);
  auto r = sb().restore(*snap);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kSnapshotMismatch);
}

TEST(SandboxSetup, FailingHostFunctionEndsTheCallWithItsError) {
  SNAPVM_REQUIRE_KVM();
  auto sb = SandboxBuilder::from_elf(testing::sample_guest_path())
                .host_function("HostAdd",
                               [](int64_t, int64_t) -> Result<int64_t> {
                                 return make_error(ErrorCode::kInvalidConfig, "HostAdd", "refused on purpose");
                               })
                .host_function("HostEcho", [](std::string s) { return s; })
                .build();
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
  auto sb = SandboxBuilder::from_elf(testing::sample_guest_path())
                .host_function("HostAdd", [](int64_t a, int64_t b) { return a + b; })
                .build();
  ASSERT_FALSE(sb);
  EXPECT_EQ(sb.error().code, ErrorCode::kHostFunctionMissing);
  EXPECT_EQ(sb.error().field, "HostEcho");
}

TEST(SandboxSetup, HostFunctionWithOtherSignatureIsRefused) {
  SNAPVM_REQUIRE_KVM();
  auto sb = SandboxBuilder::from_elf(testing::sample_guest_path())
                .host_function("HostAdd", [](int32_t a, int32_t b) { return a + b; })
                .host_function("HostEcho", [](std::string s) { return s; })
                .build();
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
