// wire_buffer.h: bounds-checked little-endian byte reader and writer, shared by host and guest.
// Freestanding: no allocation, no exceptions; a failed read or write sticks and records where.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "snapvm/abi/byte_order.h"

namespace snapvm::abi {

enum class WireStatus : uint8_t {
  kOk = 0,
  kTruncated,      // a field runs past the end of the message or buffer
  kBadMagic,       // the message's magic is not the one expected
  kBadLength,      // the length field disagrees with the bytes present
  kBadType,        // a value type tag is not one of ValueType
  kBadBool,        // a bool that is neither 0 nor 1
  kTooLong,        // a name or payload longer than its limit
  kTooMany,        // more arguments or functions than the limits allow
  kTrailingBytes,  // bytes left over after the last field
  kBadReserved,    // a reserved byte that is not zero
  kBadName,        // a function name that is empty or holds a control character
};

inline const char* wire_status_name(WireStatus s) {
  switch (s) {
    case WireStatus::kOk:
      return "ok";
    case WireStatus::kTruncated:
      return "truncated";
    case WireStatus::kBadMagic:
      return "bad magic";
    case WireStatus::kBadLength:
      return "bad length";
    case WireStatus::kBadType:
      return "unknown value type";
    case WireStatus::kBadBool:
      return "bool not 0 or 1";
    case WireStatus::kTooLong:
      return "too long";
    case WireStatus::kTooMany:
      return "too many";
    case WireStatus::kTrailingBytes:
      return "trailing bytes";
    case WireStatus::kBadReserved:
      return "reserved byte not zero";
    case WireStatus::kBadName:
      return "empty name or control character";
  }
  return "unknown";
}

class WireReader {
 public:
  WireReader(const uint8_t* data, size_t size) : data_(data), size_(size) {}

  bool ok() const { return status_ == WireStatus::kOk; }
  WireStatus status() const { return status_; }
  size_t offset() const { return offset_; }
  size_t remaining() const { return size_ - offset_; }
  // Where the first failure happened, which field it was reading, and the value it saw.
  size_t error_offset() const { return error_offset_; }
  const char* error_field() const { return error_field_; }
  uint64_t error_value() const { return error_value_; }

  bool fail(WireStatus status, const char* field, uint64_t value = 0) {
    if (ok()) {
      status_ = status;
      error_offset_ = offset_;
      error_field_ = field;
      error_value_ = value;
    }
    return false;
  }
  // Fails at an earlier offset (the start of a field already consumed).
  bool fail_at(size_t at, WireStatus status, const char* field, uint64_t value = 0) {
    if (ok()) {
      offset_ = at;
      fail(status, field, value);
    }
    return false;
  }

  // Narrows the readable range to the first `n` bytes (n <= size); used once a length is known.
  void limit(size_t n) {
    if (n < size_) size_ = n;
  }

  bool u8(uint8_t& out, const char* field) { return uint(&out, 1, field); }
  bool u16(uint16_t& out, const char* field) { return uint(&out, 2, field); }
  bool u32(uint32_t& out, const char* field) { return uint(&out, 4, field); }
  bool u64(uint64_t& out, const char* field) { return uint(&out, 8, field); }
  // Points `out` at the next `n` bytes (no copy) and advances.
  bool bytes(const uint8_t*& out, size_t n, const char* field) {
    if (!ok()) return false;
    if (n > remaining()) return fail(WireStatus::kTruncated, field, n);
    out = data_ + offset_;
    offset_ += n;
    return true;
  }

 private:
  template <typename T>
  bool uint(T* out, size_t n, const char* field) {
    if (!ok()) return false;
    if (n > remaining()) return fail(WireStatus::kTruncated, field, n);
    *out = static_cast<T>(load_le(data_ + offset_, n));
    offset_ += n;
    return true;
  }

  const uint8_t* data_;
  size_t size_;
  size_t offset_ = 0;
  WireStatus status_ = WireStatus::kOk;
  size_t error_offset_ = 0;
  const char* error_field_ = "";
  uint64_t error_value_ = 0;
};

class WireWriter {
 public:
  WireWriter(uint8_t* data, size_t capacity) : data_(data), capacity_(capacity) {}

  bool ok() const { return ok_; }
  size_t size() const { return size_; }

  void u8(uint8_t v) { uint(v, 1); }
  void u16(uint16_t v) { uint(v, 2); }
  void u32(uint32_t v) { uint(v, 4); }
  void u64(uint64_t v) { uint(v, 8); }
  void bytes(const void* src, size_t n) {
    if (!reserve(n)) return;
    const uint8_t* s = static_cast<const uint8_t*>(src);
    for (size_t i = 0; i < n; ++i) data_[size_ + i] = s[i];
    size_ += n;
  }
  // Overwrites a u32 written earlier (used for total lengths known only at the end).
  void patch_u32(size_t at, uint32_t v) {
    if (!ok_ || at + 4 > size_) return;
    store_le(data_ + at, v);
  }

 private:
  bool reserve(size_t n) {
    if (!ok_ || n > capacity_ - size_) {
      ok_ = false;
      return false;
    }
    return true;
  }
  void uint(uint64_t v, size_t n) {
    if (!reserve(n)) return;
    store_le(data_ + size_, n, v);
    size_ += n;
  }

  uint8_t* data_;
  size_t capacity_;
  size_t size_ = 0;
  bool ok_ = true;
};

}  // namespace snapvm::abi
