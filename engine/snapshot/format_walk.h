// format_walk.h: the one walk over a format 1 or 2 file's fields (format.h draws them) and the visitors
// it drives: Writer (encode), Reader (decode, or record each field's place) and Layouter (the fixed
// offsets). format.cpp alone includes it, so encoder, decoder and field table cannot disagree.
#pragma once

#include <algorithm>
#include <bit>
#include <cstring>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "snapshot/format.h"
#include "snapvm/abi/ports.h"
#include "snapvm/abi/wire.h"

static_assert(std::endian::native == std::endian::little, "the visitors copy little-endian fields with memcpy");

namespace snapvm::format::walk {

using detail::SnapshotMetadata;

// A field's name, built only when an error or the field table needs it: a[i].b[j].
struct Name {
  const char* a;
  int i = -1;
  const char* b = nullptr;
  int j = -1;
  std::string str() const {
    std::string s = a;
    if (i >= 0) s += "[" + std::to_string(i) + "]";
    if (b != nullptr) s += std::string(".") + b;
    if (j >= 0) s += "[" + std::to_string(j) + "]";
    return s;
  }
};

// Values the file holds in another form than SnapshotMetadata.
struct Raw {
  std::array<uint8_t, 8> magic{};
  std::array<uint8_t, 8> architecture{}, hypervisor{};
  std::array<uint8_t, kCpuVendorSize> cpu_vendor{};
  uint32_t stage = 0, digest_algorithm = 0;
  Digest digest{};
};

// ---- visitors ------------------------------------------------------------------------------------

class Writer {
 public:
  template <class T>
  void field(Name, const T& v) {
    static_assert(std::is_trivially_copyable_v<T>);
    const auto* p = reinterpret_cast<const uint8_t*>(&v);
    out.insert(out.end(), p, p + sizeof(T));
  }
  void reserved(Name, size_t n) { out.insert(out.end(), n, 0); }
  void string(Name, std::string& s, size_t n) { out.insert(out.end(), s.begin(), s.begin() + std::min(n, s.size())); }
  bool check(bool, ErrorCode, uint64_t, const char*) { return true; }
  uint64_t position() const { return out.size(); }
  std::vector<uint8_t> out;
};

// Reads fields from [0, limit). In decode mode a failed read or check records a typed error; in
// describe mode it records each field's place and stops quietly at the first failure.
class Reader {
 public:
  Reader(std::span<const uint8_t> bytes, std::vector<FieldInfo>* fields) : bytes_(bytes), fields_(fields) {}

  template <class T>
  void field(Name n, T& v) {
    static_assert(std::is_trivially_copyable_v<T>);
    if (const uint8_t* p = take(n, sizeof(T))) std::memcpy(&v, p, sizeof(T));
  }
  void reserved(Name n, size_t size) {
    const uint8_t* p = take(n, size);
    if (p == nullptr || fields_ != nullptr) return;
    for (size_t k = 0; k < size; ++k) {
      if (p[k] != 0) {
        fail(field_error(ErrorCode::kReservedNotZero, n.str(), last_ + k, p[k], "reserved: must be zero"));
        return;
      }
    }
  }
  void string(Name n, std::string& s, size_t size) {
    if (const uint8_t* p = take(n, size)) s.assign(reinterpret_cast<const char*>(p), size);
  }
  // A check on the field just read: counts and lengths before they drive a loop or an allocation.
  bool check(bool ok, ErrorCode code, uint64_t value, const char* expected) {
    if (failed()) return false;
    if (ok) return true;
    stopped_ = true;
    if (fields_ == nullptr) error = field_error(code, last_name_.str(), last_, value, expected);
    return false;
  }

  bool failed() const { return stopped_ || error.has_value(); }
  uint64_t position() const { return pos_; }
  std::optional<Error> error;

 private:
  const uint8_t* take(Name n, size_t size) {
    if (failed()) return nullptr;
    if (size > bytes_.size() - pos_) {
      stopped_ = true;
      if (fields_ == nullptr) {
        error = field_error(ErrorCode::kFileTooShort, n.str(), pos_, bytes_.size(),
                            "the metadata (header_length " + hex(bytes_.size()) + " bytes) ends inside this field");
      }
      return nullptr;
    }
    if (fields_ != nullptr) fields_->push_back(FieldInfo{n.str(), pos_, size});
    last_ = pos_;
    last_name_ = n;
    pos_ += size;
    return bytes_.data() + last_;
  }
  void fail(Error e) {
    if (!error) error = std::move(e);
  }

