// splice.h: the block targets' trick. Fuzz bytes replace one block of a valid file's metadata (the
// special registers, the layout, the region table, the function tables); the rest of the file stays
// valid and the header checksum is recomputed, so every input reaches the decoder's and the
// validator's checks for that block. The base is the tiny guest's after-init file, recorded on this
// machine's CPU vendor. Only the metadata is built: decode_and_validate needs the file's size, not
// its blob.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace snapvm::fuzz {

enum class Block {
  kSpecialRegisters,  // sregs: 312 bytes at 0x180; shorter input keeps the base's tail
  kLayout,            // config, layout, entrypoint, dispatch (120 bytes at 0x78), then the region
                      // table; blob_size becomes the spliced regions' sizes summed
  kRegionTable,       // regions.count, regions.reserved, the entries
  kFunctions,         // guest and host function tables
};

struct SplicedFile {
  std::vector<uint8_t> metadata;  // header_length bytes, checksum fixed
  uint64_t file_size = 0;         // header_length + blob_size (saturating)
};

SplicedFile splice(Block block, std::span<const uint8_t> bytes);

// The bytes of `block` in an encoded file (empty if the file's structure does not reach it): seeds.
std::vector<uint8_t> block_of(std::span<const uint8_t> file, Block block);

}  // namespace snapvm::fuzz
