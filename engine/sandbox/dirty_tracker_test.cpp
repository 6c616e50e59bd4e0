// dirty_tracker_test.cpp: the word-skipping page scan (memory/page_bitmap.h) and the DirtyTracker's
// host writes, without KVM.
#include "sandbox/dirty_tracker.h"

#include <gtest/gtest.h>

#include <vector>

#include "memory/page_bitmap.h"
#include "snapvm/abi/layout.h"

namespace snapvm::detail {
namespace {

std::vector<uint64_t> pages_set(const std::vector<uint64_t>& bits, uint64_t first, uint64_t last) {
  std::vector<uint64_t> got;
  for_each_set_page(bits, first, last, [&](uint64_t p) { got.push_back(p); });
  return got;
}

TEST(PageBitmap, VisitsSetPagesInOrder) {
  std::vector<uint64_t> bits(3, 0);
  for (uint64_t p : {0u, 5u, 63u, 64u, 130u}) set_page(bits, p);
  EXPECT_EQ(pages_set(bits, 0, 192), (std::vector<uint64_t>{0, 5, 63, 64, 130}));
}

TEST(PageBitmap, HonoursRangeBoundsInsideWords) {
  std::vector<uint64_t> bits(3, ~uint64_t{0});
  EXPECT_EQ(pages_set(bits, 62, 66), (std::vector<uint64_t>{62, 63, 64, 65}));
  EXPECT_EQ(pages_set(bits, 70, 70), std::vector<uint64_t>{});
  EXPECT_EQ(pages_set(bits, 127, 129), (std::vector<uint64_t>{127, 128}));
}

TEST(PageBitmap, VisitsTheLastPageOfARegion) {
  std::vector<uint64_t> bits(2, 0);
  set_page(bits, 99);   // last page of [40, 100)
  set_page(bits, 100);  // first page after it
  EXPECT_EQ(pages_set(bits, 40, 100), std::vector<uint64_t>{99});
  set_page(bits, 127);
  EXPECT_EQ(pages_set(bits, 100, 128), (std::vector<uint64_t>{100, 127}));  // a region ending on a word boundary
}

TEST(PageBitmap, SkipsCleanWordsWithoutVisiting) {
  std::vector<uint64_t> bits(1024, 0);
  set_page(bits, 1024 * 64 - 1);
  EXPECT_EQ(pages_set(bits, 0, 1024 * 64), std::vector<uint64_t>{1024 * 64 - 1});
}

TEST(PageBitmap, CountsWordsForPages) {
  EXPECT_EQ(page_bitmap_words(0), 0u);
  EXPECT_EQ(page_bitmap_words(1), 1u);
  EXPECT_EQ(page_bitmap_words(64), 1u);
  EXPECT_EQ(page_bitmap_words(65), 2u);
}

std::vector<uint64_t> dirty_pages(const DirtyTracker& t, uint64_t first, uint64_t last) {
  std::vector<uint64_t> got;
  t.for_each_dirty_page(first, last, [&](uint64_t p) { got.push_back(p); });
  return got;
}

TEST(DirtyTracker, HostWritesMarkEveryPageTheyTouch) {
  DirtyTracker t(256, DirtyLog::bitmap());
  t.mark_host_write(abi::kPageSize - 1, 2);  // straddles pages 0 and 1
  t.mark_host_write(70 * abi::kPageSize, abi::kPageSize);
  t.mark_host_write(200 * abi::kPageSize, 0);  // nothing written
  EXPECT_EQ(dirty_pages(t, 0, 256), (std::vector<uint64_t>{0, 1, 70}));
  EXPECT_EQ(dirty_pages(t, 1, 70), std::vector<uint64_t>{1});
}

TEST(DirtyTracker, ClearForgetsEveryChange) {
  DirtyTracker t(128, DirtyLog::bitmap());
  t.mark_host_write(5 * abi::kPageSize, 1);
  t.forget();
  EXPECT_EQ(dirty_pages(t, 0, 128), std::vector<uint64_t>{});
}

}  // namespace
}  // namespace snapvm::detail
