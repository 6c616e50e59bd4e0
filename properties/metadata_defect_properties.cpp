// metadata_defect_properties.cpp: invalid snapshot metadata made on purpose. The generator takes a
// valid snapshot's metadata, breaks exactly one rule (a structural one in the bytes, or a semantic one
// in the values before encoding: unknown region flags, CR0.PG without PE, RSP outside the stack...),
// and says which typed error that must provoke; decode_and_validate must give exactly that error.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <functional>

#include "generators.h"
#include "memory/system_area.h"
#include "snapshot/validate.h"
#include "snapvm/abi/byte_order.h"
#include "snapvm/abi/layout.h"
#include "snapvm/abi/ports.h"
#include "snapvm/abi/wire.h"
#include "snapvm_harness/field_mutation.h"
#include "support.h"

namespace snapvm::properties {
namespace {

namespace gen = rc::gen;

struct MetaDefect {
  MetadataValue meta;  // after any semantic change
  std::string rule;    // the rule broken, for RC_TAG
  std::string defect;  // what was done, in words
  std::vector<uint8_t> bytes;
  uint64_t file_size = 0;
  format::DecodeOptions options;
  // The error it must provoke. Without an explicit offset, the field's own offset in the file.
  ErrorCode code{};
  std::string field;
  std::optional<uint64_t> offset;
  std::optional<uint64_t> value;
};
void showValue(const MetaDefect& d, std::ostream& os) {
  os << d.defect << "\n  expect: " << error_code_name(d.code) << " " << d.field;
  if (d.offset) os << " @" << hex(*d.offset);
  if (d.value) os << " =" << hex(*d.value);
  os << "\n  in ";
  showValue(d.meta, os);
}

void expect(MetaDefect& d, ErrorCode code, std::string field, std::optional<uint64_t> value,
            std::optional<uint64_t> offset = std::nullopt) {
  d.code = code;
  d.field = std::move(field);
  d.value = value;
  d.offset = offset;
}

using Rule = std::pair<const char*, std::function<bool(MetaDefect&)>>;
std::string reg(size_t i, const char* member) { return "regions[" + std::to_string(i) + "]." + member; }
template <typename T>
T pick(const std::vector<T>& v) {
  return v[*uniform<size_t>(0, v.size())];
}
uint64_t one_bit_of(uint64_t mask) {
  std::vector<uint64_t> bits;
  for (int b = 0; b < 64; ++b) {
    if (mask & (1ull << b)) bits.push_back(1ull << b);
  }
  return pick(bits);
}

SegmentRegister& segment(SpecialRegisters& s, const std::string& name) {
  if (name == "cs") return s.cs;
  if (name == "ds") return s.ds;
  if (name == "es") return s.es;
  if (name == "fs") return s.fs;
  if (name == "gs") return s.gs;
  if (name == "ss") return s.ss;
  if (name == "tr") return s.tr;
  return s.ldt;
}

// An address no executable region holds.
uint64_t not_executable(const Layout& l) {
  std::vector<uint64_t> candidates = {0,
                                      abi::kPebAddress,
                                      l.heap_base,
                                      l.stack_base,
                                      l.input_base,
                                      l.memory_size + *gen::inRange<uint64_t>(0, 1 << 20)};
  for (const Region& r : l.regions) {
    if (!(r.flags & kRegionExecute)) candidates.push_back(r.guest_address + *gen::inRange<uint64_t>(0, r.size));
  }
  return pick(candidates);
}

// ---- rules broken in the values (checked by validate.cpp, or by the decoder for function lists) --------

// ---- rules broken in the values (checked by validate.cpp, or by the decoder for function lists) --------

constexpr ErrorCode kBadSregs = ErrorCode::kBadSpecialRegisters, kBadRegs = ErrorCode::kBadRegisters;

// A rule that changes CR0 and expects kBadSpecialRegisters on it.
Rule cr0_rule(const char* name, std::function<uint64_t(uint64_t)> change) {
  return {name, [name, change](MetaDefect& d) {
            uint64_t& cr0 = d.meta.vcpu.sregs.cr0;
            cr0 = change(cr0);
            d.defect = std::string(name) + ": sregs.cr0 = " + hex(cr0);
            expect(d, ErrorCode::kBadSpecialRegisters, "sregs.cr0", cr0);
            return true;
          }};
}

// A rule that changes one 64-bit register or field and expects `code` on it.
Rule reg_rule(const char* name, const char* field, ErrorCode code, std::function<uint64_t&(MetadataValue&)> ref,
              std::function<uint64_t(uint64_t, const MetadataValue&)> change) {
  return {name, [=](MetaDefect& d) {
            uint64_t& v = ref(d.meta);
            v = change(v, d.meta);
            d.defect = std::string(name) + ": " + field + " = " + hex(v);
            expect(d, code, field, v);
            return true;
          }};
}

// Function lists: the decoder's own rules, on a function of either list.
Rule fn_rule(const char* name, std::function<std::pair<std::string, uint64_t>(FunctionInfo&)> change) {
  return {name, [=](MetaDefect& d) {
            const bool guest = *gen::arbitrary<bool>();
            auto& list = guest ? d.meta.guest_functions : d.meta.host_functions;
            if (list.empty()) list.push_back(FunctionInfo{"F", {ValueType::kI32, {ValueType::kI32}}});
            size_t i = *uniform<size_t>(0, list.size());
            auto [member, value] = change(list[i]);
            std::string field =
                std::string(guest ? "guest_functions[" : "host_functions[") + std::to_string(i) + "]." + member;
            d.defect = std::string(name) + ": " + field + " = " + hex(value);
            expect(d, ErrorCode::kFieldOutOfRange, field, value);
            return true;
          }};
}

// The region table.
std::vector<Rule> region_rules() {
  using E = ErrorCode;
  std::vector<Rule> r;
  r.push_back({"region flags: unknown bit", [](MetaDefect& d) {
                 auto& regions = d.meta.layout.regions;
                 size_t i = *uniform<size_t>(0, regions.size());
                 regions[i].flags |= 1u << *gen::inRange(3, 32);
                 d.defect = reg(i, "flags") + " = " + hex(regions[i].flags);
                 expect(d, E::kUnknownFlags, reg(i, "flags"), regions[i].flags);
                 return true;
               }});
  r.push_back({"region flags: W+X", [](MetaDefect& d) {
                 auto& regions = d.meta.layout.regions;
                 size_t i = *uniform<size_t>(0, regions.size());
                 regions[i].flags = kRegionWrite | kRegionExecute | (*gen::arbitrary<bool>() ? kRegionRead : 0u);
                 d.defect = reg(i, "flags") + " = " + region_flags_string(regions[i].flags);
                 expect(d, E::kFieldOutOfRange, reg(i, "flags"), regions[i].flags);
                 return true;
               }});
  r.push_back({"region kind", [](MetaDefect& d) {
                 auto& regions = d.meta.layout.regions;
                 size_t i = *uniform<size_t>(0, regions.size());
                 uint32_t k = *gen::oneOf(gen::just(0u), gen::inRange<uint32_t>(kMaxRegionKind + 1, UINT32_MAX));
                 regions[i].kind = static_cast<RegionKind>(k);
                 d.defect = reg(i, "kind") + " = " + std::to_string(k);
                 expect(d, E::kFieldOutOfRange, reg(i, "kind"), k);
                 return true;
               }});
  r.push_back({"region address misaligned", [](MetaDefect& d) {
                 auto& regions = d.meta.layout.regions;
                 size_t i = *uniform<size_t>(0, regions.size());
                 regions[i].guest_address += *gen::inRange<uint64_t>(1, abi::kPageSize);
                 d.defect = reg(i, "guest_address") + " = " + hex(regions[i].guest_address);
                 expect(d, E::kMisaligned, reg(i, "guest_address"), regions[i].guest_address);
                 return true;
               }});
  r.push_back({"region size misaligned", [](MetaDefect& d) {
                 auto& regions = d.meta.layout.regions;
                 size_t i = *uniform<size_t>(0, regions.size());
                 regions[i].size += *gen::inRange<uint64_t>(1, abi::kPageSize);
                 d.defect = reg(i, "size") + " = " + hex(regions[i].size);
                 expect(d, E::kMisaligned, reg(i, "size"), regions[i].size);
                 return true;
               }});
  r.push_back({"region empty", [](MetaDefect& d) {
                 auto& regions = d.meta.layout.regions;
                 size_t i = *uniform<size_t>(0, regions.size());
                 regions[i].size = 0;
                 d.defect = reg(i, "size") + " = 0";
                 expect(d, E::kFieldOutOfRange, reg(i, "size"), 0);
                 return true;
               }});
  r.push_back({"regions overlap or unsorted", [](MetaDefect& d) {
                 auto& regions = d.meta.layout.regions;
                 size_t i = *uniform<size_t>(1, regions.size());
                 const Region& p = regions[i - 1];
                 uint64_t at = *gen::oneOf(
                     gen::just(p.guest_address - *gen::inRange<uint64_t>(0, 4) * abi::kPageSize),
                     gen::just(p.guest_address + *gen::inRange<uint64_t>(0, p.size / abi::kPageSize) * abi::kPageSize));
                 regions[i].guest_address = at;
                 d.defect = reg(i, "guest_address") + " = " + hex(at) + " (previous " + hex(p.guest_address) + "+" +
                            hex(p.size) + ")";
                 expect(d, E::kRegionOverlap, reg(i, "guest_address"), at);
                 return true;
               }});
  r.push_back({"region count over 64", [](MetaDefect& d) {
                 auto& regions = d.meta.layout.regions;
                 size_t n = *gen::inRange<size_t>(kMaxRegions + 1, 2 * kMaxRegions);
                 while (regions.size() < n) regions.push_back(regions.back());
                 d.defect = "regions.count = " + std::to_string(n);
                 expect(d, E::kFieldOutOfRange, "regions.count", n);
                 return true;
               }});
  return r;
}

// The configuration and the layout computed from it.
std::vector<Rule> layout_rules() {
  using E = ErrorCode;
  std::vector<Rule> r;
  r.push_back({"config out of bounds", [](MetaDefect& d) {
                 auto& c = d.meta.layout.config;
                 std::vector<std::pair<const char*, uint64_t*>> fields = {{"config.heap_size", &c.heap_size},
                                                                          {"config.stack_size", &c.stack_size},
                                                                          {"config.input_size", &c.input_size},
                                                                          {"config.output_size", &c.output_size}};
                 auto [name, field] = pick(fields);
                 *field = *gen::oneOf(gen::just(*field + *gen::inRange<uint64_t>(1, abi::kPageSize)),
                                      gen::just<uint64_t>(0), gen::just<uint64_t>(*field * 0 + (uint64_t{1} << 40)));
                 d.defect = std::string(name) + " = " + hex(*field);
                 expect(d, E::kFieldOutOfRange, name, *field);
                 return true;
               }});
  r.push_back({"layout field", [](MetaDefect& d) {
                 Layout& l = d.meta.layout;
                 std::vector<std::pair<const char*, uint64_t*>> fields = {
                     {"layout.image_base", &l.image_base},
                     {"layout.image_end", &l.image_end},
                     {"layout.input_base", &l.input_base},
                     {"layout.output_base", &l.output_base},
                     {"layout.heap_base", &l.heap_base},
                     {"layout.stack_base", &l.stack_base},
                     {"layout.page_table_base", &l.page_table_base},
                     {"layout.page_table_size", &l.page_table_size},
                     {"layout.memory_size", &l.memory_size}};
                 auto [name, field] = pick(fields);
                 *field += *gen::inRange<uint64_t>(1, 4) * abi::kPageSize;
                 d.defect = std::string(name) + " = " + hex(*field);
                 expect(d, E::kLayoutMismatch, name, *field);
                 return true;
               }});
  return r;
}

// Control registers, EFER and the descriptor tables.
std::vector<Rule> control_register_rules() {
  using E = ErrorCode;
  std::vector<Rule> r;
  r.push_back(cr0_rule("CR0 reserved bit", [](uint64_t v) { return v | one_bit_of(0xffffffff1ffaffc0ull); }));
  r.push_back(cr0_rule("CR0.PG without PE", [](uint64_t v) { return v & ~kCr0Pe; }));
  r.push_back(cr0_rule("CR0.NW without CD", [](uint64_t v) { return (v | (1ull << 29)) & ~(1ull << 30); }));
  r.push_back(cr0_rule("CR0.EM", [](uint64_t v) { return v | kCr0Em; }));
  r.push_back(cr0_rule("CR0.TS", [](uint64_t v) { return v | kCr0Ts; }));
  r.push_back(cr0_rule("CR0.PG clear", [](uint64_t v) { return v & ~kCr0Pg; }));
  auto cr4 = [](MetadataValue& m) -> uint64_t& { return m.vcpu.sregs.cr4; };
  auto efer = [](MetadataValue& m) -> uint64_t& { return m.vcpu.sregs.efer; };
  r.push_back(reg_rule("CR4 bit snapvm never sets", "sregs.cr4", kBadSregs, cr4, [](uint64_t v, const MetadataValue&) {
    return v | one_bit_of(~(kCr4Pae | kCr4Osfxsr | kCr4Osxmmexcpt));
  }));
  r.push_back(reg_rule("CR4.PAE clear", "sregs.cr4", kBadSregs, cr4,
                       [](uint64_t v, const MetadataValue&) { return v & ~kCr4Pae; }));
  r.push_back(reg_rule("EFER unknown bit", "sregs.efer", kBadSregs, efer, [](uint64_t v, const MetadataValue&) {
    return v | one_bit_of(~(1ull | kEferLme | kEferLma | kEferNxe));
  }));
  r.push_back(reg_rule("EFER.LMA clear", "sregs.efer", kBadSregs, efer,
                       [](uint64_t v, const MetadataValue&) { return v & ~kEferLma; }));
  r.push_back(reg_rule("EFER.LME clear", "sregs.efer", kBadSregs, efer,
                       [](uint64_t v, const MetadataValue&) { return v & ~kEferLme; }));
  r.push_back(reg_rule("EFER.NXE clear", "sregs.efer", kBadSregs, efer,
                       [](uint64_t v, const MetadataValue&) { return v & ~kEferNxe; }));
  r.push_back(reg_rule(
      "CR8 over 15", "sregs.cr8", kBadSregs, [](MetadataValue& m) -> uint64_t& { return m.vcpu.sregs.cr8; },
      [](uint64_t, const MetadataValue&) { return *gen::inRange<uint64_t>(16, UINT64_MAX); }));
  r.push_back(reg_rule(
      "CR3 not the page tables", "sregs.cr3", kBadSregs, [](MetadataValue& m) -> uint64_t& { return m.vcpu.sregs.cr3; },
      [](uint64_t v, const MetadataValue&) { return *gen::distinctFrom(gen::arbitrary<uint64_t>(), v); }));
  r.push_back(reg_rule(
      "GDT base", "sregs.gdt.base", kBadSregs, [](MetadataValue& m) -> uint64_t& { return m.vcpu.sregs.gdt.base; },
      [](uint64_t v, const MetadataValue&) { return *gen::distinctFrom(gen::arbitrary<uint64_t>(), v); }));
  r.push_back(reg_rule(
      "IDT base", "sregs.idt.base", kBadSregs, [](MetadataValue& m) -> uint64_t& { return m.vcpu.sregs.idt.base; },
      [](uint64_t v, const MetadataValue&) { return *gen::distinctFrom(gen::arbitrary<uint64_t>(), v); }));
  r.push_back({"GDT/IDT limit", [](MetaDefect& d) {
                 bool gdt = *gen::arbitrary<bool>();
                 uint16_t& limit = gdt ? d.meta.vcpu.sregs.gdt.limit : d.meta.vcpu.sregs.idt.limit;
                 limit = *gen::distinctFrom(gen::arbitrary<uint16_t>(), limit);
                 std::string field = gdt ? "sregs.gdt.limit" : "sregs.idt.limit";
                 d.defect = field + " = " + hex(limit);
                 expect(d, E::kBadSpecialRegisters, field, limit);
                 return true;
               }});
  return r;
}

// Segment encodings and the TSS register.
std::vector<Rule> segment_rules() {
  using E = ErrorCode;
  std::vector<Rule> r;
  r.push_back({"segment encoding", [](MetaDefect& d) {
                 std::string name = pick<std::string>({"cs", "ds", "es", "fs", "gs", "ss", "tr", "ldt"});
                 SegmentRegister& s = segment(d.meta.vcpu.sregs, name);
                 std::vector<std::pair<std::string, uint8_t*>> bits = {
                     {"present", &s.present},  {"db", &s.db}, {"s", &s.s}, {"l", &s.l}, {"g", &s.g}, {"avl", &s.avl},
                     {"unusable", &s.unusable}};
                 int which = *uniform(0, 3);
                 std::string member;
                 uint8_t v = 0;
                 if (which == 0) {
                   member = "type", v = s.type = *gen::inRange<int>(16, 256);
                 } else if (which == 1) {
                   member = "dpl", v = s.dpl = *gen::inRange<int>(4, 256);
                 } else {
                   auto [m, p] = pick(bits);
                   member = m, v = *p = *gen::inRange<int>(2, 256);
                 }
                 std::string field = "sregs." + name + "." + member;
                 d.defect = field + " = " + std::to_string(v);
                 expect(d, E::kBadSpecialRegisters, field, v);
                 return true;
               }});
  r.push_back({"TSS register", [](MetaDefect& d) {
                 SegmentRegister& tr = d.meta.vcpu.sregs.tr;
                 switch (*uniform(0, 5)) {
                   case 0:
                     tr.base = *gen::distinctFrom(gen::arbitrary<uint64_t>(), tr.base);
                     d.defect = "sregs.tr.base = " + hex(tr.base);
                     expect(d, E::kBadSpecialRegisters, "sregs.tr.base", tr.base);
                     break;
                   case 1:
                     tr.limit = *gen::distinctFrom(gen::arbitrary<uint32_t>(), tr.limit);
                     d.defect = "sregs.tr.limit = " + hex(tr.limit);
                     expect(d, E::kBadSpecialRegisters, "sregs.tr.limit", tr.limit);
                     break;
                   case 2:
                     tr.selector = *gen::distinctFrom(gen::arbitrary<uint16_t>(), tr.selector);
                     d.defect = "sregs.tr.selector = " + hex(tr.selector);
                     expect(d, E::kBadSpecialRegisters, "sregs.tr.selector", tr.selector);
                     break;
                   case 3:
                     tr.type = *gen::distinctFrom(gen::inRange<uint8_t>(0, 16), uint8_t{11});
                     d.defect = "sregs.tr.type = " + std::to_string(tr.type);
                     expect(d, E::kBadSpecialRegisters, "sregs.tr.type", tr.type);
                     break;
                   default:
                     tr.present = 0;
                     d.defect = "sregs.tr.present = 0";
                     expect(d, E::kBadSpecialRegisters, "sregs.tr.type", tr.type);
                 }
                 return true;
               }});
  return r;
}

// The user code, stack and data segments; pending interrupts.
std::vector<Rule> user_segment_rules() {
  using E = ErrorCode;
  std::vector<Rule> r;
  r.push_back(
      {"user segment", [](MetaDefect& d) {
         std::string name = pick<std::string>({"cs", "ss", "ds"});
         SegmentRegister& s = segment(d.meta.vcpu.sregs, name);
         const std::string p = "sregs." + name + ".";
         const bool code = name == "cs";
         int rule = *uniform(0, code ? 8 : 6);
         switch (rule) {
           case 0:
             s.selector = *gen::distinctFrom(gen::arbitrary<uint16_t>(), s.selector);
             expect(d, E::kBadSpecialRegisters, p + "selector", s.selector);
             break;
           case 1:
             s.present = 0;
             expect(d, E::kBadSpecialRegisters, p + "present", 0);
             break;
           case 2:
             s.unusable = 1;
             expect(d, E::kBadSpecialRegisters, p + "present", 1);
             break;
           case 3:
             s.s = 0;
             expect(d, E::kBadSpecialRegisters, p + "s", 0);
             break;
           case 4:
             s.dpl = *gen::inRange<uint8_t>(0, 3);
             expect(d, E::kBadSpecialRegisters, p + "dpl", s.dpl);
             break;
           case 5:
             s.type = code ? *gen::inRange<uint8_t>(0, 8) : pick<uint8_t>({0, 1, 4, 5, 8, 9, 10, 11, 12, 13, 14, 15});
             expect(d, E::kBadSpecialRegisters, p + "type", s.type);
             break;
           case 6:
             s.l = 0;
             expect(d, E::kBadSpecialRegisters, p + "l", 0);
             break;
           default:
             s.db = 1;
             expect(d, E::kBadSpecialRegisters, p + "db", 1);
         }
         d.defect = "user segment rule " + std::to_string(rule) + ": " + d.field;
         return true;
       }});
  r.push_back({"pending interrupt", [](MetaDefect& d) {
                 auto& words = d.meta.vcpu.sregs.interrupt_bitmap;
                 size_t k = *uniform<size_t>(0, 4);
                 words[k] = one_bit_of(~0ull);
                 d.defect = "sregs.interrupt_bitmap[" + std::to_string(k) + "] = " + hex(words[k]);
                 expect(d, E::kBadSpecialRegisters, "sregs.interrupt_bitmap", words[k]);
                 return true;
               }});
  return r;
}

// General registers, entry points, MXCSR.
std::vector<Rule> register_rules() {
  using E = ErrorCode;
  std::vector<Rule> r;
  r.push_back(reg_rule(
      "entrypoint not executable", "entrypoint", kBadRegs, [](MetadataValue& m) -> uint64_t& { return m.entrypoint; },
      [](uint64_t, const MetadataValue& m) { return not_executable(m.layout); }));
  r.push_back({"dispatch", [](MetaDefect& d) {
                 uint64_t& v = d.meta.dispatch;
                 v = d.meta.stage == SnapshotStage::kBeforeInit ? *gen::inRange<uint64_t>(1, UINT64_MAX)
                                                                : not_executable(d.meta.layout);
                 d.defect = "dispatch = " + hex(v);
                 expect(d, E::kBadRegisters, "dispatch", v);
                 return true;
               }});
  r.push_back({"rip", [](MetaDefect& d) {
                 uint64_t& v = d.meta.vcpu.regs.rip;
                 v = d.meta.stage == SnapshotStage::kBeforeInit
                         ? *gen::distinctFrom(gen::arbitrary<uint64_t>(), d.meta.entrypoint)
                         : not_executable(d.meta.layout);
                 d.defect = "regs.rip = " + hex(v);
                 expect(d, E::kBadRegisters, "regs.rip", v);
                 return true;
               }});
  r.push_back(reg_rule(
      "rsp outside the stack", "regs.rsp", kBadRegs, [](MetadataValue& m) -> uint64_t& { return m.vcpu.regs.rsp; },
      [](uint64_t, const MetadataValue& m) {
        const Layout& l = m.layout;
        return *gen::oneOf(gen::inRange<uint64_t>(0, l.stack_base),
                           gen::inRange<uint64_t>(l.stack_top() + 1, UINT64_MAX));
      }));
  r.push_back(reg_rule(
      "rflags", "regs.rflags", kBadRegs, [](MetadataValue& m) -> uint64_t& { return m.vcpu.regs.rflags; },
      [](uint64_t v, const MetadataValue&) {
        constexpr uint64_t kReserved = (1ull << 3) | (1ull << 5) | (1ull << 15) | ~((1ull << 22) - 1);
        return *gen::oneOf(gen::just<uint64_t>(v & ~uint64_t{2}), gen::just<uint64_t>(v | one_bit_of(kReserved)),
                           gen::just<uint64_t>(v | (uint64_t{1} << 17)));
      }));
  r.push_back({"MXCSR reserved bits", [](MetaDefect& d) {
                 uint32_t& m = d.meta.vcpu.fpu.mxcsr;
                 m |= static_cast<uint32_t>(one_bit_of(0xffff0000ull));
                 d.defect = "fpu.mxcsr = " + hex(m);
                 expect(d, E::kBadRegisters, "fpu.mxcsr", m);
                 return true;
               }});
  return r;
}

// What the file was built for and on: ABI, stage, hypervisor, CPU vendor.
std::vector<Rule> identity_rules() {
  using E = ErrorCode;
  std::vector<Rule> r;
  r.push_back({"abi version", [](MetaDefect& d) {
                 d.meta.abi_version = *gen::distinctFrom(gen::arbitrary<uint32_t>(), abi::kAbiVersion);
                 d.defect = "abi_version = " + std::to_string(d.meta.abi_version);
                 expect(d, E::kAbiMismatch, "abi_version", d.meta.abi_version);
                 return true;
               }});
  r.push_back({"stage", [](MetaDefect& d) {
                 uint32_t s = *gen::oneOf(gen::just(0u), gen::inRange<uint32_t>(3, UINT32_MAX));
                 d.meta.stage = static_cast<SnapshotStage>(s);
                 d.defect = "stage = " + std::to_string(s);
                 expect(d, E::kFieldOutOfRange, "stage", s);
                 return true;
               }});
  r.push_back({"hypervisor", [](MetaDefect& d) {
                 d.meta.hypervisor = pick<std::string>({"xen", "hvf", "whpx", "kvm2", "KVM"});
                 d.defect = "hypervisor = " + d.meta.hypervisor;
                 expect(d, E::kPlatformMismatch, "hypervisor", std::nullopt);
                 return true;
               }});
  r.push_back({"cpu vendor", [](MetaDefect& d) {
                 d.options.cpu_vendor = *gen::distinctFrom(
                     gen::element<std::string>("GenuineIntel", "AuthenticAMD", "HygonGenuine"), d.meta.cpu_vendor);
                 d.defect = "file recorded on " + d.meta.cpu_vendor + ", loaded on " + *d.options.cpu_vendor;
                 expect(d, E::kPlatformMismatch, "cpu_vendor", std::nullopt);
                 return true;
               }});
  // Function lists: the decoder's own rules.
  return r;
}

// Function lists.
std::vector<Rule> function_rules() {
  using E = ErrorCode;
  std::vector<Rule> r;
  r.push_back(fn_rule("function name length", [](FunctionInfo& f) {
    f.name = std::string(*gen::oneOf(gen::just<size_t>(0), gen::inRange<size_t>(abi::kMaxNameLength + 1, 2000)), 'n');
    return std::pair<std::string, uint64_t>{"name_length", f.name.size()};
  }));
  r.push_back(fn_rule("function name control character", [](FunctionInfo& f) {
    uint8_t c = *gen::oneOf(gen::inRange<uint8_t>(0, 0x20), gen::just<uint8_t>(0x7f));
    f.name[*uniform<size_t>(0, f.name.size())] = static_cast<char>(c);
    return std::pair<std::string, uint64_t>{"name", c};
  }));
  r.push_back(fn_rule("function result type", [](FunctionInfo& f) {
    uint8_t t = *gen::inRange<int>(abi::kValueTypeCount, 256);
    f.signature.result = static_cast<ValueType>(t);
    return std::pair<std::string, uint64_t>{"result", t};
  }));
  r.push_back(fn_rule("function parameter count", [](FunctionInfo& f) {
    f.signature.params.resize(*gen::inRange<size_t>(abi::kMaxArgs + 1, 256), ValueType::kI32);
    return std::pair<std::string, uint64_t>{"param_count", f.signature.params.size()};
  }));
  r.push_back(fn_rule("function parameter type", [](FunctionInfo& f) {
    if (f.signature.params.empty()) f.signature.params.push_back(ValueType::kI32);
    size_t j = *uniform<size_t>(0, f.signature.params.size());
    uint8_t t = *gen::inRange<int>(abi::kValueTypeCount, 256);
    f.signature.params[j] = static_cast<ValueType>(t);
    return std::pair<std::string, uint64_t>{"params[" + std::to_string(j) + "]", t};
  }));
  r.push_back({"function count over 256", [](MetaDefect& d) {
                 const bool guest = *gen::arbitrary<bool>();
                 auto& list = guest ? d.meta.guest_functions : d.meta.host_functions;
                 size_t n = *gen::inRange<size_t>(abi::kMaxFunctions + 1, 400);
                 list.resize(n, FunctionInfo{"f", {}});
                 std::string field = guest ? "guest_functions.count" : "host_functions.count";
                 d.defect = field + " = " + std::to_string(n);
                 expect(d, E::kFieldOutOfRange, field, n);
                 return true;
               }});
  return r;
}

std::vector<Rule> value_rules() {
  std::vector<Rule> r;
  for (auto rules : {region_rules, layout_rules, control_register_rules, segment_rules, user_segment_rules,
                     register_rules, identity_rules, function_rules}) {
    for (Rule& rule : rules()) r.push_back(std::move(rule));
  }
  return r;
}

// ---- rules broken in the bytes, after encoding (checksum re-fixed unless the checksum is the
// point) -----

void fix_header(MetaDefect& d) { harness::fix_checksums(d.bytes, harness::Checksums::kHeaderFixed); }

// A text tag (architecture, hypervisor): a byte after its NUL, or another text.
Rule tag_rule(const char* name, uint64_t offset, size_t size, std::string current) {
  return {name, [=](MetaDefect& d) {
            if (current.size() + 1 < size && *gen::arbitrary<bool>()) {
              size_t k = *gen::inRange<size_t>(current.size() + 1, size);
              d.bytes[offset + k] = *gen::inRange<uint8_t>(1, 255);
              d.defect =
                  std::string(name) + " byte " + std::to_string(k) + " after the NUL = " + hex(d.bytes[offset + k]);
              expect(d, ErrorCode::kReservedNotZero, name, std::nullopt, offset);
            } else {
              std::string text = *gen::distinctFrom(
                  gen::mapcat(gen::inRange<size_t>(1, size + 1),
                              [](size_t n) { return gen::container<std::string>(n, gen::inRange<char>(0x21, 0x7f)); }),
                  current);
              for (size_t k = 0; k < size; ++k)
                d.bytes[offset + k] = k < text.size() ? static_cast<uint8_t>(text[k]) : 0;
              d.defect = std::string(name) + " = \"" + text + "\"";
              expect(d, ErrorCode::kPlatformMismatch, name, std::nullopt, offset);
            }
            fix_header(d);
            return true;
          }};
}

// The fixed header: magic, version, header_length, checksum.
std::vector<Rule> header_rules() {
  using E = ErrorCode;
  std::vector<Rule> r;
  r.push_back({"magic", [](MetaDefect& d) {
                 size_t k = *uniform<size_t>(0, 8);
                 d.bytes[k] = *gen::distinctFrom(gen::arbitrary<uint8_t>(), d.bytes[k]);
                 d.defect = "magic byte " + std::to_string(k) + " = " + hex(d.bytes[k]);
                 expect(d, E::kBadMagic, "magic", std::nullopt, 0);
                 return true;
               }});
  r.push_back({"format version", [](MetaDefect& d) {
                 uint32_t v = *gen::oneOf(gen::just(0u), gen::inRange<uint32_t>(2, UINT32_MAX));
                 abi::store_le(d.bytes.data() + format::kVersionOffset, 4, v);
                 d.defect = "format_version = " + std::to_string(v);
                 expect(d, v == 0 ? E::kOlderFormat : E::kNewerFormat, "format_version", v, format::kVersionOffset);
                 return true;
               }});
  r.push_back({"header_length bounds", [](MetaDefect& d) {
                 uint32_t v = *gen::oneOf(gen::inRange<uint32_t>(0, abi::kPageSize),
                                          gen::inRange<uint32_t>(format::kMaxHeaderLength + 1, UINT32_MAX));
                 abi::store_le(d.bytes.data() + format::kHeaderLengthOffset, 4, v);
                 d.defect = "header_length = " + hex(v);
                 expect(d, E::kFieldOutOfRange, "header_length", v, format::kHeaderLengthOffset);
                 return true;
               }});
  r.push_back({"header_length misaligned", [](MetaDefect& d) {
                 uint32_t v = static_cast<uint32_t>(d.bytes.size() + *gen::inRange<uint64_t>(1, abi::kPageSize));
                 abi::store_le(d.bytes.data() + format::kHeaderLengthOffset, 4, v);
                 d.defect = "header_length = " + hex(v);
                 expect(d, E::kMisaligned, "header_length", v, format::kHeaderLengthOffset);
                 return true;
               }});
  r.push_back({"file shorter than header_length", [](MetaDefect& d) {
                 d.file_size = *gen::inRange<uint64_t>(format::kFixedHeaderSize, d.bytes.size());
                 d.defect = "file size " + std::to_string(d.file_size);
                 expect(d, E::kFileTooShort, "header_length", d.bytes.size(), format::kHeaderLengthOffset);
                 return true;
               }});
  r.push_back({"header_length a page too long", [](MetaDefect& d) {
                 const uint64_t length = d.bytes.size() + abi::kPageSize;
                 d.bytes.resize(length, 0);
                 abi::store_le(d.bytes.data() + format::kHeaderLengthOffset, 4, length);
                 abi::store_le(d.bytes.data() + format::kBlobOffsetOffset, 8, length);
                 d.file_size += abi::kPageSize;
                 fix_header(d);
                 d.defect = "header_length = blob_offset = " + hex(length) + " (a page of extra padding)";
                 expect(d, E::kFieldOutOfRange, "header_length", length, format::kHeaderLengthOffset);
                 return true;
               }});
  r.push_back({"header checksum", [](MetaDefect& d) {
                 size_t k = *gen::inRange<size_t>(format::kChecksumOffset, d.bytes.size());
                 d.bytes[k] = *gen::distinctFrom(gen::arbitrary<uint8_t>(), d.bytes[k]);
                 d.defect = "byte " + hex(k) + " = " + hex(d.bytes[k]) + " (checksum not fixed)";
                 expect(d, E::kHeaderChecksum, "header_checksum", std::nullopt, format::kChecksumOffset);
                 return true;
               }});
  return r;
}

// The platform tags.
std::vector<Rule> tag_rules() {
  using E = ErrorCode;
  std::vector<Rule> r;
  r.push_back(tag_rule("architecture", 0x18, 8, "x86_64"));
  r.push_back(tag_rule("hypervisor", 0x28, 8, "kvm"));
  r.push_back({"cpu_vendor padding", [](MetaDefect& d) {
                 if (d.meta.cpu_vendor.size() + 1 >= format::kCpuVendorSize) return false;
                 size_t k = *gen::inRange<size_t>(d.meta.cpu_vendor.size() + 1, format::kCpuVendorSize);
                 d.bytes[0x30 + k] = *gen::inRange<uint8_t>(1, 255);
                 fix_header(d);
                 d.defect = "cpu_vendor byte " + std::to_string(k) + " after the NUL = " + hex(d.bytes[0x30 + k]);
                 expect(d, E::kReservedNotZero, "cpu_vendor", std::nullopt, 0x30);
                 return true;
               }});
  return r;
}

// The digest, the blob's place and size, reserved bytes and padding.
std::vector<Rule> blob_rules() {
  using E = ErrorCode;
  std::vector<Rule> r;
  r.push_back({"digest algorithm", [](MetaDefect& d) {
                 uint32_t a = *gen::oneOf(gen::just(0u), gen::inRange<uint32_t>(3, UINT32_MAX));
                 abi::store_le(d.bytes.data() + format::kDigestAlgorithmOffset, 4, a);
                 fix_header(d);
                 d.defect = "digest_algorithm = " + std::to_string(a);
                 expect(d, E::kFieldOutOfRange, "digest_algorithm", a, format::kDigestAlgorithmOffset);
                 return true;
               }});
  r.push_back({"xxh3 digest tail", [](MetaDefect& d) {
                 if (d.meta.algorithm != DigestAlgorithm::kXxh3_128) return false;
                 size_t k = *gen::inRange<size_t>(16, 32);
                 uint8_t v = *gen::inRange<uint8_t>(1, 255);
                 d.bytes[format::kDigestOffset + k] = v;
                 fix_header(d);
                 d.defect = "xxh3-128 digest byte " + std::to_string(k) + " = " + hex(v);
                 expect(d, E::kReservedNotZero, "digest", v, format::kDigestOffset + k);
                 return true;
               }});
  r.push_back({"blob_offset", [](MetaDefect& d) {
                 uint64_t v = *gen::distinctFrom(gen::arbitrary<uint64_t>(), uint64_t{d.bytes.size()});
                 abi::store_le(d.bytes.data() + format::kBlobOffsetOffset, 8, v);
                 fix_header(d);
                 d.defect = "blob_offset = " + hex(v);
                 expect(d, E::kFieldOutOfRange, "blob_offset", v, format::kBlobOffsetOffset);
                 return true;
               }});
  r.push_back({"reserved byte", [](MetaDefect& d) {
                 std::vector<format::FieldInfo> reserved;
                 for (const auto& f : format::describe_fields(d.bytes)) {
                   if (f.name.find("reserved") != std::string::npos) reserved.push_back(f);
                 }
                 format::FieldInfo f = pick(reserved);
                 uint64_t at = f.offset + *gen::inRange<uint64_t>(0, f.size);
                 d.bytes[at] = *gen::inRange<uint8_t>(1, 255);
                 fix_header(d);
                 d.defect = f.name + " byte at " + hex(at) + " = " + hex(d.bytes[at]);
                 expect(d, E::kReservedNotZero, f.name, d.bytes[at], at);
                 return true;
               }});
  r.push_back({"padding byte", [](MetaDefect& d) {
                 auto fields = format::describe_fields(d.bytes);
                 if (fields.empty() || fields.back().name != "padding") return false;
                 const auto& f = fields.back();
                 uint64_t at = f.offset + *gen::inRange<uint64_t>(0, f.size);
                 d.bytes[at] = *gen::inRange<uint8_t>(1, 255);
                 fix_header(d);
                 d.defect = "padding byte at " + hex(at) + " = " + hex(d.bytes[at]);
                 expect(d, E::kReservedNotZero, "padding", d.bytes[at], at);
                 return true;
               }});
  r.push_back({"file shorter than the blob", [](MetaDefect& d) {
                 d.file_size -= *gen::inRange<uint64_t>(1, blob_size(d.meta) + 1);
                 d.defect =
                     "file size " + hex(d.file_size) + ", blob ends at " + hex(d.bytes.size() + blob_size(d.meta));
                 expect(d, E::kFileTooShort, "blob_size", blob_size(d.meta));
                 return true;
               }});
  r.push_back({"bytes after the blob", [](MetaDefect& d) {
                 d.file_size += *gen::inRange<uint64_t>(1, 1 << 20);
                 d.defect =
                     "file size " + hex(d.file_size) + ", blob ends at " + hex(d.bytes.size() + blob_size(d.meta));
                 expect(d, E::kFieldOutOfRange, "blob_size", blob_size(d.meta));
                 return true;
               }});
  return r;
}

std::vector<Rule> byte_rules() {
  std::vector<Rule> r;
  for (auto rules : {header_rules, tag_rules, blob_rules}) {
    for (Rule& rule : rules()) r.push_back(std::move(rule));
  }
  return r;
}

rc::Gen<MetaDefect> gen_meta_defect() {
  return gen::exec([] {
    static const std::vector<Rule> values = value_rules();
    static const std::vector<Rule> bytes = byte_rules();
    for (;;) {
      MetaDefect d;
      d.meta = *gen_valid_metadata();
      d.options = decode_options(d.meta);
      const bool in_bytes = *uniform(0, 3) == 0;
      const Rule& rule = in_bytes ? pick(bytes) : pick(values);
      d.rule = rule.first;
      if (in_bytes) {
        d.bytes = encode(d.meta);
        d.file_size = file_size(d.meta, d.bytes);
        if (!rule.second(d)) continue;
      } else {
        if (!rule.second(d)) continue;
        d.bytes = encode(d.meta);
        d.file_size = file_size(d.meta, d.bytes);
      }
      if (!d.offset) {
        for (const auto& f : format::describe_fields(d.bytes)) {
          if (f.name == d.field) {
            d.offset = f.offset;
            break;
          }
        }
      }
      return d;
    }
  });
}

RC_GTEST_PROP(SnapshotFormat, DefectsAreRefusedWithTheExactError, ()) {
  const MetaDefect d = *gen_meta_defect();
  RC_TAG(d.rule);
  auto got = format::decode_and_validate(d.bytes, d.file_size, d.options);
  if (got) RC_FAIL("accepted");
  const Error& e = got.error();
  RC_LOG() << "got: " << show_error(e) << "\n";
  RC_ASSERT(e.code == d.code);
  RC_ASSERT(e.field == d.field);
  RC_ASSERT(d.offset.has_value());
  RC_ASSERT(e.offset == d.offset);
  if (d.value) RC_ASSERT(e.value == d.value);
}

}  // namespace
}  // namespace snapvm::properties
