// chunk_digest_test.cpp: tests for chunk_digest.h: sparse and dense copies agree, flipped bytes and
// edited tables are rejected naming the chunk and its offset, threads and sub-ranges, the builder.
#include "snapshot/chunk_digest.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>

#include "memory/mapping.h"
#include "snapshot/chunk_scan.h"
#include "snapvm/abi/byte_order.h"
#include "snapvm/abi/layout.h"

namespace snapvm {
namespace {

constexpr uint64_t kPage = abi::kPageSize;
constexpr uint64_t kChunk = kDigestChunkSize;
constexpr uint64_t kHeader = 2 * kPage;  // the blob starts here in the test files, as after a header
constexpr DigestAlgorithm kAlgorithms[] = {DigestAlgorithm::kBlake3_256, DigestAlgorithm::kXxh3_128};

class ChunkDigestTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string t = (std::filesystem::temp_directory_path() / "chunk_digest_test.XXXXXX").string();
    ASSERT_NE(::mkdtemp(t.data()), nullptr);
    dir_ = t;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // The blob of `size` bytes: page p holds data (a pattern seeded by p) iff it is in `pages`; the
  // rest reads as zero.
  static std::vector<uint8_t> blob(uint64_t size, const std::vector<uint64_t>& pages) {
    std::vector<uint8_t> b(size);
    for (uint64_t p : pages) {
      for (uint64_t k = 0; k < kPage; ++k) b[p * kPage + k] = static_cast<uint8_t>(p * 131 + k * 7 + 1);
    }
    return b;
  }

