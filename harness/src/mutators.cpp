// mutators.cpp: the mutation campaign's mutants, family by family, over the field table from
// snapshot/format.h and the field mutations of field_mutation.h.
#include "snapvm_harness/mutators.h"

#include <algorithm>
#include <cstring>
#include <random>

#include "snapshot/file_patch.h"
#include "snapshot/format.h"
#include "snapvm/abi/layout.h"
#include "snapvm/error.h"
#include "snapvm_harness/field_mutation.h"

namespace snapvm::harness {

namespace {
using Bytes = std::vector<uint8_t>;
using Rng = std::mt19937_64;

bool same(std::span<const uint8_t> a, std::span<const uint8_t> b) { return std::ranges::equal(a, b); }

// Streams the mutants to the sink, raw and with checksums fixed as the options ask.
struct Builder {
  std::span<const uint8_t> original;
  const MutateOptions& options;
  const MutantSink& sink;
  uint64_t metadata_end = 0;  // header_length, clamped to the file
  bool stopped = false;

  void emit(Mutant&& m) {
    if (!stopped && !sink(std::move(m))) stopped = true;
  }

  // Adds `bytes` raw, and fixed (header checksum and content digest recomputed), as options ask.
  void add(MutatorFamily family, const std::string& description, Bytes bytes, bool must_reject_when_fixed,
           bool in_blob = false) {
    if (same(bytes, original) || stopped) return;
    if (options.without_fixed_checksums) emit(Mutant{family, description, false, true, in_blob, bytes});
    if (options.with_fixed_checksums && family != MutatorFamily::kBitFlip && family != MutatorFamily::kByteOverwrite) {
      Bytes fixed = bytes;
      fix_checksums(fixed, Checksums::kAllFixed);
      if (same(fixed, original)) return;
      emit(Mutant{family, description + " (checksums fixed)", true, must_reject_when_fixed, false, std::move(fixed)});
    }
  }

