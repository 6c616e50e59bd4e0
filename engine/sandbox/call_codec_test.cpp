// call_codec_test.cpp: tests for call_codec.cpp (host side of the wire codec); no KVM needed.
#include "sandbox/call_codec.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "snapvm/abi/byte_order.h"
#include "snapvm/abi/manifest.h"
#include "snapvm/abi/wire.h"

namespace snapvm::detail {
namespace {

std::vector<Value> every_type() {
  return {Value{},
          Value{true},
          Value{int32_t{-5}},
          Value{uint32_t{5}},
          Value{int64_t{-1} << 50},
          Value{~uint64_t{0}},
          Value{1.25f},
          Value{-0.5},
          Value{std::string("hé")},
          Value{Bytes{0, 255}}};
}

TEST(CallCodec, CallRoundTripsEveryType) {
  std::vector<uint8_t> buf(4096);
  auto args = every_type();
  auto n = encode_call(buf, abi::kCallMagic, "Fn", args);
  ASSERT_TRUE(n);
  auto call = decode_call(std::span(buf.data(), *n), abi::kCallMagic);
  ASSERT_TRUE(call) << call.error().to_string();
  EXPECT_EQ(call->name, "Fn");
  EXPECT_EQ(call->args, args);
}

TEST(CallCodec, ResultRoundTripsEveryType) {
  std::vector<uint8_t> buf(256);
  for (const Value& v : every_type()) {
    auto n = encode_result(buf, v);
    ASSERT_TRUE(n);
    auto back = decode_result(std::span(buf.data(), *n));
    ASSERT_TRUE(back);
    EXPECT_EQ(*back, v);
  }
}

TEST(CallCodec, CallThatDoesNotFitIsRefused) {
  std::vector<uint8_t> buf(32);
  auto n = encode_call(buf, abi::kCallMagic, "Echo", std::vector<Value>{std::string(100, 'x')});
  ASSERT_FALSE(n);
  EXPECT_EQ(n.error().code, ErrorCode::kCallTooLarge);
}

TEST(CallCodec, CallWithMoreThanSixteenArgumentsIsRefused) {
  std::vector<uint8_t> buf(4096);
  auto n = encode_call(buf, abi::kCallMagic, "Many", std::vector<Value>(abi::kMaxArgs + 1, Value{int32_t{1}}));
  ASSERT_FALSE(n);
  EXPECT_EQ(n.error().code, ErrorCode::kTooManyArguments);
  EXPECT_EQ(n.error().value, abi::kMaxArgs + 1u);
}

TEST(CallCodec, RejectsNonZeroReservedByte) {
  std::vector<uint8_t> buf(64);
  auto n = encode_call(buf, abi::kCallMagic, "Fn", {});
  ASSERT_TRUE(n);
  buf[abi::kCallReservedOffset] = 1;
  auto r = decode_call(std::span(buf.data(), *n), abi::kCallMagic);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kWireMalformed);
  EXPECT_EQ(r.error().field, "call.reserved");
  EXPECT_EQ(r.error().offset, abi::kCallReservedOffset);
  EXPECT_EQ(r.error().detail, "reserved byte not zero");
}

TEST(CallCodec, RejectsWrongMagic) {
  std::vector<uint8_t> buf(64);
  auto n = encode_result(buf, Value{int32_t{1}});
  ASSERT_TRUE(n);
  auto r = decode_call(std::span(buf.data(), *n), abi::kCallMagic);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kWireMalformed);
  EXPECT_EQ(r.error().offset, 0u);
}

TEST(CallCodec, RejectsTotalLengthPastTheBuffer) {
  std::vector<uint8_t> buf(64);
  auto n = encode_result(buf, Value{int32_t{1}});
  ASSERT_TRUE(n);
  abi::store_le<uint32_t>(buf.data() + abi::kTotalLengthOffset, 1000);
  auto r = decode_result(std::span(buf.data(), buf.size()));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().offset, 4u);
  EXPECT_EQ(r.error().value, 1000u);
}

TEST(CallCodec, RejectsStringLongerThanTheMessage) {
  std::vector<uint8_t> buf(64);
  auto n = encode_result(buf, Value{std::string("abc")});
  ASSERT_TRUE(n);
  abi::store_le<uint32_t>(buf.data() + abi::kResultHeaderSize + 1, 0x7fffffff);  // after the header and the tag
  auto r = decode_result(std::span(buf.data(), *n));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kWireMalformed);
}

TEST(CallCodec, RejectsUnknownTypeTag) {
  std::vector<uint8_t> buf(64);
  auto n = encode_result(buf, Value{int32_t{1}});
  ASSERT_TRUE(n);
  buf[8] = 42;
  auto r = decode_result(std::span(buf.data(), *n));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().offset, 8u);
  EXPECT_EQ(r.error().value, 42u);
}

TEST(CallCodec, RejectsBoolOtherThanZeroOrOne) {
  std::vector<uint8_t> buf(64);
  auto n = encode_result(buf, Value{true});
  ASSERT_TRUE(n);
  buf[9] = 2;
  auto r = decode_result(std::span(buf.data(), *n));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().value, 2u);
}

