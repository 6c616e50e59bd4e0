// field_mutation.h: field-aware mutation of snapshot files, the one library that the mutation
// campaign (mutators.h, `snapvm mutate` / `check` / `harness`), the custom libFuzzer mutator
// (fuzz/structured_mutator.cpp) and the corruption properties (properties/) share: which boundary
// values mean something for each kind of field, how one field's value is changed, and how the
// checksums are fixed afterwards so a mutant reaches the validators. Fields are format::FieldInfo
// (name, offset, size) from format::describe_fields; integers are little-endian (abi/byte_order.h).
// Randomness comes in as numbers (`choice`), so each user keeps its own determinism: a seeded
// std::mt19937_64 in the campaign and the fuzzer, RapidCheck's shrinkable values in the properties.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "snapshot/format.h"

namespace snapvm::harness {

// What a field holds, read from its name; each kind has its own boundary values.
enum class FieldKind {
  kCount,     // counts, lengths, sizes, versions, stages, kinds, flags, tags: small numbers matter
  kAddress,   // guest addresses, bases, offsets, RIP/RSP/CR3: page edges and snapvm's own layout
  kRegister,  // the other vCPU state: selectors, limits, control registers, FPU words
};
FieldKind field_kind(std::string_view field_name);

// The values worth trying in a field of `kind`: the edges of every integer width and of a page
// (0, 1, 2, 15, 16, 0x7f, 0x80, 0xff, 4095, 4096, 4097, 2^31-1, 2^32-1, 2^32, max, max-4095) first,
// then the kind's own (small counts and big sizes; the system area and image addresses; snapvm's
// selectors, descriptor limits and initial register values).
std::span<const uint64_t> boundary_values(FieldKind kind);

// The fields a mutation may change: describe_fields without the padding, the blob, the header
// checksum (fix_checksums owns it) and empty fields.
std::vector<format::FieldInfo> mutable_fields(std::span<const uint8_t> file);

// A field's value: its low min(size, 8) bytes, little-endian; bytes past the end of `file` read 0.
uint64_t read_field(std::span<const uint8_t> file, const format::FieldInfo& field);
// Stores `value` in the field's first min(size, 8) bytes and zeroes the rest; clamped to the file.
void write_field(std::span<uint8_t> file, const format::FieldInfo& field, uint64_t value);
// The same at a place that is not a named field: `size` bytes at `offset`.
uint64_t read_at(std::span<const uint8_t> file, uint64_t offset, uint64_t size);
void write_at(std::span<uint8_t> file, uint64_t offset, uint64_t size, uint64_t value);
// All ones in the field's width (of at most 8 bytes).
uint64_t field_mask(const format::FieldInfo& field);

// How a field's new value is made from its current one. `choice` picks within the change: which
// boundary value, which step (+-1..8, +-1..4 pages), which bit, which other field; for kArbitrary
// it is the value itself. Reduced modulo what it picks from, so any number is a valid choice.
enum class FieldChange { kBoundary, kFlipBit, kStep, kCopyField, kClearBit, kArbitrary };
inline constexpr size_t kFieldChangeCount = 6;
struct FieldMutation {
  FieldChange change = FieldChange::kBoundary;
  uint64_t choice = 0;
};

// The value `mutation` gives `field`, in the field's width. `fields` is where kCopyField copies
// from (addresses and sizes that must agree); with no fields it keeps the current value.
uint64_t mutated_value(std::span<const uint8_t> file, std::span<const format::FieldInfo> fields,
                       const format::FieldInfo& field, FieldMutation mutation);
// Writes mutated_value into the field and returns it. The checksums are left as they are.
uint64_t mutate_field(std::span<uint8_t> file, std::span<const format::FieldInfo> fields,
                      const format::FieldInfo& field, FieldMutation mutation);

// Rewrites file[offset, offset + size) with `mutate` (LLVMFuzzerMutate's shape: data, size,
// max_size -> new size), keeping its length (zero padded if the mutator shrank it); for fields of
// more than 8 bytes (digests, names, FPU registers) and the blob. Clamped to the file.
using ByteMutator = size_t (*)(uint8_t* data, size_t size, size_t max_size);
void mutate_bytes(std::span<uint8_t> file, uint64_t offset, uint64_t size, ByteMutator mutate);

// Text tags (architecture, hypervisor, cpu_vendor): `text`, cut to the field, zero padded.
void write_text_field(std::span<uint8_t> file, const format::FieldInfo& field, std::string_view text);

// After a mutation: leave both checksums stale, fix the header checksum only (the content digest
// stays stale), or recompute the content digest and then the header checksum.
enum class Checksums { kStale, kHeaderFixed, kAllFixed };
void fix_checksums(std::span<uint8_t> file, Checksums which);

}  // namespace snapvm::harness
