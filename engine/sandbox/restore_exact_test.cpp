// restore_exact_test.cpp: restore is exact, class by class. For each register class and for the first
// and last page of every region the guest may write, the sample guest changes it on purpose, the
// sandbox is restored, and a snapshot taken right after the restore must equal the one restored field
// by field (every register by name, harness::compare_snapshots) and page by page. Each test first checks
// that the drive really changed what it claims (a snapshot of the changed state, or the fault's report),
// so a restore that kept a current value instead of the snapshot's cannot pass by luck.
//
// Both restore paths are driven: restoring the sandbox's base (the last snapshot taken or restored:
// only the dirty pages are copied back, persist.cpp copy_back_dirty_pages) and restoring another
// snapshot (its regions mapped anew).
//
// What the guest cannot change, and is therefore only compared (a snapshot taken after the restore
// against the one restored) rather than driven:
// - CR0, CR3, CR4, CR8, EFER, the APIC base, GDT/IDT/TR/LDT: privileged, and the guest runs at CPL 3
//   (a fault enters ring 0 through the engine's own stub, which changes none of them).
// - FS and GS bases: the guest has no WRFSBASE (CR4.FSGSBASE is clear) and no WRMSR at CPL 3; it can
//   only load a selector (NullFsGs), which is driven.
// - XSAVE state beyond the legacy FXSAVE area (AVX and later): CR4.OSXSAVE is clear, so the guest can
//   use none of it, and VcpuState holds only the legacy area (x87, SSE, MXCSR); nothing to compare.
// CR2 is driven through a page fault (FaultWithRegisters), and so are CS, SS, RIP and RSP (the fault
// leaves the vCPU in ring 0) and every general register.
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "sandbox/sandbox_fixture.h"
#include "snapvm/abi/layout.h"
#include "snapvm_harness/compare.h"
#include "testing/kvm_test_support.h"

namespace snapvm {
namespace {

constexpr uint64_t kAcId = 0x240000;  // RFLAGS.AC | RFLAGS.ID
constexpr uint64_t kPattern = 0x5a5a'0000'1111'0000ull;
// Canonical, user half, far above every region: unmapped, so reading it is a #PF with CR2 = it.
constexpr uint64_t kFaultAddress = 0x0000'7f00'dead'b000ull;

// The last byte of the first and of the last page of every region the guest may write.
std::vector<uint64_t> edge_addresses(const Layout& layout) {
  std::vector<uint64_t> out;
  for (const Region& r : layout.regions) {
    if ((r.flags & kRegionWrite) == 0 || r.kind == RegionKind::kPeb) continue;
    out.push_back(r.guest_address + abi::kPageSize - 1);
    if (r.size > abi::kPageSize) out.push_back(r.guest_address + r.size - 1);
  }
  return out;
}

Bytes as_bytes(const std::vector<uint64_t>& addresses) {
  Bytes b(addresses.size() * 8);
  std::memcpy(b.data(), addresses.data(), b.size());
  return b;
}

// The byte at a guest address in a snapshot's memory.
uint8_t byte_at(const Snapshot& s, uint64_t address) {
  const auto& regions = s.layout().regions;
  for (size_t i = 0; i < regions.size(); ++i) {
    if (address >= regions[i].guest_address && address < regions[i].guest_address + regions[i].size) {
      return s.region_bytes(i)[address - regions[i].guest_address];
    }
  }
  ADD_FAILURE() << "no region holds " << std::hex << address;
  return 0;
}

// A snapshot taken now equals `want` in every field, register and page.
void expect_exact(MultiUseSandbox& sb, const Snapshot& want, const char* what) {
  auto got = sb.snapshot();
  ASSERT_OK(got);
  const harness::CompareReport report = harness::compare_snapshots(want, *got);
  EXPECT_TRUE(report.equal()) << what << ": the snapshot after restore differs from the one restored:\n"
                              << report.to_text();
  EXPECT_GT(report.memory_pages_compared, 0u);
  // Page by page and register class by class once more, without the harness, so a bug shared with it
  // cannot hide one.
  ASSERT_EQ(got->layout().regions.size(), want.layout().regions.size());
  for (size_t i = 0; i < want.layout().regions.size(); ++i) {
    std::span<const uint8_t> a = want.region_bytes(i), b = got->region_bytes(i);
    ASSERT_EQ(a.size(), b.size());
    for (uint64_t at = 0; at < a.size(); at += abi::kPageSize) {
      EXPECT_EQ(std::memcmp(a.data() + at, b.data() + at, abi::kPageSize), 0)
          << what << ": region " << i << " page " << at / abi::kPageSize << " of " << a.size() / abi::kPageSize;
    }
  }
  EXPECT_EQ(got->vcpu().regs, want.vcpu().regs) << what;
  EXPECT_EQ(got->vcpu().sregs, want.vcpu().sregs) << what;
  EXPECT_EQ(got->vcpu().fpu, want.vcpu().fpu) << what;
}

class RestoreExactTest : public SandboxTest {
 protected:
  // Changes every class the guest can change and stay running: SSE control, x87, SSE registers,
  // FS/GS selectors, RFLAGS, and a byte of both edge pages of every writable region.
  void drive() {
    ASSERT_OK(sb().call("SetMxcsr", {uint32_t{0x7f80}}));      // round toward zero, FTZ clear
    ASSERT_OK(sb().call("SetX87", {uint32_t{0x0c7f}, 1.25}));  // round toward zero; 1.25 on the stack
    ASSERT_OK(sb().call("SetHighXmm", {uint64_t{kPattern}}));  // xmm8..15
    ASSERT_OK(sb().call("NullFsGs"));                          // fs, gs selectors 0
    // Last: the next call would start from fresh RFLAGS and might use a flipped byte.
    ASSERT_OK(sb().call("FlipBytes", {as_bytes(edge_addresses(sb().layout())), uint64_t{kAcId}}));
  }