  // A file holding `b` after kHeader bytes: sparse (ftruncate, then only the non-zero pages written)
  // or dense (every byte written).
  UniqueFd file(const std::string& name, const std::vector<uint8_t>& b, bool dense) {
    UniqueFd fd(::open((dir_ / name).c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    EXPECT_TRUE(fd.valid());
    EXPECT_EQ(::ftruncate(fd.get(), static_cast<off_t>(kHeader + b.size())), 0);
    write_pages(fd.get(), b, dense);
    return fd;
  }

  static UniqueFd memfd(const std::vector<uint8_t>& b) {
    UniqueFd fd(::memfd_create("chunk_digest_test", MFD_CLOEXEC));
    EXPECT_TRUE(fd.valid());
    EXPECT_EQ(::ftruncate(fd.get(), static_cast<off_t>(kHeader + b.size())), 0);
    write_pages(fd.get(), b, false);
    return fd;
  }

  static void write_pages(int fd, const std::vector<uint8_t>& b, bool dense) {
    for (uint64_t at = 0; at < b.size(); at += kPage) {
      const uint8_t* p = b.data() + at;
      if (!dense && std::all_of(p, p + kPage, [](uint8_t x) { return x == 0; })) continue;
      ASSERT_EQ(::pwrite(fd, p, kPage, static_cast<off_t>(kHeader + at)), static_cast<ssize_t>(kPage));
    }
  }

  static void flip(int fd, uint64_t blob_offset) {
    uint8_t x = 0;
    ASSERT_EQ(::pread(fd, &x, 1, static_cast<off_t>(kHeader + blob_offset)), 1);
    x ^= 0x40;
    ASSERT_EQ(::pwrite(fd, &x, 1, static_cast<off_t>(kHeader + blob_offset)), 1);
  }

  static ChunkedDigest digest_of(DigestAlgorithm a, int fd, uint64_t size, unsigned threads = 0) {
    auto d = compute_chunked_digest_fd(a, fd, kHeader, size, {kDigestChunkSize, threads, {}});
    EXPECT_TRUE(d) << d.error().to_string();
    return d ? *d : ChunkedDigest{};
  }

  // Expects a kContentDigest error naming chunk `index` at its file offset.
  static void expect_chunk_error(const Status& st, uint64_t index) {
    ASSERT_FALSE(st);
    EXPECT_EQ(st.error().code, ErrorCode::kContentDigest) << st.error().to_string();
    EXPECT_EQ(st.error().field, "blob.chunks[" + std::to_string(index) + "]");
    EXPECT_EQ(st.error().offset, kHeader + index * kChunk);
    EXPECT_EQ(st.error().value, index);
  }

  std::filesystem::path dir_;
};

// 1 MiB + 3 pages: 17 chunks, the last 12 KiB. Data in chunk 0, chunk 3 (two runs), chunk 16 (short).
const uint64_t kSize = 16 * kChunk + 3 * kPage;
const std::vector<uint64_t> kDataPages = {0, 1, 48, 50, 63, 256, 258};

TEST_F(ChunkDigestTest, SparseFileAndDenseCopyHaveTheSameTableAndRoot) {
  const auto b = blob(kSize, kDataPages);
  for (DigestAlgorithm a : kAlgorithms) {
    UniqueFd sparse = file("sparse", b, false), dense = file("dense", b, true), mem = memfd(b);
    ChunkedDigest d = digest_of(a, sparse.get(), kSize);
    ASSERT_EQ(d.entries.size(), 3u);
    EXPECT_EQ(d.entries[0].index, 0u);
    EXPECT_EQ(d.entries[1].index, 3u);
    EXPECT_EQ(d.entries[2].index, 16u);
    EXPECT_EQ(d.entries[2].digest, hash_bytes(a, std::span(b).subspan(16 * kChunk)));
    EXPECT_EQ(digest_of(a, dense.get(), kSize), d);
    EXPECT_EQ(digest_of(a, mem.get(), kSize), d);
    EXPECT_EQ(*compute_chunked_digest(a, std::span<const uint8_t>(b)), d);
    const std::span<const uint8_t> all(b);
    EXPECT_EQ(*compute_chunked_digest(a, {all.first(5 * kPage), all.subspan(5 * kPage)}), d);
    for (int fd : {sparse.get(), dense.get(), mem.get()}) EXPECT_TRUE(verify_chunked_digest(fd, kHeader, kSize, d));
  }
}

TEST_F(ChunkDigestTest, ReadsOnlyTheChunksThatTouchData) {
  const auto b = blob(kSize, kDataPages);
  UniqueFd mem = memfd(b);  // tmpfs always reports its holes
  auto chunks = detail::data_chunks(mem.get(), kHeader, kSize, kChunk, 0, UINT64_MAX);
  ASSERT_TRUE(chunks);
  EXPECT_EQ(*chunks, (std::vector<uint64_t>{0, 3, 16}));
  auto part = detail::data_chunks(mem.get(), kHeader, kSize, kChunk, 1, 3);
  EXPECT_EQ(*part, (std::vector<uint64_t>{3}));
  UniqueFd sparse = file("sparse", b, false);  // a filesystem that cannot tell its holes reads everything
  auto on_disk = detail::data_chunks(sparse.get(), kHeader, kSize, kChunk, 0, UINT64_MAX);
  ASSERT_TRUE(on_disk);
  if (on_disk->size() != chunk_count(kSize, kChunk)) {
    EXPECT_EQ(*on_disk, *chunks);
  }
}

TEST_F(ChunkDigestTest, RootIsTheDocumentedHashOfTheTable) {
  const auto b = blob(2 * kChunk, {17});
  for (DigestAlgorithm a : kAlgorithms) {
    ChunkedDigest d = *compute_chunked_digest(a, std::span<const uint8_t>(b));
    ASSERT_EQ(d.entries.size(), 1u);
    std::vector<uint8_t> m(kChunkedRootTag, kChunkedRootTag + 18);
    for (uint64_t v : {kChunk, 2 * kChunk, uint64_t{1}}) {
      m.resize(m.size() + 8);
      abi::store_le<uint64_t>(m.data() + m.size() - 8, v);
    }
    const uint8_t entry[8] = {1, 0, 0, 0, 0, 0, 0, 0};
    m.insert(m.end(), entry, entry + 8);
    m.insert(m.end(), d.entries[0].digest.begin(), d.entries[0].digest.end());
    EXPECT_EQ(d.root, hash_bytes(a, m));
    EXPECT_EQ(zero_chunk_digest(a, kChunk), hash_bytes(a, std::vector<uint8_t>(kChunk)));
    EXPECT_EQ(*decode_chunk_table(encode_chunk_table(d.entries)), d.entries);
  }
}

TEST_F(ChunkDigestTest, RejectsAFlippedByteNamingTheChunkAndItsOffset) {
  const auto b = blob(kSize, kDataPages);
  const struct {
    const char* where;
    uint64_t at;
  } cases[] = {{"data chunk", 50 * kPage + 9},
               {"zero chunk stored densely", 7 * kChunk + 123},
               {"short last chunk", 16 * kChunk + 2 * kPage + 5}};
  for (DigestAlgorithm a : kAlgorithms) {
    ChunkedDigest d = *compute_chunked_digest(a, std::span<const uint8_t>(b));
    for (const auto& c : cases) {
      SCOPED_TRACE(c.where);
      UniqueFd dense = file("dense", b, true);
      flip(dense.get(), c.at);
      expect_chunk_error(verify_chunked_digest(dense.get(), kHeader, kSize, d), c.at / kChunk);
      UniqueFd sparse = file("sparse", b, false);
      flip(sparse.get(), c.at);
      expect_chunk_error(verify_chunked_digest(sparse.get(), kHeader, kSize, d, {1, {}}), c.at / kChunk);
    }
  }
}

// A table edited consistently (root recomputed), so that only the chunk check can catch it.
ChunkedDigest reroot(ChunkedDigest d) {
  d.root = chunked_root(d.algorithm, d.chunk_size, d.blob_size, d.entries);
  return d;
}

TEST_F(ChunkDigestTest, RejectsEditedTables) {
  const auto b = blob(kSize, kDataPages);
  UniqueFd fd = file("sparse", b, false);
  for (DigestAlgorithm a : kAlgorithms) {
    const ChunkedDigest good = digest_of(a, fd.get(), kSize);
    auto verify = [&](const ChunkedDigest& d) { return verify_chunked_digest(fd.get(), kHeader, kSize, d); };

    ChunkedDigest d = good;
    d.entries[1].digest[0] ^= 1;
    ASSERT_FALSE(verify(d));
    EXPECT_EQ(verify(d).error().field, "blob.chunks.root");
    expect_chunk_error(verify(reroot(d)), 3);

    d = good;  // an entry over a hole
    d.entries.insert(d.entries.begin() + 1, ChunkEntry{2, good.entries[1].digest});
    expect_chunk_error(verify(reroot(d)), 2);
    d = good;  // a data chunk left out
    d.entries.erase(d.entries.begin() + 1);
    expect_chunk_error(verify(reroot(d)), 3);

    auto expect_table_error = [&](const ChunkedDigest& t, const std::string& field) {
      Status st = verify_chunked_digest(fd.get(), kHeader, kSize, reroot(t), {.table_offset = 1000});
      ASSERT_FALSE(st);
      EXPECT_EQ(st.error().code, ErrorCode::kFieldOutOfRange);
      EXPECT_EQ(st.error().field, field);
    };
    d = good;
    std::swap(d.entries[0], d.entries[1]);
    expect_table_error(d, "blob.chunk_table[1].index");
    d = good;
    d.entries[2].index = 3;  // duplicate
    expect_table_error(d, "blob.chunk_table[2].index");
    d = good;
    d.entries[2].index = 17;  // one past the last chunk
    expect_table_error(d, "blob.chunk_table[2].index");
    d.blob_size += kPage;
    expect_table_error(d, "blob.chunks.blob_size");
    d = good;
    d.chunk_size = 3000;
    expect_table_error(d, "blob.chunks.chunk_size");
  }
  auto bytes = encode_chunk_table(std::vector<ChunkEntry>{{5, {}}, {6, {}}});
  bytes[kChunkEntryBytes + 4] = 1;
  auto decoded = decode_chunk_table(bytes, 4096);
  ASSERT_FALSE(decoded);
  EXPECT_EQ(decoded.error().field, "blob.chunk_table[1].reserved");
  EXPECT_EQ(decoded.error().offset, 4096 + kChunkEntryBytes);
  EXPECT_FALSE(decode_chunk_table(std::span(bytes).first(39)));
}

TEST_F(ChunkDigestTest, EveryThreadCountGivesTheSameDigest) {
  std::vector<uint8_t> b(8 << 20);
  uint64_t x = 88172645463325252ull;
  for (uint64_t i = 0; i < b.size(); i += 8) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    if ((i / kChunk) % 5 != 2) std::memcpy(&b[i], &x, 8);  // every fifth chunk stays zero
  }
  UniqueFd fd = file("dense", b, true);
  for (DigestAlgorithm a : kAlgorithms) {
    const ChunkedDigest one = digest_of(a, fd.get(), b.size(), 1);
    EXPECT_EQ(one.entries.size(), b.size() / kChunk * 4 / 5);
    for (unsigned t : {2u, 3u, 8u, 0u}) {
      EXPECT_EQ(digest_of(a, fd.get(), b.size(), t), one) << t << " threads";
      EXPECT_EQ(*compute_chunked_digest(a, std::span<const uint8_t>(b), {kDigestChunkSize, t, {}}), one);
    }
    flip(fd.get(), 77 * kChunk + 1);
    expect_chunk_error(verify_chunked_digest(fd.get(), kHeader, b.size(), one, {2, {}}), 77);
    flip(fd.get(), 77 * kChunk + 1);
  }
}

TEST_F(ChunkDigestTest, EmptyAndOnePageBlobs) {
  for (DigestAlgorithm a : kAlgorithms) {
    UniqueFd empty = file("empty", {}, true);
    ChunkedDigest e = digest_of(a, empty.get(), 0);
    EXPECT_TRUE(e.entries.empty());
    EXPECT_EQ(e.root, chunked_root(a, kChunk, 0, {}));
    EXPECT_TRUE(verify_chunked_digest(empty.get(), kHeader, 0, e));

    const auto page = blob(kPage, {0});
    UniqueFd one = file("one", page, false);
    ChunkedDigest d = digest_of(a, one.get(), kPage);
    ASSERT_EQ(d.entries.size(), 1u);
    EXPECT_EQ(d.entries[0].digest, hash_bytes(a, page));
    UniqueFd zero = file("zero", std::vector<uint8_t>(kPage), true);
    EXPECT_TRUE(digest_of(a, zero.get(), kPage).entries.empty());
    expect_chunk_error(verify_chunked_digest(zero.get(), kHeader, kPage, d), 0);
  }
}

TEST_F(ChunkDigestTest, VerifiesASubRangeOfChunks) {
  const auto b = blob(kSize, kDataPages);
  UniqueFd fd = file("dense", b, true);
  const ChunkedDigest d = digest_of(DigestAlgorithm::kBlake3_256, fd.get(), kSize);
  flip(fd.get(), 3 * kChunk + 1);
  auto range = [&](uint64_t first, uint64_t count) {
    ChunkVerifyOptions o;
    o.first_chunk = first;
    o.chunk_count = count;
    return verify_chunked_digest(fd.get(), kHeader, kSize, d, o);
  };
  EXPECT_TRUE(range(0, 3));
  EXPECT_TRUE(range(4, UINT64_MAX));
  EXPECT_TRUE(range(40, 1));  // past the end: nothing to read
  expect_chunk_error(range(3, 1), 3);
  expect_chunk_error(range(1, 5), 3);
  ChunkedDigest bad = d;  // the table is checked in full even for a part of the blob
  bad.entries[2].digest[1] ^= 1;
  EXPECT_EQ(verify_chunked_digest(fd.get(), kHeader, kSize, bad, {.first_chunk = 0, .chunk_count = 1}).error().field,
            "blob.chunks.root");
}

TEST_F(ChunkDigestTest, BuilderEqualsTheOneShotDigestInAnyPieces) {
  const auto b = blob(kSize, kDataPages);
  for (DigestAlgorithm a : kAlgorithms) {
    const ChunkedDigest want = *compute_chunked_digest(a, std::span<const uint8_t>(b));
    for (uint64_t step : {uint64_t{1000}, kPage, 3 * kPage, kChunk, 5 * kChunk + kPage}) {
      ChunkedDigestBuilder builder(a, kSize);
      for (uint64_t at = 0; at < kSize;) {  // zero pages go in as skips, as a writer passes its holes
        const uint64_t n = std::min(step, kSize - at);
        const bool zero = std::all_of(&b[at], &b[at] + n, [](uint8_t x) { return x == 0; });
        zero ? builder.skip_zeros(n) : builder.update(std::span(b).subspan(at, n));
        at += n;
      }
      auto got = builder.finish();
      ASSERT_TRUE(got) << got.error().to_string();
      EXPECT_EQ(*got, want) << "step " << step;
    }
    ChunkedDigestBuilder short_fed(a, kSize);
    short_fed.update(std::span(b).first(kPage));
    EXPECT_EQ(short_fed.finish().error().code, ErrorCode::kInvalidConfig);
    ChunkedDigestBuilder over_fed(a, kPage);
    over_fed.skip_zeros(2 * kPage);
    EXPECT_FALSE(over_fed.finish());
  }
}

TEST_F(ChunkDigestTest, ReportsProgressToTheRangeTotal) {
  const auto b = blob(kSize, kDataPages);
  UniqueFd fd = file("sparse", b, false);
  uint64_t last = 0, total = 0;
  ChunkHashOptions o;
  o.progress = [&](uint64_t done, uint64_t all) {
    EXPECT_GE(done, last);
    last = done, total = all;
  };
  ASSERT_TRUE(compute_chunked_digest_fd(DigestAlgorithm::kXxh3_128, fd.get(), kHeader, kSize, o));
  EXPECT_EQ(last, kSize);
  EXPECT_EQ(total, kSize);
}

TEST_F(ChunkDigestTest, RejectsAFileShorterThanTheBlob) {
  const auto b = blob(kSize, kDataPages);
  UniqueFd fd = file("sparse", b, false);
  auto d = compute_chunked_digest_fd(DigestAlgorithm::kXxh3_128, fd.get(), kHeader, kSize + kPage);
  ASSERT_FALSE(d);
  EXPECT_EQ(d.error().code, ErrorCode::kFileTooShort);
}

}  // namespace
}  // namespace snapvm
