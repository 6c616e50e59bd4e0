// manifest_test.cpp: tests for manifest.h, the manifest codec the guest encodes with and the host
// decodes with: round trips, the documented bytes, and one test per rejection. No KVM needed.
#include "snapvm/abi/manifest.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "snapvm/abi/byte_order.h"

namespace snapvm::abi {
namespace {

using VT = ValueType;
using Bytes = std::vector<uint8_t>;

FunctionDecl decl(const std::string& name, VT result, std::vector<VT> params) {
  FunctionDecl f{};
  f.name = name.data();
  f.name_length = static_cast<uint16_t>(name.size());
  f.result = result;
  f.param_count = static_cast<uint8_t>(params.size());
  for (size_t i = 0; i < params.size() && i < kMaxArgs; ++i) f.params[i] = params[i];
  return f;
}

Bytes encode(const std::vector<FunctionDecl>& guest, const std::vector<FunctionDecl>& host, size_t cap = 1 << 16) {
  Bytes out(cap);
  size_t n = encode_manifest(out.data(), out.size(), guest.data(), static_cast<uint16_t>(guest.size()), host.data(),
                             static_cast<uint16_t>(host.size()));
  out.resize(n);
  return out;
}

// What decode_manifest handed over, or where and why it stopped.
struct Decoded {
  bool ok = false;
  WireStatus status = WireStatus::kOk;
  size_t offset = 0;
  std::string field;
  uint64_t value = 0;
  std::vector<std::pair<bool, std::string>> functions;  // (is_host, "name(result; params)")
};

std::string show(const FunctionDecl& f) {
  std::string s(f.name, f.name_length);
  s += "(" + std::to_string(static_cast<int>(f.result)) + ";";
  for (uint8_t p = 0; p < f.param_count; ++p) s += " " + std::to_string(static_cast<int>(f.params[p]));
  return s + ")";
}

Decoded decode(const Bytes& bytes) {
  WireReader r(bytes.data(), bytes.size());
  Decoded d;
  d.ok = decode_manifest(r, [&](bool is_host, const FunctionDecl& f) { d.functions.emplace_back(is_host, show(f)); });
  d.status = r.status();
  d.offset = r.error_offset();
  d.field = r.error_field();
  d.value = r.error_value();
  return d;
}

// A manifest with hand-written entries, for the rejection tests: header then `entries` verbatim.
Bytes manifest_bytes(uint16_t guest, uint16_t host, const Bytes& entries) {
  Bytes out(kManifestHeaderSize + entries.size());
  store_le<uint32_t>(out.data(), kManifestMagic);
  store_le<uint32_t>(out.data() + kTotalLengthOffset, static_cast<uint32_t>(out.size()));
  store_le<uint16_t>(out.data() + kGuestCountOffset, guest);
  store_le<uint16_t>(out.data() + kHostCountOffset, host);
  std::copy(entries.begin(), entries.end(), out.begin() + kManifestHeaderSize);
  return out;
}

void expect_rejected(const Bytes& bytes, WireStatus status, const char* field, size_t offset, uint64_t value) {
  Decoded d = decode(bytes);
  EXPECT_FALSE(d.ok);
  EXPECT_EQ(d.status, status) << wire_status_name(d.status);
  EXPECT_EQ(d.field, field);
  EXPECT_EQ(d.offset, offset);
  EXPECT_EQ(d.value, value);
}

TEST(ManifestCodec, RoundTripsBothTablesInOrder) {
  const std::string add = "Add", echo = "Echo", none = "Nothing", host_add = "HostAdd";
  Bytes bytes = encode(
      {decl(add, VT::kI32, {VT::kI32, VT::kI32}), decl(echo, VT::kString, {VT::kString}), decl(none, VT::kVoid, {})},
      {decl(host_add, VT::kI64, {VT::kI64, VT::kI64})});
  ASSERT_FALSE(bytes.empty());
  Decoded d = decode(bytes);
  ASSERT_TRUE(d.ok) << wire_status_name(d.status) << " at " << d.offset;
  std::vector<std::pair<bool, std::string>> want = {
      {false, "Add(2; 2 2)"}, {false, "Echo(8; 8)"}, {false, "Nothing(0;)"}, {true, "HostAdd(4; 4 4)"}};
  EXPECT_EQ(d.functions, want);
}

TEST(ManifestCodec, RoundTripsTheLimits) {
  const std::string longest(kMaxNameLength, 'n');
  std::vector<VT> every_param(kMaxArgs, VT::kBytes);
  std::vector<FunctionDecl> guest(kMaxFunctions, decl(longest, VT::kF64, every_param));
  Bytes bytes = encode(guest, guest, 1 << 20);
  ASSERT_FALSE(bytes.empty());
  Decoded d = decode(bytes);
  ASSERT_TRUE(d.ok) << wire_status_name(d.status) << " at " << d.offset;
  EXPECT_EQ(d.functions.size(), 2u * kMaxFunctions);
}

TEST(ManifestCodec, EncodesTheDocumentedBytes) {
  const std::string f = "F", h = "H";
  Bytes bytes = encode({decl(f, VT::kI32, {VT::kI32})}, {decl(h, VT::kVoid, {})});
  Bytes want = {'S', 'V', 'M', '1', 23, 0, 0, 0, 1, 0, 1, 0,  // magic, total_length, guest_count, host_count
                1,   0,   'F', 2,   1,  2,                    // F(i32) -> i32
                1,   0,   'H', 0,   0};                       // H() -> void
  EXPECT_EQ(bytes, want);
}

TEST(ManifestCodec, EmptyManifestIsItsHeader) {
  Bytes bytes = encode({}, {});
  EXPECT_EQ(bytes.size(), kManifestHeaderSize);
  EXPECT_TRUE(decode(bytes).ok);
}

TEST(ManifestCodec, EntryIsItsFixedPartNameAndParams) {
  const std::string name = "Fn";
  Bytes bytes = encode({decl(name, VT::kU64, {VT::kU32, VT::kBool})}, {});
  EXPECT_EQ(bytes.size(), kManifestHeaderSize + kManifestEntryFixedSize + name.size() + 2);
}

TEST(ManifestCodec, EncodeRefusesWhatTheWireCannotCarry) {
  const std::string ok = "F", too_long(kMaxNameLength + 1, 'n');
  std::vector<FunctionDecl> too_many(kMaxFunctions + 1, decl(ok, VT::kVoid, {}));
  EXPECT_TRUE(encode(too_many, {}, 1 << 20).empty());
  EXPECT_TRUE(encode({}, too_many, 1 << 20).empty());
  EXPECT_TRUE(encode({decl(too_long, VT::kVoid, {})}, {}).empty());
  FunctionDecl many_params = decl(ok, VT::kVoid, {});
  many_params.param_count = kMaxArgs + 1;
  EXPECT_TRUE(encode({many_params}, {}).empty());
}

TEST(ManifestCodec, EncodeRefusesABufferTooSmallAndWritesNothingPastIt) {
  const std::string name = "Function";
  std::vector<FunctionDecl> guest = {decl(name, VT::kI32, {VT::kI32, VT::kString})};
  const size_t need = encode(guest, {}).size();
  for (size_t cap = 0; cap < need; ++cap) {
    Bytes buf(cap + 8, 0xa5);
    EXPECT_EQ(encode_manifest(buf.data(), cap, guest.data(), 1, nullptr, 0), 0u) << cap;
    for (size_t i = cap; i < buf.size(); ++i) ASSERT_EQ(buf[i], 0xa5) << "cap " << cap << " byte " << i;
  }
}

TEST(ManifestCodec, RejectsWrongMagic) {
  Bytes bytes = manifest_bytes(0, 0, {});
  store_le<uint32_t>(bytes.data(), kCallMagic);
  expect_rejected(bytes, WireStatus::kBadMagic, "magic", 0, kCallMagic);
}

TEST(ManifestCodec, RejectsTooManyGuestFunctions) {
  expect_rejected(manifest_bytes(kMaxFunctions + 1, 0, {}), WireStatus::kTooMany, "guest_count", kGuestCountOffset,
                  kMaxFunctions + 1);
}

TEST(ManifestCodec, RejectsTooManyHostFunctions) {
  expect_rejected(manifest_bytes(0, 300, {}), WireStatus::kTooMany, "host_count", kHostCountOffset, 300);
}

TEST(ManifestCodec, RejectsOverlongName) {
  expect_rejected(manifest_bytes(1, 0, {129, 0}), WireStatus::kTooLong, "name_length", 12, 129);
}

TEST(ManifestCodec, RejectsEmptyName) {
  expect_rejected(manifest_bytes(1, 0, {0, 0, 2, 0}), WireStatus::kBadName, "name_length", 12, 0);
}

TEST(ManifestCodec, RejectsControlCharacterInName) {
  expect_rejected(manifest_bytes(1, 0, {2, 0, 'F', '\n', 2, 0}), WireStatus::kBadName, "name", 15, '\n');
  expect_rejected(manifest_bytes(0, 1, {1, 0, 0x7f, 2, 0}), WireStatus::kBadName, "name", 14, 0x7f);
}

TEST(ManifestCodec, RejectsUnknownResultType) {
  expect_rejected(manifest_bytes(1, 0, {1, 0, 'F', kValueTypeCount, 0}), WireStatus::kBadType, "result", 15,
                  kValueTypeCount);
}

TEST(ManifestCodec, RejectsTooManyParameters) {
  expect_rejected(manifest_bytes(1, 0, {1, 0, 'F', 2, kMaxArgs + 1}), WireStatus::kTooMany, "param_count", 16,
                  kMaxArgs + 1);
}

TEST(ManifestCodec, RejectsVoidParameter) {
  expect_rejected(manifest_bytes(1, 0, {1, 0, 'F', 2, 1, 0}), WireStatus::kBadType, "param", 17, 0);
}

TEST(ManifestCodec, RejectsUnknownParameterType) {
  expect_rejected(manifest_bytes(1, 0, {1, 0, 'F', 2, 2, 2, 200}), WireStatus::kBadType, "param", 18, 200);
}

TEST(ManifestCodec, RejectsCountLargerThanTheEntries) {
  expect_rejected(manifest_bytes(2, 0, {1, 0, 'F', 2, 0}), WireStatus::kTruncated, "name_length", 17, 2);
}

TEST(ManifestCodec, RejectsTrailingBytes) {
  expect_rejected(manifest_bytes(1, 0, {1, 0, 'F', 2, 0, 0xee}), WireStatus::kTrailingBytes, "end", 17, 1);
}

TEST(ManifestCodec, RejectsTotalLengthPastTheBuffer) {
  Bytes bytes = manifest_bytes(0, 0, {});
  store_le<uint32_t>(bytes.data() + kTotalLengthOffset, 100);
  expect_rejected(bytes, WireStatus::kBadLength, "total_length", kTotalLengthOffset, 100);
}

TEST(ManifestCodec, RejectsTruncationAtEveryLength) {
  const std::string a = "Add", h = "HostAdd";
  Bytes bytes = encode({decl(a, VT::kI32, {VT::kI32, VT::kI32})}, {decl(h, VT::kI64, {VT::kI64})});
  ASSERT_FALSE(bytes.empty());
  for (size_t len = 0; len < bytes.size(); ++len) {
    Bytes cut(bytes.begin(), bytes.begin() + static_cast<long>(len));
    EXPECT_FALSE(decode(cut).ok) << len;
  }
}

}  // namespace
}  // namespace snapvm::abi
