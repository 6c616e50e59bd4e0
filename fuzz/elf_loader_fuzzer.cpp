// elf_loader_fuzzer.cpp: a guest ELF through parse_elf and, when it parses, load_elf into a bounded
// guest memory (4 MiB: larger images must be refused by load_elf's own bounds checks).
#include <vector>

#include "elf/elf_loader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static std::vector<uint8_t> memory(4 << 20);
  auto image = snapvm::parse_elf({data, size});
  if (image) (void)snapvm::load_elf(*image, memory);
  return 0;
}
