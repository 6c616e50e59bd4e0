// heap.cpp: the guest heap, a first-fit allocator over the PEB's heap region. Blocks carry a 16-byte
// header (size including header, used flag); free neighbours are merged while searching.
#include "snapvm_guest.h"

namespace snapvm::guest {
namespace {

struct BlockHeader {
  uint64_t size;  // bytes, header included; a multiple of 16
  uint64_t used;
};
constexpr uint64_t kAlign = 16;
constexpr uint64_t kMinSplit = 2 * sizeof(BlockHeader);

uint8_t* g_heap_begin = nullptr;
uint8_t* g_heap_end = nullptr;

BlockHeader* next_block(BlockHeader* b) {
  return reinterpret_cast<BlockHeader*>(reinterpret_cast<uint8_t*>(b) + b->size);
}

}  // namespace

void heap_init(uint64_t base, uint64_t size) {
  g_heap_begin = reinterpret_cast<uint8_t*>((base + kAlign - 1) & ~(kAlign - 1));
  g_heap_end = reinterpret_cast<uint8_t*>((base + size) & ~(kAlign - 1));
  if (g_heap_end <= g_heap_begin + sizeof(BlockHeader)) {
    g_heap_end = g_heap_begin;
    return;
  }
  auto* first = reinterpret_cast<BlockHeader*>(g_heap_begin);
  first->size = static_cast<uint64_t>(g_heap_end - g_heap_begin);
  first->used = 0;
}

void* malloc(size_t size) {
  if (size == 0) size = 1;
  if (size > static_cast<uint64_t>(g_heap_end - g_heap_begin)) return nullptr;
  uint64_t need = ((size + kAlign - 1) & ~(kAlign - 1)) + sizeof(BlockHeader);
  for (auto* b = reinterpret_cast<BlockHeader*>(g_heap_begin); reinterpret_cast<uint8_t*>(b) < g_heap_end;
       b = next_block(b)) {
    if (b->used) continue;
    // Merge the free blocks that follow, so fragments add up again.
    while (reinterpret_cast<uint8_t*>(next_block(b)) < g_heap_end && !next_block(b)->used) {
      b->size += next_block(b)->size;
    }
    if (b->size < need) continue;
    if (b->size - need >= kMinSplit) {
      auto* rest = reinterpret_cast<BlockHeader*>(reinterpret_cast<uint8_t*>(b) + need);
      rest->size = b->size - need;
      rest->used = 0;
      b->size = need;
    }
    b->used = 1;
    return b + 1;
  }
  return nullptr;
}

void free(void* p) {
  if (p == nullptr) return;
  auto* b = static_cast<BlockHeader*>(p) - 1;
  b->used = 0;
}

void* realloc(void* p, size_t size) {
  if (p == nullptr) return malloc(size);
  auto* b = static_cast<BlockHeader*>(p) - 1;
  uint64_t old = b->size - sizeof(BlockHeader);
  if (size <= old) return p;
  void* q = malloc(size);
  if (q == nullptr) return nullptr;
  __builtin_memcpy(q, p, old);
  free(p);
  return q;
}

}  // namespace snapvm::guest
