// golden_test.cpp: every committed golden snapshot file (corpus/golden/v<N>/) still loads, means what
// its JSON sidecar says (snapvm inspect --json at the time it was made), and, with KVM, still runs.
// A format or ABI change must keep these passing or refuse them with its clear error; see
// docs/snapshot-versioning.md for the procedure.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "golden_files.h"
#include "snapshot/validate.h"
#include "snapvm_harness/describe.h"
#include "testing/kvm_test_support.h"

namespace snapvm {
namespace {

namespace fs = std::filesystem;

using golden::golden_files;

std::vector<uint8_t> read(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// The directory a golden is in names its format: corpus/golden/v<N>/.
uint32_t directory_version(const fs::path& file) {
  return static_cast<uint32_t>(std::stoul(file.parent_path().filename().string().substr(1)));
}

TEST(Golden, ThereAreGoldenFilesForEveryFormatRead) {
  auto files = golden_files();
  for (uint32_t v = format::kMinFormatVersion; v <= format::kFormatVersion; ++v) {
    auto n = std::count_if(files.begin(), files.end(), [&](const fs::path& f) { return directory_version(f) == v; });
    EXPECT_GE(n, 2) << "format " << v << " needs goldens (a blake3 and an xxh3 one) in corpus/golden/v" << v;
  }
  for (const auto& f : files) EXPECT_TRUE(fs::exists(fs::path(f).replace_extension(".json"))) << f;
}

// Keys `snapvm inspect --json` gained after the format 1 sidecars were made, with the only values
// they may have for a format 1 file; a sidecar that has the key compares it as any other.
void drop_keys_added_since(nlohmann::json& actual, const nlohmann::json& expected) {
  const std::pair<const char*, nlohmann::json> added[] = {{"format_version", 1}, {"digest_scheme", "flat"}};
  for (const auto& [key, value] : added) {
    if (expected.contains(key)) continue;
    EXPECT_EQ(actual[key], value) << key;
    actual.erase(key);
  }
}

TEST(Golden, EveryFileLoadsAndMatchesItsSidecar) {
  for (const fs::path& file : golden_files()) {
    SCOPED_TRACE(file.string());
    nlohmann::json expected = nlohmann::json::parse(std::ifstream(fs::path(file).replace_extension(".json")));
    auto snap = Snapshot::from_file(file);
    if (expected["cpu_vendor"] != format::host_cpu_vendor()) {
      // Recorded on another CPU vendor: refused with the clear platform error, and everything else
      // in it still decodes and validates when that vendor is expected.
      ASSERT_FALSE(snap);
      EXPECT_EQ(snap.error().code, ErrorCode::kPlatformMismatch);
      auto bytes = read(file);
      format::DecodeOptions o;
      o.cpu_vendor = expected["cpu_vendor"].get<std::string>();
      auto decoded = format::decode_and_validate(bytes, bytes.size(), o);
      ASSERT_TRUE(decoded) << decoded.error().to_string();
      continue;
    }
    ASSERT_TRUE(snap) << snap.error().to_string();
    EXPECT_EQ(snap->format_version(), directory_version(file));
    nlohmann::json actual = harness::snapshot_to_json(*snap);
    drop_keys_added_since(actual, expected);
    EXPECT_EQ(actual, expected);
    auto unchecked = Snapshot::from_file_unchecked(file);
    ASSERT_TRUE(unchecked) << unchecked.error().to_string();
  }
}

}  // namespace
}  // namespace snapvm