TEST(CallCodec, RejectsTrailingBytes) {
  std::vector<uint8_t> buf(64);
  auto n = encode_result(buf, Value{int32_t{1}});
  ASSERT_TRUE(n);
  abi::store_le<uint32_t>(buf.data() + abi::kTotalLengthOffset, static_cast<uint32_t>(*n + 3));
  auto r = decode_result(std::span(buf.data(), buf.size()));
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().detail.find("trailing"), std::string::npos) << r.error().to_string();
}

TEST(CallCodec, TruncationAtEveryLengthIsRejected) {
  std::vector<uint8_t> buf(4096);
  auto n = encode_call(buf, abi::kCallMagic, "Fn", every_type());
  ASSERT_TRUE(n);
  for (size_t len = 0; len < *n; ++len) {
    std::vector<uint8_t> cut(buf.begin(), buf.begin() + static_cast<long>(len));
    EXPECT_FALSE(decode_call(cut, abi::kCallMagic)) << len;
  }
}

TEST(CallCodec, CheckArgumentsNamesTheArgument) {
  Signature sig{ValueType::kI32, {ValueType::kI32, ValueType::kString}};
  std::vector<Value> args{int32_t{1}, int32_t{2}};
  auto s = check_arguments("F", sig, args);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, ErrorCode::kArgumentMismatch);
  EXPECT_EQ(s.error().field, "F argument 1");
}

std::vector<uint8_t> manifest_bytes(uint16_t guest, uint16_t host, std::vector<uint8_t> entries) {
  std::vector<uint8_t> out(abi::kManifestHeaderSize + entries.size());
  abi::store_le<uint32_t>(out.data(), abi::kManifestMagic);
  abi::store_le<uint32_t>(out.data() + abi::kTotalLengthOffset, static_cast<uint32_t>(out.size()));
  abi::store_le<uint16_t>(out.data() + abi::kGuestCountOffset, guest);
  abi::store_le<uint16_t>(out.data() + abi::kHostCountOffset, host);
  std::copy(entries.begin(), entries.end(), out.begin() + abi::kManifestHeaderSize);
  return out;
}

TEST(Manifest, DecodesFunctions) {
  auto m = decode_manifest(manifest_bytes(1, 1, {1, 0, 'F', 2, 1, 2, 1, 0, 'H', 0, 0}));
  ASSERT_TRUE(m) << m.error().to_string();
  ASSERT_EQ(m->guest_functions.size(), 1u);
  EXPECT_EQ(m->guest_functions[0].name, "F");
  EXPECT_EQ(m->guest_functions[0].signature, (Signature{ValueType::kI32, {ValueType::kI32}}));
  ASSERT_EQ(m->host_functions.size(), 1u);
  EXPECT_EQ(m->host_functions[0].signature, (Signature{ValueType::kVoid, {}}));
}

TEST(Manifest, DecodesWhatTheSharedEncoderWrites) {
  const std::string add = "Add", host_echo = "HostEcho";
  abi::FunctionDecl guest{add.data(), 3, ValueType::kI32, 2, {ValueType::kI32, ValueType::kI32}};
  abi::FunctionDecl host{host_echo.data(), 8, ValueType::kString, 1, {ValueType::kString}};
  std::vector<uint8_t> buf(256);
  size_t n = abi::encode_manifest(buf.data(), buf.size(), &guest, 1, &host, 1);
  ASSERT_NE(n, 0u);
  auto m = decode_manifest(std::span(buf.data(), n));
  ASSERT_TRUE(m) << m.error().to_string();
  ASSERT_EQ(m->guest_functions.size(), 1u);
  EXPECT_EQ(m->guest_functions[0].name, "Add");
  EXPECT_EQ(m->guest_functions[0].signature, (Signature{ValueType::kI32, {ValueType::kI32, ValueType::kI32}}));
  ASSERT_EQ(m->host_functions.size(), 1u);
  EXPECT_EQ(m->host_functions[0].name, "HostEcho");
  EXPECT_EQ(m->host_functions[0].signature, (Signature{ValueType::kString, {ValueType::kString}}));
}

TEST(Manifest, ErrorNamesTheManifestField) {
  auto m = decode_manifest(manifest_bytes(1, 0, {2, 0, 'F', 0x01, 2, 0}));
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error().code, ErrorCode::kWireMalformed);
  EXPECT_EQ(m.error().field, "manifest.name");
  EXPECT_EQ(m.error().offset, 15u);
  EXPECT_EQ(m.error().value, 1u);
  EXPECT_EQ(m.error().detail, "empty name or control character");
}

TEST(Manifest, RejectsVoidParameter) {
  auto m = decode_manifest(manifest_bytes(1, 0, {1, 0, 'F', 2, 1, 0}));
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error().offset, 17u);
}

TEST(Manifest, RejectsEmptyAndControlCharacterNames) {
  EXPECT_FALSE(decode_manifest(manifest_bytes(1, 0, {0, 0, 2, 0})));
  auto m = decode_manifest(manifest_bytes(1, 0, {2, 0, 'F', '\n', 2, 0}));
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error().offset, 15u);
}

TEST(Manifest, RejectsTooManyFunctions) {
  auto m = decode_manifest(manifest_bytes(300, 0, {}));
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error().offset, 8u);
  EXPECT_EQ(m.error().value, 300u);
}

TEST(Manifest, RejectsCountLargerThanTheEntries) {
  auto m = decode_manifest(manifest_bytes(2, 0, {1, 0, 'F', 2, 0}));
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error().code, ErrorCode::kWireMalformed);
}

}  // namespace
}  // namespace snapvm::detail
