// harness_test.cpp: tests for compare.cpp and mutators.cpp over synthetic snapshot files (no KVM).
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <set>

#include "snapshot/file_patch.h"
#include "snapshot/format.h"
#include "snapshot/test_snapshot.h"
#include "snapvm_harness/compare.h"
#include "snapvm_harness/mutators.h"

namespace snapvm::harness {
namespace {

// Loads bytes through a memfd path, as the loaders would load a real file.
Result<Snapshot> load_bytes(const std::vector<uint8_t>& bytes) {
  int fd = ::memfd_create("harness-test", 0);
  if (::write(fd, bytes.data(), bytes.size()) != static_cast<ssize_t>(bytes.size())) {
    return make_error(ErrorCode::kIo, "memfd");
  }
  auto s = Snapshot::from_file("/proc/self/fd/" + std::to_string(fd));
  ::close(fd);
  return s;
}

class HarnessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = test_support::make_test_snapshot();
    ASSERT_TRUE(s) << s.error().to_string();
    file_ = test_support::encode_file(*s);
    auto loaded = load_bytes(file_);
    ASSERT_TRUE(loaded) << loaded.error().to_string();
    original_.emplace(*loaded);
  }
  // The file with one field changed and every checksum fixed, loaded.
  Snapshot with_field(const std::string& field, uint64_t value) {
    auto bytes = file_;
    EXPECT_TRUE(format::set_field(bytes, field, value)) << field;
    format::fix_content_digest(bytes);
    auto s = load_bytes(bytes);
    EXPECT_TRUE(s) << s.error().to_string();
    return *s;
  }
  std::vector<uint8_t> file_;
  std::optional<Snapshot> original_;
};

TEST_F(HarnessTest, IdenticalSnapshotsCompareEqual) {
  auto r = compare_snapshots(*original_, *load_bytes(file_));
  EXPECT_TRUE(r.equal()) << r.to_text();
  EXPECT_GT(r.memory_pages_compared, 0u);
}

TEST_F(HarnessTest, PlantedGeneralRegisterIsNamed) {
  auto r = compare_snapshots(*original_, with_field("regs.rax", 0x1234));
  ASSERT_EQ(r.fields.size(), 1u) << r.to_text();
  EXPECT_EQ(r.fields[0].where, "vcpu.rax");
  EXPECT_EQ(r.fields[0].b, "0x1234");
}

TEST_F(HarnessTest, PlantedSpecialRegisterIsNamed) {
  auto r = compare_snapshots(*original_, with_field("sregs.cr2", 0xdead000));
  ASSERT_EQ(r.fields.size(), 1u) << r.to_text();
  EXPECT_EQ(r.fields[0].where, "vcpu.cr2");
}

TEST_F(HarnessTest, PlantedFpuRegisterIsNamed) {
  auto r = compare_snapshots(*original_, with_field("fpu.fcw", 0x27f));
  ASSERT_EQ(r.fields.size(), 1u) << r.to_text();
  EXPECT_EQ(r.fields[0].where, "vcpu.fcw");
}

TEST_F(HarnessTest, PlantedHeaderFieldIsNamed) {
  uint64_t dispatch = *format::get_field(file_, "dispatch");
  auto r = compare_snapshots(*original_, with_field("dispatch", dispatch + 1));
  ASSERT_EQ(r.fields.size(), 1u) << r.to_text();
  EXPECT_EQ(r.fields[0].where, "header.dispatch");
}

TEST_F(HarnessTest, PlantedMemoryChangeIsReportedAsAPageRange) {
  auto bytes = file_;
  uint64_t blob = *format::get_field(file_, "blob_offset");
  bytes[blob + 5 * 4096 + 10] ^= 1;  // two neighbouring pages of the input buffer
  bytes[blob + 6 * 4096 + 10] ^= 1;
  format::fix_content_digest(bytes);
  auto changed = load_bytes(bytes);
  ASSERT_TRUE(changed);
  auto r = compare_snapshots(*original_, *changed);
  EXPECT_TRUE(r.fields.empty()) << r.to_text();
  ASSERT_EQ(r.memory.size(), 1u);
  EXPECT_EQ(r.memory[0].pages, 2u);
  EXPECT_EQ(r.memory_pages_different, 2u);
  auto j = r.to_json();
  EXPECT_EQ(j["memory"]["ranges"][0]["pages"], 2);
  EXPECT_NE(r.to_text().find("2 pages"), std::string::npos);
}

TEST_F(HarnessTest, MutantsAreDeterministicFromTheSeed) {
  MutateOptions o;
  o.seed = 7;
  o.random_per_family = 8;
  o.boundary_values_per_field = 1;
  auto a = generate_mutants(file_, o);
  auto b = generate_mutants(file_, o);
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].bytes, b[i].bytes) << a[i].description;
    EXPECT_EQ(a[i].description, b[i].description);
  }
  o.seed = 8;
  auto c = generate_mutants(file_, o);
  bool any_differs = c.size() != a.size();
  for (size_t i = 0; !any_differs && i < a.size(); ++i) any_differs = a[i].bytes != c[i].bytes;
  EXPECT_TRUE(any_differs);
}

TEST_F(HarnessTest, EveryFamilyProducesMutantsThatDiffer) {
  MutateOptions o;
  o.random_per_family = 8;
  std::set<MutatorFamily> families;
  std::set<bool> fixed;
  for_each_mutant(file_, o, [&](Mutant&& m) {
    families.insert(m.family);
    fixed.insert(m.checksums_fixed);
    EXPECT_NE(m.bytes, file_) << m.description;
    return true;
  });
  EXPECT_EQ(families.size(), 7u);
  EXPECT_EQ(fixed.size(), 2u);
}

TEST_F(HarnessTest, RawMutantsAreAllRejectedOrIdentical) {
  MutateOptions o;
  o.random_per_family = 16;
  o.with_fixed_checksums = false;
  size_t n = 0;
  for_each_mutant(file_, o, [&](Mutant&& m) {
    ++n;
    auto s = load_bytes(m.bytes);
    if (s) {
      EXPECT_TRUE(compare_snapshots(*original_, *s).equal()) << m.description;
    }
    return true;
  });
  EXPECT_GT(n, 100u);
}

TEST_F(HarnessTest, FixedMutantsThatMustBeRejectedAre) {
  MutateOptions o;
  o.without_fixed_checksums = false;
  size_t must = 0;
  for_each_mutant(file_, o, [&](Mutant&& m) {
    if (!m.must_reject) return true;
    ++must;
    auto s = load_bytes(m.bytes);
    EXPECT_FALSE(s) << "accepted: " << m.description;
    return true;
  });
  EXPECT_GT(must, 50u);
}

}  // namespace
}  // namespace snapvm::harness
