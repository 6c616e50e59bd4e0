// field_mutation_test.cpp: tests for field_mutation.cpp (the shared field-aware mutations) and
// arguments.cpp (command-line words as typed arguments), over a synthetic snapshot file (no KVM).
#include "snapvm_harness/field_mutation.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "snapshot/format.h"
#include "snapshot/test_snapshot.h"
#include "snapshot/validate.h"
#include "snapvm/abi/layout.h"
#include "snapvm_harness/arguments.h"

namespace snapvm::harness {
namespace {

std::vector<uint8_t> test_file() {
  auto s = test_support::make_test_snapshot();
  EXPECT_TRUE(s) << s.error().to_string();
  return test_support::encode_file(*s);
}

format::FieldInfo field(std::span<const uint8_t> file, const std::string& name) {
  for (const auto& f : format::describe_fields(file)) {
    if (f.name == name) return f;
  }
  ADD_FAILURE() << "no field " << name;
  return {};
}

TEST(FieldMutation, KindsFollowTheFieldName) {
  EXPECT_EQ(field_kind("regions[2].guest_address"), FieldKind::kAddress);
  EXPECT_EQ(field_kind("layout.heap_base"), FieldKind::kAddress);
  EXPECT_EQ(field_kind("regs.rip"), FieldKind::kAddress);
  EXPECT_EQ(field_kind("sregs.cr3"), FieldKind::kAddress);
  EXPECT_EQ(field_kind("sregs.cs.selector"), FieldKind::kRegister);
  EXPECT_EQ(field_kind("fpu.mxcsr"), FieldKind::kRegister);
  EXPECT_EQ(field_kind("regions.count"), FieldKind::kCount);
  EXPECT_EQ(field_kind("header_length"), FieldKind::kCount);
}

TEST(FieldMutation, EveryKindStartsWithTheIntegerAndPageEdges) {
  for (FieldKind k : {FieldKind::kCount, FieldKind::kAddress, FieldKind::kRegister}) {
    const auto values = boundary_values(k);
    ASSERT_GE(values.size(), 16u);
    EXPECT_EQ(values[0], 0u);
    EXPECT_EQ(values[9], abi::kPageSize);
    EXPECT_EQ(values[15], ~uint64_t{0} - 4095);
  }
  const auto a = boundary_values(FieldKind::kAddress);
  EXPECT_NE(std::find(a.begin(), a.end(), abi::kDefaultImageBase), a.end());
}

TEST(FieldMutation, MutableFieldsLeaveOutPaddingBlobAndChecksum) {
  const auto file = test_file();
  const auto fields = mutable_fields(file);
  ASSERT_FALSE(fields.empty());
  for (const auto& f : fields) {
    EXPECT_NE(f.name, "padding");
    EXPECT_NE(f.name, "blob");
    EXPECT_NE(f.name, "header_checksum");
    EXPECT_GT(f.size, 0u);
  }
}

TEST(FieldMutation, ChangesStayInTheFieldsWidth) {
  auto file = test_file();
  const auto fields = mutable_fields(file);
  const auto f = field(file, "regions.count");
  ASSERT_EQ(f.size, 4u);
  const auto before = file;
  for (size_t c = 0; c < kFieldChangeCount; ++c) {
    for (uint64_t choice : {uint64_t{0}, uint64_t{7}, ~uint64_t{0}}) {
      const uint64_t v = mutated_value(file, fields, f, {static_cast<FieldChange>(c), choice});
      EXPECT_LE(v, 0xffffffffu);
    }
  }
  EXPECT_EQ(file, before);  // mutated_value does not write
  const uint64_t v = mutate_field(file, fields, f, {FieldChange::kArbitrary, 0x1234567890});
  EXPECT_EQ(v, 0x34567890u);
  EXPECT_EQ(read_field(file, f), 0x34567890u);
  for (size_t i = 0; i < file.size(); ++i) {
    if (i < f.offset || i >= f.offset + f.size) {
      ASSERT_EQ(file[i], before[i]) << "byte " << i;
    }
  }
}

TEST(FieldMutation, StepsAndBitsChangeTheCurrentValue) {
  const auto file = test_file();
  const auto f = field(file, "regs.rip");
  const uint64_t rip = read_field(file, f);
  EXPECT_EQ(mutated_value(file, {}, f, {FieldChange::kStep, 0}), rip + 1);
  EXPECT_EQ(mutated_value(file, {}, f, {FieldChange::kStep, 1}), rip - 1);
  EXPECT_EQ(mutated_value(file, {}, f, {FieldChange::kStep, 16}), rip + abi::kPageSize);
  EXPECT_EQ(mutated_value(file, {}, f, {FieldChange::kFlipBit, 3}), rip ^ 8);
  EXPECT_EQ(mutated_value(file, {}, f, {FieldChange::kClearBit, 63}), rip & ~(uint64_t{1} << 63));
  EXPECT_EQ(mutated_value(file, {}, f, {FieldChange::kCopyField, 0}), rip);  // no fields to copy from
}

TEST(FieldMutation, FixedChecksumsLoadAgain) {
  auto file = test_file();
  const auto f = field(file, "digest");
  mutate_bytes(file, f.offset, f.size, [](uint8_t* d, size_t n, size_t) {
    for (size_t i = 0; i < n; ++i) d[i] ^= 0xff;
    return n;
  });
  auto stale = file;
  fix_checksums(stale, Checksums::kStale);
  EXPECT_EQ(stale, file);
  fix_checksums(file, Checksums::kHeaderFixed);
  EXPECT_TRUE(format::decode_and_validate(file, file.size(), {}).has_value());
  fix_checksums(file, Checksums::kAllFixed);
  EXPECT_TRUE(format::decode_and_validate(file, file.size(), {}).has_value());
}

TEST(Arguments, ParsesEachTypeFromItsWord) {
  EXPECT_EQ(parse_argument(ValueType::kI32, "-5").value(), Value{int32_t{-5}});
  EXPECT_EQ(parse_argument(ValueType::kU64, "0xff").value(), Value{uint64_t{255}});
  EXPECT_EQ(parse_argument(ValueType::kBool, "true").value(), Value{true});
  EXPECT_EQ(parse_argument(ValueType::kString, "hi").value(), Value{std::string("hi")});
  EXPECT_EQ(parse_argument(ValueType::kBytes, "deadbeef").value(), Value{(Bytes{0xde, 0xad, 0xbe, 0xef})});
}

TEST(Arguments, RejectsAWordThatIsNotItsTypeAsAnArgumentMismatch) {
  for (auto [type, word] : {std::pair{ValueType::kI32, "x"}, std::pair{ValueType::kBool, "yes"},
                            std::pair{ValueType::kBytes, "abc"}, std::pair{ValueType::kF64, ""}}) {
    auto v = parse_argument(type, word);
    ASSERT_FALSE(v) << word;
    EXPECT_EQ(v.error().code, ErrorCode::kArgumentMismatch);
    EXPECT_EQ(v.error().field, word);
  }
}

}  // namespace
}  // namespace snapvm::harness
