// host_calls_test.cpp: serving host calls, logs and aborts from what a guest leaves in its output
// buffer, without KVM.
#include "sandbox/host_calls.h"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <vector>

#include "sandbox/call_codec.h"
#include "snapvm/abi/wire.h"

namespace snapvm::detail {
namespace {

struct Buffers {
  std::vector<uint8_t> output = std::vector<uint8_t>(4096, 0);  // guest -> host
  std::vector<uint8_t> input = std::vector<uint8_t>(4096, 0);   // host -> guest
};

Buffers host_call(std::string_view name, std::vector<Value> args) {
  Buffers b;
  EXPECT_TRUE(encode_call(b.output, abi::kHostCallMagic, name, args));
  return b;
}

HostFunctions adder() {
  HostFunctions f;
  EXPECT_TRUE(f.add_typed("Add", [](int64_t a, int64_t b) { return a + b; }));
  return f;
}

TEST(HostCalls, RunsTheFunctionAndEncodesItsResult) {
  Buffers b = host_call("Add", {int64_t{40}, int64_t{2}});
  auto n = serve_host_call(b.output, b.input, adder());
  ASSERT_TRUE(n) << n.error().to_string();
  EXPECT_GT(*n, 0u);
  auto v = decode_result(b.input);
  ASSERT_TRUE(v);
  EXPECT_EQ(std::get<int64_t>(*v), 42);
}

TEST(HostCalls, MalformedCallIsAGuestProtocolError) {
  Buffers b;
  auto n = serve_host_call(b.output, b.input, adder());
  ASSERT_FALSE(n);
  EXPECT_EQ(n.error().code, ErrorCode::kGuestProtocol);
}

TEST(HostCalls, UnknownFunctionIsRefused) {
  Buffers b = host_call("Nope", {});
  auto n = serve_host_call(b.output, b.input, adder());
  ASSERT_FALSE(n);
  EXPECT_EQ(n.error().code, ErrorCode::kUnknownHostFunction);
  EXPECT_EQ(n.error().field, "Nope");
}

TEST(HostCalls, ArgumentsAreCheckedAgainstTheSignature) {
  Buffers b = host_call("Add", {int32_t{1}, int64_t{2}});
  auto n = serve_host_call(b.output, b.input, adder());
  ASSERT_FALSE(n);
  EXPECT_EQ(n.error().code, ErrorCode::kArgumentMismatch);
}

TEST(HostCalls, ThrowingFunctionIsAHostFunctionError) {
  HostFunctions f;
  ASSERT_TRUE(f.add_typed("Throw", []() -> int32_t { throw std::runtime_error("boom"); }));
  Buffers b = host_call("Throw", {});
  auto n = serve_host_call(b.output, b.input, f);
  ASSERT_FALSE(n);
  EXPECT_EQ(n.error().code, ErrorCode::kHostFunctionError);
  EXPECT_EQ(n.error().detail, "threw: boom");
}

TEST(HostCalls, ResultOfAnotherTypeThanTheSignatureIsRefused) {
  HostFunctions f;
  ASSERT_TRUE(f.add("Liar", Signature{ValueType::kI32, {}},
                    [](std::span<const Value>) -> Result<Value> { return Value{std::string("not an i32")}; }));
  Buffers b = host_call("Liar", {});
  auto n = serve_host_call(b.output, b.input, f);
  ASSERT_FALSE(n);
  EXPECT_EQ(n.error().code, ErrorCode::kHostFunctionError);
  EXPECT_EQ(n.error().detail, "returned string, signature says i32");
}

TEST(HostCalls, LogLevelsAboveErrorAreClamped) {
  Buffers b;
  ASSERT_GT(abi::encode_text_record(b.output.data(), b.output.size(), abi::kLogMagic, 99, "hi", 2), 0u);
  std::vector<std::pair<LogLevel, std::string>> got;
  ASSERT_TRUE(serve_log(b.output, [&](LogLevel l, std::string_view m) { got.emplace_back(l, std::string(m)); }));
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].first, LogLevel::kError);
  EXPECT_EQ(got[0].second, "hi");
  EXPECT_TRUE(serve_log(b.output, LogCallback{}));  // no callback: dropped
}

TEST(HostCalls, MalformedLogIsAGuestProtocolError) {
  Buffers b;
  Status s = serve_log(b.output, LogCallback{});
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, ErrorCode::kGuestProtocol);
}

TEST(HostCalls, AbortCarriesTheGuestsCodeAndMessage) {
  Buffers b;
  ASSERT_GT(abi::encode_text_record(b.output.data(), b.output.size(), abi::kAbortMagic, 7, "gave up", 7), 0u);
  Error e = abort_error(b.output);
  EXPECT_EQ(e.code, ErrorCode::kGuestAbort);
  EXPECT_EQ(e.guest_code, 7);
  EXPECT_EQ(e.detail, "gave up");
  Error malformed = abort_error(Buffers{}.output);
  EXPECT_EQ(malformed.code, ErrorCode::kGuestAbort);
  EXPECT_EQ(malformed.detail.rfind("malformed abort record: ", 0), 0u);
}

}  // namespace
}  // namespace snapvm::detail
