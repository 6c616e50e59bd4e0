// mutate_standin.cpp: LLVMFuzzerMutate for builds without libFuzzer (the replay build and the
// support test), which the structured mutator calls: changes one to four bytes, or the length, from
// a fixed-seed xorshift stream.
#include <cstddef>
#include <cstdint>

extern "C" size_t LLVMFuzzerMutate(uint8_t* data, size_t size, size_t max_size) {
  static uint64_t x = 0x9e3779b97f4a7c15ull;
  auto next = [] { return x ^= x << 13, x ^= x >> 7, x ^= x << 17; };
  if (size == 0 || next() % 8 == 0) {
    const auto n = static_cast<size_t>(next() % (max_size + 1));
    for (size_t i = size; i < n; ++i) data[i] = static_cast<uint8_t>(next());
    return n;
  }
  for (uint64_t k = 1 + next() % 4; k > 0; --k) data[next() % size] = static_cast<uint8_t>(next());
  return size;
}