  // The drive changed each of the state it claims to, from `before` to `after`.
  static void expect_driven(const Snapshot& before, const Snapshot& after) {
    const VcpuState &b = before.vcpu(), &a = after.vcpu();
    EXPECT_EQ(a.fpu.mxcsr & 0xffc0, 0x7f80u);
    EXPECT_NE(a.fpu.mxcsr, b.fpu.mxcsr);
    EXPECT_EQ(a.fpu.fcw & 0x1f3f, 0x0c3fu);
    EXPECT_NE(a.fpu.fcw, b.fpu.fcw);
    EXPECT_NE(a.fpu.fsw, b.fpu.fsw) << "the x87 stack top did not move";
    EXPECT_NE(a.fpu.ftwx, b.fpu.ftwx) << "no x87 register tagged valid";
    EXPECT_NE(a.fpu.fpr[0], b.fpu.fpr[0]);
    for (size_t i = 8; i < 16; ++i) {
      uint64_t low = 0;
      std::memcpy(&low, a.fpu.xmm[i].data(), 8);
      EXPECT_EQ(low, kPattern + (i - 8)) << "xmm" << i;
      EXPECT_NE(a.fpu.xmm[i], b.fpu.xmm[i]) << "xmm" << i;
    }
    EXPECT_EQ(a.sregs.fs.selector, 0u);
    EXPECT_EQ(a.sregs.gs.selector, 0u);
    EXPECT_NE(a.sregs.fs, b.sregs.fs);
    EXPECT_NE(a.sregs.gs, b.sregs.gs);
    EXPECT_EQ(a.regs.rflags & kAcId, kAcId);
    EXPECT_EQ(b.regs.rflags & kAcId, 0u);
    for (uint64_t address : edge_addresses(before.layout())) {
      EXPECT_EQ(byte_at(after, address), static_cast<uint8_t>(~byte_at(before, address))) << std::hex << address;
    }
  }
};

// Restoring the base: the dirty pages copied back, every register set from the snapshot.
TEST_F(RestoreExactTest, RestoringTheBaseBringsBackEveryClassAndEveryEdgePage) {
  auto base = sb().snapshot();
  ASSERT_OK(base);
  ASSERT_NO_FATAL_FAILURE(drive());
  ASSERT_OK(sb().restore(*base));
  EXPECT_GE(sb().last_restore_pages(), edge_addresses(sb().layout()).size());
  expect_exact(sb(), *base, "restore of the base");
  // The same drive, seen: a snapshot of the driven state (after the restore above, so it is not the
  // base there) differs in every class claimed.
  ASSERT_NO_FATAL_FAILURE(drive());
  auto driven = sb().snapshot();
  ASSERT_OK(driven);
  expect_driven(*base, *driven);
}

// Restoring another snapshot than the base: its regions mapped anew, its registers set.
TEST_F(RestoreExactTest, RestoringAnotherSnapshotBringsBackEveryClassAndEveryEdgePage) {
  auto original = sb().snapshot();
  ASSERT_OK(original);
  ASSERT_NO_FATAL_FAILURE(drive());
  auto driven = sb().snapshot();  // now the base
  ASSERT_OK(driven);
  expect_driven(*original, *driven);
  ASSERT_OK(sb().restore(*original));
  expect_exact(sb(), *original, "restore of another snapshot");
  // And back to the driven state: the changed values are restored as exactly as the defaults.
  ASSERT_OK(sb().restore(*driven));
  expect_exact(sb(), *driven, "restore of the driven snapshot");
}

// A fault leaves the vCPU in ring 0 (CS, SS, RIP, RSP of the engine's stub), CR2 at the faulting
// address, and the general registers as the guest loaded them: restore must replace each.
TEST_F(RestoreExactTest, RestoreAfterAFaultBringsBackGeneralRegistersSegmentsAndCr2) {
  ASSERT_OK(sb().call("SetGlobal", {int64_t{3}}));  // any call: the base is one that returned
  auto base = sb().snapshot();
  ASSERT_OK(base);
  auto fault = sb().call("FaultWithRegisters", {uint64_t{kPattern}, uint64_t{kFaultAddress}});
  ASSERT_FALSE(fault);
  ASSERT_EQ(fault.error().code, ErrorCode::kGuestFault) << fault.error().to_string();
  ASSERT_TRUE(fault.error().fault);
  EXPECT_EQ(fault.error().fault->vector, 14);
  EXPECT_EQ(fault.error().fault->cr2, kFaultAddress);
  // What the fault left differs from the base in each of these (the registers hold kPattern + index).
  const VcpuState& b = base->vcpu();
  EXPECT_NE(b.sregs.cr2, kFaultAddress);
  for (uint64_t v : {b.regs.rbx, b.regs.rcx, b.regs.rsi, b.regs.rdi, b.regs.rbp, b.regs.r8, b.regs.r9, b.regs.r10,
                     b.regs.r11, b.regs.r12, b.regs.r13, b.regs.r14, b.regs.r15}) {
    EXPECT_TRUE(v < kPattern || v > kPattern + 15) << std::hex << v;
  }
  EXPECT_EQ(b.sregs.cs.dpl, 3u) << "the base was taken in ring 3";
  ASSERT_TRUE(sb().poisoned());
  ASSERT_OK(sb().restore(*base));
  expect_exact(sb(), *base, "restore after a fault");
  EXPECT_EQ(*sb().call_as<int64_t>("GetGlobal"), 3);
  // Once more through the other path: from a fault straight to a snapshot that is not the base.
  auto other = sb().snapshot();
  ASSERT_OK(other);
  ASSERT_FALSE(sb().call("FaultWithRegisters", {uint64_t{kPattern}, uint64_t{kFaultAddress}}));
  ASSERT_OK(sb().restore(*base));
  expect_exact(sb(), *base, "restore of another snapshot after a fault");
}

// The vCPU state the guest cannot change (see the top of this file) still comes back exactly, and a
// sandbox started from a snapshot of the driven state holds it too.
TEST_F(RestoreExactTest, ANewSandboxFromADrivenSnapshotHoldsItExactly) {
  ASSERT_NO_FATAL_FAILURE(drive());
  auto driven = sb().snapshot();
  ASSERT_OK(driven);
  auto other = MultiUseSandbox::from_snapshot(*driven, testing::sample_host_functions());
  ASSERT_OK(other);
  expect_exact(*other, *driven, "cold start from the driven snapshot");
}

}  // namespace
}  // namespace snapvm
