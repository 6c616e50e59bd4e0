// mutators.cpp: mutant generation over the field table from snapshot/format.h.
#include "snapvm_harness/mutators.h"

#include <algorithm>
#include <cstring>
#include <random>

#include "snapshot/file_patch.h"
#include "snapshot/format.h"
#include "snapvm/error.h"

namespace snapvm::harness {

namespace {
using Bytes = std::vector<uint8_t>;

struct Builder {
  std::span<const uint8_t> original;
  const MutateOptions& options;
  const MutantSink& sink;
  uint64_t header_length = 0;
  bool stopped = false;

  void emit(Mutant&& m) {
    if (!stopped && !sink(std::move(m))) stopped = true;
  }

  // Adds `bytes` raw, and fixed (header checksum and content digest recomputed), as options ask.
  void add(MutatorFamily family, const std::string& description, Bytes bytes, bool must_reject_when_fixed,
           bool in_blob = false) {
    if (bytes.size() == original.size() && std::equal(bytes.begin(), bytes.end(), original.begin())) return;
    if (stopped) return;
    if (options.without_fixed_checksums) emit(Mutant{family, description, false, true, in_blob, bytes});
    if (options.with_fixed_checksums && family != MutatorFamily::kBitFlip && family != MutatorFamily::kByteOverwrite) {
      Bytes fixed = bytes;
      format::fix_content_digest(fixed);
      if (fixed.size() == original.size() && std::equal(fixed.begin(), fixed.end(), original.begin())) return;
      emit(Mutant{family, description + " (checksums fixed)", true, must_reject_when_fixed, false, std::move(fixed)});
    }
  }

  Bytes copy() const { return Bytes(original.begin(), original.end()); }

