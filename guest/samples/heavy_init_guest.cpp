// heavy_init_guest.cpp: a guest whose initialisation does real work before it can serve a call, as
// real guests do: it generates a pseudo-random key set, sorts it, builds an open-addressing hash index
// over it and precomputes a CRC-32 table, all in its heap. The amount of state follows the heap the host
// gives (the rule is in guest/README.md), so benchmarks sweep it by heap size; every function answers
// from that state, so a snapshot that lost or damaged it answers wrongly.
#include "snapvm/abi/layout.h"
#include "snapvm_guest.h"

using namespace snapvm::guest;  // NOLINT

namespace {

using VT = ValueType;

// The rule (guest/README.md): state = heap - kReserve for heaps of at least 2 x kReserve, half the heap
// below that. The reserve holds the runtime's own allocations and each call's argument copy.
constexpr uint64_t kReserve = 1024 * 1024;
constexpr uint64_t kSeed = 0x5eed0f0a11c0ffeeull;  // the key generator's seed (tests replicate it)
constexpr uint64_t kGamma = 0x9e3779b97f4a7c15ull;
constexpr uint64_t kNotFound = ~uint64_t{0};

struct State {
  uint64_t bytes = 0;        // the state budget from the rule; keys + index + table fill it
  uint64_t* keys = nullptr;  // key_count distinct keys, ascending
  uint64_t key_count = 0;
  uint32_t* index = nullptr;  // index_slots slots (a power of two): rank + 1, 0 = empty
  uint64_t index_slots = 0;
  uint32_t* table = nullptr;  // table[i] = CRC-32 of i as 8 little-endian bytes
  uint64_t table_size = 0;
};

State g_state;
uint64_t g_init_runs = 0;  // how many times guest_main ran in this memory: 1 after a cold start too
uint64_t g_calls = 0;      // calls served since initialisation; carried by snapshots
uint32_t g_crc_bytes[256];

// The PEB lives at a fixed address (docs/abi.md); the empty asm keeps the compiler from treating the
// constant as an out-of-bounds pointer.
const snapvm::abi::Peb& peb() {
  uintptr_t address = snapvm::abi::kPebAddress;
  asm("" : "+r"(address));
  return *reinterpret_cast<const snapvm::abi::Peb*>(address);
}

uint64_t state_budget(uint64_t heap) { return heap >= 2 * kReserve ? heap - kReserve : heap / 2; }

// splitmix64's output function: a bijection, so distinct inputs give distinct keys.
uint64_t mix(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

uint64_t slot_of(uint64_t key, uint64_t slots) {
  uint32_t bits = 0;
  while ((uint64_t{1} << bits) < slots) ++bits;
  return bits == 0 ? 0 : (key * kGamma) >> (64 - bits);
}

// LSD radix sort, one byte per pass; `scratch` holds as many keys. Eight passes end back in `keys`.
void radix_sort(uint64_t* keys, uint64_t* scratch, uint64_t n) {
  uint64_t* from = keys;
  uint64_t* to = scratch;
  for (uint32_t shift = 0; shift < 64; shift += 8) {
    uint64_t count[256] = {};
    for (uint64_t i = 0; i < n; ++i) ++count[(from[i] >> shift) & 0xff];
    uint64_t sum = 0;
    for (uint64_t& c : count) {
      uint64_t here = c;
      c = sum;
      sum += here;
    }
    for (uint64_t i = 0; i < n; ++i) to[count[(from[i] >> shift) & 0xff]++] = from[i];
    uint64_t* t = from;
    from = to;
    to = t;
  }
}

void build_crc_bytes() {
  for (uint32_t b = 0; b < 256; ++b) {
    uint32_t c = b;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xedb88320u ^ (c >> 1) : c >> 1;
    g_crc_bytes[b] = c;
  }
}

uint32_t crc32_u64(uint64_t v) {
  uint32_t c = 0xffffffffu;
  for (int k = 0; k < 8; ++k) c = g_crc_bytes[(c ^ (v >> (8 * k))) & 0xff] ^ (c >> 8);
  return c ^ 0xffffffffu;
}

void* allocate(uint64_t bytes) {
  void* p = malloc(bytes);
  if (p == nullptr) abort(12, "heap too small for the state the rule asks for");
  return p;
}

// Budget split: keys take a quarter (8 bytes each), the index the smallest power of two of slots that
// keeps its load at or below one half (a quarter to a half of the budget), the table the rest.
void build_state(uint64_t heap) {
  State& s = g_state;
  s.bytes = state_budget(heap);
  s.key_count = s.bytes / 32;
  s.index_slots = 2;
  while (s.index_slots < 2 * s.key_count) s.index_slots *= 2;
  s.table_size = (s.bytes - 8 * s.key_count - 4 * s.index_slots) / 4;
  s.keys = static_cast<uint64_t*>(allocate(8 * s.key_count));
  s.index = static_cast<uint32_t*>(allocate(4 * s.index_slots));
  s.table = static_cast<uint32_t*>(allocate(4 * s.table_size));

  for (uint64_t i = 0; i < s.key_count; ++i) s.keys[i] = mix(kSeed + (i + 1) * kGamma);
  radix_sort(s.keys, reinterpret_cast<uint64_t*>(s.index), s.key_count);  // the index is the scratch
  for (uint64_t i = 0; i < s.index_slots; ++i) s.index[i] = 0;
  for (uint64_t rank = 0; rank < s.key_count; ++rank) {
    uint64_t slot = slot_of(s.keys[rank], s.index_slots);
    while (s.index[slot] != 0) slot = (slot + 1) & (s.index_slots - 1);
    s.index[slot] = static_cast<uint32_t>(rank + 1);
  }
  build_crc_bytes();
  for (uint64_t i = 0; i < s.table_size; ++i) s.table[i] = crc32_u64(i);
}

uint64_t fnv_words(uint64_t h, const uint64_t* p, uint64_t n) {
  for (uint64_t i = 0; i < n; ++i) h = (h ^ p[i]) * 0x100000001b3ull;
  return h;
}
uint64_t fnv_words(uint64_t h, const uint32_t* p, uint64_t n) {
  for (uint64_t i = 0; i < n; ++i) h = (h ^ p[i]) * 0x100000001b3ull;
  return h;
}

// ---- functions ---------------------------------------------------------------------------------
// Rank of `key` in the sorted set via the hash index, or ~0 when absent.
WireValue lookup(const WireValue* a, uint8_t) {
  ++g_calls;
  const State& s = g_state;
  const uint64_t key = a[0].u64;
  for (uint64_t slot = slot_of(key, s.index_slots);; slot = (slot + 1) & (s.index_slots - 1)) {
    const uint32_t entry = s.index[slot];
    if (entry == 0) return make_u64(kNotFound);
    if (s.keys[entry - 1] == key) return make_u64(entry - 1);
  }
}

WireValue key_at(const WireValue* a, uint8_t) {
  ++g_calls;
  if (a[0].u64 >= g_state.key_count) abort(14, "rank out of range");
  return make_u64(g_state.keys[a[0].u64]);
}

WireValue table_value(const WireValue* a, uint8_t) {
  ++g_calls;
  if (a[0].u64 >= g_state.table_size) abort(14, "table index out of range");
  return make_u32(g_state.table[a[0].u64]);
}

// FNV-1a over the keys and the index slots (64-bit words) and the table (32-bit words), in that order.
WireValue state_checksum(const WireValue*, uint8_t) {
  ++g_calls;
  const State& s = g_state;
  uint64_t h = 0xcbf29ce484222325ull;
  h = fnv_words(h, s.keys, s.key_count);
  h = fnv_words(h, reinterpret_cast<const uint64_t*>(s.index), s.index_slots / 2);
  return make_u64(fnv_words(h, s.table, s.table_size));
}

// Counts the call, so tests can see the calls made before a snapshot carried into a cold start.
WireValue served(WireValue v) {
  ++g_calls;
  return v;
}
WireValue key_count(const WireValue*, uint8_t) { return served(make_u64(g_state.key_count)); }
WireValue index_slots(const WireValue*, uint8_t) { return served(make_u64(g_state.index_slots)); }
WireValue table_size(const WireValue*, uint8_t) { return served(make_u64(g_state.table_size)); }
WireValue state_bytes(const WireValue*, uint8_t) { return served(make_u64(g_state.bytes)); }
WireValue init_runs(const WireValue*, uint8_t) { return served(make_u64(g_init_runs)); }
WireValue calls(const WireValue*, uint8_t) { return make_u64(++g_calls); }

}  // namespace

extern "C" void guest_main() {
  ++g_init_runs;
  build_state(peb().heap_size);
  register_function("Lookup", lookup, VT::kU64, VT::kU64);
  register_function("KeyAt", key_at, VT::kU64, VT::kU64);
  register_function("TableValue", table_value, VT::kU32, VT::kU64);
  register_function("StateChecksum", state_checksum, VT::kU64);
  register_function("KeyCount", key_count, VT::kU64);
  register_function("IndexSlots", index_slots, VT::kU64);
  register_function("TableSize", table_size, VT::kU64);
  register_function("StateBytes", state_bytes, VT::kU64);
  register_function("InitRuns", init_runs, VT::kU64);
  register_function("Calls", calls, VT::kU64);
  log(LogLevel::kInfo, "heavy-init guest initialised");
}
