// heavy_init_test.cpp: the heavy-init guest (guest/samples/heavy_init_guest.cpp) in a real VM: its
// answers against a model of its state built here, independently, from the rule in guest/README.md;
// a cold start from a snapshot file answers the same without running the guest's initialisation again;
// the amount of state follows the heap size.
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <filesystem>
#include <string>
#include <vector>

#include "testing/kvm_test_support.h"

namespace snapvm {
namespace {

std::string heavy_init_guest_path() { return std::string(SNAPVM_BUILD_DIR) + "/guest/heavy_init_guest"; }

// The guest's state as guest/README.md specifies it, computed on the host.
struct Model {
  uint64_t bytes = 0;
  std::vector<uint64_t> keys;   // ascending
  std::vector<uint32_t> index;  // rank + 1, 0 = empty; linear probing
  std::vector<uint32_t> table;  // CRC-32 of i as 8 little-endian bytes
  uint64_t checksum = 0;

  uint64_t rank_of(uint64_t key) const {
    auto it = std::lower_bound(keys.begin(), keys.end(), key);
    return it != keys.end() && *it == key ? static_cast<uint64_t>(it - keys.begin()) : ~uint64_t{0};
  }
};

constexpr uint64_t kSeed = 0x5eed0f0a11c0ffeeull;
constexpr uint64_t kGamma = 0x9e3779b97f4a7c15ull;

uint64_t splitmix_output(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

uint32_t crc32_bitwise(uint64_t v) {
  uint32_t c = 0xffffffffu;
  for (int byte = 0; byte < 8; ++byte) {
    c ^= static_cast<uint8_t>(v >> (8 * byte));
    for (int bit = 0; bit < 8; ++bit) c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1u)));
  }
  return ~c;
}

Model model_for_heap(uint64_t heap) {
  Model m;
  m.bytes = heap >= 2 * kMiB ? heap - kMiB : heap / 2;
  const uint64_t n = m.bytes / 32;
  uint64_t slots = 2;
  while (slots < 2 * n) slots *= 2;
  const uint64_t table_size = (m.bytes - 8 * n - 4 * slots) / 4;
  for (uint64_t i = 1; i <= n; ++i) m.keys.push_back(splitmix_output(kSeed + i * kGamma));
  std::sort(m.keys.begin(), m.keys.end());
  m.index.assign(slots, 0);
  const int bits = std::countr_zero(slots);
  for (uint64_t rank = 0; rank < n; ++rank) {
    uint64_t slot = (m.keys[rank] * kGamma) >> (64 - bits);
    while (m.index[slot] != 0) slot = (slot + 1) % slots;
    m.index[slot] = static_cast<uint32_t>(rank + 1);
  }
  for (uint64_t i = 0; i < table_size; ++i) m.table.push_back(crc32_bitwise(i));
  uint64_t h = 0xcbf29ce484222325ull;
  auto fold = [&h](uint64_t word) { h = (h ^ word) * 0x100000001b3ull; };
  for (uint64_t k : m.keys) fold(k);
  for (uint64_t i = 0; i < slots; i += 2) fold(m.index[i] | uint64_t{m.index[i + 1]} << 32);
  for (uint32_t t : m.table) fold(t);
  m.checksum = h;
  return m;
}

Result<MultiUseSandbox> heavy_from_elf(uint64_t heap) {
  SandboxConfig config;
  config.heap_size = heap;
  return SandboxBuilder::from_elf(heavy_init_guest_path(), config).build();
}

// A call's result, or a recorded failure (and a value no answer matches) when the call failed.
template <typename R>
R answer(MultiUseSandbox& sb, std::string_view function, std::vector<Value> args = {}) {
  auto r = sb.call_as<R>(function, std::move(args));
  if (!r) {
    ADD_FAILURE() << function << ": " << r.error().to_string();
    return R{0xbad};
  }
  return *r;
}

// Every answer the guest gives, on a sample of ranks, keys and table entries, against the model.
void expect_answers_match(MultiUseSandbox& sb, const Model& m) {
  EXPECT_EQ(answer<uint64_t>(sb, "StateBytes"), m.bytes);
  ASSERT_EQ(answer<uint64_t>(sb, "KeyCount"), m.keys.size());
  EXPECT_EQ(answer<uint64_t>(sb, "IndexSlots"), m.index.size());
  ASSERT_EQ(answer<uint64_t>(sb, "TableSize"), m.table.size());
  EXPECT_EQ(answer<uint64_t>(sb, "StateChecksum"), m.checksum);
  const uint64_t n = m.keys.size();
  for (uint64_t rank : {uint64_t{0}, uint64_t{1}, n / 3, n / 2, n - 2, n - 1}) {
    EXPECT_EQ(answer<uint64_t>(sb, "KeyAt", {rank}), m.keys[rank]) << "rank " << rank;
    EXPECT_EQ(answer<uint64_t>(sb, "Lookup", {m.keys[rank]}), rank) << "rank " << rank;
  }
  for (uint64_t absent : {uint64_t{0}, m.keys[0] - 1, m.keys[n / 2] + 1, ~uint64_t{0}}) {
    EXPECT_EQ(answer<uint64_t>(sb, "Lookup", {absent}), m.rank_of(absent)) << "key " << absent;
  }
  const uint64_t t = m.table.size();
  for (uint64_t i : {uint64_t{0}, uint64_t{1}, uint64_t{255}, t / 2, t - 1}) {
    EXPECT_EQ(answer<uint32_t>(sb, "TableValue", {i}), m.table[i]) << "entry " << i;
  }
}

