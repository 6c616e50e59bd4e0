// regressions_test.cpp: bugs the properties found, each kept as a plain GoogleTest test holding the
// shrunk counterexample, so it is checked on every run whatever the seed (a RapidCheck
// RC_PARAMS="reproduce=..." string only replays against the exact generators that printed it).
// Tests that need /dev/kvm go in regressions_kvm_test.cpp.
//
// To add one (docs/properties.md, "Keeping a regression"):
//  1. Reproduce the failure: RC_PARAMS="reproduce=..." <binary> --gtest_filter=<Suite.Name>.
//  2. Write the shrunk counterexample out as a test here named for the behaviour it checks
//     (RejectsX, YRoundTrips); assert the correct behaviour, not the buggy one.
//  3. While the bug is open, prefix the name with DISABLED_ and say so in docs/properties.md
//     ("Known failures"); remove the prefix in the commit that fixes it.
#include <gtest/gtest.h>

#include "snapshot/format.h"
#include "snapshot/snapshot_access.h"
#include "snapshot/test_snapshot.h"
#include "snapshot/validate.h"

namespace snapvm::properties {
namespace {

// Found by SnapshotFormat.FunctionNamesWithAnyNonControlByteRoundTrip (shrunk: a guest function named
// "\x80"). docs/snapshot-format.md allows every name byte but < 0x20 and 0x7f, and the manifest decoder
// accepts 0x80-0xff, but format.cpp compared a signed char and refused them as control characters: a
// guest whose function name was UTF-8 ran, but its snapshots could not be saved.
TEST(Regressions, FunctionNameWithByte0x80RoundTrips) {
  auto snap = test_support::make_test_snapshot();
  ASSERT_TRUE(snap) << snap.error().to_string();
  detail::SnapshotMetadata d = detail::snapshot_data(*snap)->meta;
  d.guest_functions = {FunctionInfo{"\x80", Signature{ValueType::kVoid, {}}}};
  std::vector<uint8_t> bytes = format::encode_metadata(d, DigestAlgorithm::kBlake3_256, Digest{});
  uint64_t blob = 0;
  for (const Region& r : d.layout.regions) blob += r.size;
  auto decoded = format::decode_and_validate(bytes, bytes.size() + blob, format::DecodeOptions{});
  ASSERT_TRUE(decoded) << decoded.error().to_string();
  ASSERT_EQ(decoded->meta.guest_functions.size(), 1u);
  EXPECT_EQ(decoded->meta.guest_functions[0].name, "\x80");
}

}  // namespace
}  // namespace snapvm::properties
