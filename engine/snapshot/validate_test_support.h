// validate_test_support.h: the helpers validate_test.cpp and validate_registers_test.cpp share: a
// good encoded file, one-field edits that re-fix the header checksum, and assertions of the exact
// error code, field name and file offset.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "snapshot/file_patch.h"
#include "snapshot/test_snapshot.h"
#include "snapshot/validate.h"

namespace snapvm::format::validate_test {

using test_support::TestSnapshotOptions;

inline std::vector<uint8_t> good_file(SnapshotStage stage = SnapshotStage::kAfterInit,
                                      uint32_t version = kFormatVersion) {
  static const Snapshot after = test_support::make_test_snapshot().value();
  static const Snapshot before =
      test_support::make_test_snapshot(TestSnapshotOptions{SnapshotStage::kBeforeInit}).value();
  return test_support::encode_file(stage == SnapshotStage::kAfterInit ? after : before, DigestAlgorithm::kBlake3_256,
                                   version);
}
inline std::vector<uint8_t> good_v1_file() { return good_file(SnapshotStage::kAfterInit, 1); }

inline const Layout& layout() {
  static const Layout l = test_support::make_test_snapshot().value().layout();
  return l;
}

inline uint64_t get(const std::vector<uint8_t>& file, const char* field) { return get_field(file, field).value(); }

// The file with `field` replaced by edit(old value), checksum fixed.
inline std::vector<uint8_t> edited(const char* field, const std::function<uint64_t(uint64_t)>& edit,
                                   SnapshotStage stage = SnapshotStage::kAfterInit) {
  std::vector<uint8_t> file = good_file(stage);
  EXPECT_TRUE(set_field(file, field, edit(get(file, field)))) << field;
  return file;
}
inline std::function<uint64_t(uint64_t)> to(uint64_t v) {
  return [v](uint64_t) { return v; };
}
inline std::function<uint64_t(uint64_t)> set_bits(uint64_t bits) {
  return [bits](uint64_t v) { return v | bits; };
}
inline std::function<uint64_t(uint64_t)> clear_bits(uint64_t bits) {
  return [bits](uint64_t v) { return v & ~bits; };
}

inline void expect_rejected(const std::vector<uint8_t>& file, ErrorCode code, const std::string& field,
                            const DecodeOptions& options = {}) {
  auto r = decode_and_validate(file, file.size(), options);
  ASSERT_FALSE(r.has_value()) << "accepted; expected " << error_code_name(code) << " on " << field;
  const Error& e = r.error();
  EXPECT_EQ(error_code_name(e.code), error_code_name(code)) << e.to_string();
  EXPECT_EQ(e.field, field) << e.to_string();
  std::optional<FieldInfo> where = find_field(file, field);
  ASSERT_TRUE(where.has_value()) << field;
  EXPECT_EQ(e.offset, where->offset) << e.to_string();
  EXPECT_TRUE(e.value.has_value());
}

// For rules a one-field edit cannot reach (the structure would shift): edit the decoded file.
inline void expect_decoded_rejected(const std::function<void(DecodedSnapshotFile&)>& edit, ErrorCode code,
                                    const std::string& field) {
  std::vector<uint8_t> file = good_file();
  DecodedSnapshotFile f = decode_metadata(file, file.size()).value();
  edit(f);
  Status s = validate_snapshot(f, file.size());
  ASSERT_FALSE(s.has_value());
  EXPECT_EQ(error_code_name(s.error().code), error_code_name(code)) << s.error().to_string();
  EXPECT_EQ(s.error().field, field) << s.error().to_string();
}

}  // namespace snapvm::format::validate_test
