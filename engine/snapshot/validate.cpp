// validate.cpp: every semantic rule a snapshot file must pass, each one line naming the field it
// rejects. Order: the platform first (a file from another machine or ABI says so, whatever else is
// in it), then the file's length (a short file would SIGBUS when mapped), the regions, the layout,
// the special registers, the general registers and the FPU.
#include "snapshot/validate.h"

#include <algorithm>
#include <string>

#include "memory/system_area.h"
#include "snapshot/chunk_digest.h"
#include "snapvm/abi/byte_order.h"
#include "snapvm/abi/layout.h"
#include "snapvm/abi/ports.h"

namespace snapvm::format {

namespace {
constexpr uint64_t kCr0Cd = 1ull << 30, kCr0Nw = 1ull << 29;
// CR0 bits 6-15, 17, 19-28 and 32-63 are reserved.
constexpr uint64_t kCr0Reserved = 0xffffffff1ffaffc0ull;
// CR4: only what snapvm sets. No PGE/OSXSAVE/FSGSBASE/SMEP...: the host never enables them, so a file
// with them set was not written by snapvm and would change how guest code behaves after a restore.
constexpr uint64_t kCr4Allowed = kCr4Pae | kCr4Osfxsr | kCr4Osxmmexcpt;
constexpr uint64_t kEferSce = 1ull << 0;
constexpr uint64_t kEferAllowed = kEferSce | kEferLme | kEferLma | kEferNxe;
// RFLAGS: bit 1 is always 1; bits 3, 5, 15 and 22-63 are reserved (zero). VM (17) is meaningless in
// long mode and would fail VM entry.
constexpr uint64_t kRflagsFixed1 = 1ull << 1;
constexpr uint64_t kRflagsReserved = (1ull << 3) | (1ull << 5) | (1ull << 15) | ~((1ull << 22) - 1);
constexpr uint64_t kRflagsVm = 1ull << 17;
constexpr uint32_t kMxcsrReserved = 0xffff0000u;

Error fail(ErrorCode code, const std::string& field, uint64_t value, std::string expected) {
  return field_error(code, field, field_offset(field).value_or(0), value, std::move(expected));
}
std::string region_field(size_t i, const char* member) { return "regions[" + std::to_string(i) + "]." + member; }

// The arguments after `cond` are only evaluated when the rule fails.
#define SNAPVM_RULE(cond, code, field, value, expected) \
  if (!(cond)) return fail(ErrorCode::code, field, value, expected)

std::string in_quotes(std::string_view s) { return "\"" + std::string(s) + "\""; }
// The tag's first 8 bytes as the file holds them (the text, NUL padded), as errors report a tag.
uint64_t tag_value(const std::string& tag) {
  return abi::load_le(reinterpret_cast<const uint8_t*>(tag.data()), std::min<size_t>(tag.size(), 8));
}

Status check_platform(const DecodedSnapshotFile& f, const DecodeOptions& options) {
  const detail::SnapshotMetadata& m = f.meta;
  SNAPVM_RULE(
      f.architecture == kArchitecture, kPlatformMismatch, "architecture", tag_value(f.architecture),
      "recorded on " + in_quotes(f.architecture) + "; this snapvm runs " + in_quotes(kArchitecture) + " snapshots");
  SNAPVM_RULE(m.abi_version == abi::kAbiVersion, kAbiMismatch, "abi_version", m.abi_version,
              "guest ABI " + std::to_string(m.abi_version) + ", this snapvm speaks ABI " +
                  std::to_string(abi::kAbiVersion) + ": regenerate the snapshot from the guest binary");
  SNAPVM_RULE(m.hypervisor == kHypervisor, kPlatformMismatch, "hypervisor", tag_value(m.hypervisor),
              "recorded under " + in_quotes(m.hypervisor) + "; this snapvm runs on " + in_quotes(kHypervisor));
  const std::string want = options.cpu_vendor ? *options.cpu_vendor : host_cpu_vendor();
  SNAPVM_RULE(m.cpu_vendor == want, kPlatformMismatch, "cpu_vendor", tag_value(m.cpu_vendor),
              "recorded on a " + in_quotes(m.cpu_vendor) + " CPU; this machine is " + in_quotes(want));
  return {};
}

// Format 2: the descriptor's fields are after the functions, so their offsets come from the file.
Status check_chunk_descriptor(const DecodedSnapshotFile& f, uint64_t blob_end, uint64_t file_size) {
  const ChunkTableRef& c = *f.chunks;
  const uint64_t at = f.chunks_descriptor_offset;
  auto rule = [&](bool ok, ErrorCode code, const char* field, uint64_t member, uint64_t value, auto expected) {
    return ok ? Status{} : Status(field_error(code, field, at + member, value, std::string(expected())));
  };
  TRY(rule(c.chunk_size > 0 && c.chunk_size <= kMaxDigestChunkSize, ErrorCode::kFieldOutOfRange, "chunks.chunk_size", 0,
           c.chunk_size, [] { return "4 KiB to 16 MiB"; }));
  TRY(rule(c.chunk_size % abi::kPageSize == 0, ErrorCode::kMisaligned, "chunks.chunk_size", 0, c.chunk_size,
           [] { return "a multiple of 4096"; }));
  TRY(rule(c.table_offset == blob_end, ErrorCode::kFieldOutOfRange, "chunks.table_offset", 8, c.table_offset,
           [&] { return "the chunk table starts right after the blob, at " + hex(blob_end); }));
  const uint64_t chunks = chunk_count(f.blob_size, c.chunk_size);
  TRY(rule(c.entry_count <= chunks, ErrorCode::kFieldOutOfRange, "chunks.count", 16, c.entry_count,
           [&] { return "at most the blob's " + std::to_string(chunks) + " chunks"; }));
  const uint64_t table_end = blob_end + uint64_t{c.entry_count} * kChunkEntryBytes;
  TRY(rule(table_end <= file_size, ErrorCode::kFileTooShort, "chunks.count", 16, c.entry_count, [&] {
    return "the chunk table ends at " + hex(table_end) + " but the file has " + hex(file_size) + " bytes";
  }));
  TRY(rule(table_end == file_size, ErrorCode::kFieldOutOfRange, "chunks.count", 16, c.entry_count, [&] {
    return "the file ends with the chunk table; it has " + std::to_string(file_size - table_end) + " trailing bytes";
  }));
  return {};
}

Status check_blob(const DecodedSnapshotFile& f, uint64_t file_size) {
  SNAPVM_RULE(f.blob_offset % abi::kPageSize == 0, kMisaligned, "blob_offset", f.blob_offset, "a multiple of 4096");
  SNAPVM_RULE(f.blob_size > 0 && f.blob_size <= kMaxGuestMemory, kFieldOutOfRange, "blob_size", f.blob_size,
              "1 byte to 64 GiB");
  SNAPVM_RULE(f.blob_size <= UINT64_MAX - f.blob_offset, kOverflow, "blob_size", f.blob_size,
              "blob_offset + blob_size within 64 bits");
  uint64_t end = f.blob_offset + f.blob_size;
  SNAPVM_RULE(
      end <= file_size, kFileTooShort, "blob_size", f.blob_size,
      "the blob ends at " + hex(end) + " but the file has " + hex(file_size) + " bytes (mapping it would SIGBUS)");
  if (!f.chunks) {
    SNAPVM_RULE(end == file_size, kFieldOutOfRange, "blob_size", f.blob_size,
                "the file ends with the blob; it has " + std::to_string(file_size - end) + " trailing bytes");
    return {};
  }
  return check_chunk_descriptor(f, end, file_size);
}

Status check_regions(const DecodedSnapshotFile& f) {
  const std::vector<Region>& regions = f.meta.layout.regions;
  SNAPVM_RULE(!regions.empty() && regions.size() <= kMaxRegions, kFieldOutOfRange, "regions.count", regions.size(),
              "1 to 64 regions");
  SNAPVM_RULE(f.region_offsets.size() == regions.size(), kFieldOutOfRange, "regions.count", f.region_offsets.size(),
              "a blob offset per region");
  uint64_t sum = 0;
  for (size_t i = 0; i < regions.size(); ++i) {
    const Region& r = regions[i];
    const uint64_t off = f.region_offsets[i];
    const auto kind = static_cast<uint32_t>(r.kind);
    SNAPVM_RULE(kind >= 1 && kind <= kMaxRegionKind, kFieldOutOfRange, region_field(i, "kind"), kind,
                "a region kind from 1 (peb) to 6 (stack)");
    SNAPVM_RULE((r.flags & ~kKnownRegionFlags) == 0, kUnknownFlags, region_field(i, "flags"), r.flags,
                "only read (1), write (2) and execute (4)");
    SNAPVM_RULE(!((r.flags & kRegionWrite) && (r.flags & kRegionExecute)), kFieldOutOfRange, region_field(i, "flags"),
                r.flags, "never writable and executable together");
    SNAPVM_RULE(r.guest_address % abi::kPageSize == 0, kMisaligned, region_field(i, "guest_address"), r.guest_address,
                "a multiple of 4096");
    SNAPVM_RULE(r.size % abi::kPageSize == 0, kMisaligned, region_field(i, "size"), r.size, "a multiple of 4096");
    SNAPVM_RULE(r.size > 0, kFieldOutOfRange, region_field(i, "size"), r.size, "a non-empty region");
    SNAPVM_RULE(r.size <= UINT64_MAX - r.guest_address, kOverflow, region_field(i, "size"), r.size,
                "guest_address + size within 64 bits");
    SNAPVM_RULE(r.end() <= kMaxGuestMemory, kFieldOutOfRange, region_field(i, "size"), r.size,
                "a region ending below 64 GiB; it ends at " + hex(r.end()));
    if (i > 0) {
      const Region& p = regions[i - 1];
      SNAPVM_RULE(
          r.guest_address >= p.end(), kRegionOverlap, region_field(i, "guest_address"), r.guest_address,
          r.guest_address < p.guest_address
              ? "regions sorted by address; regions[" + std::to_string(i - 1) + "] starts at " + hex(p.guest_address)
              : "disjoint regions; regions[" + std::to_string(i - 1) + "] ends at " + hex(p.end()));
    }
    SNAPVM_RULE(off % abi::kPageSize == 0, kMisaligned, region_field(i, "blob_offset"), off, "a multiple of 4096");
    SNAPVM_RULE(r.size <= UINT64_MAX - off, kOverflow, region_field(i, "blob_offset"), off,
                "blob_offset + size within 64 bits");
    if (i > 0) {
      uint64_t prev_end = f.region_offsets[i - 1] + regions[i - 1].size;
      SNAPVM_RULE(off >= prev_end, kRegionOverlap, region_field(i, "blob_offset"), off,
                  "blob ranges sorted and disjoint; the previous one ends at " + hex(prev_end));
    }
    SNAPVM_RULE(off + r.size <= f.blob_size, kFieldOutOfRange, region_field(i, "blob_offset"), off,
                "a range inside the blob (blob_size " + hex(f.blob_size) + ")");
    SNAPVM_RULE(sum <= kMaxGuestMemory - r.size, kOverflow, region_field(i, "size"), r.size,
                "region sizes summing to at most 64 GiB");
    sum += r.size;
  }
  SNAPVM_RULE(sum == f.blob_size, kFieldOutOfRange, "blob_size", f.blob_size,
              "the regions' sizes summed (" + hex(sum) + "): no unreferenced bytes in the blob");
  return {};
}

// check_layout names the layout's fields as the file does; the file gives them their offsets.
Status check_file_layout(const Layout& layout) {
  Status s = check_layout(layout);
  if (s) return {};
  Error e = std::move(s).error();
  e.offset = field_offset(e.field).value_or(0);
  return e;
}

Status check_segment_encoding(const char* name, const SegmentRegister& s) {
  const std::string p = std::string("sregs.") + name + ".";
  SNAPVM_RULE(s.type <= 15, kBadSpecialRegisters, p + "type", s.type, "a 4-bit segment type");
  SNAPVM_RULE(s.dpl <= 3, kBadSpecialRegisters, p + "dpl", s.dpl, "a privilege level 0-3");
  const std::pair<const char*, uint8_t> bits[] = {
      {"present", s.present},  {"db", s.db}, {"s", s.s}, {"l", s.l}, {"g", s.g}, {"avl", s.avl},
      {"unusable", s.unusable}};
  for (const auto& [bit, v] : bits) SNAPVM_RULE(v <= 1, kBadSpecialRegisters, p + bit, v, "0 or 1");
  return {};
}

// A user (DPL 3) segment loaded from the GDT as initial_special_registers() sets it up.
Status check_user_segment(const char* name, const SegmentRegister& s, uint16_t selector, bool code) {
  const std::string p = std::string("sregs.") + name + ".";
  SNAPVM_RULE(s.selector == selector, kBadSpecialRegisters, p + "selector", s.selector,
              "the user " + std::string(code ? "code" : "data") + " selector " + hex(selector));
  SNAPVM_RULE(s.present == 1 && s.unusable == 0, kBadSpecialRegisters, p + "present", s.present, "a present segment");
  SNAPVM_RULE(s.s == 1, kBadSpecialRegisters, p + "s", s.s, "a code or data segment (S=1)");
  SNAPVM_RULE(s.dpl == 3, kBadSpecialRegisters, p + "dpl", s.dpl, "DPL 3: guest code runs in ring 3");
  if (code) {
    SNAPVM_RULE((s.type & 8) != 0, kBadSpecialRegisters, p + "type", s.type, "a code segment type");
    SNAPVM_RULE(s.l == 1, kBadSpecialRegisters, p + "l", s.l, "CS.L=1: 64-bit code");
    SNAPVM_RULE(s.db == 0, kBadSpecialRegisters, p + "db", s.db, "CS.DB=0 when CS.L=1");
  } else {
    SNAPVM_RULE((s.type & 0xa) == 2, kBadSpecialRegisters, p + "type", s.type, "a writable data segment type");
  }
  return {};
}

Status check_special_registers(const SpecialRegisters& s, const Layout& layout) {
  const char* kLong = "long mode (EFER.LMA) requires ";
  SNAPVM_RULE((s.cr0 & kCr0Reserved) == 0, kBadSpecialRegisters, "sregs.cr0", s.cr0,
              "no reserved bits (6-15, 17, 19-28, 32-63)");
  SNAPVM_RULE(!(s.cr0 & kCr0Pg) || (s.cr0 & kCr0Pe), kBadSpecialRegisters, "sregs.cr0", s.cr0,
              "CR0.PG requires CR0.PE");
  SNAPVM_RULE(!(s.cr0 & kCr0Nw) || (s.cr0 & kCr0Cd), kBadSpecialRegisters, "sregs.cr0", s.cr0,
              "CR0.NW requires CR0.CD");
  SNAPVM_RULE(!(s.cr0 & kCr0Em), kBadSpecialRegisters, "sregs.cr0", s.cr0, "CR0.EM clear (SSE would raise #UD)");
  SNAPVM_RULE(!(s.cr0 & kCr0Ts), kBadSpecialRegisters, "sregs.cr0", s.cr0, "CR0.TS clear (SSE would raise #NM)");
  SNAPVM_RULE((s.cr4 & ~kCr4Allowed) == 0, kBadSpecialRegisters, "sregs.cr4", s.cr4,
              "only CR4.PAE, OSFXSR and OSXMMEXCPT");
  SNAPVM_RULE((s.efer & ~kEferAllowed) == 0, kBadSpecialRegisters, "sregs.efer", s.efer,
              "only EFER.SCE, LME, LMA, NXE");
  SNAPVM_RULE(s.efer & kEferLma, kBadSpecialRegisters, "sregs.efer", s.efer,
              "EFER.LMA: snapvm guests run in long mode");
  SNAPVM_RULE(s.efer & kEferLme, kBadSpecialRegisters, "sregs.efer", s.efer, std::string(kLong) + "EFER.LME");
  SNAPVM_RULE(s.cr4 & kCr4Pae, kBadSpecialRegisters, "sregs.cr4", s.cr4, std::string(kLong) + "CR4.PAE");
  SNAPVM_RULE(s.cr0 & kCr0Pg, kBadSpecialRegisters, "sregs.cr0", s.cr0, std::string(kLong) + "CR0.PG");
  SNAPVM_RULE(s.efer & kEferNxe, kBadSpecialRegisters, "sregs.efer", s.efer, "EFER.NXE: the page tables use NX bits");
  SNAPVM_RULE(s.cr8 <= 15, kBadSpecialRegisters, "sregs.cr8", s.cr8, "a 4-bit task priority");
  SNAPVM_RULE(s.cr3 == layout.page_table_base, kBadSpecialRegisters, "sregs.cr3", s.cr3,
              "layout.page_table_base " + hex(layout.page_table_base) + " (the host rebuilds the tables there)");
  SNAPVM_RULE(s.gdt.base == abi::kGdtAddress, kBadSpecialRegisters, "sregs.gdt.base", s.gdt.base,
              hex(abi::kGdtAddress));
  SNAPVM_RULE(s.gdt.limit == abi::kGdtLimit, kBadSpecialRegisters, "sregs.gdt.limit", s.gdt.limit, hex(abi::kGdtLimit));
  SNAPVM_RULE(s.idt.base == abi::kIdtAddress, kBadSpecialRegisters, "sregs.idt.base", s.idt.base,
              hex(abi::kIdtAddress));
  SNAPVM_RULE(s.idt.limit == abi::kIdtLimit, kBadSpecialRegisters, "sregs.idt.limit", s.idt.limit, hex(abi::kIdtLimit));
  const std::pair<const char*, const SegmentRegister*> segments[] = {{"cs", &s.cs}, {"ds", &s.ds},  {"es", &s.es},
                                                                     {"fs", &s.fs}, {"gs", &s.gs},  {"ss", &s.ss},
                                                                     {"tr", &s.tr}, {"ldt", &s.ldt}};
  for (const auto& [name, seg] : segments) TRY(check_segment_encoding(name, *seg));
  SNAPVM_RULE(s.tr.base == abi::kTssAddress, kBadSpecialRegisters, "sregs.tr.base", s.tr.base, hex(abi::kTssAddress));
  SNAPVM_RULE(s.tr.limit == abi::kTssLimit, kBadSpecialRegisters, "sregs.tr.limit", s.tr.limit, hex(abi::kTssLimit));
  SNAPVM_RULE(s.tr.selector == abi::kTssSelector, kBadSpecialRegisters, "sregs.tr.selector", s.tr.selector,
              hex(abi::kTssSelector));
  SNAPVM_RULE(s.tr.type == 11 && s.tr.present == 1, kBadSpecialRegisters, "sregs.tr.type", s.tr.type,
              "a present, busy 64-bit TSS (type 11)");
  // KVM clears TR's present bit for an unusable TR: the guest's first exception then needs a TSS it
  // cannot use (found by the snapshot_run fuzzer; corpus/regressions/snapshot_run/).
  SNAPVM_RULE(s.tr.unusable == 0, kBadSpecialRegisters, "sregs.tr.unusable", s.tr.unusable, "0: TR must be usable");
  SNAPVM_RULE(s.tr.s == 0, kBadSpecialRegisters, "sregs.tr.s", s.tr.s, "0: a TSS is a system descriptor");
  TRY(check_user_segment("cs", s.cs, abi::kUserCodeSelector, true));
  TRY(check_user_segment("ss", s.ss, abi::kUserDataSelector, false));
  TRY(check_user_segment("ds", s.ds, abi::kUserDataSelector, false));
  for (uint64_t word : s.interrupt_bitmap) {
    SNAPVM_RULE(word == 0, kBadSpecialRegisters, "sregs.interrupt_bitmap", word,
                "no pending interrupt (snapvm never injects one; vectors above 31 have no gate)");
  }
  return {};
}

Status check_general_registers(const detail::SnapshotMetadata& d) {
  const GeneralRegisters& g = d.vcpu.regs;
  const Layout& l = d.layout;
  auto executable = [&](uint64_t a) {
    for (const Region& r : l.regions) {
      if ((r.flags & kRegionExecute) && a >= r.guest_address && a < r.end()) return true;
    }
    return false;
  };
  SNAPVM_RULE(executable(d.entrypoint), kBadRegisters, "entrypoint", d.entrypoint, "inside an executable region");
  if (d.stage == SnapshotStage::kBeforeInit) {
    SNAPVM_RULE(d.dispatch == 0, kBadRegisters, "dispatch", d.dispatch, "0 before initialisation");
    SNAPVM_RULE(g.rip == d.entrypoint, kBadRegisters, "regs.rip", g.rip,
                "the entrypoint " + hex(d.entrypoint) + " before initialisation");
  } else {
    SNAPVM_RULE(executable(d.dispatch), kBadRegisters, "dispatch", d.dispatch, "inside an executable region");
    SNAPVM_RULE(executable(g.rip), kBadRegisters, "regs.rip", g.rip, "inside an executable region");
  }
  SNAPVM_RULE(g.rsp >= l.stack_base && g.rsp <= l.stack_top(), kBadRegisters, "regs.rsp", g.rsp,
              "inside the stack region [" + hex(l.stack_base) + ", " + hex(l.stack_top()) + "]");
  SNAPVM_RULE(g.rflags & kRflagsFixed1, kBadRegisters, "regs.rflags", g.rflags, "RFLAGS bit 1 set");
  SNAPVM_RULE((g.rflags & kRflagsReserved) == 0, kBadRegisters, "regs.rflags", g.rflags,
              "no reserved RFLAGS bits (3, 5, 15, 22-63)");
  SNAPVM_RULE((g.rflags & kRflagsVm) == 0, kBadRegisters, "regs.rflags", g.rflags, "RFLAGS.VM clear in long mode");
  return {};
}

Status check_fpu(const FpuState& f) {
  SNAPVM_RULE((f.mxcsr & kMxcsrReserved) == 0, kBadRegisters, "fpu.mxcsr", f.mxcsr,
              "no reserved MXCSR bits (16-31): restoring it would raise #GP");
  return {};
}
#undef SNAPVM_RULE

}  // namespace

Status validate_snapshot(const DecodedSnapshotFile& f, uint64_t file_size, const DecodeOptions& options) {
  TRY(check_platform(f, options));
  TRY(check_blob(f, file_size));
  TRY(check_regions(f));
  TRY(check_file_layout(f.meta.layout));
  TRY(check_special_registers(f.meta.vcpu.sregs, f.meta.layout));
  TRY(check_general_registers(f.meta));
  TRY(check_fpu(f.meta.vcpu.fpu));
  return {};
}

Result<DecodedSnapshotFile> decode_and_validate(std::span<const uint8_t> bytes, uint64_t file_size,
                                                const DecodeOptions& options) {
  DecodedSnapshotFile f = TRY(decode_metadata(bytes, file_size));
  TRY(validate_snapshot(f, file_size, options));
  return f;
}

}  // namespace snapvm::format
