// digest_test.cpp: tests for digest.h (BLAKE3-256, XXH3-128, streaming, fd ranges with holes) and
// memory_blob.h (sparse memfd blobs, file-backed blobs, extents).
#include "snapshot/digest.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstring>
#include <numeric>

#include "snapshot/memory_blob.h"
#include "xxhash.h"

namespace snapvm {
namespace {

std::string hex_of(DigestAlgorithm a, const Digest& d) { return digest_to_hex(a, d); }

std::span<const uint8_t> bytes_of(const char* s) { return {reinterpret_cast<const uint8_t*>(s), std::strlen(s)}; }

TEST(DigestTest, Blake3KnownAnswers) {
  EXPECT_EQ(hex_of(DigestAlgorithm::kBlake3_256, compute_digest(DigestAlgorithm::kBlake3_256, bytes_of(""))),
            "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262");
  EXPECT_EQ(hex_of(DigestAlgorithm::kBlake3_256, compute_digest(DigestAlgorithm::kBlake3_256, bytes_of("abc"))),
            "6437b3ac38465133ffb63b75273a8db548c558465d79db03fd359c6cd5bd9d85");
}

TEST(DigestTest, Xxh3IsTheCanonical128BitHashInTheFirstSixteenBytes) {
  std::vector<uint8_t> data(10000);
  std::iota(data.begin(), data.end(), 0);
  Digest d = compute_digest(DigestAlgorithm::kXxh3_128, data);
  XXH128_canonical_t c;
  XXH128_canonicalFromHash(&c, XXH3_128bits(data.data(), data.size()));
  EXPECT_EQ(std::memcmp(d.data(), c.digest, 16), 0);
  for (size_t k = 16; k < 32; ++k) EXPECT_EQ(d[k], 0);
  EXPECT_EQ(hex_of(DigestAlgorithm::kXxh3_128, d).size(), 32u);
}

TEST(DigestTest, StreamingEqualsOneShot) {
  std::vector<uint8_t> data(3 * 1024 * 1024 + 17);
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<uint8_t>(i * 31 + (i >> 11));
  for (DigestAlgorithm a : {DigestAlgorithm::kBlake3_256, DigestAlgorithm::kXxh3_128}) {
    Hasher h(a);
    size_t at = 0, step = 1;
    while (at < data.size()) {
      size_t n = std::min(step, data.size() - at);
      h.update(std::span<const uint8_t>(data).subspan(at, n));
      at += n;
      step = step * 3 + 1;
    }
    EXPECT_EQ(h.finish(), compute_digest(a, data));
  }
}

TEST(DigestTest, ReportsProgressToTheTotal) {
  std::vector<uint8_t> data(5 * 1024 * 1024 + 3);
  uint64_t calls = 0, done = 0;
  compute_digest(DigestAlgorithm::kBlake3_256, data, [&](uint64_t d, uint64_t t) {
    ++calls;
    done = d;
    EXPECT_EQ(t, data.size());
  });
  EXPECT_EQ(calls, 6u);
  EXPECT_EQ(done, data.size());
}

class FdDigestTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/snapvm-digest-test-XXXXXX";
    fd_ = UniqueFd(::mkstemp(tmpl));
    ASSERT_TRUE(fd_.valid());
    ::unlink(tmpl);
    // 8 MiB with holes: data at 1 page, 3 MiB + 5 pages, and the last page.
    bytes_.assign(8 << 20, 0);
    ASSERT_EQ(::ftruncate(fd_.get(), static_cast<off_t>(bytes_.size())), 0);
    for (uint64_t at : {uint64_t{4096}, uint64_t{3 << 20}, uint64_t{(8 << 20) - 4096}}) {
      uint64_t n = at == (3u << 20) ? 5 * 4096 : 4096;
      for (uint64_t k = 0; k < n; ++k) bytes_[at + k] = static_cast<uint8_t>(k * 7 + 1);
      ASSERT_EQ(::pwrite(fd_.get(), &bytes_[at], n, static_cast<off_t>(at)), static_cast<ssize_t>(n));
    }
  }
  UniqueFd fd_;
  std::vector<uint8_t> bytes_;
};