class HeavyInitTest : public ::testing::Test {
 protected:
  void SetUp() override { SNAPVM_REQUIRE_KVM(); }
  static const Model& model_2m() {
    static const Model m = model_for_heap(2 * kMiB);
    return m;
  }
};

TEST_F(HeavyInitTest, AnswersFromTheElfMatchAModelBuiltOnTheHost) {
  auto sb = heavy_from_elf(2 * kMiB);
  ASSERT_OK(sb);
  EXPECT_EQ(answer<uint64_t>(*sb, "InitRuns"), 1u);
  expect_answers_match(*sb, model_2m());
}

TEST_F(HeavyInitTest, OutOfRangeRankOrEntryAbortsTheCall) {
  auto sb = heavy_from_elf(2 * kMiB);
  ASSERT_OK(sb);
  auto key = sb->call("KeyAt", {uint64_t{model_2m().keys.size()}});
  ASSERT_FALSE(key.has_value());
  EXPECT_EQ(key.error().code, ErrorCode::kGuestAbort) << key.error().to_string();
  auto fresh = heavy_from_elf(2 * kMiB);
  ASSERT_OK(fresh);
  auto entry = fresh->call("TableValue", {uint64_t{model_2m().table.size()}});
  ASSERT_FALSE(entry.has_value());
  EXPECT_EQ(entry.error().code, ErrorCode::kGuestAbort) << entry.error().to_string();
}

// The guest counts its initialisations and the calls it served in its own memory: a cold start that
// ran guest_main again would read InitRuns 2 (or 1 with the call count back at zero from a fresh load).
TEST_F(HeavyInitTest, ColdStartFromAFileAnswersWithoutRunningInitAgain) {
  auto sb = heavy_from_elf(2 * kMiB);
  ASSERT_OK(sb);
  const uint64_t calls_before = answer<uint64_t>(*sb, "Calls");
  auto snap = sb->snapshot();
  ASSERT_OK(snap);
  const auto dir = std::filesystem::temp_directory_path() / ("snapvm-heavy-init-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  for (DigestAlgorithm digest : {DigestAlgorithm::kBlake3_256, DigestAlgorithm::kXxh3_128}) {
    SCOPED_TRACE(std::string(digest_algorithm_name(digest)));
    const auto file = dir / (std::string(digest_algorithm_name(digest)) + ".svm");
    SaveOptions options;
    options.digest = digest;
    ASSERT_OK(snap->to_file(file, options));
    auto loaded = Snapshot::from_file(file);
    ASSERT_OK(loaded);
    auto cold = MultiUseSandbox::from_snapshot(*loaded);
    ASSERT_OK(cold);
    EXPECT_EQ(answer<uint64_t>(*cold, "InitRuns"), 1u);
    EXPECT_EQ(answer<uint64_t>(*cold, "Calls"), calls_before + 2);  // InitRuns, then this call
    expect_answers_match(*cold, model_2m());
  }
  std::filesystem::remove_all(dir);
}

// The rule: state = heap - 1 MiB from 2 MiB of heap up, half the heap below; keys, index and table
// fill it, so a larger heap means more keys, a larger index and a longer table.
TEST_F(HeavyInitTest, AmountOfStateFollowsTheHeapSizeRule) {
  uint64_t previous_keys = 0;
  for (uint64_t heap : {128 * kKiB, 2 * kMiB, 5 * kMiB}) {
    SCOPED_TRACE("heap " + std::to_string(heap));
    const Model m = heap == 2 * kMiB ? model_2m() : model_for_heap(heap);
    EXPECT_EQ(m.bytes, heap < 2 * kMiB ? heap / 2 : heap - kMiB);
    EXPECT_LE(8 * m.keys.size() + 4 * m.index.size() + 4 * m.table.size(), m.bytes);
    EXPECT_GT(8 * m.keys.size() + 4 * m.index.size() + 4 * m.table.size() + 4, m.bytes);
    auto sb = heavy_from_elf(heap);
    ASSERT_OK(sb);
    EXPECT_EQ(answer<uint64_t>(*sb, "StateBytes"), m.bytes);
    EXPECT_EQ(answer<uint64_t>(*sb, "StateChecksum"), m.checksum);
    const uint64_t keys = answer<uint64_t>(*sb, "KeyCount");
    EXPECT_EQ(keys, m.keys.size());
    EXPECT_GT(keys, previous_keys);
    previous_keys = keys;
  }
}

}  // namespace
}  // namespace snapvm
