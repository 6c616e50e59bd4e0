// byte_order.h: little-endian loads and stores, the byte order of every integer host and guest share
// (snapshot files, the call wire format, the PEB). Freestanding: no library beyond the compiler's.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace snapvm::abi {

// The low `size` bytes (1..8) of the little-endian integer at `p`.
inline uint64_t load_le(const uint8_t* p, size_t size) {
  uint64_t v = 0;
  for (size_t i = 0; i < size && i < 8; ++i) v |= static_cast<uint64_t>(p[i]) << (8 * i);
  return v;
}

// Writes the low `size` bytes (1..8) of `v` to `p`, little-endian.
inline void store_le(uint8_t* p, size_t size, uint64_t v) {
  for (size_t i = 0; i < size && i < 8; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}

template <typename T>
inline T load_le(const uint8_t* p) {
  static_assert(sizeof(T) <= 8, "integers of at most 8 bytes");
  return static_cast<T>(load_le(p, sizeof(T)));
}

template <typename T>
inline void store_le(uint8_t* p, T v) {
  static_assert(sizeof(T) <= 8, "integers of at most 8 bytes");
  store_le(p, sizeof(T), static_cast<uint64_t>(v));
}

}  // namespace snapvm::abi
