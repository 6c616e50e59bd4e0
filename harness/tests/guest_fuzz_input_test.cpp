// guest_fuzz_input_test.cpp: the documented rule that turns a fuzz input into a guest function's
// arguments (split_input) and its inverse (join_input); which call errors are crashes.
// Native: no VM.
#include <gtest/gtest.h>

#include <cstring>
#include <random>

#include "snapvm_harness/guest_fuzzer.h"

namespace snapvm::harness {
namespace {

using VT = ValueType;

Signature sig(std::vector<VT> params) { return Signature{VT::kI32, std::move(params)}; }
Bytes bytes(std::initializer_list<int> b) {
  Bytes out;
  for (int x : b) out.push_back(static_cast<uint8_t>(x));
  return out;
}

TEST(SplitInput, OneBytesParameterTakesTheWholeInput) {
  const Bytes in = bytes({1, 2, 3, 0, 255});
  auto args = split_input(sig({VT::kBytes}), in);
  ASSERT_EQ(args.size(), 1u);
  EXPECT_EQ(std::get<Bytes>(args[0]), in);
  EXPECT_EQ(std::get<Bytes>(split_input(sig({VT::kBytes}), {})[0]), Bytes{});
}

TEST(SplitInput, ScalarsAreLittleEndianFromTheStartAndZeroPastTheEnd) {
  const Bytes in = bytes({0x78, 0x56, 0x34, 0x12, 0xff, 0xff, 0xff, 0xff, 0x02});
  auto args = split_input(sig({VT::kU32, VT::kI32, VT::kBool, VT::kU64}), in);
  ASSERT_EQ(args.size(), 4u);
  EXPECT_EQ(std::get<uint32_t>(args[0]), 0x12345678u);
  EXPECT_EQ(std::get<int32_t>(args[1]), -1);
  EXPECT_EQ(std::get<bool>(args[2]), true);    // any non-zero byte
  EXPECT_EQ(std::get<uint64_t>(args[3]), 0u);  // nothing left: zero
  auto partial = split_input(sig({VT::kU32}), bytes({0xaa, 0xbb}));
  EXPECT_EQ(std::get<uint32_t>(partial[0]), 0xbbaau);
  EXPECT_EQ(std::get<bool>(split_input(sig({VT::kBool}), bytes({0}))[0]), false);
}

TEST(SplitInput, FloatsTakeTheirBitPatterns) {
  double d = -2.5;
  float f = 1.25f;
  Bytes in(12);
  std::memcpy(in.data(), &f, 4);
  std::memcpy(in.data() + 4, &d, 8);
  auto args = split_input(sig({VT::kF32, VT::kF64}), in);
  EXPECT_EQ(std::get<float>(args[0]), 1.25f);
  EXPECT_EQ(std::get<double>(args[1]), -2.5);
}

TEST(SplitInput, ScalarsComeFirstThenLengthPrefixedVariablesAndTheLastTakesTheRest) {
  // (string, u32, bytes): the u32 is read first, then the string with a 2-byte length, then the bytes.
  const Bytes in = bytes({7, 0, 0, 0, 3, 0, 'a', 'b', 'c', 9, 8});
  auto args = split_input(sig({VT::kString, VT::kU32, VT::kBytes}), in);
  EXPECT_EQ(std::get<std::string>(args[0]), "abc");
  EXPECT_EQ(std::get<uint32_t>(args[1]), 7u);
  EXPECT_EQ(std::get<Bytes>(args[2]), bytes({9, 8}));
}

TEST(SplitInput, ALengthPastTheEndIsCappedAndLaterVariablesAreEmpty) {
  const Bytes in = bytes({0xff, 0xff, 'x', 'y'});
  auto args = split_input(sig({VT::kBytes, VT::kString}), in);
  EXPECT_EQ(std::get<Bytes>(args[0]), bytes({'x', 'y'}));
  EXPECT_EQ(std::get<std::string>(args[1]), "");
  auto short_prefix = split_input(sig({VT::kBytes, VT::kBytes}), bytes({5}));
  EXPECT_EQ(std::get<Bytes>(short_prefix[0]), Bytes{});
  EXPECT_EQ(std::get<Bytes>(short_prefix[1]), Bytes{});
}

TEST(SplitInput, NoParametersIgnoresTheInput) { EXPECT_TRUE(split_input(sig({}), bytes({1, 2, 3})).empty()); }

TEST(JoinInput, IsTheInverseOfSplitInputForRandomValues) {
  std::mt19937_64 rng(42);
  const std::vector<VT> types{VT::kBool, VT::kI32, VT::kU32,    VT::kI64,  VT::kU64,
                              VT::kF64,  VT::kF32, VT::kString, VT::kBytes};
  for (int round = 0; round < 500; ++round) {
    Signature s = sig({});
    std::vector<Value> values;
    const size_t n = rng() % 6;
    for (size_t i = 0; i < n; ++i) {
      const VT t = types[rng() % types.size()];
      s.params.push_back(t);
      const uint64_t r = rng();
      switch (t) {
        case VT::kBool:
          values.emplace_back((r & 1) != 0);
          break;
        case VT::kI32:
          values.emplace_back(static_cast<int32_t>(r));
          break;
        case VT::kU32:
          values.emplace_back(static_cast<uint32_t>(r));
          break;
        case VT::kI64:
          values.emplace_back(static_cast<int64_t>(r));
          break;
        case VT::kU64:
          values.emplace_back(r);
          break;
        case VT::kF64:
          values.emplace_back(static_cast<double>(r % 1000) / 8);
          break;
        case VT::kF32:
          values.emplace_back(static_cast<float>(r % 1000) / 4);
          break;
        case VT::kString:
          values.emplace_back(std::string(r % 40, static_cast<char>('a' + r % 26)));
          break;
        default:
          values.emplace_back(Bytes(r % 300, static_cast<uint8_t>(r >> 8)));
          break;
      }
    }
    auto joined = join_input(s, values);
    ASSERT_TRUE(joined) << joined.error().to_string();
    EXPECT_EQ(split_input(s, *joined), values) << "round " << round;
  }
}

TEST(JoinInput, RefusesValuesThatDoNotMatchAndOverlongEarlierVariables) {
  auto wrong_type = join_input(sig({VT::kU32}), {int32_t{1}});
  ASSERT_FALSE(wrong_type);
  EXPECT_EQ(wrong_type.error().code, ErrorCode::kArgumentMismatch);
  EXPECT_EQ(wrong_type.error().field, "argument 0");
  EXPECT_FALSE(join_input(sig({VT::kU32}), {}));
  auto overlong = join_input(sig({VT::kBytes, VT::kBytes}), {Bytes(70000), Bytes{}});
  ASSERT_FALSE(overlong);
  EXPECT_EQ(overlong.error().value, 70000u);
  EXPECT_TRUE(join_input(sig({VT::kBytes, VT::kBytes}), {Bytes{}, Bytes(70000)}));  // the last may be long
}

TEST(IsCrash, GuestFailuresAreCrashesHostRefusalsAreNot) {
  for (ErrorCode c : {ErrorCode::kGuestFault, ErrorCode::kGuestAbort, ErrorCode::kGuestProtocol, ErrorCode::kTimeout,
                      ErrorCode::kGuestStopped, ErrorCode::kReturnMismatch, ErrorCode::kWireMalformed}) {
    EXPECT_TRUE(is_crash(make_error(c))) << error_code_name(c);
  }
  for (ErrorCode c : {ErrorCode::kCallTooLarge, ErrorCode::kHostFunctionError, ErrorCode::kKvmIoctl,
                      ErrorCode::kCancelled, ErrorCode::kArgumentMismatch}) {
    EXPECT_FALSE(is_crash(make_error(c))) << error_code_name(c);
  }
}

}  // namespace
}  // namespace snapvm::harness
