// mutators.h: the mutation campaign's mutants of a valid snapshot file, deterministic from a seed.
// Families: bit flips, byte overwrites, truncation and extension, every header field at boundary
// values of its kind (field_mutation.h), region tables with overlaps, gaps, unsorted entries and
// unknown flags, special registers in invalid long-mode states, each with and without the
// checksums fixed up (fixed: they reach the validators).
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace snapvm::harness {

enum class MutatorFamily {
  kBitFlip,
  kByteOverwrite,
  kTruncate,
  kExtend,
  kFieldBoundary,
  kRegionTable,
  kSpecialRegisters
};
std::string_view mutator_family_name(MutatorFamily f);

struct Mutant {
  MutatorFamily family{};
  std::string description;  // "regions[2].flags |= 0x100 (checksums fixed)"
  bool checksums_fixed = false;
  // True when a correct loader must refuse it (structure or state made invalid on purpose, or bytes
  // changed without fixing the checksums that cover them).
  bool must_reject = false;
  bool touches_blob_only = false;  // raw change inside the memory blob: only the digest can see it
  std::vector<uint8_t> bytes;
};

struct MutateOptions {
  uint64_t seed = 1;
  size_t random_per_family = 64;         // bit flips and byte overwrites each
  size_t boundary_values_per_field = 3;  // drawn (by seed) from the field kind's boundary_values (field_mutation.h)
  bool with_fixed_checksums = true;
  bool without_fixed_checksums = true;
};

// Streams the mutants one at a time (a file's mutants together would take gigabytes); the sink
// returns false to stop early.
using MutantSink = std::function<bool(Mutant&&)>;
void for_each_mutant(std::span<const uint8_t> file, const MutateOptions& options, const MutantSink& sink);

// All of them at once, for small files and tests.
std::vector<Mutant> generate_mutants(std::span<const uint8_t> file, const MutateOptions& options);

}  // namespace snapvm::harness
