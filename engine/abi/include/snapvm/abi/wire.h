// wire.h: the call wire codec. Every message in the input or output buffer is
//   u32 magic | u32 total_length (whole message, header included) | body
// little-endian, with the bodies below. Both sides check every length against the bytes present;
// the guest may write anything, so the host treats every message as hostile. See docs/abi.md.
// Freestanding.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "snapvm/abi/wire_buffer.h"

namespace snapvm::abi {

enum class ValueType : uint8_t {
  kVoid = 0,
  kBool = 1,
  kI32 = 2,
  kU32 = 3,
  kI64 = 4,
  kU64 = 5,
  kF32 = 6,
  kF64 = 7,
  kString = 8,
  kBytes = 9,
};
inline constexpr uint8_t kValueTypeCount = 10;

inline constexpr uint32_t kCallMagic = 0x31435653;      // "SVC1": host -> guest function call
inline constexpr uint32_t kHostCallMagic = 0x31485653;  // "SVH1": guest -> host function call
inline constexpr uint32_t kResultMagic = 0x31525653;    // "SVR1": a returned value, either way
inline constexpr uint32_t kLogMagic = 0x314c5653;       // "SVL1": a guest log record
inline constexpr uint32_t kAbortMagic = 0x31415653;     // "SVA1": a guest abort
inline constexpr uint32_t kManifestMagic = 0x314d5653;  // "SVM1": functions the guest offers and needs

// Fixed parts of each message, before its variable-length fields (pinned in tripwires.h).
inline constexpr size_t kMessageHeaderSize = 8;                          // u32 magic | u32 total_length
inline constexpr size_t kCallHeaderSize = kMessageHeaderSize + 4;        // + u16 name_length | u8 argc | u8 0
inline constexpr size_t kResultHeaderSize = kMessageHeaderSize;          // then one value
inline constexpr size_t kTextRecordHeaderSize = kMessageHeaderSize + 8;  // + u32 number | u32 text_length
inline constexpr size_t kTotalLengthOffset = 4;
inline constexpr size_t kNameLengthOffset = 8, kArgcOffset = 10, kCallReservedOffset = 11;  // in a call
inline constexpr uint32_t kMaxNameLength = 128;
inline constexpr uint8_t kMaxArgs = 16;
inline constexpr uint16_t kMaxFunctions = 256;

struct ByteSpan {
  const uint8_t* data;
  uint32_t size;
};

struct WireValue {
  ValueType type = ValueType::kVoid;
  union {
    uint8_t boolean;
    int32_t i32;
    uint32_t u32;
    int64_t i64;
    uint64_t u64;
    float f32;
    double f64;
    ByteSpan span;  // kString and kBytes: points into the message, no copy
  };
  WireValue() : u64(0) {}
};

// A decoded call: name and arguments point into the message.
struct CallView {
  const char* name = nullptr;
  uint16_t name_length = 0;
  uint8_t argc = 0;
  WireValue args[kMaxArgs];
};

// ---- encoding ----------------------------------------------------------------------------------

inline void begin_message(WireWriter& w, uint32_t magic) {
  w.u32(magic);
  w.u32(0);  // total length, patched by end_message
}
inline void end_message(WireWriter& w) { w.patch_u32(4, static_cast<uint32_t>(w.size())); }

inline void encode_value(WireWriter& w, const WireValue& v) {
  w.u8(static_cast<uint8_t>(v.type));
  switch (v.type) {
    case ValueType::kVoid:
      break;
    case ValueType::kBool:
      w.u8(v.boolean ? 1 : 0);
      break;
    case ValueType::kI32:
    case ValueType::kU32:
    case ValueType::kF32:
      w.u32(v.u32);
      break;
    case ValueType::kI64:
    case ValueType::kU64:
    case ValueType::kF64:
      w.u64(v.u64);
      break;
    case ValueType::kString:
    case ValueType::kBytes:
      w.u32(v.span.size);
      w.bytes(v.span.data, v.span.size);
      break;
  }
}

// Returns the encoded size, or 0 if it did not fit (or the name or argc is over its limit).
inline size_t encode_call(uint8_t* buf, size_t cap, uint32_t magic, const char* name, uint16_t name_length,
                          const WireValue* args, uint8_t argc) {
  if (name_length > kMaxNameLength || argc > kMaxArgs) return 0;
  WireWriter w(buf, cap);
  begin_message(w, magic);
  w.u16(name_length);
  w.u8(argc);
  w.u8(0);
  w.bytes(name, name_length);
  for (uint8_t i = 0; i < argc; ++i) encode_value(w, args[i]);
  end_message(w);
  return w.ok() ? w.size() : 0;
}

inline size_t encode_result(uint8_t* buf, size_t cap, const WireValue& value) {
  WireWriter w(buf, cap);
  begin_message(w, kResultMagic);
  encode_value(w, value);
  end_message(w);
  return w.ok() ? w.size() : 0;
}

// Log and abort records: a u32 number (level or code), then u32 length and text.
inline size_t encode_text_record(uint8_t* buf, size_t cap, uint32_t magic, uint32_t number, const char* text,
                                 uint32_t text_length) {
  WireWriter w(buf, cap);
  begin_message(w, magic);
  w.u32(number);
  w.u32(text_length);
  w.bytes(text, text_length);
  end_message(w);
  return w.ok() ? w.size() : 0;
}

// ---- decoding ----------------------------------------------------------------------------------

// Reads magic and total length; shrinks the reader to the message so nothing reads past it.
inline bool decode_message_header(WireReader& r, uint32_t expected_magic, uint32_t& total) {
  uint32_t magic = 0;
  if (!r.u32(magic, "magic")) return false;
  if (magic != expected_magic) return r.fail_at(0, WireStatus::kBadMagic, "magic", magic);
  if (!r.u32(total, "total_length")) return false;
  if (total < kMessageHeaderSize || total > r.offset() + r.remaining()) {
    return r.fail_at(kTotalLengthOffset, WireStatus::kBadLength, "total_length", total);
  }
  r.limit(total);
  return true;
}

inline bool decode_message_end(WireReader& r) {
  if (!r.ok()) return false;
  if (r.remaining() != 0) return r.fail(WireStatus::kTrailingBytes, "end", r.remaining());
  return true;
}

inline bool decode_value(WireReader& r, WireValue& v, const char* field) {
  uint8_t tag = 0;
  size_t at = r.offset();
  if (!r.u8(tag, field)) return false;
  if (tag >= kValueTypeCount) return r.fail_at(at, WireStatus::kBadType, field, tag);
  v.type = static_cast<ValueType>(tag);
  switch (v.type) {
    case ValueType::kVoid:
      v.u64 = 0;
      return true;
    case ValueType::kBool: {
      size_t bool_at = r.offset();
      if (!r.u8(v.boolean, field)) return false;
      if (v.boolean > 1) return r.fail_at(bool_at, WireStatus::kBadBool, field, v.boolean);
      return true;
    }
    case ValueType::kI32:
    case ValueType::kU32:
    case ValueType::kF32:
      return r.u32(v.u32, field);
    case ValueType::kI64:
    case ValueType::kU64:
    case ValueType::kF64:
      return r.u64(v.u64, field);
    case ValueType::kString:
    case ValueType::kBytes: {
      uint32_t n = 0;
      if (!r.u32(n, field)) return false;
      const uint8_t* p = nullptr;
      if (!r.bytes(p, n, field)) return false;
      v.span.data = p;
      v.span.size = n;
      return true;
    }
  }
  return r.fail_at(at, WireStatus::kBadType, field, tag);
}

inline bool decode_call(WireReader& r, uint32_t magic, CallView& call) {
  uint32_t total = 0;
  if (!decode_message_header(r, magic, total)) return false;
  uint8_t reserved = 0;
  const uint8_t* name = nullptr;
  if (!r.u16(call.name_length, "name_length") || !r.u8(call.argc, "argc") || !r.u8(reserved, "reserved")) {
    return false;
  }
  if (call.name_length > kMaxNameLength) {
    return r.fail_at(kNameLengthOffset, WireStatus::kTooLong, "name_length", call.name_length);
  }
  if (call.argc > kMaxArgs) return r.fail_at(kArgcOffset, WireStatus::kTooMany, "argc", call.argc);
  if (reserved != 0) return r.fail_at(kCallReservedOffset, WireStatus::kBadReserved, "reserved", reserved);
  if (!r.bytes(name, call.name_length, "name")) return false;
  call.name = reinterpret_cast<const char*>(name);
  for (uint8_t i = 0; i < call.argc; ++i) {
    if (!decode_value(r, call.args[i], "argument")) return false;
  }
  return decode_message_end(r);
}

inline bool decode_result(WireReader& r, WireValue& value) {
  uint32_t total = 0;
  if (!decode_message_header(r, kResultMagic, total)) return false;
  if (!decode_value(r, value, "value")) return false;
  return decode_message_end(r);
}

inline bool decode_text_record(WireReader& r, uint32_t magic, uint32_t& number, ByteSpan& text) {
  uint32_t total = 0;
  if (!decode_message_header(r, magic, total)) return false;
  const uint8_t* p = nullptr;
  if (!r.u32(number, "number") || !r.u32(text.size, "text_length") || !r.bytes(p, text.size, "text")) return false;
  text.data = p;
  return decode_message_end(r);
}

}  // namespace snapvm::abi
