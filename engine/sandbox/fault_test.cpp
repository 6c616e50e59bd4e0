// fault_test.cpp: exception names and reading the ring-0 fault frame, without KVM.
#include "sandbox/fault.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "snapvm/abi/byte_order.h"
#include "snapvm/abi/layout.h"

namespace snapvm::detail {
namespace {

TEST(Fault, NamesArchitecturalVectors) {
  EXPECT_STREQ(exception_name(0), "#DE divide error");
  EXPECT_STREQ(exception_name(13), "#GP general protection");
  EXPECT_STREQ(exception_name(14), "#PF page fault");
  EXPECT_STREQ(exception_name(21), "#CP control protection");
}

TEST(Fault, NamesVectorsPastTheTableReserved) {
  EXPECT_STREQ(exception_name(22), "reserved vector");
  EXPECT_STREQ(exception_name(255), "reserved vector");
}

TEST(Fault, ReadsVectorErrorCodeAndRipFromTheFrame) {
  std::vector<uint8_t> memory(abi::kRing0StackTop, 0);
  const uint64_t rsp = abi::kRing0StackTop - 40;
  abi::store_le<uint64_t>(memory.data() + rsp, 14);
  abi::store_le<uint64_t>(memory.data() + rsp + 8, 0x6);
  abi::store_le<uint64_t>(memory.data() + rsp + 16, 0x401234);
  Error e = fault_error(memory, rsp, 0xdead000);
  EXPECT_EQ(e.code, ErrorCode::kGuestFault);
  EXPECT_EQ(e.detail, "#PF page fault");
  ASSERT_TRUE(e.fault);
  EXPECT_EQ(*e.fault, (FaultInfo{14, 0x6, 0x401234, 0xdead000}));
}

TEST(Fault, RejectsAStackPointerOutsideTheRing0Stack) {
  std::vector<uint8_t> memory(abi::kRing0StackTop + abi::kPageSize, 0);
  for (uint64_t rsp : {abi::kRing0StackBase - 8, abi::kRing0StackTop - 16, abi::kRing0StackTop, ~uint64_t{0} - 8}) {
    Error e = fault_error(memory, rsp, 0);
    EXPECT_EQ(e.code, ErrorCode::kGuestProtocol) << rsp;
    EXPECT_EQ(e.field, "fault frame");
    EXPECT_EQ(e.value, rsp);
  }
}

}  // namespace
}  // namespace snapvm::detail
