// tlv_guest: a small record parser with three planted bugs, for fuzzing guest code from a snapshot file
// (issue 13). Built twice (snapvm_add_guest COVERAGE_TWIN): `tlv_guest`, plain, and `tlv_guest_cov`, with
// coverage (edge counters and CmpLog, docs/abi.md "Coverage"). Needs no host functions.
//
// ParseRecords(bytes) -> u32: the input is a sequence of records, each
//     u8 type | u8 length | payload[length]
// parsed until the input ends or a record is cut short; the result is the number of whole records.
// Integers are little-endian; magics are compared as u16/u32 values, so trace-cmp logs them whole.
//   type 1 STORE   length 8: u32 magic "STOR" (bytes 53 54 4f 52), i32 slot; writes a slot of a 64-entry table.
//   type 2 RATIO   length 5: u16 numerator, u16 mode, u8 divisor; with numerator 0xd1f0 and mode 0x5157
//                  ("WQ") divides the numerator by the divisor.
//   type 3 SEALED  length >= 3: u16 tag 0xa11e, body, u8 trailer; a sealed record whose trailer equals the
//                  xor of the payload's other bytes is refused by aborting.
//   other types    skipped.
// The planted bugs, each a distinct crash (each needs its exact bytes; a near miss returns normally):
//   (a) STORE checks the slot as a signed number (slot >= 64 is refused, a negative slot is not): a negative
//       slot writes far below the table, outside guest memory: #PF (vector 14), a write, CR2 outside memory.
//       e.g. 01 08 53 54 4f 52 00 00 00 80 (slot INT32_MIN).
//   (b) RATIO with numerator 0xd1f0 and mode 0x5157 never checks the divisor: divisor 0 is #DE (vector 0).
//       e.g. 02 05 f0 d1 57 51 00.
//   (c) SEALED with tag 0xa11e and a valid checksum: abort(kSealedAbortCode = 101, "sealed record ...").
//       e.g. 03 04 1e a1 42 fd (0x1e ^ 0xa1 ^ 0x42 = 0xfd).
//
// Remember(bytes) -> u32: aborts with kStateLeakAbortCode (102, "state leaked from an earlier input") when
// an earlier call left its global set; an input starting with "SET" sets it. Returns 0. A fuzzer that
// restores the snapshot between inputs never sees the abort; one that does not, does after two "SET" inputs.
#include "snapvm_guest.h"

using namespace snapvm::guest;  // NOLINT: a guest program

namespace {

constexpr int32_t kSealedAbortCode = 101;
constexpr int32_t kStateLeakAbortCode = 102;

constexpr uint8_t kStore = 1, kRatio = 2, kSealed = 3;
constexpr uint32_t kStoreMagic = 0x524f5453;  // "STOR"
constexpr uint16_t kRatioNumerator = 0xd1f0;
constexpr uint16_t kRatioMode = 0x5157;  // "WQ"
constexpr uint16_t kSealedTag = 0xa11e;
constexpr int32_t kSlots = 64;

volatile uint64_t g_slots[kSlots];  // volatile: written only, and the write is the point
uint32_t g_ratio;
uint32_t g_remembered;

uint16_t read_u16(const uint8_t* p) {
  uint16_t v;
  __builtin_memcpy(&v, p, 2);
  return v;
}
uint32_t read_u32(const uint8_t* p) {
  uint32_t v;
  __builtin_memcpy(&v, p, 4);
  return v;
}

void store(const uint8_t* p, uint8_t length) {
  if (length != 8 || read_u32(p) != kStoreMagic) return;
  int32_t slot;
  __builtin_memcpy(&slot, p + 4, 4);
  if (slot >= kSlots) return;  // BUG (a): a negative slot passes
  g_slots[slot] = uint64_t{kStoreMagic} << 32 | static_cast<uint32_t>(slot);
}

void ratio(const uint8_t* p, uint8_t length) {
  if (length != 5) return;
  const uint16_t numerator = read_u16(p);
  if (numerator == kRatioNumerator) {
    if (read_u16(p + 2) == kRatioMode) {
      uint32_t quotient = numerator, remainder = 0;
      const uint32_t divisor = p[4];  // BUG (b): never checked for zero
      asm volatile("divl %2" : "+a"(quotient), "+d"(remainder) : "r"(divisor));
      g_ratio = quotient;
    }
  }
}

void sealed(const uint8_t* p, uint8_t length) {
  if (length < 3 || read_u16(p) != kSealedTag) return;
  uint8_t x = 0;
  for (uint8_t i = 0; i + 1 < length; ++i) x ^= p[i];
  if (x == p[length - 1]) abort(kSealedAbortCode, "sealed record with a valid checksum");  // BUG (c)
}

uint32_t parse_records(const uint8_t* data, uint32_t size) {
  uint32_t records = 0;
  uint32_t at = 0;
  while (size - at >= 2) {
    const uint8_t type = data[at];
    const uint8_t length = data[at + 1];
    if (length > size - at - 2) break;
    const uint8_t* payload = data + at + 2;
    switch (type) {
      case kStore:
        store(payload, length);
        break;
      case kRatio:
        ratio(payload, length);
        break;
      case kSealed:
        sealed(payload, length);
        break;
      default:
        break;
    }
    at += 2u + length;
    ++records;
  }
  return records;
}

WireValue parse_records_fn(const WireValue* a, uint8_t) {
  return make_u32(parse_records(a[0].span.data, a[0].span.size));
}

WireValue remember_fn(const WireValue* a, uint8_t) {
  if (g_remembered != 0) abort(kStateLeakAbortCode, "state leaked from an earlier input");
  const uint8_t* p = a[0].span.data;
  if (a[0].span.size >= 3 && p[0] == 'S' && p[1] == 'E' && p[2] == 'T') g_remembered = 1;
  return make_u32(0);
}

}  // namespace

extern "C" void guest_main() {
  // Initialisation runs instrumented code too (edges and a compare per slot): the coverage runtime must clear
  // what it counted before the after-init snapshot (guest_coverage_test checks it does).
  for (int32_t i = 0; i < kSlots; ++i) g_slots[i] = static_cast<uint64_t>(i);
  // A compare the CmpLog records (operands unequal and not both below 0x100).
  if (g_slots[kSlots - 1] == kStoreMagic) g_ratio = 1;
  register_function("ParseRecords", parse_records_fn, ValueType::kU32, ValueType::kBytes);
  register_function("Remember", remember_fn, ValueType::kU32, ValueType::kBytes);
}
