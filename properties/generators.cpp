// generators.cpp: the valid-value generators of generators.h.
#include "generators.h"

#include <algorithm>
#include <bit>
#include <cstring>

#include "memory/system_area.h"
#include "snapshot/memory_blob.h"
#include "snapshot/snapshot_access.h"
#include "snapvm/abi/layout.h"
#include "snapvm/abi/ports.h"
#include "snapvm/abi/wire.h"
#include "snapvm_harness/describe.h"
#include "support.h"

namespace snapvm::properties {

namespace gen = rc::gen;

namespace {

// A vector of at most `max` elements: usually size-scaled, sometimes any length up to the limit
// (so the limits themselves get tried), shrinking towards shorter.
template <typename T>
rc::Gen<std::vector<T>> bounded_vector(size_t max, rc::Gen<T> element, size_t scaled_weight = 6) {
  return gen::weightedOneOf<std::vector<T>>({{scaled_weight, gen::map(gen::container<std::vector<T>>(element),
                                                                      [max](std::vector<T> v) {
                                                                        if (v.size() > max) v.resize(max);
                                                                        return v;
                                                                      })},
                                             {1, gen::mapcat(gen::inRange<size_t>(0, max + 1), [element](size_t n) {
                                                return gen::container<std::vector<T>>(n, element);
                                              })}});
}

rc::Gen<uint32_t> gen_f32_bits() {
  return gen::weightedOneOf<uint32_t>(
      {{6, gen::arbitrary<uint32_t>()},
       {1, gen::element<uint32_t>(0x7fc00000u, 0x7f800001u, 0xffc00001u, 0x80000000u, 0x7f800000u, 0xff800000u, 1u)}});
}

rc::Gen<uint64_t> gen_f64_bits() {
  return gen::weightedOneOf<uint64_t>(
      {{6, gen::arbitrary<uint64_t>()},
       {1, gen::element<uint64_t>(0x7ff8000000000000ull, 0x7ff0000000000001ull, 0xfff8000000000001ull,
                                  0x8000000000000000ull, 0x7ff0000000000000ull, 1ull)}});
}

rc::Gen<uint64_t> gen_pages(uint64_t min_bytes, uint64_t max_bytes, uint64_t small_max_bytes) {
  return gen::weightedOneOf<uint64_t>(
      {{8, gen::map(gen::inRange<uint64_t>(min_bytes / abi::kPageSize, small_max_bytes / abi::kPageSize + 1),
                    [](uint64_t p) { return p * abi::kPageSize; })},
       {1, gen::map(gen::inRange<uint64_t>(min_bytes / abi::kPageSize, max_bytes / abi::kPageSize + 1),
                    [](uint64_t p) { return p * abi::kPageSize; })},
       {1, gen::element(min_bytes, max_bytes)}});
}

// Encoding-valid segment: every field inside its bit width.
rc::Gen<SegmentRegister> gen_any_segment() {
  return gen::build<SegmentRegister>(gen::set(&SegmentRegister::base), gen::set(&SegmentRegister::limit),
                                     gen::set(&SegmentRegister::selector),
                                     gen::set(&SegmentRegister::type, gen::inRange<uint8_t>(0, 16)),
                                     gen::set(&SegmentRegister::present, gen::inRange<uint8_t>(0, 2)),
                                     gen::set(&SegmentRegister::dpl, gen::inRange<uint8_t>(0, 4)),
                                     gen::set(&SegmentRegister::db, gen::inRange<uint8_t>(0, 2)),
                                     gen::set(&SegmentRegister::s, gen::inRange<uint8_t>(0, 2)),
                                     gen::set(&SegmentRegister::l, gen::inRange<uint8_t>(0, 2)),
                                     gen::set(&SegmentRegister::g, gen::inRange<uint8_t>(0, 2)),
                                     gen::set(&SegmentRegister::avl, gen::inRange<uint8_t>(0, 2)),
                                     gen::set(&SegmentRegister::unusable, gen::inRange<uint8_t>(0, 2)));
}

// Any bit set of `allowed`, shrinking towards none.
rc::Gen<uint64_t> gen_bits_of(uint64_t allowed) {
  return gen::map(gen::arbitrary<uint64_t>(), [allowed](uint64_t x) { return x & allowed; });
}

// The special registers snapvm sets, varied only where validate.cpp allows it.
rc::Gen<SpecialRegisters> gen_sane_sregs(uint64_t cr3) {
  return gen::exec([cr3] {
    SpecialRegisters s = initial_special_registers(cr3);
    constexpr uint64_t kCr0Am = 1ull << 18, kCr0Nw = 1ull << 29, kCr0Cd = 1ull << 30;
    uint64_t cr0 = kCr0Pe | kCr0Pg | *gen_bits_of(kCr0Mp | kCr0Et | kCr0Ne | kCr0Wp | kCr0Am | kCr0Cd);
    if ((cr0 & kCr0Cd) && *gen::arbitrary<bool>()) cr0 |= kCr0Nw;
    s.cr0 = cr0;
    s.cr2 = *gen::arbitrary<uint64_t>();
    s.cr4 = kCr4Pae | *gen_bits_of(kCr4Osfxsr | kCr4Osxmmexcpt);
    s.cr8 = *gen::inRange<uint64_t>(0, 16);
    s.efer = kEferLme | kEferLma | kEferNxe | *gen_bits_of(1);  // SCE optional
    s.apic_base = *gen::arbitrary<uint64_t>();
    for (SegmentRegister* seg : {&s.es, &s.fs, &s.gs, &s.ldt}) *seg = *gen_any_segment();
    s.cs.type = *gen::inRange<uint8_t>(8, 16);
    for (SegmentRegister* seg : {&s.ss, &s.ds}) seg->type = *gen::element<uint8_t>(2, 3, 6, 7);
    for (SegmentRegister* seg : {&s.cs, &s.ss, &s.ds}) {
      seg->base = *gen::arbitrary<uint64_t>();
      seg->limit = *gen::arbitrary<uint32_t>();
      seg->g = *gen::inRange<uint8_t>(0, 2);
      seg->avl = *gen::inRange<uint8_t>(0, 2);
    }
    for (SegmentRegister* seg : {&s.ss, &s.ds}) {
      seg->db = *gen::inRange<uint8_t>(0, 2);
      seg->l = *gen::inRange<uint8_t>(0, 2);
    }
    s.tr.dpl = *gen::inRange<uint8_t>(0, 4);
    s.tr.g = *gen::inRange<uint8_t>(0, 2);
    s.tr.avl = *gen::inRange<uint8_t>(0, 2);
    return s;
  });
}

rc::Gen<FpuState> gen_any_fpu(bool sane) {
  return gen::exec([sane] {
    FpuState f;
    for (auto& r : f.fpr) r = *gen::arbitrary<std::array<uint8_t, 16>>();
    for (auto& r : f.xmm) r = *gen::arbitrary<std::array<uint8_t, 16>>();
    f.fcw = *gen::arbitrary<uint16_t>();
    f.fsw = *gen::arbitrary<uint16_t>();
    f.ftwx = *gen::arbitrary<uint8_t>();
    f.last_opcode = *gen::arbitrary<uint16_t>();
    f.last_ip = *gen::arbitrary<uint64_t>();
    f.last_dp = *gen::arbitrary<uint64_t>();
    f.mxcsr = *gen::arbitrary<uint32_t>();
    if (sane) f.mxcsr &= 0xffff;
    return f;
  });
}

rc::Gen<GeneralRegisters> gen_any_regs() {
  return gen::exec([] {
    GeneralRegisters g;
    for (uint64_t* r : {&g.rax, &g.rbx, &g.rcx, &g.rdx, &g.rsi, &g.rdi, &g.rsp, &g.rbp, &g.r8, &g.r9, &g.r10, &g.r11,
                        &g.r12, &g.r13, &g.r14, &g.r15, &g.rip, &g.rflags}) {
      *r = *gen::arbitrary<uint64_t>();
    }
    return g;
  });
}

rc::Gen<std::string> gen_printable(size_t min, size_t max) {
  return gen::mapcat(gen::inRange<size_t>(min, max + 1),
                     [](size_t n) { return gen::container<std::string>(n, gen::inRange<char>(0x20, 0x7f)); });
}

// A function name as the manifest and the file format allow it: 1..max bytes, none a control
// character (below 0x20, or 0x7f); bytes 0x80-0xff (UTF-8) are allowed.
rc::Gen<std::string> gen_name(size_t min, size_t max) {
  auto byte = gen::weightedOneOf<char>(
      {{4, gen::inRange<char>(0x20, 0x7f)},
       {1, gen::map(gen::inRange<int>(0x80, 0x100), [](int c) { return static_cast<char>(c); })}});
  return gen::mapcat(gen::inRange<size_t>(min, max + 1),
                     [byte](size_t n) { return gen::container<std::string>(n, byte); });
}

// Sorted, disjoint image segments at or above 0x100000, never W+X, at least one executable.
rc::Gen<std::vector<Region>> gen_image(size_t max_segments, uint64_t max_pages) {
  return gen::exec([max_segments, max_pages] {
    size_t n = *gen::weightedOneOf<size_t>({{8, gen::inRange<size_t>(1, std::min<size_t>(max_segments, 4) + 1)},
                                            {1, gen::inRange<size_t>(1, max_segments + 1)}});
    std::vector<Region> image;
    uint64_t at = abi::kDefaultImageBase + *gen::inRange<uint64_t>(0, 4) * abi::kPageSize;
    for (size_t i = 0; i < n; ++i) {
      Region r;
      r.guest_address = at;
      r.size = *gen::inRange<uint64_t>(1, max_pages + 1) * abi::kPageSize;
      r.flags = *gen::element<uint32_t>(kRegionRead | kRegionExecute, kRegionRead, kRegionRead | kRegionWrite,
                                        kRegionExecute, 0u);
      r.kind = RegionKind::kImage;
      image.push_back(r);
      at = r.end() + *gen::inRange<uint64_t>(0, 3) * abi::kPageSize;
    }
    if (std::none_of(image.begin(), image.end(), [](const Region& r) { return (r.flags & kRegionExecute) != 0; })) {
      image[*gen::inRange<size_t>(0, n)].flags = kRegionRead | kRegionExecute;
    }
    return image;
  });
}

uint64_t gen_address_in(const std::vector<Region>& regions, uint32_t need_flags) {
  std::vector<Region> ok;
  for (const Region& r : regions) {
    if ((r.flags & need_flags) == need_flags) ok.push_back(r);
  }
  const Region& r = ok[*uniform<size_t>(0, ok.size())];
  return r.guest_address + *gen::inRange<uint64_t>(0, r.size);
}

// RFLAGS: bit 1 set; any of the bits validate.cpp does not reserve (not 3, 5, 15, 17 (VM), 22-63).
constexpr uint64_t kRflagsFree = 0x3fffffull & ~((1ull << 1) | (1ull << 3) | (1ull << 5) | (1ull << 15) | (1ull << 17));

rc::Gen<std::pair<DigestAlgorithm, Digest>> gen_digest() {
  return gen::map(
      gen::pair(gen::element(DigestAlgorithm::kBlake3_256, DigestAlgorithm::kXxh3_128), gen::arbitrary<Digest>()),
      [](std::pair<DigestAlgorithm, Digest> p) {
        if (p.first == DigestAlgorithm::kXxh3_128) std::fill(p.second.begin() + 16, p.second.end(), 0);
        return p;
      });
}

rc::Gen<std::string> gen_vendor() {
  return gen::weightedOneOf<std::string>(
      {{3, gen::element<std::string>("GenuineIntel", "AuthenticAMD")}, {1, gen_printable(1, format::kCpuVendorSize)}});
}

// A valid state for `layout` (and the stage): what a snapshot of a real sandbox could hold.
MetadataValue sane_metadata(Layout layout, uint64_t max_functions) {
  MetadataValue m;
  m.stage = *gen::element(SnapshotStage::kBeforeInit, SnapshotStage::kAfterInit);
  m.abi_version = abi::kAbiVersion;
  m.layout = std::move(layout);
  const Layout& l = m.layout;
  m.entrypoint = gen_address_in(l.regions, kRegionExecute);
  m.vcpu.sregs = *gen_sane_sregs(l.page_table_base);
  m.vcpu.regs = *gen_any_regs();
  m.vcpu.fpu = *gen_any_fpu(true);
  GeneralRegisters& g = m.vcpu.regs;
  if (m.stage == SnapshotStage::kAfterInit) {
    m.dispatch = gen_address_in(l.regions, kRegionExecute);
    g.rip = gen_address_in(l.regions, kRegionExecute);
  } else {
    m.dispatch = 0;
    g.rip = m.entrypoint;
  }
  g.rsp = l.stack_base + *gen::inRange<uint64_t>(0, l.config.stack_size + 1);
  g.rflags = (1ull << 1) | *gen_bits_of(kRflagsFree);
  auto fns = [max_functions] {
    return gen::map(gen_file_functions(), [max_functions](std::vector<FunctionInfo> v) {
      if (v.size() > max_functions) v.resize(max_functions);
      return v;
    });
  };
  m.guest_functions = *fns();
  m.host_functions = *fns();
  m.cpu_vendor = *gen_vendor();
  std::tie(m.algorithm, m.digest) = *gen_digest();
  return m;
}
}  // namespace

// ---- wire ----------------------------------------------------------------------------------------

rc::Gen<ValueType> gen_value_type() {
  return gen::map(gen::inRange<uint8_t>(0, abi::kValueTypeCount), [](uint8_t t) { return static_cast<ValueType>(t); });
}

rc::Gen<ValueType> gen_param_type() {
  return gen::map(gen::inRange<uint8_t>(1, abi::kValueTypeCount), [](uint8_t t) { return static_cast<ValueType>(t); });
}

rc::Gen<std::string> gen_wire_bytes_string(size_t max) {
  return gen::map(bounded_vector<uint8_t>(max, gen::arbitrary<uint8_t>()),
                  [](const std::vector<uint8_t>& b) { return std::string(b.begin(), b.end()); });
}

rc::Gen<Value> gen_value_of(ValueType t) {
  switch (t) {
    case ValueType::kVoid:
      return gen::just(Value{});
    case ValueType::kBool:
      return gen::map(gen::arbitrary<bool>(), [](bool b) { return Value{b}; });
    case ValueType::kI32:
      return gen::map(gen::arbitrary<int32_t>(), [](int32_t x) { return Value{x}; });
    case ValueType::kU32:
      return gen::map(gen::arbitrary<uint32_t>(), [](uint32_t x) { return Value{x}; });
    case ValueType::kI64:
      return gen::map(gen::arbitrary<int64_t>(), [](int64_t x) { return Value{x}; });
    case ValueType::kU64:
      return gen::map(gen::arbitrary<uint64_t>(), [](uint64_t x) { return Value{x}; });
    case ValueType::kF32:
      return gen::map(gen_f32_bits(), [](uint32_t b) { return Value{std::bit_cast<float>(b)}; });
    case ValueType::kF64:
      return gen::map(gen_f64_bits(), [](uint64_t b) { return Value{std::bit_cast<double>(b)}; });
    case ValueType::kString:
      return gen::map(gen_wire_bytes_string(300), [](std::string s) { return Value{std::move(s)}; });
    case ValueType::kBytes:
      return gen::map(bounded_vector<uint8_t>(300, gen::arbitrary<uint8_t>()),
                      [](Bytes b) { return Value{std::move(b)}; });
  }
  return gen::just(Value{});
}

rc::Gen<Value> gen_value() {
  return gen::mapcat(gen_value_type(), [](ValueType t) { return gen_value_of(t); });
}

rc::Gen<CallMessage> gen_call() {
  return gen::build<CallMessage>(gen::set(&CallMessage::magic, gen::element(abi::kCallMagic, abi::kHostCallMagic)),
                                 gen::set(&CallMessage::name, gen_wire_bytes_string(abi::kMaxNameLength)),
                                 gen::set(&CallMessage::args, bounded_vector<Value>(abi::kMaxArgs, gen_value())));
}

rc::Gen<TextRecordMessage> gen_text_record() {
  return gen::build<TextRecordMessage>(
      gen::set(&TextRecordMessage::magic, gen::element(abi::kLogMagic, abi::kAbortMagic)),
      gen::set(&TextRecordMessage::number), gen::set(&TextRecordMessage::text, gen_wire_bytes_string(600)));
}

rc::Gen<ManifestMessage> gen_manifest() {
  auto fn = gen::build<FunctionInfo>(
      gen::set(&FunctionInfo::name, gen_name(1, abi::kMaxNameLength)),
      gen::set(&FunctionInfo::signature,
               gen::build<Signature>(
                   gen::set(&Signature::result, gen_value_type()),
                   gen::set(&Signature::params, bounded_vector<ValueType>(abi::kMaxArgs, gen_param_type())))));
  auto list = gen::weightedOneOf<std::vector<FunctionInfo>>(
      {{12, gen::map(gen::container<std::vector<FunctionInfo>>(fn),
                     [](std::vector<FunctionInfo> v) {
                       if (v.size() > abi::kMaxFunctions) v.resize(abi::kMaxFunctions);
                       return v;
                     })},
       {1, gen::container<std::vector<FunctionInfo>>(abi::kMaxFunctions, fn)}});
  return gen::build<ManifestMessage>(gen::set(&ManifestMessage::guest, list), gen::set(&ManifestMessage::host, list));
}

// ---- metadata ------------------------------------------------------------------------------------

rc::Gen<std::vector<FunctionInfo>> gen_file_functions(NameBytes names) {
  // Mostly printable ASCII (readable counterexamples), else any allowed byte, 0x80-0xff included.
  const size_t printable_weight = names == NameBytes::kMostlyPrintable ? 3 : 0;
  auto name = gen::weightedOneOf<std::string>(
      {{printable_weight, gen_printable(1, abi::kMaxNameLength)}, {1, gen_name(1, abi::kMaxNameLength)}});
  auto fn = gen::build<FunctionInfo>(
      gen::set(&FunctionInfo::name, name),
      gen::set(&FunctionInfo::signature,
               gen::build<Signature>(
                   gen::set(&Signature::result, gen_value_type()),
                   gen::set(&Signature::params, bounded_vector<ValueType>(abi::kMaxArgs, gen_value_type())))));
  return bounded_vector<FunctionInfo>(abi::kMaxFunctions, fn, 20);
}

rc::Gen<MetadataValue> gen_valid_metadata() {
  return gen::exec([] {
    SandboxConfig c;
    c.heap_size = *gen_pages(SandboxConfig::kMinHeap, SandboxConfig::kMaxHeap, 1 * kMiB);
    c.stack_size = *gen_pages(SandboxConfig::kMinStack, SandboxConfig::kMaxStack, 256 * kKiB);
    c.input_size = *gen_pages(SandboxConfig::kMinBuffer, SandboxConfig::kMaxBuffer, 256 * kKiB);
    c.output_size = *gen_pages(SandboxConfig::kMinBuffer, SandboxConfig::kMaxBuffer, 256 * kKiB);
    std::vector<Region> image = *gen_image(kMaxRegions - 5, 64);
    auto layout = compute_layout(c, image);
    RC_ASSERT(layout.has_value());  // the generator's own bug if not
    return sane_metadata(std::move(*layout), abi::kMaxFunctions);
  });
}

rc::Gen<MetadataValue> gen_structural_metadata() {
  return gen::exec([] {
    MetadataValue m;
    m.stage = *gen::element(SnapshotStage::kBeforeInit, SnapshotStage::kAfterInit);
    m.abi_version = abi::kAbiVersion;
    Layout& l = m.layout;
    for (uint64_t* f : {&l.config.heap_size, &l.config.stack_size, &l.config.input_size, &l.config.output_size,
                        &l.image_base, &l.image_end, &l.input_base, &l.output_base, &l.heap_base, &l.stack_base,
                        &l.page_table_base, &l.page_table_size, &l.memory_size, &m.entrypoint, &m.dispatch}) {
      *f = *gen::arbitrary<uint64_t>();
    }
    auto region = gen::build<Region>(
        gen::set(&Region::guest_address), gen::set(&Region::size), gen::set(&Region::flags),
        gen::set(&Region::kind,
                 gen::map(gen::arbitrary<uint32_t>(), [](uint32_t k) { return static_cast<RegionKind>(k); })));
    l.regions = *bounded_vector<Region>(kMaxRegions, region);
    m.vcpu.regs = *gen_any_regs();
    SpecialRegisters& s = m.vcpu.sregs;
    for (SegmentRegister* seg : {&s.cs, &s.ds, &s.es, &s.fs, &s.gs, &s.ss, &s.tr, &s.ldt}) {
      *seg = *gen::build<SegmentRegister>(
          gen::set(&SegmentRegister::base), gen::set(&SegmentRegister::limit), gen::set(&SegmentRegister::selector),
          gen::set(&SegmentRegister::type), gen::set(&SegmentRegister::present), gen::set(&SegmentRegister::dpl),
          gen::set(&SegmentRegister::db), gen::set(&SegmentRegister::s), gen::set(&SegmentRegister::l),
          gen::set(&SegmentRegister::g), gen::set(&SegmentRegister::avl), gen::set(&SegmentRegister::unusable));
    }
    for (DescriptorTable* t : {&s.gdt, &s.idt}) {
      t->base = *gen::arbitrary<uint64_t>();
      t->limit = *gen::arbitrary<uint16_t>();
    }
    for (uint64_t* r : {&s.cr0, &s.cr2, &s.cr3, &s.cr4, &s.cr8, &s.efer, &s.apic_base})
      *r = *gen::arbitrary<uint64_t>();
    s.interrupt_bitmap = *gen::arbitrary<std::array<uint64_t, 4>>();
    m.vcpu.fpu = *gen_any_fpu(false);
    m.guest_functions = *gen_file_functions();
    m.host_functions = *gen_file_functions();
    m.cpu_vendor = *gen_vendor();
    std::tie(m.algorithm, m.digest) = *gen_digest();
    return m;
  });
}

const detail::SnapshotMetadata& to_metadata(const MetadataValue& m) { return m; }

std::vector<uint8_t> encode(const MetadataValue& m) {
  return format::encode_metadata(to_metadata(m), m.algorithm, m.digest);
}

uint64_t blob_size(const MetadataValue& m) {
  uint64_t sum = 0;
  for (const Region& r : m.layout.regions) sum += r.size;
  return sum;
}

uint64_t file_size(const MetadataValue& m, const std::vector<uint8_t>& metadata) {
  return metadata.size() + blob_size(m);
}

format::DecodeOptions decode_options(const MetadataValue& m) {
  format::DecodeOptions o;
  o.cpu_vendor = m.cpu_vendor;
  return o;
}

std::vector<std::string> metadata_differences(const MetadataValue& want, const format::DecodedSnapshotFile& got) {
  std::vector<std::string> out;
  auto diff = [&](const std::string& name, auto a, auto b) {
    if (!(a == b)) out.push_back(name + ": " + std::to_string(a) + " vs " + std::to_string(b));
  };
  const detail::SnapshotMetadata& d = got.meta;
  diff("stage", static_cast<uint32_t>(want.stage), static_cast<uint32_t>(d.stage));
  diff("abi_version", want.abi_version, d.abi_version);
  diff("entrypoint", want.entrypoint, d.entrypoint);
  diff("dispatch", want.dispatch, d.dispatch);
  const Layout &a = want.layout, &b = d.layout;
  diff("config.heap_size", a.config.heap_size, b.config.heap_size);
  diff("config.stack_size", a.config.stack_size, b.config.stack_size);
  diff("config.input_size", a.config.input_size, b.config.input_size);
  diff("config.output_size", a.config.output_size, b.config.output_size);
  diff("layout.image_base", a.image_base, b.image_base);
  diff("layout.image_end", a.image_end, b.image_end);
  diff("layout.input_base", a.input_base, b.input_base);
  diff("layout.output_base", a.output_base, b.output_base);
  diff("layout.heap_base", a.heap_base, b.heap_base);
  diff("layout.stack_base", a.stack_base, b.stack_base);
  diff("layout.page_table_base", a.page_table_base, b.page_table_base);
  diff("layout.page_table_size", a.page_table_size, b.page_table_size);
  diff("layout.memory_size", a.memory_size, b.memory_size);
  diff("regions.count", a.regions.size(), b.regions.size());
  uint64_t offset = 0;
  for (size_t i = 0; i < a.regions.size() && i < b.regions.size(); ++i) {
    std::string p = "regions[" + std::to_string(i) + "].";
    diff(p + "guest_address", a.regions[i].guest_address, b.regions[i].guest_address);
    diff(p + "size", a.regions[i].size, b.regions[i].size);
    diff(p + "flags", a.regions[i].flags, b.regions[i].flags);
    diff(p + "kind", static_cast<uint32_t>(a.regions[i].kind), static_cast<uint32_t>(b.regions[i].kind));
    if (i < got.region_offsets.size()) diff(p + "blob_offset", offset, got.region_offsets[i]);
    offset += a.regions[i].size;
  }
  diff("blob_size", blob_size(want), got.blob_size);
  if (!(want.vcpu == d.vcpu)) {
    auto fa = harness::register_fields(want.vcpu), fb = harness::register_fields(d.vcpu);
    for (size_t i = 0; i < fa.size() && i < fb.size(); ++i) {
      if (fa[i].second != fb[i].second)
        out.push_back("vcpu." + fa[i].first + ": " + fa[i].second + " vs " + fb[i].second);
    }
    if (out.empty()) out.push_back("vcpu: differs in a field register_fields does not name");
  }
  auto fns = [&](const char* name, const std::vector<FunctionInfo>& x, const std::vector<FunctionInfo>& y) {
    if (x == y) return;
    std::ostringstream o;
    o << name << ": " << x.size() << " vs " << y.size() << " functions";
    for (size_t i = 0; i < x.size() && i < y.size(); ++i) {
      if (!(x[i] == y[i])) {
        o << "; first difference at [" << i << "]: " << show_text(x[i].name) << " vs " << show_text(y[i].name);
        break;
      }
    }
    out.push_back(o.str());
  };
  fns("guest_functions", want.guest_functions, d.guest_functions);
  fns("host_functions", want.host_functions, d.host_functions);
  if (want.hypervisor != d.hypervisor) out.push_back("hypervisor: " + want.hypervisor + " vs " + d.hypervisor);
  if (want.cpu_vendor != d.cpu_vendor) out.push_back("cpu_vendor: " + want.cpu_vendor + " vs " + d.cpu_vendor);
  if (!d.digest_algorithm || *d.digest_algorithm != want.algorithm) out.push_back("digest_algorithm differs");
  if (!d.digest || *d.digest != want.digest) out.push_back("digest differs");
  return out;
}

void showValue(const MetadataValue& m, std::ostream& os) {
  const Layout& l = m.layout;
  os << "{stage " << static_cast<int>(m.stage) << ", config heap " << hex(l.config.heap_size) << " stack "
     << hex(l.config.stack_size) << " in " << hex(l.config.input_size) << " out " << hex(l.config.output_size)
     << ", regions [";
  for (size_t i = 0; i < l.regions.size(); ++i) {
    const Region& r = l.regions[i];
    os << (i ? " " : "") << hex(r.guest_address) << "+" << hex(r.size) << ":" << region_flags_string(r.flags) << "/"
       << static_cast<uint32_t>(r.kind);
  }
  os << "], entry " << hex(m.entrypoint) << ", dispatch " << hex(m.dispatch) << ", rip " << hex(m.vcpu.regs.rip)
     << ", rsp " << hex(m.vcpu.regs.rsp) << ", rflags " << hex(m.vcpu.regs.rflags) << ", cr0 " << hex(m.vcpu.sregs.cr0)
     << ", cr4 " << hex(m.vcpu.sregs.cr4) << ", efer " << hex(m.vcpu.sregs.efer) << ", " << m.guest_functions.size()
     << "+" << m.host_functions.size() << " functions";
  if (!m.guest_functions.empty()) os << " (first " << show_text(m.guest_functions[0].name) << ")";
  os << ", vendor " << show_text(m.cpu_vendor) << ", " << digest_algorithm_name(m.algorithm) << "}";
}

// ---- whole snapshots ------------------------------------------------------------------------------

rc::Gen<SnapshotSpec> gen_snapshot_spec() {
  return gen::exec([] {
    SandboxConfig c;
    c.heap_size = *gen::inRange<uint64_t>(4, 17) * abi::kPageSize;
    c.stack_size = *gen::inRange<uint64_t>(4, 9) * abi::kPageSize;
    c.input_size = *gen::inRange<uint64_t>(1, 3) * abi::kPageSize;
    c.output_size = *gen::inRange<uint64_t>(1, 3) * abi::kPageSize;
    auto layout = compute_layout(c, *gen_image(3, 3));
    RC_ASSERT(layout.has_value());
    SnapshotSpec s;
    s.meta = sane_metadata(std::move(*layout), 4);
    s.meta.cpu_vendor = format::host_cpu_vendor();  // loaded on this machine
    auto write =
        gen::build<MemoryWrite>(gen::set(&MemoryWrite::region), gen::set(&MemoryWrite::offset),
                                gen::set(&MemoryWrite::bytes, bounded_vector<uint8_t>(64, gen::arbitrary<uint8_t>())));
    s.writes = *bounded_vector<MemoryWrite>(24, write);
    return s;
  });
}

void showValue(const SnapshotSpec& s, std::ostream& os) {
  showValue(s.meta, os);
  os << " with writes [";
  for (size_t i = 0; i < s.writes.size(); ++i) {
    const MemoryWrite& w = s.writes[i];
    os << (i ? ", " : "") << "region " << w.region << " +" << hex(w.offset) << " " << show_bytes(w.bytes, 8);
  }
  os << "]";
}

Result<Snapshot> make_snapshot(const SnapshotSpec& spec) {
  const std::vector<Region>& regions = spec.meta.layout.regions;
  std::vector<std::vector<uint8_t>> bytes;
  for (const Region& r : regions) bytes.emplace_back(r.size, 0);
  for (const MemoryWrite& w : spec.writes) {
    std::vector<uint8_t>& b = bytes[w.region % regions.size()];
    uint64_t at = w.offset % b.size();
    for (size_t k = 0; k < w.bytes.size() && at + k < b.size(); ++k) b[at + k] = w.bytes[k];
  }
  std::vector<std::span<const uint8_t>> spans(bytes.begin(), bytes.end());
  auto data = std::make_shared<detail::SnapshotData>();
  data->meta = to_metadata(spec.meta);
  data->memory = TRY(detail::make_memory_blob(spans));
  data->lineage = 1;
  return detail::make_snapshot(std::move(data));
}

}  // namespace snapvm::properties
