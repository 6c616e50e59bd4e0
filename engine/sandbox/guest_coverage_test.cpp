// guest_coverage_test.cpp: the guest coverage runtime (guest/runtime/coverage.cpp) and the planted bugs of the
// TLV guest (guest/samples/tlv_guest.cpp), in a real VM. For tlv_guest_cov: the PEB announces counters and a
// CmpLog inside the image's writable memory; they are zero right after initialisation, set by a call, zero
// again after restore, different for a different path, and the CmpLog holds the magic compare's operands. For
// the plain tlv_guest: the PEB's coverage fields stay zero. Then one hand-made input per planted bug, each
// beside a near miss that returns normally, and Remember's leak detection with and without a restore.
// Guest memory is read through snapshots (Snapshot::region_bytes), as the host fuzzer sees it after a call.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <optional>
#include <vector>

#include "snapvm/abi/coverage.h"
#include "snapvm/abi/layout.h"
#include "testing/kvm_test_support.h"

namespace snapvm {
namespace {

constexpr int32_t kSealedAbortCode = 101;     // tlv_guest.cpp
constexpr int32_t kStateLeakAbortCode = 102;  // tlv_guest.cpp
constexpr uint32_t kStoreMagic = 0x524f5453;  // "STOR"

// Bug inputs and their near misses (tlv_guest.cpp's header).
const Bytes kStoreFar = {0x01, 0x08, 'S', 'T', 'O', 'R', 0x00, 0x00, 0x00, 0x80};   // slot INT32_MIN
const Bytes kStoreNear = {0x01, 0x08, 'S', 'T', 'O', 'R', 0x3f, 0x00, 0x00, 0x00};  // slot 63
const Bytes kRatioZero = {0x02, 0x05, 0xf0, 0xd1, 0x57, 0x51, 0x00};
const Bytes kRatioNear = {0x02, 0x05, 0xf0, 0xd1, 0x57, 0x51, 0x07};
const Bytes kSealedValid = {0x03, 0x04, 0x1e, 0xa1, 0x42, 0xfd};
const Bytes kSealedNear = {0x03, 0x04, 0x1e, 0xa1, 0x42, 0xfe};

// The region holding [address, address + size), or null.
const Region* region_of(const Snapshot& s, uint64_t address, uint64_t size, size_t* index = nullptr) {
  const auto& regions = s.layout().regions;
  for (size_t i = 0; i < regions.size(); ++i) {
    if (address >= regions[i].guest_address && size <= regions[i].end() - address && address < regions[i].end()) {
      if (index != nullptr) *index = i;
      return &regions[i];
    }
  }
  return nullptr;
}

// Guest bytes [address, address + size) in a snapshot; empty (and a failure) when no region holds them.
std::vector<uint8_t> guest_bytes(const Snapshot& s, uint64_t address, uint64_t size) {
  size_t i = 0;
  if (region_of(s, address, size, &i) == nullptr) {
    ADD_FAILURE() << "no region holds " << hex(address) << " + " << hex(size);
    return {};
  }
  std::span<const uint8_t> r = s.region_bytes(i);
  const uint64_t at = address - s.layout().regions[i].guest_address;
  return {r.begin() + static_cast<ptrdiff_t>(at), r.begin() + static_cast<ptrdiff_t>(at + size)};
}

abi::Peb peb_of(const Snapshot& s) {
  abi::Peb peb{};
  std::vector<uint8_t> b = guest_bytes(s, abi::kPebAddress, sizeof(abi::Peb));
  if (b.size() == sizeof peb) std::memcpy(&peb, b.data(), sizeof peb);
  return peb;
}

std::vector<uint8_t> counters_of(const Snapshot& s) {
  const abi::Peb peb = peb_of(s);
  return guest_bytes(s, peb.coverage_counters, peb.coverage_counters_size);
}

abi::CmpLog cmp_log_of(const Snapshot& s) {
  abi::CmpLog log{};
  std::vector<uint8_t> b = guest_bytes(s, peb_of(s).coverage_cmp_log, sizeof(abi::CmpLog));
  if (b.size() == sizeof log) std::memcpy(&log, b.data(), sizeof log);
  return log;
}

std::vector<size_t> nonzero_indices(const std::vector<uint8_t>& counters) {
  std::vector<size_t> out;
  for (size_t i = 0; i < counters.size(); ++i) {
    if (counters[i] != 0) out.push_back(i);
  }
  return out;
}

Result<MultiUseSandbox> tlv_sandbox(const char* path) { return SandboxBuilder::from_elf(path).build(); }

class GuestCoverageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SNAPVM_REQUIRE_KVM();
    auto sb = tlv_sandbox(SNAPVM_TLV_GUEST_COV);
    ASSERT_OK(sb);
    sandbox_.emplace(std::move(*sb));
    auto base = sandbox_->snapshot();
    ASSERT_OK(base);
    base_.emplace(std::move(*base));
  }
  MultiUseSandbox& sb() { return *sandbox_; }
  const Snapshot& base() { return *base_; }
  // Calls ParseRecords (which must succeed) and returns a snapshot of the state it left.
  Snapshot after_parse(const Bytes& input) {
    auto r = sb().call("ParseRecords", {input});
    EXPECT_TRUE(r.has_value()) << r.error().to_string();
    auto s = sb().snapshot();
    EXPECT_TRUE(s.has_value()) << s.error().to_string();
    return std::move(*s);
  }

