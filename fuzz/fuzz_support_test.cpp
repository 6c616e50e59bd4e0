// fuzz_support_test.cpp: tests of the fuzz support code: the synthetic inputs are what they claim
// (ELF files that parse and load, snapshot files that load), splicing a block back is lossless, and
// the structured mutator gets most mutants past the header checksum.
#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <iterator>

#include "elf/elf_loader.h"
#include "fuzz/inputs.h"
#include "fuzz/memory_file.h"
#include "fuzz/splice.h"
#include "fuzz/structured_mutator.h"
#include "snapshot/format.h"
#include "snapshot/validate.h"
#include "snapvm/abi/layout.h"

namespace snapvm::fuzz {
namespace {

std::vector<uint8_t> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<uint8_t>((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

FileOptions on_this_host(SnapshotStage stage = SnapshotStage::kAfterInit,
                         DigestAlgorithm digest = DigestAlgorithm::kBlake3_256) {
  FileOptions o;
  o.stage = stage;
  o.digest = digest;
  o.cpu_vendor = format::host_cpu_vendor();
  return o;
}

TEST(TinyGuest, ExecutableParsesAndLoads) {
  auto image = parse_elf(tiny_guest_elf());
  ASSERT_TRUE(image) << image.error().to_string();
  EXPECT_EQ(image->relocated_entry(), abi::kDefaultImageBase + kTinyEntryOffset);
  std::vector<uint8_t> memory(4 << 20);
  ASSERT_TRUE(load_elf(*image, memory));
  EXPECT_EQ(0, std::memcmp(memory.data() + abi::kDefaultImageBase + kTinyEntryOffset, tiny_guest_code().data(),
                           tiny_guest_code().size()));
}

TEST(TinyGuest, PieParsesWithItsRelocation) {
  auto image = parse_elf(tiny_guest_pie());
  ASSERT_TRUE(image) << image.error().to_string();
  ASSERT_EQ(image->relative_relocations.size(), 1u);
  std::vector<uint8_t> memory(4 << 20);
  ASSERT_TRUE(load_elf(*image, memory));
  uint64_t slot = 0;
  std::memcpy(&slot, memory.data() + image->relative_relocations[0].first + image->load_base(), 8);
  EXPECT_EQ(slot, abi::kDefaultImageBase + kTinyDispatchOffset);
}

TEST(TinyGuest, FilesLoadForEveryStageAndDigest) {
  for (SnapshotStage stage : {SnapshotStage::kBeforeInit, SnapshotStage::kAfterInit}) {
    for (DigestAlgorithm digest : {DigestAlgorithm::kBlake3_256, DigestAlgorithm::kXxh3_128}) {
      const std::vector<uint8_t> file = tiny_guest_file(on_this_host(stage, digest));
      auto snapshot = Snapshot::from_file(memory_file(file.data(), file.size()));
      ASSERT_TRUE(snapshot) << snapshot.error().to_string();
      EXPECT_EQ(snapshot->stage(), stage);
      EXPECT_EQ(snapshot->guest_functions().size(), stage == SnapshotStage::kAfterInit ? 1u : 0u);
    }
  }
}

TEST(TinyGuest, SeedFilesRecordTheSeedVendor) {
  const std::vector<uint8_t> file = tiny_guest_file();
  format::DecodeOptions options;
  options.cpu_vendor = std::string(kSeedCpuVendor);
  auto decoded = format::decode_and_validate(file, file.size(), options);
  ASSERT_TRUE(decoded) << decoded.error().to_string();
  EXPECT_EQ(decoded->meta.cpu_vendor, kSeedCpuVendor);
  EXPECT_LT(file.size(), 64u * 1024);  // seeds stay small
}

TEST(SampleGuest, BeforeInitFileLoads) {
  const std::vector<uint8_t> elf = read_file(std::string(SNAPVM_BUILD_DIR) + "/guest/sample_guest");
  ASSERT_FALSE(elf.empty());
  auto file = guest_file(elf, on_this_host(SnapshotStage::kBeforeInit));
  ASSERT_TRUE(file) << file.error().to_string();
  auto snapshot = Snapshot::from_file(memory_file(file->data(), file->size()));
  ASSERT_TRUE(snapshot) << snapshot.error().to_string();
  EXPECT_EQ(snapshot->layout().config, smallest_config());
  // The loadable part of the ELF is what the loader reads: it still parses, to the same image.
  auto whole = parse_elf(elf);
  auto part = parse_elf(loadable_part(elf));
  ASSERT_TRUE(whole && part);
  EXPECT_EQ(whole->segments, part->segments);
  EXPECT_EQ(whole->relative_relocations, part->relative_relocations);
}

TEST(Splice, EveryBlockSplicedBackLoads) {
  const std::vector<uint8_t> file = tiny_guest_file(on_this_host());
  for (Block b : {Block::kSpecialRegisters, Block::kLayout, Block::kRegionTable, Block::kFunctions}) {
    const std::vector<uint8_t> block = block_of(file, b);
    ASSERT_FALSE(block.empty());
    SplicedFile s = splice(b, block);
    EXPECT_EQ(s.file_size, file.size());
    EXPECT_TRUE(std::equal(s.metadata.begin(), s.metadata.end(), file.begin())) << static_cast<int>(b);
    auto decoded = format::decode_and_validate(s.metadata, s.file_size, {});
    EXPECT_TRUE(decoded) << decoded.error().to_string();
  }
}

TEST(Splice, AnotherGuestsRegionTableIsRejectedWithATypedError) {
  const std::vector<uint8_t> elf = read_file(std::string(SNAPVM_BUILD_DIR) + "/guest/sample_guest");
  auto sample = guest_file(elf, on_this_host(SnapshotStage::kBeforeInit));
  ASSERT_TRUE(sample);
  SplicedFile s = splice(Block::kRegionTable, block_of(*sample, Block::kRegionTable));
  auto decoded = format::decode_and_validate(s.metadata, s.file_size, {});
  ASSERT_FALSE(decoded);
  EXPECT_FALSE(decoded.error().field.empty());
}

TEST(StructuredMutator, MostMutantsPassTheChecksumAndSomeLoad) {
  const std::vector<uint8_t> seed = tiny_guest_file(on_this_host());
  const size_t max_size = 256 * 1024;
  std::vector<uint8_t> buf(max_size);
  size_t size = 0, checksum_ok = 0, loaded = 0;
  const size_t kMutants = 2000;
  for (size_t i = 0; i < kMutants; ++i) {
    if (i % 8 == 0) {
      std::copy(seed.begin(), seed.end(), buf.begin());
      size = seed.size();
    }
    size = mutate_snapshot_file(buf.data(), size, max_size, static_cast<unsigned>(i));
    ASSERT_LE(size, max_size);
    std::span<const uint8_t> file(buf.data(), size);
    if (auto length = format::check_fixed_header(file, size)) {
      uint64_t stored = 0;
      std::memcpy(&stored, buf.data() + format::kChecksumOffset, 8);
      checksum_ok += stored == format::compute_header_checksum(file.first(*length));
    }
    loaded += Snapshot::from_file(memory_file(buf.data(), size)).has_value();
  }
  EXPECT_GE(checksum_ok, kMutants / 2);
  EXPECT_GE(loaded, kMutants / 50);
  std::printf("mutants: %zu, header checksum valid: %zu, loaded by from_file: %zu\n", kMutants, checksum_ok, loaded);
}

}  // namespace
}  // namespace snapvm::fuzz
