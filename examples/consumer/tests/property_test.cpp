// property_test.cpp: RapidCheck properties of the consumer (no KVM): every integer the harness prints
// parses back to itself, and no random bytes are ever accepted as a snapshot file.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <snapvm/snapvm.h>
#include <snapvm_harness/arguments.h>
#include <unistd.h>
#include <filesystem>
#include <fstream>
#include <string>

RC_GTEST_PROP(ConsumerProperty, IntegersParseBack, (int64_t n)) {
  auto v = snapvm::harness::parse_argument(snapvm::ValueType::kI64, std::to_string(n));
  RC_ASSERT(v.has_value());
  RC_ASSERT(*v == snapvm::Value{n});
}

RC_GTEST_PROP(ConsumerProperty, RandomBytesAreNeverASnapshot, (const std::vector<uint8_t>& bytes)) {
  const auto file = std::filesystem::temp_directory_path() / ("consumer-prop-" + std::to_string(::getpid()));
  {
    std::ofstream out(file, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  }
  auto loaded = snapvm::Snapshot::from_file_unchecked(file);
  std::filesystem::remove(file);
  RC_ASSERT(!loaded.has_value());
}