  std::optional<MultiUseSandbox> sandbox_;
  std::optional<Snapshot> base_;
};

TEST_F(GuestCoverageTest, PebAnnouncesAreasInsideWritableImageMemory) {
  const abi::Peb peb = peb_of(base());
  ASSERT_NE(peb.coverage_counters, 0u);
  ASSERT_GT(peb.coverage_counters_size, 0u);
  ASSERT_NE(peb.coverage_cmp_log, 0u);
  for (auto [address, size] : {std::pair{peb.coverage_counters, peb.coverage_counters_size},
                               std::pair{peb.coverage_cmp_log, uint64_t{sizeof(abi::CmpLog)}}}) {
    const Region* r = region_of(base(), address, size);
    ASSERT_NE(r, nullptr) << hex(address) << " + " << hex(size) << " is not inside one region";
    EXPECT_EQ(r->kind, RegionKind::kImage) << hex(address);
    EXPECT_NE(r->flags & kRegionWrite, 0u) << hex(address);
  }
#if defined(__clang__)  // the guest is built by the same compiler: clang's inline counters come with a PC table
  ASSERT_NE(peb.coverage_pcs, 0u);
  const Region* pcs = region_of(base(), peb.coverage_pcs, peb.coverage_counters_size * 16);
  ASSERT_NE(pcs, nullptr);
  EXPECT_EQ(pcs->kind, RegionKind::kImage);
#else  // gcc: hashed edges (trace-pc), no PC table, 8 KiB of counters
  EXPECT_EQ(peb.coverage_pcs, 0u);
  EXPECT_EQ(peb.coverage_counters_size, 8192u);
#endif
  EXPECT_EQ(cmp_log_of(base()).capacity, abi::kCmpLogCapacity);
}

TEST_F(GuestCoverageTest, CountersAndCmpLogAreZeroRightAfterInitialisation) {
  EXPECT_EQ(nonzero_indices(counters_of(base())), std::vector<size_t>{});
  EXPECT_EQ(cmp_log_of(base()).count, 0u);
}

TEST_F(GuestCoverageTest, CallSetsCountersAndRestoreResetsThem) {
  // A wrong magic: its compare is logged (equal operands and one-byte values are not).
  const Snapshot after = after_parse({0x01, 0x08, 'S', 'T', 'O', 'X', 0x3f, 0x00, 0x00, 0x00});
  EXPECT_FALSE(nonzero_indices(counters_of(after)).empty());
  EXPECT_GT(cmp_log_of(after).count, 0u);
  ASSERT_OK(sb().restore(base()));
  auto restored = sb().snapshot();
  ASSERT_OK(restored);
  EXPECT_EQ(nonzero_indices(counters_of(*restored)), std::vector<size_t>{});
  EXPECT_EQ(cmp_log_of(*restored).count, 0u);
}

TEST_F(GuestCoverageTest, DifferentPathSetsDifferentCounters) {
  const std::vector<size_t> empty = nonzero_indices(counters_of(after_parse({})));
  ASSERT_OK(sb().restore(base()));
  const std::vector<size_t> ratio = nonzero_indices(counters_of(after_parse(kRatioNear)));
  ASSERT_FALSE(empty.empty());
  std::vector<size_t> only_ratio;
  std::set_difference(ratio.begin(), ratio.end(), empty.begin(), empty.end(), std::back_inserter(only_ratio));
  EXPECT_FALSE(only_ratio.empty()) << "the RATIO path counted no edge the empty input did not";
}

TEST_F(GuestCoverageTest, CmpLogHoldsTheMagicCompareOperands) {
  const Bytes wrong_magic = {0x01, 0x08, 0x44, 0x33, 0x22, 0x11, 0x00, 0x00, 0x00, 0x00};
  const abi::CmpLog log = cmp_log_of(after_parse(wrong_magic));
  ASSERT_GT(log.count, 0u);
  bool found = false;
  for (uint32_t i = 0; i < std::min(log.count, abi::kCmpLogCapacity); ++i) {
    const abi::CmpRecord& r = log.records[i];
    if (r.size == 4 && ((r.a == 0x11223344u && r.b == kStoreMagic) || (r.a == kStoreMagic && r.b == 0x11223344u))) {
      found = true;
      EXPECT_NE(r.pc, 0u);
    }
  }
  EXPECT_TRUE(found) << "no 4-byte record {0x11223344, " << hex(kStoreMagic) << "} among " << log.count;
}

