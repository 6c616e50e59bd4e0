// file_patch.h: edit an encoded snapshot file in place and re-fix its checksums, so a mutated file
// gets past the header checksum (and, if wanted, the content digest) into the decoder and the
// validator. Used by the validation tests, the structure-aware fuzz mutator and the harness.
// The table of fields (name, offset, size) is format::describe_fields() in format.h.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "snapshot/format.h"

namespace snapvm::format {

// Recomputes the header checksum over [0, header_length) (clamped to the file) and stores it.
// Does nothing to a file shorter than the fixed header.
void fix_header_checksum(std::span<uint8_t> file);

// Recomputes the content digest of the blob the header describes (clamped to the file) with the
// recorded algorithm (BLAKE3 if unknown), stores it, then fixes the header checksum. A format 2 file
// (its chunk descriptor readable) gets its chunk table rebuilt after the blob, the file resized to
// end with it, chunks.count, chunks.table_offset and the root (digest) rewritten.
void fix_content_digest(std::vector<uint8_t>& file);
// The same where the file cannot change size (a fuzzer's buffer): a format 2 file's table is
// rewritten in place, as much of it as the file holds after the blob.
void fix_content_digest(std::span<uint8_t> file);

// The field named `name` ("sregs.cr0", "regions[2].flags", "guest_functions[0].name_length").
std::optional<FieldInfo> find_field(std::span<const uint8_t> file, std::string_view name);

// Writes `value` little-endian into the field (its low `size` bytes; fields over 8 bytes get the
// value in their first 8) and fixes the header checksum. False if there is no such field.
bool set_field(std::span<uint8_t> file, std::string_view name, uint64_t value);

// Reads a field of up to 8 bytes, little-endian; nullopt if there is no such field.
std::optional<uint64_t> get_field(std::span<const uint8_t> file, std::string_view name);

}  // namespace snapvm::format
