// page_bitmap.h: bitmaps with one bit per guest page, and the one scan over them. The scan skips 64
// clean pages per zero word, so its cost follows the pages that are set, not the size of the range:
// restore, snapshot capture and the sparse memory blob all walk their bitmaps with it.
#pragma once

#include <bit>
#include <cstdint>
#include <span>

namespace snapvm::detail {

// Words needed for one bit per page of `pages` pages.
constexpr uint64_t page_bitmap_words(uint64_t pages) { return (pages + 63) / 64; }

inline void set_page(std::span<uint64_t> bits, uint64_t page) { bits[page / 64] |= uint64_t{1} << (page % 64); }
inline bool page_is_set(std::span<const uint64_t> bits, uint64_t page) {
  return ((bits[page / 64] >> (page % 64)) & 1) != 0;
}

// Calls fn(page) in increasing order for every page in [first, last) whose bit is set in word(w), the
// w-th 64-bit word of the bitmap (a callable, so two bitmaps can be OR-ed without building a third).
template <typename WordFn, typename PageFn>
inline void for_each_set_page_by_word(uint64_t first, uint64_t last, WordFn&& word, PageFn&& fn) {
  for (uint64_t w = first / 64; w * 64 < last; ++w) {
    uint64_t bits = word(w);
    if (bits == 0) continue;  // 64 clean pages at once
    if (w == first / 64) bits &= ~uint64_t{0} << (first % 64);
    if ((w + 1) * 64 > last) bits &= (uint64_t{1} << (last % 64)) - 1;  // last % 64 != 0 here
    while (bits != 0) {
      fn(w * 64 + static_cast<uint64_t>(std::countr_zero(bits)));
      bits &= bits - 1;
    }
  }
}

// The same over one bitmap.
template <typename PageFn>
inline void for_each_set_page(std::span<const uint64_t> bits, uint64_t first, uint64_t last, PageFn&& fn) {
  for_each_set_page_by_word(
      first, last, [bits](uint64_t w) { return bits[w]; }, fn);
}

}  // namespace snapvm::detail
