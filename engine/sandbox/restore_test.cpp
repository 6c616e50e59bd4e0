// restore_test.cpp: snapshot and restore of a sandbox of the sample guest in a real VM: whole state,
// dirty-page restore, poisoning cleared, snapshots in any order, new sandboxes from a snapshot.
#include <gtest/gtest.h>

#include <cstring>

#include "sandbox/sandbox_fixture.h"
#include "snapvm/abi/layout.h"
#include "testing/kvm_test_support.h"

namespace snapvm {
namespace {

using namespace std::chrono_literals;
using testing::make_sample_sandbox;
using testing::sample_host_functions;

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

// Restore from the base copies back every dirty page, the last one of a region included (the stack's
// top page, which every call writes): a snapshot taken right after the restore holds the base's bytes,
// page by page (ci/mutants.list: restore-misses-the-last-dirty-page).
TEST_F(SandboxTest, RestoreBringsBackEveryDirtyPageToTheLast) {
  auto base = sb().snapshot();
  ASSERT_OK(base);
  ASSERT_OK(sb().call("BufferFill", {uint64_t{40 * 1024}, uint32_t{7}}));  // heap pages, the stack's top
  ASSERT_OK(sb().call("TouchPages", {uint64_t{10}}));
  ASSERT_OK(sb().restore(*base));
  auto after = sb().snapshot();
  ASSERT_OK(after);
  ASSERT_EQ(after->layout().regions.size(), base->layout().regions.size());
  for (size_t i = 0; i < base->layout().regions.size(); ++i) {
    std::span<const uint8_t> want = base->region_bytes(i), got = after->region_bytes(i);
    ASSERT_EQ(got.size(), want.size());
    for (uint64_t at = 0; at < want.size(); at += abi::kPageSize) {
      EXPECT_EQ(std::memcmp(got.data() + at, want.data() + at, abi::kPageSize), 0)
          << "region " << i << " (at " << std::hex << base->layout().regions[i].guest_address << "), page " << std::dec
          << at / abi::kPageSize << " of " << want.size() / abi::kPageSize << " differs after restore";
    }
  }
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

}  // namespace
}  // namespace snapvm
