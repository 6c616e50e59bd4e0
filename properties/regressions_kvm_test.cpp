// regressions_kvm_test.cpp: bugs the KVM properties found, as plain tests (see regressions_test.cpp
// for how to add one). Skipped where KVM is unusable, a failure under SNAPVM_REQUIRE_KVM=1.
#include <gtest/gtest.h>

#include "kvm_support.h"
#include "support.h"

namespace snapvm::properties {
namespace {

// Found by SandboxModel.MatchesThePlainModel, shrunk to one command on a fresh sandbox:
// `Call Divide(i32 1)` returned a #DE guest fault (vector 0) where 100 / 1 = 100 was due. The sample
// guest's inline asm bound the remainder as "=d" (not early-clobber "=&d"), so the compiler could and
// did load the divisor into EDX, which `cltd` overwrote with 0: every Divide divided by zero.
TEST(KvmRegressions, SampleGuestDividesByNonZero) {
  SNAPVM_REQUIRE_KVM();
  MultiUseSandbox s = fresh_sample_sandbox();
  for (int32_t d : {1, -1, 7, 100, 101}) {
    auto r = s.call("Divide", {Value{d}});
    ASSERT_TRUE(r) << "Divide(" << d << "): " << show_error(r.error());
    EXPECT_EQ(std::get<int32_t>(*r), 100 / d) << "Divide(" << d << ")";
  }
}

}  // namespace
}  // namespace snapvm::properties