TEST(GuestCoveragePlain, PebCoverageFieldsStayZero) {
  SNAPVM_REQUIRE_KVM();
  auto sb = tlv_sandbox(SNAPVM_TLV_GUEST);
  ASSERT_OK(sb);
  ASSERT_OK(sb->call("ParseRecords", {kStoreNear}));
  auto s = sb->snapshot();
  ASSERT_OK(s);
  const abi::Peb peb = peb_of(*s);
  EXPECT_EQ(peb.coverage_counters, 0u);
  EXPECT_EQ(peb.coverage_counters_size, 0u);
  EXPECT_EQ(peb.coverage_pcs, 0u);
  EXPECT_EQ(peb.coverage_cmp_log, 0u);
  EXPECT_NE(peb.dispatch, 0u);  // the PEB was read right
}

// The planted bugs, in both builds: each input crashes as documented; its near miss returns normally.
class TlvBugTest : public ::testing::TestWithParam<const char*> {
 protected:
  void SetUp() override {
    SNAPVM_REQUIRE_KVM();
    auto sb = tlv_sandbox(GetParam());
    ASSERT_OK(sb);
    sandbox_.emplace(std::move(*sb));
    auto base = sandbox_->snapshot();
    ASSERT_OK(base);
    base_.emplace(std::move(*base));
  }
  // Runs `input`, returns its result, and restores the base for the next one.
  Result<Value> run(const char* function, const Bytes& input) {
    auto r = sandbox_->call(function, {input});
    auto restored = sandbox_->restore(*base_);
    EXPECT_TRUE(restored.has_value()) << restored.error().to_string();
    return r;
  }
  std::optional<MultiUseSandbox> sandbox_;
  std::optional<Snapshot> base_;
};

TEST_P(TlvBugTest, NearMissesReturnTheRecordCount) {
  for (const Bytes* input : {&kStoreNear, &kRatioNear, &kSealedNear}) {
    auto r = run("ParseRecords", *input);
    ASSERT_OK(r);
    EXPECT_EQ(*r, Value{uint32_t{1}});
  }
  Bytes all = kStoreNear;
  all.insert(all.end(), kRatioNear.begin(), kRatioNear.end());
  all.insert(all.end(), kSealedNear.begin(), kSealedNear.end());
  all.push_back(0x09);  // a cut record is not counted
  auto r = run("ParseRecords", all);
  ASSERT_OK(r);
  EXPECT_EQ(*r, Value{uint32_t{3}});
}

TEST_P(TlvBugTest, NegativeStoreSlotWritesOutsideMemory) {
  auto r = run("ParseRecords", kStoreFar);
  ASSERT_FALSE(r.has_value());
  ASSERT_EQ(r.error().code, ErrorCode::kGuestFault) << r.error().to_string();
  ASSERT_TRUE(r.error().fault.has_value());
  EXPECT_EQ(r.error().fault->vector, 14u);
  EXPECT_NE(r.error().fault->error_code & 2u, 0u) << "not a write";
  EXPECT_GE(r.error().fault->cr2, base_->layout().memory_size) << hex(r.error().fault->cr2);
}

TEST_P(TlvBugTest, ZeroRatioDivisorDividesByZero) {
  auto r = run("ParseRecords", kRatioZero);
  ASSERT_FALSE(r.has_value());
  ASSERT_EQ(r.error().code, ErrorCode::kGuestFault) << r.error().to_string();
  ASSERT_TRUE(r.error().fault.has_value());
  EXPECT_EQ(r.error().fault->vector, 0u);
}

TEST_P(TlvBugTest, ValidSealedChecksumAborts) {
  auto r = run("ParseRecords", kSealedValid);
  ASSERT_FALSE(r.has_value());
  ASSERT_EQ(r.error().code, ErrorCode::kGuestAbort) << r.error().to_string();
  EXPECT_EQ(r.error().guest_code, kSealedAbortCode);
}

TEST_P(TlvBugTest, RememberSeesStateLeftWithoutRestore) {
  const Bytes set = {'S', 'E', 'T'};
  ASSERT_OK(sandbox_->call("Remember", {set}));
  auto second = sandbox_->call("Remember", {set});
  ASSERT_FALSE(second.has_value());
  EXPECT_EQ(second.error().code, ErrorCode::kGuestAbort);
  EXPECT_EQ(second.error().guest_code, kStateLeakAbortCode);
}

TEST_P(TlvBugTest, RememberSeesNothingAfterRestore) {
  const Bytes set = {'S', 'E', 'T'};
  for (int i = 0; i < 3; ++i) {
    auto r = run("Remember", set);
    ASSERT_OK(r);
    EXPECT_EQ(*r, Value{uint32_t{0}});
  }
}

INSTANTIATE_TEST_SUITE_P(Builds, TlvBugTest, ::testing::Values(SNAPVM_TLV_GUEST, SNAPVM_TLV_GUEST_COV),
                         [](const ::testing::TestParamInfo<const char*>& param) {
                           return std::string(param.index == 0 ? "plain" : "coverage");
                         });

}  // namespace
}  // namespace snapvm
