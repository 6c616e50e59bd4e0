// call_codec_test.cpp: tests for call_codec.cpp (host side of the wire codec); no KVM needed.
#include "sandbox/call_codec.h"

#include <gtest/gtest.h>

#include <cstring>

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
  EXPECT_EQ(n.error().code, ErrorCode::kArgumentMismatch);
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
  uint32_t huge = 1000;
  std::memcpy(buf.data() + 4, &huge, 4);
  auto r = decode_result(std::span(buf.data(), buf.size()));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().offset, 4u);
  EXPECT_EQ(r.error().value, 1000u);
}

TEST(CallCodec, RejectsStringLongerThanTheMessage) {
  std::vector<uint8_t> buf(64);
  auto n = encode_result(buf, Value{std::string("abc")});
  ASSERT_TRUE(n);
  uint32_t len = 0x7fffffff;
  std::memcpy(buf.data() + 9, &len, 4);  // after magic, total, tag
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
  uint32_t longer = static_cast<uint32_t>(*n + 3);
  std::memcpy(buf.data() + 4, &longer, 4);
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
  std::vector<uint8_t> out(12 + entries.size());
  uint32_t magic = abi::kManifestMagic, total = static_cast<uint32_t>(out.size());
  std::memcpy(out.data(), &magic, 4);
  std::memcpy(out.data() + 4, &total, 4);
  std::memcpy(out.data() + 8, &guest, 2);
  std::memcpy(out.data() + 10, &host, 2);
  if (!entries.empty()) std::memcpy(out.data() + 12, entries.data(), entries.size());
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