TEST_F(FdDigestTest, EqualsTheDigestOfTheBytesWithAndWithoutAMapping) {
  void* map = ::mmap(nullptr, bytes_.size(), PROT_READ, MAP_PRIVATE, fd_.get(), 0);
  ASSERT_NE(map, MAP_FAILED);
  for (DigestAlgorithm a : {DigestAlgorithm::kBlake3_256, DigestAlgorithm::kXxh3_128}) {
    for (uint64_t off : {uint64_t{0}, uint64_t{4096}, uint64_t{1 << 20}}) {
      uint64_t size = bytes_.size() - off;
      Digest want = compute_digest(a, std::span<const uint8_t>(bytes_).subspan(off));
      auto by_pread = compute_digest_fd(a, fd_.get(), off, size);
      ASSERT_TRUE(by_pread.has_value()) << by_pread.error().to_string();
      EXPECT_EQ(*by_pread, want);
      auto by_map = compute_digest_fd(a, fd_.get(), off, size, {}, static_cast<const uint8_t*>(map) + off);
      ASSERT_TRUE(by_map.has_value());
      EXPECT_EQ(*by_map, want);
    }
  }
  ::munmap(map, bytes_.size());
}

TEST_F(FdDigestTest, FailsOnARangePastTheEnd) {
  auto r = compute_digest_fd(DigestAlgorithm::kBlake3_256, fd_.get(), 4096, bytes_.size());
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kFileTooShort);
}

TEST_F(FdDigestTest, ExtentsCoverTheRangeInOrderAndFindTheData) {
  uint64_t next = 0, data_bytes = 0;
  Status s = detail::for_each_extent(fd_.get(), 0, bytes_.size(), [&](uint64_t at, uint64_t n, bool data) -> Status {
    EXPECT_EQ(at, next);
    next = at + n;
    if (data) data_bytes += n;
    for (uint64_t k = 0; k < n && !data; k += 4096) EXPECT_EQ(bytes_[at + k], 0) << at + k;
    return {};
  });
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(next, bytes_.size());
  EXPECT_GE(data_bytes, 7u * 4096);
  EXPECT_LT(data_bytes, bytes_.size());  // the filesystem reports holes
}

TEST(MemoryBlobTest, ZeroPageCheck) {
  std::vector<uint8_t> page(4096, 0);
  EXPECT_TRUE(detail::is_zero_page(page.data()));
  for (size_t at : {size_t{0}, size_t{7}, size_t{4095}}) {
    page[at] = 1;
    EXPECT_FALSE(detail::is_zero_page(page.data())) << at;
    page[at] = 0;
  }
}

TEST(MemoryBlobTest, PacksRegionsAndLeavesZeroPagesAsHoles) {
  const uint64_t big = 64 << 20;
  Mapping a = Mapping::anonymous(big, PROT_READ | PROT_WRITE).value();  // untouched: all zero
  a.data()[5 * 4096 + 3] = 0x5a;
  std::vector<uint8_t> b(2 * 4096, 0xee);
  auto blob = detail::make_memory_blob({std::span<const uint8_t>(a.data(), big), std::span<const uint8_t>(b)});
  ASSERT_TRUE(blob.has_value()) << blob.error().to_string();
  EXPECT_EQ(blob->size, big + b.size());
  EXPECT_EQ(blob->region_offsets, (std::vector<uint64_t>{0, big}));
  EXPECT_EQ(blob->file_offset, 0u);
  struct stat st {};
  ASSERT_EQ(::fstat(blob->fd.get(), &st), 0);
  EXPECT_EQ(static_cast<uint64_t>(st.st_size), big + b.size());
  EXPECT_LE(static_cast<uint64_t>(st.st_blocks) * 512, 16u * 4096);  // only the two data runs
  char buf[4];
  ASSERT_EQ(::pread(blob->fd.get(), buf, 1, 5 * 4096 + 3), 1);
  EXPECT_EQ(static_cast<uint8_t>(buf[0]), 0x5a);
  EXPECT_EQ(blob->mapping.data()[big + 100], 0xee);
  int flags = ::fcntl(blob->fd.get(), F_GETFD);
  EXPECT_TRUE(flags & FD_CLOEXEC);
}

