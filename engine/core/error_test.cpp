// error_test.cpp: tests for error.cpp and error_codes.def (names, classes, to_string, builders).
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "snapvm/error.h"

namespace snapvm {
namespace {

constexpr ErrorCode kAllCodes[] = {
#define SNAPVM_ERROR(name, cls, text) ErrorCode::k##name,
#include "snapvm/error_codes.def"
#undef SNAPVM_ERROR
};

TEST(ErrorCodes, EveryCodeHasADistinctNameAndADescription) {
  std::set<std::string> names;
  for (ErrorCode c : kAllCodes) {
    EXPECT_TRUE(names.insert(std::string(error_code_name(c))).second) << error_code_name(c);
    EXPECT_FALSE(error_code_description(c).empty()) << error_code_name(c);
    EXPECT_NE(error_class_name(error_class(c)), "unknown") << error_code_name(c);
  }
}

TEST(ErrorCodes, NamesAndClassesComeFromTheTable) {
  EXPECT_EQ(error_code_name(ErrorCode::kReservedNotZero), "ReservedNotZero");
  EXPECT_EQ(error_class(ErrorCode::kReservedNotZero), ErrorClass::Format);
  EXPECT_EQ(error_class(ErrorCode::kLayoutMismatch), ErrorClass::Format);
  EXPECT_EQ(error_class(ErrorCode::kImageLayout), ErrorClass::Elf);
  EXPECT_EQ(error_class(ErrorCode::kInvalidConfig), ErrorClass::Config);
  EXPECT_EQ(error_class_name(ErrorClass::Checksum), "checksum");
}

TEST(Error, ToStringShowsEveryPart) {
  Error e = field_error(ErrorCode::kMisaligned, "regions[3].size", 0x478, 0x1001, "a multiple of 4096");
  EXPECT_EQ(e.to_string(),
            "Misaligned: a field is not aligned; regions[3].size at offset 0x478 is 0x1001 (4097); a multiple of 4096");
  Error s = errno_error(ErrorCode::kSyscall, "mmap", 12);
  EXPECT_EQ(s.sys_errno, 12);
  EXPECT_NE(s.to_string().find("errno 12"), std::string::npos) << s.to_string();
}

TEST(Error, MakeErrorLeavesOffsetAndValueUnset) {
  Error e = make_error(ErrorCode::kIo, "open x", "not found");
  EXPECT_EQ(e.field, "open x");
  EXPECT_EQ(e.detail, "not found");
  EXPECT_FALSE(e.offset.has_value());
  EXPECT_FALSE(e.value.has_value());
  EXPECT_EQ(hex(0x1f), "0x1f");
}

}  // namespace
}  // namespace snapvm