  std::span<const uint8_t> bytes_;
  std::vector<FieldInfo>* fields_;
  uint64_t pos_ = 0, last_ = 0;
  Name last_name_{""};
  bool stopped_ = false;
};

// Measures offsets without bytes: builds the table of fixed fields.
class Layouter {
 public:
  template <class T>
  void field(Name n, const T&) {
    add(n, sizeof(T));
  }
  void reserved(Name n, size_t size) { add(n, size); }
  void add(Name n, size_t size) {
    fields.push_back(FieldInfo{n.str(), pos, size});
    pos += size;
  }
  std::vector<FieldInfo> fields;
  uint64_t pos = 0;
};

// ---- the walk ------------------------------------------------------------------------------------

#define SNAPVM_SEGMENT(SEG)                                  \
  v.field(Name{"sregs." #SEG ".base"}, sr.SEG.base);         \
  v.field(Name{"sregs." #SEG ".limit"}, sr.SEG.limit);       \
  v.field(Name{"sregs." #SEG ".selector"}, sr.SEG.selector); \
  v.field(Name{"sregs." #SEG ".type"}, sr.SEG.type);         \
  v.field(Name{"sregs." #SEG ".present"}, sr.SEG.present);   \
  v.field(Name{"sregs." #SEG ".dpl"}, sr.SEG.dpl);           \
  v.field(Name{"sregs." #SEG ".db"}, sr.SEG.db);             \
  v.field(Name{"sregs." #SEG ".s"}, sr.SEG.s);               \
  v.field(Name{"sregs." #SEG ".l"}, sr.SEG.l);               \
  v.field(Name{"sregs." #SEG ".g"}, sr.SEG.g);               \
  v.field(Name{"sregs." #SEG ".avl"}, sr.SEG.avl);           \
  v.field(Name{"sregs." #SEG ".unusable"}, sr.SEG.unusable); \
  v.reserved(Name{"sregs." #SEG ".reserved"}, 1)

// Everything up to and including the region count: fixed offsets.
template <class V>
void walk_fixed(V& v, DecodedSnapshotFile& f, Raw& raw, uint32_t& region_count) {
  SnapshotMetadata& d = f.meta;
  v.field(Name{"magic"}, raw.magic);
  v.field(Name{"format_version"}, f.format_version);
  v.field(Name{"header_length"}, f.header_length);
  v.field(Name{"header_checksum"}, f.header_checksum);
  v.field(Name{"architecture"}, raw.architecture);
  v.field(Name{"abi_version"}, d.abi_version);
  v.field(Name{"stage"}, raw.stage);
  v.field(Name{"hypervisor"}, raw.hypervisor);
  v.field(Name{"cpu_vendor"}, raw.cpu_vendor);
  v.reserved(Name{"platform.reserved"}, 4);
  v.field(Name{"blob_offset"}, f.blob_offset);
  v.field(Name{"blob_size"}, f.blob_size);
  v.field(Name{"digest_algorithm"}, raw.digest_algorithm);
  v.reserved(Name{"blob.reserved"}, 4);
  v.field(Name{"digest"}, raw.digest);

  Layout& l = d.layout;
  v.field(Name{"config.heap_size"}, l.config.heap_size);
  v.field(Name{"config.stack_size"}, l.config.stack_size);
  v.field(Name{"config.input_size"}, l.config.input_size);
  v.field(Name{"config.output_size"}, l.config.output_size);
  v.field(Name{"layout.image_base"}, l.image_base);
  v.field(Name{"layout.image_end"}, l.image_end);
  v.field(Name{"layout.input_base"}, l.input_base);
  v.field(Name{"layout.output_base"}, l.output_base);
  v.field(Name{"layout.heap_base"}, l.heap_base);
  v.field(Name{"layout.stack_base"}, l.stack_base);
  v.field(Name{"layout.page_table_base"}, l.page_table_base);
  v.field(Name{"layout.page_table_size"}, l.page_table_size);
  v.field(Name{"layout.memory_size"}, l.memory_size);
  v.field(Name{"entrypoint"}, d.entrypoint);
  v.field(Name{"dispatch"}, d.dispatch);

  GeneralRegisters& g = d.vcpu.regs;
  v.field(Name{"regs.rax"}, g.rax);
  v.field(Name{"regs.rbx"}, g.rbx);
  v.field(Name{"regs.rcx"}, g.rcx);
  v.field(Name{"regs.rdx"}, g.rdx);
  v.field(Name{"regs.rsi"}, g.rsi);
  v.field(Name{"regs.rdi"}, g.rdi);
  v.field(Name{"regs.rsp"}, g.rsp);
  v.field(Name{"regs.rbp"}, g.rbp);
  v.field(Name{"regs.r8"}, g.r8);
  v.field(Name{"regs.r9"}, g.r9);
  v.field(Name{"regs.r10"}, g.r10);
  v.field(Name{"regs.r11"}, g.r11);
  v.field(Name{"regs.r12"}, g.r12);
  v.field(Name{"regs.r13"}, g.r13);
  v.field(Name{"regs.r14"}, g.r14);
  v.field(Name{"regs.r15"}, g.r15);
  v.field(Name{"regs.rip"}, g.rip);
  v.field(Name{"regs.rflags"}, g.rflags);

  SpecialRegisters& sr = d.vcpu.sregs;
  SNAPVM_SEGMENT(cs);
  SNAPVM_SEGMENT(ds);
  SNAPVM_SEGMENT(es);
  SNAPVM_SEGMENT(fs);
  SNAPVM_SEGMENT(gs);
  SNAPVM_SEGMENT(ss);
  SNAPVM_SEGMENT(tr);
  SNAPVM_SEGMENT(ldt);
  v.field(Name{"sregs.gdt.base"}, sr.gdt.base);
  v.field(Name{"sregs.gdt.limit"}, sr.gdt.limit);
  v.reserved(Name{"sregs.gdt.reserved"}, 6);
  v.field(Name{"sregs.idt.base"}, sr.idt.base);
  v.field(Name{"sregs.idt.limit"}, sr.idt.limit);
  v.reserved(Name{"sregs.idt.reserved"}, 6);
  v.field(Name{"sregs.cr0"}, sr.cr0);
  v.field(Name{"sregs.cr2"}, sr.cr2);
  v.field(Name{"sregs.cr3"}, sr.cr3);
  v.field(Name{"sregs.cr4"}, sr.cr4);
  v.field(Name{"sregs.cr8"}, sr.cr8);
  v.field(Name{"sregs.efer"}, sr.efer);
  v.field(Name{"sregs.apic_base"}, sr.apic_base);
  v.field(Name{"sregs.interrupt_bitmap"}, sr.interrupt_bitmap);

  FpuState& fp = d.vcpu.fpu;
  static_assert(sizeof(fp.fpr) == 128 && sizeof(fp.xmm) == 256);
  v.field(Name{"fpu.fpr"}, fp.fpr);
  v.field(Name{"fpu.fcw"}, fp.fcw);
  v.field(Name{"fpu.fsw"}, fp.fsw);
  v.field(Name{"fpu.ftwx"}, fp.ftwx);
  v.reserved(Name{"fpu.reserved"}, 1);
  v.field(Name{"fpu.last_opcode"}, fp.last_opcode);
  v.field(Name{"fpu.last_ip"}, fp.last_ip);
  v.field(Name{"fpu.last_dp"}, fp.last_dp);
  v.field(Name{"fpu.xmm"}, fp.xmm);
  v.field(Name{"fpu.mxcsr"}, fp.mxcsr);
  v.reserved(Name{"fpu.reserved2"}, 4);

  v.field(Name{"regions.count"}, region_count);
}
#undef SNAPVM_SEGMENT

template <class V>
void walk_regions(V& v, DecodedSnapshotFile& f, uint32_t count) {
  // The cap here bounds the allocation; validate.cpp also rejects a count of zero.
  if (!v.check(count <= kMaxRegions, ErrorCode::kFieldOutOfRange, count, "at most 64 regions")) return;
  v.reserved(Name{"regions.reserved"}, 4);
  f.meta.layout.regions.resize(count);
  f.region_offsets.resize(count);
  for (int i = 0; i < static_cast<int>(count); ++i) {
    Region& r = f.meta.layout.regions[i];
    v.field(Name{"regions", i, "guest_address"}, r.guest_address);
    v.field(Name{"regions", i, "size"}, r.size);
    v.field(Name{"regions", i, "blob_offset"}, f.region_offsets[i]);
    v.field(Name{"regions", i, "flags"}, r.flags);
    v.field(Name{"regions", i, "kind"}, r.kind);
  }
}

template <class V>
void walk_functions(V& v, const char* list, const char* count_name, std::vector<FunctionInfo>& fns) {
  auto count = static_cast<uint32_t>(fns.size());
  v.field(Name{count_name}, count);
  if (!v.check(count <= abi::kMaxFunctions, ErrorCode::kFieldOutOfRange, count, "at most 256 functions")) return;
  fns.resize(count);
  for (int i = 0; i < static_cast<int>(count); ++i) {
    FunctionInfo& fn = fns[i];
    auto length = static_cast<uint16_t>(fn.name.size());
    v.field(Name{list, i, "name_length"}, length);
    if (!v.check(length > 0 && length <= abi::kMaxNameLength, ErrorCode::kFieldOutOfRange, length,
                 "a name of 1 to 128 bytes")) {
      return;
    }
    v.string(Name{list, i, "name"}, fn.name, length);
    auto control = std::find_if(fn.name.begin(), fn.name.end(), [](char c) {
      // As unsigned bytes: names may be UTF-8 (0x80-0xff), only C0 controls and DEL are refused.
      const auto b = static_cast<uint8_t>(c);
      return b < 0x20 || b == 0x7f;
    });
    if (!v.check(control == fn.name.end(), ErrorCode::kFieldOutOfRange,
                 control == fn.name.end() ? 0 : static_cast<uint8_t>(*control), "a name without control characters")) {
      return;
    }
    auto result = static_cast<uint8_t>(fn.signature.result);
    v.field(Name{list, i, "result"}, result);
    if (!v.check(result < abi::kValueTypeCount, ErrorCode::kFieldOutOfRange, result, "a value type below 10")) return;
    fn.signature.result = static_cast<ValueType>(result);
    auto params = static_cast<uint8_t>(fn.signature.params.size());
    v.field(Name{list, i, "param_count"}, params);
    if (!v.check(params <= abi::kMaxArgs, ErrorCode::kFieldOutOfRange, params, "at most 16 parameters")) return;
    fn.signature.params.resize(params);
    for (int j = 0; j < params; ++j) {
      auto t = static_cast<uint8_t>(fn.signature.params[j]);
      v.field(Name{list, i, "params", j}, t);
      if (!v.check(t < abi::kValueTypeCount, ErrorCode::kFieldOutOfRange, t, "a value type below 10")) return;
      fn.signature.params[j] = static_cast<ValueType>(t);
    }
  }
}

// Format 2's descriptor of the chunk table (after the functions, so every format 1 offset stays).
template <class V>
void walk_chunk_descriptor(V& v, DecodedSnapshotFile& f) {
  if (!f.chunks) f.chunks.emplace();
  f.chunks_descriptor_offset = v.position();
  v.field(Name{"chunks.chunk_size"}, f.chunks->chunk_size);
  v.field(Name{"chunks.table_offset"}, f.chunks->table_offset);
  v.field(Name{"chunks.count"}, f.chunks->entry_count);
  v.reserved(Name{"chunks.reserved"}, 4);
}

template <class V>
void walk_variable(V& v, DecodedSnapshotFile& f, uint32_t region_count) {
  walk_regions(v, f, region_count);
  walk_functions(v, "guest_functions", "guest_functions.count", f.meta.guest_functions);
  walk_functions(v, "host_functions", "host_functions.count", f.meta.host_functions);
  if (f.format_version >= 2) walk_chunk_descriptor(v, f);
}

}  // namespace snapvm::format::walk