  void set(Bytes& b, const format::FieldInfo& f, uint64_t value) {
    for (uint64_t i = 0; i < f.size && f.offset + i < b.size(); ++i) {
      b[f.offset + i] = i < 8 ? static_cast<uint8_t>(value >> (8 * i)) : 0;
    }
  }
};

uint64_t read_le(std::span<const uint8_t> b, uint64_t off, uint64_t size) {
  uint64_t v = 0;
  for (uint64_t i = 0; i < size && i < 8 && off + i < b.size(); ++i) v |= uint64_t{b[off + i]} << (8 * i);
  return v;
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
  Builder b{file, options, sink};
  std::mt19937_64 rng(options.seed);
  const auto fields = format::describe_fields(file);
  b.header_length = read_le(file, format::kHeaderLengthOffset, 4);
  const uint64_t metadata_end = std::min<uint64_t>(b.header_length, file.size());
  if (file.empty()) return;

  // Bit flips and byte overwrites: mostly in the metadata, some in the blob.
  for (size_t i = 0; i < options.random_per_family; ++i) {
    bool in_blob = metadata_end < file.size() && (i % 4 == 3);
    uint64_t lo = in_blob ? metadata_end : 0, hi = in_blob ? file.size() : std::max<uint64_t>(metadata_end, 1);
    uint64_t off = lo + rng() % (hi - lo);
    Bytes m = b.copy();
    unsigned bit = static_cast<unsigned>(rng() % 8);
    m[off] ^= static_cast<uint8_t>(1u << bit);
    b.add(MutatorFamily::kBitFlip, "flip bit " + std::to_string(bit) + " at " + hex(off), std::move(m), true, in_blob);
    Bytes w = b.copy();
    uint8_t value = static_cast<uint8_t>(rng());
    off = lo + rng() % (hi - lo);
    if (w[off] == value) value ^= 0xff;
    w[off] = value;
    b.add(MutatorFamily::kByteOverwrite, "byte at " + hex(off) + " = " + hex(value), std::move(w), true, in_blob);
  }

  // Truncation at every field boundary, inside the blob, and one byte short; extension.
  std::vector<uint64_t> cuts = {0, 1, format::kFixedHeaderSize - 1, metadata_end, file.size() - 1};
  for (const auto& f : fields) cuts.push_back(f.offset), cuts.push_back(f.offset + f.size / 2);
  if (file.size() > metadata_end + 4096) cuts.push_back(metadata_end + 4096), cuts.push_back(file.size() - 4096);
  std::sort(cuts.begin(), cuts.end());
  cuts.erase(std::unique(cuts.begin(), cuts.end()), cuts.end());
  for (uint64_t c : cuts) {
    if (c >= file.size()) continue;
    b.add(MutatorFamily::kTruncate, "truncate to " + std::to_string(c) + " bytes",
          Bytes(file.begin(), file.begin() + static_cast<long>(c)), true);
  }
  for (uint64_t extra : {uint64_t{1}, uint64_t{4096}}) {
    Bytes e = b.copy();
    e.resize(e.size() + extra, 0);
    b.add(MutatorFamily::kExtend, "extend by " + std::to_string(extra) + " bytes", std::move(e), true);
  }

  // Every field of up to 8 bytes at boundary values. Whether a fixed mutant must be refused depends
  // on the field, so only structural fields are held to it.
  const uint64_t boundary[] = {0, 1, 4095, 4096, 4097, 0x7fffffff, 0xffffffff, ~uint64_t{0}, ~uint64_t{0} - 4095};
  for (const auto& f : fields) {
    if (f.size == 0 || f.size > 8 || f.name == "padding" || f.name == "header_checksum") continue;
    uint64_t mask = f.size == 8 ? ~uint64_t{0} : ((uint64_t{1} << (8 * f.size)) - 1);
    uint64_t current = read_le(file, f.offset, f.size);
    for (size_t k = 0; k < options.boundary_values_per_field && k < std::size(boundary); ++k) {
      uint64_t v = boundary[(rng() % std::size(boundary))] & mask;
      if (v == current) continue;
      Bytes m = b.copy();
      b.set(m, f, v);
      // A region's access flags may legitimately change (the format cannot know the ELF's intent);
      // only unknown bits and write+execute must be refused.
      bool flags_field =
          f.name.rfind("regions[", 0) == 0 && f.name.size() > 6 && f.name.compare(f.name.size() - 6, 6, ".flags") == 0;
      bool structural = f.name.rfind("magic", 0) == 0 || f.name == "format_version" || f.name == "header_length" ||
                        (flags_field ? ((v & ~uint64_t{7}) != 0 || (v & 6) == 6) : f.name.rfind("regions", 0) == 0) ||
                        f.name.rfind("blob", 0) == 0 || f.name.rfind("layout", 0) == 0 ||
                        f.name.rfind("config", 0) == 0 || f.name.find("count") != std::string::npos ||
                        f.name.find("length") != std::string::npos;
      b.add(MutatorFamily::kFieldBoundary, f.name + " = " + hex(v), std::move(m), structural);
    }
  }

  // Region tables: overlap, gap, unsorted, unknown flag bits, W+X.
  auto region_field = [&](size_t i, const char* what) {
    return format::find_field(file, "regions[" + std::to_string(i) + "]." + what);
  };
  uint64_t count = read_le(file, format::kRegionTableOffset, 4);
  for (size_t i = 0; i + 1 < count && i < 64; ++i) {
    auto a = region_field(i, "guest_address"), n = region_field(i + 1, "guest_address");
    if (!a || !n) break;
    Bytes overlap = b.copy();
    b.set(overlap, *n, read_le(file, a->offset, 8));
    b.add(MutatorFamily::kRegionTable,
          "regions[" + std::to_string(i + 1) + "] overlaps regions[" + std::to_string(i) + "]", std::move(overlap),
          true);
    Bytes gap = b.copy();
    b.set(gap, *n, read_le(file, n->offset, 8) + 4096);
    b.add(MutatorFamily::kRegionTable, "regions[" + std::to_string(i + 1) + "] shifted by a page", std::move(gap),
          true);
    Bytes swapped = b.copy();
    std::swap_ranges(swapped.begin() + static_cast<long>(a->offset),
                     swapped.begin() + static_cast<long>(a->offset + format::kRegionEntrySize),
                     swapped.begin() + static_cast<long>(n->offset));
    b.add(MutatorFamily::kRegionTable, "regions[" + std::to_string(i) + "] and [" + std::to_string(i + 1) + "] swapped",
          std::move(swapped), true);
  }
  for (size_t i = 0; i < count && i < 64; ++i) {
    auto f = region_field(i, "flags");
    if (!f) break;
    uint64_t flags = read_le(file, f->offset, 4);
    for (unsigned bit : {3u, 8u, 31u}) {
      Bytes m = b.copy();
      b.set(m, *f, flags | (uint64_t{1} << bit));
      b.add(MutatorFamily::kRegionTable, "regions[" + std::to_string(i) + "].flags |= bit " + std::to_string(bit),
            std::move(m), true);
    }
    Bytes wx = b.copy();
    b.set(wx, *f, flags | 0x6);
    b.add(MutatorFamily::kRegionTable, "regions[" + std::to_string(i) + "] writable and executable", std::move(wx),
          flags != 0x7 && (flags & 0x6) != 0x6);
  }

  // Special registers in states that are not sane long mode.
  struct SregMutation {
    const char* field;
    uint64_t (*apply)(uint64_t);
    const char* what;
  };
  const SregMutation sregs[] = {
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
      {"sregs.cr3", [](uint64_t v) { return v + 4096; }, "CR3 off the page tables"},
      {"sregs.cr3", [](uint64_t) { return uint64_t{1} << 50; }, "CR3 outside guest memory"},
      {"sregs.gdt.base", [](uint64_t) { return uint64_t{1} << 40; }, "GDT outside guest memory"},
      {"sregs.idt.limit", [](uint64_t) { return uint64_t{0xffff}; }, "IDT limit past its page"},
      {"sregs.tr.base", [](uint64_t v) { return v + 0x100000; }, "TSS elsewhere"},
      {"regs.rip", [](uint64_t) { return uint64_t{0}; }, "RIP at the null page"},
      {"regs.rsp", [](uint64_t) { return uint64_t{0x9000}; }, "RSP in the PEB"},
      {"regs.rflags", [](uint64_t v) { return v & ~uint64_t{2}; }, "RFLAGS bit 1 clear"},
      {"fpu.mxcsr", [](uint64_t v) { return v | (uint64_t{1} << 20); }, "MXCSR reserved bit"},
  };
  for (const auto& s : sregs) {
    auto f = format::find_field(file, s.field);
    if (!f) continue;
    Bytes m = b.copy();
    b.set(m, *f, s.apply(read_le(file, f->offset, f->size)));
    b.add(MutatorFamily::kSpecialRegisters, std::string(s.what) + " (" + s.field + ")", std::move(m), true);
  }
}

}  // namespace snapvm::harness
