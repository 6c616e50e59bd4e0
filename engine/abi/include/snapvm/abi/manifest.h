// manifest.h: the manifest codec, one for both sides. The guest encodes it once, at the end of
// initialisation; the host decodes it and learns which functions the guest offers and which host
// functions it needs:
//   u32 magic "SVM1" | u32 total_length | u16 guest_count | u16 host_count (each <= kMaxFunctions)
//   then guest_count + host_count entries, guest functions first, each
//   u16 name_length (1..kMaxNameLength) | name (no control characters) | u8 result type |
//   u8 param_count (<= kMaxArgs) | param_count parameter types (never void)
// Little-endian, like every message in wire.h. Freestanding.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "snapvm/abi/wire.h"

namespace snapvm::abi {

inline constexpr size_t kManifestHeaderSize = kMessageHeaderSize + 4;  // + u16 guest_count | u16 host_count
inline constexpr size_t kManifestEntryFixedSize = 4;                   // u16 name_length | u8 result | u8 param_count
inline constexpr size_t kGuestCountOffset = 8, kHostCountOffset = 10;

// One function as a manifest lists it. `name` is not NUL-terminated; a decoded name points into the
// message. A plain aggregate, so tables of it are zero-initialised without constructors.
struct FunctionDecl {
  const char* name;
  uint16_t name_length;
  ValueType result;
  uint8_t param_count;
  ValueType params[kMaxArgs];
};

// Snapshot files refuse names with control characters, so a guest must not be able to register them.
inline bool is_name_byte(uint8_t c) { return c >= 0x20 && c != 0x7f; }

// ---- encoding: begin, one entry per function (guest functions first), end_message ---------------

inline void begin_manifest(WireWriter& w, uint16_t guest_count, uint16_t host_count) {
  begin_message(w, kManifestMagic);
  w.u16(guest_count);
  w.u16(host_count);
}

inline void encode_manifest_entry(WireWriter& w, const FunctionDecl& f) {
  w.u16(f.name_length);
  w.bytes(f.name, f.name_length);
  w.u8(static_cast<uint8_t>(f.result));
  w.u8(f.param_count);
  for (uint8_t p = 0; p < f.param_count; ++p) w.u8(static_cast<uint8_t>(f.params[p]));
}

// A whole manifest from two tables. Returns the encoded size, or 0 if it did not fit (or a count,
// a name or a parameter list is over its limit).
inline size_t encode_manifest(uint8_t* buf, size_t cap, const FunctionDecl* guest, uint16_t guest_count,
                              const FunctionDecl* host, uint16_t host_count) {
  if (guest_count > kMaxFunctions || host_count > kMaxFunctions) return 0;
  WireWriter w(buf, cap);
  begin_manifest(w, guest_count, host_count);
  for (int side = 0; side < 2; ++side) {
    const FunctionDecl* table = side == 0 ? guest : host;
    const uint16_t count = side == 0 ? guest_count : host_count;
    for (uint16_t i = 0; i < count; ++i) {
      if (table[i].name_length > kMaxNameLength || table[i].param_count > kMaxArgs) return 0;
      encode_manifest_entry(w, table[i]);
    }
  }
  end_message(w);
  return w.ok() ? w.size() : 0;
}

// ---- decoding: every field checked, the first failure recorded in the reader --------------------

inline bool decode_manifest_header(WireReader& r, uint16_t& guest_count, uint16_t& host_count) {
  uint32_t total = 0;
  if (!decode_message_header(r, kManifestMagic, total)) return false;
  if (!r.u16(guest_count, "guest_count") || !r.u16(host_count, "host_count")) return false;
  if (guest_count > kMaxFunctions)
    return r.fail_at(kGuestCountOffset, WireStatus::kTooMany, "guest_count", guest_count);
  if (host_count > kMaxFunctions) return r.fail_at(kHostCountOffset, WireStatus::kTooMany, "host_count", host_count);
  return true;
}

inline bool decode_function_name(WireReader& r, FunctionDecl& f) {
  const size_t at = r.offset();
  if (!r.u16(f.name_length, "name_length")) return false;
  if (f.name_length > kMaxNameLength) return r.fail_at(at, WireStatus::kTooLong, "name_length", f.name_length);
  if (f.name_length == 0) return r.fail_at(at, WireStatus::kBadName, "name_length", 0);
  const size_t name_at = r.offset();
  const uint8_t* name = nullptr;
  if (!r.bytes(name, f.name_length, "name") || name == nullptr) return false;  // never null once read
  for (uint16_t c = 0; c < f.name_length; ++c) {
    if (!is_name_byte(name[c])) return r.fail_at(name_at + c, WireStatus::kBadName, "name", name[c]);
  }
  f.name = reinterpret_cast<const char*>(name);
  return true;
}

inline bool decode_function_signature(WireReader& r, FunctionDecl& f) {
  uint8_t result = 0;
  size_t at = r.offset();
  if (!r.u8(result, "result")) return false;
  if (result >= kValueTypeCount) return r.fail_at(at, WireStatus::kBadType, "result", result);
  f.result = static_cast<ValueType>(result);
  at = r.offset();
  if (!r.u8(f.param_count, "param_count")) return false;
  if (f.param_count > kMaxArgs) return r.fail_at(at, WireStatus::kTooMany, "param_count", f.param_count);
  for (uint8_t p = 0; p < f.param_count; ++p) {
    uint8_t type = 0;
    at = r.offset();
    if (!r.u8(type, "param")) return false;
    if (type == 0 || type >= kValueTypeCount) return r.fail_at(at, WireStatus::kBadType, "param", type);
    f.params[p] = static_cast<ValueType>(type);
  }
  return true;
}

inline bool decode_manifest_entry(WireReader& r, FunctionDecl& f) {
  return decode_function_name(r, f) && decode_function_signature(r, f);
}

// Decodes a whole manifest, calling on_function(bool is_host, const FunctionDecl&) for each entry in
// order (guest functions first). Entries handed over before a failure are not valid on their own:
// the caller keeps them only if this returns true.
template <typename OnFunction>
inline bool decode_manifest(WireReader& r, OnFunction&& on_function) {
  uint16_t guest_count = 0, host_count = 0;
  if (!decode_manifest_header(r, guest_count, host_count)) return false;
  for (uint32_t i = 0; i < uint32_t{guest_count} + host_count; ++i) {
    FunctionDecl f{};
    if (!decode_manifest_entry(r, f)) return false;
    on_function(i >= guest_count, f);
  }
  return decode_message_end(r);
}

}  // namespace snapvm::abi
