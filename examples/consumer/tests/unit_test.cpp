// unit_test.cpp: the consumer's tests that need no /dev/kvm: the harness parses call arguments, and the
// engine refuses a file that is not a snapshot with a typed error.
#include <gtest/gtest.h>

#include <snapvm/snapvm.h>
#include <snapvm_harness/arguments.h>
#include <unistd.h>
#include <filesystem>
#include <fstream>
#include <string>

TEST(ConsumerHarness, ParsesTypedArguments) {
  auto v = snapvm::harness::parse_argument(snapvm::ValueType::kI64, "-42");
  ASSERT_TRUE(v.has_value()) << v.error().to_string();
  EXPECT_EQ(*v, snapvm::Value{int64_t{-42}});
  auto bytes = snapvm::harness::parse_argument(snapvm::ValueType::kBytes, "beef");
  ASSERT_TRUE(bytes.has_value());
  EXPECT_EQ(*bytes, (snapvm::Value{snapvm::Bytes{0xbe, 0xef}}));
  auto bad = snapvm::harness::parse_argument(snapvm::ValueType::kU32, "not a number");
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().code, snapvm::ErrorCode::kArgumentMismatch);
}

TEST(ConsumerEngine, RefusesAFileThatIsNotASnapshot) {
  const auto file = std::filesystem::temp_directory_path() / ("consumer-not-a-snapshot-" + std::to_string(::getpid()));
  std::ofstream(file) << "this is not a snapshot file";
  auto loaded = snapvm::Snapshot::from_file(file);
  std::filesystem::remove(file);
  ASSERT_FALSE(loaded.has_value());
  EXPECT_EQ(loaded.error().cls(), snapvm::ErrorClass::Format) << loaded.error().to_string();
}
