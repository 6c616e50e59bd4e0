// wire_test.cpp: tests for wire.h and wire_buffer.h on the host: the header sizes tripwires.h pins
// are what the encoders write, and each wire status means one thing. No KVM needed.
#include "snapvm/abi/wire.h"

#include <gtest/gtest.h>

#include <iterator>
#include <set>
#include <string>
#include <vector>

#include "snapvm/abi/byte_order.h"

namespace snapvm::abi {
namespace {

using Bytes = std::vector<uint8_t>;

TEST(WireCodec, HeaderSizesAreWhatTheEncodersWrite) {
  Bytes buf(256);
  EXPECT_EQ(encode_call(buf.data(), buf.size(), kCallMagic, "", 0, nullptr, 0), kCallHeaderSize);
  EXPECT_EQ(encode_result(buf.data(), buf.size(), WireValue{}), kResultHeaderSize + 1);  // + the void tag
  EXPECT_EQ(encode_text_record(buf.data(), buf.size(), kLogMagic, 2, "", 0), kTextRecordHeaderSize);
}

TEST(WireCodec, CallHeaderFieldsSitAtTheirOffsets) {
  Bytes buf(256);
  WireValue arg;
  arg.type = ValueType::kU32;
  arg.u32 = 7;
  size_t n = encode_call(buf.data(), buf.size(), kHostCallMagic, "Fn", 2, &arg, 1);
  ASSERT_EQ(n, kCallHeaderSize + 2 + 5);
  EXPECT_EQ(load_le<uint32_t>(buf.data()), kHostCallMagic);
  EXPECT_EQ(load_le<uint32_t>(buf.data() + kTotalLengthOffset), n);
  EXPECT_EQ(load_le<uint16_t>(buf.data() + kNameLengthOffset), 2u);
  EXPECT_EQ(buf[kArgcOffset], 1u);
  EXPECT_EQ(buf[kCallReservedOffset], 0u);
}

TEST(WireCodec, RejectsNonZeroReservedByte) {
  Bytes buf(256);
  size_t n = encode_call(buf.data(), buf.size(), kCallMagic, "Fn", 2, nullptr, 0);
  ASSERT_NE(n, 0u);
  buf[kCallReservedOffset] = 3;
  WireReader r(buf.data(), n);
  CallView call;
  EXPECT_FALSE(decode_call(r, kCallMagic, call));
  EXPECT_EQ(r.status(), WireStatus::kBadReserved);
  EXPECT_EQ(r.error_offset(), kCallReservedOffset);
  EXPECT_STREQ(r.error_field(), "reserved");
  EXPECT_EQ(r.error_value(), 3u);
}

TEST(WireCodec, EveryStatusHasItsOwnName) {
  std::set<std::string> names;
  const WireStatus all[] = {WireStatus::kOk,          WireStatus::kTruncated, WireStatus::kBadMagic,
                            WireStatus::kBadLength,   WireStatus::kBadType,   WireStatus::kBadBool,
                            WireStatus::kTooLong,     WireStatus::kTooMany,   WireStatus::kTrailingBytes,
                            WireStatus::kBadReserved, WireStatus::kBadName};
  for (WireStatus s : all) {
    EXPECT_STRNE(wire_status_name(s), "unknown");
    names.insert(wire_status_name(s));
  }
  EXPECT_EQ(names.size(), std::size(all));
}

}  // namespace
}  // namespace snapvm::abi