  Bytes copy() const { return Bytes(original.begin(), original.end()); }
  // A copy with `field` set to `value`.
  Bytes with(const format::FieldInfo& field, uint64_t value) const {
    Bytes b = copy();
    write_field(b, field, value);
    return b;
  }
};

std::string region(size_t i) { return "regions[" + std::to_string(i) + "]"; }

// Bit flips and byte overwrites: mostly in the metadata, every fourth in the blob.
void random_bytes(Builder& b, Rng& rng) {
  const uint64_t size = b.original.size();
  for (size_t i = 0; i < b.options.random_per_family; ++i) {
    const bool in_blob = b.metadata_end < size && (i % 4 == 3);
    const uint64_t lo = in_blob ? b.metadata_end : 0, hi = in_blob ? size : std::max<uint64_t>(b.metadata_end, 1);
    uint64_t off = lo + rng() % (hi - lo);
    Bytes m = b.copy();
    const auto bit = static_cast<unsigned>(rng() % 8);
    m[off] ^= static_cast<uint8_t>(1u << bit);
    b.add(MutatorFamily::kBitFlip, "flip bit " + std::to_string(bit) + " at " + hex(off), std::move(m), true, in_blob);
    Bytes w = b.copy();
    auto value = static_cast<uint8_t>(rng());
    off = lo + rng() % (hi - lo);
    if (w[off] == value) value ^= 0xff;
    w[off] = value;
    b.add(MutatorFamily::kByteOverwrite, "byte at " + hex(off) + " = " + hex(value), std::move(w), true, in_blob);
  }
}

// Truncation at every field boundary, inside the blob, and one byte short; extension.
void truncate_and_extend(Builder& b, const std::vector<format::FieldInfo>& fields) {
  const std::span<const uint8_t> file = b.original;
  std::vector<uint64_t> cuts = {0, 1, format::kFixedHeaderSize - 1, b.metadata_end, file.size() - 1};
  for (const auto& f : fields) cuts.push_back(f.offset), cuts.push_back(f.offset + f.size / 2);
  if (file.size() > b.metadata_end + abi::kPageSize) {
    cuts.push_back(b.metadata_end + abi::kPageSize), cuts.push_back(file.size() - abi::kPageSize);
  }
  std::sort(cuts.begin(), cuts.end());
  cuts.erase(std::unique(cuts.begin(), cuts.end()), cuts.end());
  for (uint64_t c : cuts) {
    if (c >= file.size()) continue;
    b.add(MutatorFamily::kTruncate, "truncate to " + std::to_string(c) + " bytes",
          Bytes(file.begin(), file.begin() + static_cast<long>(c)), true);
  }
  for (uint64_t extra : {uint64_t{1}, abi::kPageSize}) {
    Bytes e = b.copy();
    e.resize(e.size() + extra, 0);
    b.add(MutatorFamily::kExtend, "extend by " + std::to_string(extra) + " bytes", std::move(e), true);
  }
}

// Whether a loader must refuse `field` = `value` even with the checksums fixed: structural fields
// must agree with each other and with the layout. A region's access flags may legitimately change
// (the format cannot know the ELF's intent); only unknown bits and write+execute must be refused.
bool must_refuse(const std::string& name, uint64_t value) {
  const bool flags_field =
      name.rfind("regions[", 0) == 0 && name.size() > 6 && name.compare(name.size() - 6, 6, ".flags") == 0;
  if (flags_field) return (value & ~uint64_t{7}) != 0 || (value & 6) == 6;
  return name.rfind("magic", 0) == 0 || name == "format_version" || name == "header_length" ||
         name.rfind("regions", 0) == 0 || name.rfind("blob", 0) == 0 || name.rfind("layout", 0) == 0 ||
         name.rfind("config", 0) == 0 || name.find("count") != std::string::npos ||
         name.find("length") != std::string::npos;
}

// Every field of up to 8 bytes at boundary values of its kind (field_mutation.h), drawn by seed.
void field_boundaries(Builder& b, Rng& rng, const std::vector<format::FieldInfo>& fields) {
  for (const auto& f : fields) {
    if (f.size > 8) continue;
    const uint64_t current = read_field(b.original, f);
    const size_t table = boundary_values(field_kind(f.name)).size();
    for (size_t k = 0; k < b.options.boundary_values_per_field && k < table; ++k) {
      const uint64_t v = mutated_value(b.original, {}, f, {FieldChange::kBoundary, rng()});
      if (v == current) continue;
      b.add(MutatorFamily::kFieldBoundary, f.name + " = " + hex(v), b.with(f, v), must_refuse(f.name, v));
    }
  }
}

// Region tables: each neighbour overlapping, shifted by a page, swapped; unknown flag bits, W+X.
void region_tables(Builder& b) {
  const std::span<const uint8_t> file = b.original;
  auto field = [&](size_t i, const char* what) { return format::find_field(file, region(i) + "." + what); };
  const uint64_t count = read_at(file, format::kRegionTableOffset, 4);
  for (size_t i = 0; i + 1 < count && i < kMaxRegions; ++i) {
    auto a = field(i, "guest_address"), n = field(i + 1, "guest_address");
    if (!a || !n) break;
    const std::string next = region(i + 1);
    b.add(MutatorFamily::kRegionTable, next + " overlaps " + region(i), b.with(*n, read_field(file, *a)), true);
    b.add(MutatorFamily::kRegionTable, next + " shifted by a page", b.with(*n, read_field(file, *n) + abi::kPageSize),
          true);
    Bytes swapped = b.copy();
    std::swap_ranges(swapped.begin() + static_cast<long>(a->offset),
                     swapped.begin() + static_cast<long>(a->offset + format::kRegionEntrySize),
                     swapped.begin() + static_cast<long>(n->offset));
    b.add(MutatorFamily::kRegionTable, region(i) + " and [" + std::to_string(i + 1) + "] swapped", std::move(swapped),
          true);
  }
  for (size_t i = 0; i < count && i < kMaxRegions; ++i) {
    auto f = field(i, "flags");
    if (!f) break;
    const uint64_t flags = read_field(file, *f);
    for (unsigned bit : {3u, 8u, 31u}) {
      b.add(MutatorFamily::kRegionTable, region(i) + ".flags |= bit " + std::to_string(bit),
            b.with(*f, flags | (uint64_t{1} << bit)), true);
    }
    b.add(MutatorFamily::kRegionTable, region(i) + " writable and executable", b.with(*f, flags | 0x6),
          flags != 0x7 && (flags & 0x6) != 0x6);
  }
}

// Special registers in states that are not sane long mode.
struct RegisterMutation {
  const char* field;
  uint64_t (*apply)(uint64_t);
  const char* what;
};
constexpr RegisterMutation kRegisterMutations[] = {
    {"sregs.cr0", [](uint64_t v) { return v & ~(uint64_t{1} << 31); }, "CR0.PG clear"},
    {"sregs.cr0", [](uint64_t v) { return v & ~uint64_t{1}; }, "CR0.PE clear with PG set"},
    {"sregs.cr0", [](uint64_t v) { return v | (uint64_t{1} << 3); }, "CR0.TS set"},
    {"sregs.cr0", [](uint64_t v) { return v | (uint64_t{1} << 40); }, "CR0 reserved bit 40"},
    {"sregs.cr4", [](uint64_t v) { return v & ~(uint64_t{1} << 5); }, "CR4.PAE clear"},
    {"sregs.cr4", [](uint64_t v) { return v | (uint64_t{1} << 30); }, "CR4 unknown bit 30"},
    {"sregs.efer", [](uint64_t v) { return v & ~(uint64_t{1} << 8); }, "EFER.LME clear"},
    {"sregs.efer", [](uint64_t v) { return v & ~(uint64_t{1} << 10); }, "EFER.LMA clear"},
    {"sregs.efer", [](uint64_t v) { return v | (uint64_t{1} << 20); }, "EFER reserved bit 20"},
    {"sregs.cs.l", [](uint64_t) { return uint64_t{0}; }, "CS.L clear"},
    {"sregs.cs.db", [](uint64_t) { return uint64_t{1}; }, "CS.D set with CS.L"},
    {"sregs.cs.dpl", [](uint64_t) { return uint64_t{0}; }, "CS.DPL 0 (ring 0 guest)"},
    {"sregs.cr3", [](uint64_t v) { return v + abi::kPageSize; }, "CR3 off the page tables"},
    {"sregs.cr3", [](uint64_t) { return uint64_t{1} << 50; }, "CR3 outside guest memory"},
    {"sregs.gdt.base", [](uint64_t) { return uint64_t{1} << 40; }, "GDT outside guest memory"},
    {"sregs.idt.limit", [](uint64_t) { return uint64_t{0xffff}; }, "IDT limit past its page"},
    {"sregs.tr.base", [](uint64_t v) { return v + 0x100000; }, "TSS elsewhere"},
    {"regs.rip", [](uint64_t) { return uint64_t{0}; }, "RIP at the null page"},
    {"regs.rsp", [](uint64_t) { return uint64_t{0x9000}; }, "RSP in the PEB"},
    {"regs.rflags", [](uint64_t v) { return v & ~uint64_t{2}; }, "RFLAGS bit 1 clear"},
    {"fpu.mxcsr", [](uint64_t v) { return v | (uint64_t{1} << 20); }, "MXCSR reserved bit"},
};

void special_registers(Builder& b) {
  for (const auto& s : kRegisterMutations) {
    auto f = format::find_field(b.original, s.field);
    if (!f) continue;
    b.add(MutatorFamily::kSpecialRegisters, std::string(s.what) + " (" + s.field + ")",
          b.with(*f, s.apply(read_field(b.original, *f))), true);
  }
}
}  // namespace

std::string_view mutator_family_name(MutatorFamily f) {
  switch (f) {
    case MutatorFamily::kBitFlip:
      return "bit-flip";
    case MutatorFamily::kByteOverwrite:
      return "byte-overwrite";
    case MutatorFamily::kTruncate:
      return "truncate";
    case MutatorFamily::kExtend:
      return "extend";
    case MutatorFamily::kFieldBoundary:
      return "field-boundary";
    case MutatorFamily::kRegionTable:
      return "region-table";
    case MutatorFamily::kSpecialRegisters:
      return "special-registers";
  }
  return "unknown";
}

std::vector<Mutant> generate_mutants(std::span<const uint8_t> file, const MutateOptions& options) {
  std::vector<Mutant> out;
  for_each_mutant(file, options, [&](Mutant&& m) {
    out.push_back(std::move(m));
    return true;
  });
  return out;
}

void for_each_mutant(std::span<const uint8_t> file, const MutateOptions& options, const MutantSink& sink) {
  if (file.empty()) return;
  Builder b{file, options, sink};
  b.metadata_end = std::min<uint64_t>(read_at(file, format::kHeaderLengthOffset, 4), file.size());
  Rng rng(options.seed);
  const auto fields = mutable_fields(file);
  random_bytes(b, rng);
  truncate_and_extend(b, format::describe_fields(file));
  field_boundaries(b, rng, fields);
  region_tables(b);
  special_registers(b);
}

}  // namespace snapvm::harness