TEST(MemoryBlobTest, ReadsOnlyThePagesThatMayHoldData) {
  // Two regions of 3 and 130 pages (blob pages 0-2 and 3-132). Data in blob pages 1, 4, 70 and 132;
  // the bitmap marks 1, 4 and 132 only, so page 70 is taken as known-zero: never read, left a hole.
  std::vector<uint8_t> a(3 * 4096, 0), b(130 * 4096, 0);
  a[1 * 4096] = 1;
  b[(4 - 3) * 4096 + 7] = 4;
  b[(70 - 3) * 4096] = 70;
  b[(132 - 3) * 4096 + 4095] = 132;
  std::vector<uint64_t> bits(3, 0);
  for (uint64_t page : {1, 4, 132}) bits[page / 64] |= uint64_t{1} << (page % 64);
  auto blob = detail::make_memory_blob({std::span<const uint8_t>(a), std::span<const uint8_t>(b)}, &bits);
  ASSERT_TRUE(blob.has_value()) << blob.error().to_string();
  const uint8_t* m = blob->mapping.data();
  EXPECT_EQ(m[1 * 4096], 1);
  EXPECT_EQ(m[4 * 4096 + 7], 4);
  EXPECT_EQ(m[70 * 4096], 0);
  EXPECT_EQ(m[132 * 4096 + 4095], 132);
  // Without the bitmap every page is read.
  auto all = detail::make_memory_blob({std::span<const uint8_t>(a), std::span<const uint8_t>(b)});
  ASSERT_TRUE(all.has_value());
  EXPECT_EQ(all->mapping.data()[70 * 4096], 70);
  // A bitmap shorter than the blob is refused, naming it.
  std::vector<uint64_t> short_bits(2, ~uint64_t{0});
  auto refused = detail::make_memory_blob({std::span<const uint8_t>(a), std::span<const uint8_t>(b)}, &short_bits);
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().field, "may_hold_data");
}

TEST(MemoryBlobTest, RejectsRegionsThatAreNotPageMultiples) {
  std::vector<uint8_t> odd(4097);
  auto r = detail::make_memory_blob({std::span<const uint8_t>(odd)});
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidConfig);
  EXPECT_EQ(r.error().field, "regions[0].size");
  EXPECT_FALSE(detail::make_memory_blob({}).has_value());
}

TEST(MemoryBlobTest, MapDetectsAFileShorterThanTheBlob) {
  char tmpl[] = "/tmp/snapvm-blob-test-XXXXXX";
  UniqueFd fd(::mkstemp(tmpl));
  ASSERT_TRUE(fd.valid());
  ::unlink(tmpl);
  ASSERT_EQ(::ftruncate(fd.get(), 3 * 4096), 0);
  auto ok = detail::map_memory_blob(UniqueFd(::dup(fd.get())), 4096, 2 * 4096, {0, 4096});
  ASSERT_TRUE(ok.has_value()) << ok.error().to_string();
  EXPECT_EQ(ok->region_offsets, (std::vector<uint64_t>{0, 4096}));
  // As if the file were truncated between validation and mmap.
  auto shrunk = detail::map_memory_blob(UniqueFd(::dup(fd.get())), 4096, 4 * 4096, {0});
  ASSERT_FALSE(shrunk.has_value());
  EXPECT_EQ(shrunk.error().code, ErrorCode::kFileChanged);
  auto misaligned = detail::map_memory_blob(UniqueFd(::dup(fd.get())), 100, 4096, {0});
  ASSERT_FALSE(misaligned.has_value());
}

}  // namespace
}  // namespace snapvm
