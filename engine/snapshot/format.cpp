// format.cpp: format v1 codec. One walk over the fields drives the encoder, the decoder and the field
// table (describe_fields), so the three cannot disagree about where a field is.
#include "snapshot/format.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <type_traits>

#include "snapshot/digest.h"
#include "snapvm/abi/byte_order.h"
#include "snapvm/abi/layout.h"
#include "snapvm/abi/ports.h"
#include "snapvm/abi/wire.h"
#include "xxhash.h"

static_assert(std::endian::native == std::endian::little, "the codec copies little-endian fields with memcpy");

namespace snapvm::format {

namespace {
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

template <size_t N>
std::array<uint8_t, N> make_tag(std::string_view s) {
  std::array<uint8_t, N> t{};
  std::memcpy(t.data(), s.data(), std::min(s.size(), N));
  return t;
}

// The first (up to) 8 bytes of a tag or a short read, as errors report them.
uint64_t le_prefix(const uint8_t* p, size_t n) { return abi::load_le(p, std::min<size_t>(n, 8)); }

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

template <class V>
void walk_variable(V& v, DecodedSnapshotFile& f, uint32_t region_count) {
  walk_regions(v, f, region_count);
  walk_functions(v, "guest_functions", "guest_functions.count", f.meta.guest_functions);
  walk_functions(v, "host_functions", "host_functions.count", f.meta.host_functions);
}

const std::vector<FieldInfo>& fixed_fields() {
  static const std::vector<FieldInfo> table = [] {
    Layouter l;
    DecodedSnapshotFile f;
    Raw raw;
    uint32_t count = 0;
    walk_fixed(l, f, raw, count);
    l.reserved(Name{"regions.reserved"}, 4);
    return std::move(l.fields);
  }();
  return table;
}

// ---- decode checks ---------------------------------------------------------------------------------

Error at(ErrorCode code, const std::string& field, uint64_t value, std::string expected) {
  return field_error(code, field, field_offset(field).value_or(0), value, std::move(expected));
}

// A NUL-padded tag: the text up to the first NUL; every byte after it must be NUL too.
template <size_t N>
Result<std::string> read_tag(const std::array<uint8_t, N>& t, const char* field) {
  size_t n = 0;
  while (n < N && t[n] != 0) ++n;
  for (size_t k = n; k < N; ++k) {
    if (t[k] != 0) return at(ErrorCode::kReservedNotZero, field, le_prefix(t.data(), N), "NUL padding after the text");
  }
  return std::string(reinterpret_cast<const char*>(t.data()), n);
}

// The structural half of the platform and blob fields: tags NUL padded, stage and digest algorithm
// known values, the digest's unused bytes zero, the blob right after the metadata. Whether the tags
// and abi_version match this snapvm and this machine is validate.cpp's platform rule.
Status read_platform(DecodedSnapshotFile& f, const Raw& raw) {
  f.architecture = TRY(read_tag(raw.architecture, "architecture"));
  if (raw.stage != static_cast<uint32_t>(SnapshotStage::kBeforeInit) &&
      raw.stage != static_cast<uint32_t>(SnapshotStage::kAfterInit)) {
    return at(ErrorCode::kFieldOutOfRange, "stage", raw.stage, "1 (before init) or 2 (after init)");
  }
  f.meta.hypervisor = TRY(read_tag(raw.hypervisor, "hypervisor"));
  f.meta.cpu_vendor = TRY(read_tag(raw.cpu_vendor, "cpu_vendor"));
  if (!is_known_digest_algorithm(raw.digest_algorithm)) {
    return at(ErrorCode::kFieldOutOfRange, "digest_algorithm", raw.digest_algorithm, "1 (blake3-256) or 2 (xxh3-128)");
  }
  if (raw.digest_algorithm == static_cast<uint32_t>(DigestAlgorithm::kXxh3_128)) {
    for (size_t k = 16; k < raw.digest.size(); ++k) {
      if (raw.digest[k] != 0) {
        return field_error(ErrorCode::kReservedNotZero, "digest", kDigestOffset + k, raw.digest[k],
                           "xxh3-128 uses 16 bytes; the other 16 must be zero");
      }
    }
  }
  if (f.blob_offset != f.header_length) {
    return at(ErrorCode::kFieldOutOfRange, "blob_offset", f.blob_offset,
              "the blob starts right after the metadata, at header_length " + hex(f.header_length));
  }
  f.meta.stage = static_cast<SnapshotStage>(raw.stage);
  f.meta.digest_algorithm = static_cast<DigestAlgorithm>(raw.digest_algorithm);
  f.meta.digest = raw.digest;
  return {};
}

}  // namespace

uint64_t compute_header_checksum(std::span<const uint8_t> header) {
  static constexpr uint8_t kZero[8] = {};
  XXH3_state_t* s = XXH3_createState();
  XXH3_64bits_reset(s);
  size_t first = std::min<size_t>(header.size(), kChecksumOffset);
  XXH3_64bits_update(s, header.data(), first);
  if (header.size() > kChecksumOffset) {
    size_t field = std::min<size_t>(header.size() - kChecksumOffset, 8);
    XXH3_64bits_update(s, kZero, field);
    if (header.size() > kChecksumOffset + 8) {
      XXH3_64bits_update(s, header.data() + kChecksumOffset + 8, header.size() - kChecksumOffset - 8);
    }
  }
  uint64_t h = XXH3_64bits_digest(s);
  XXH3_freeState(s);
  return h;
}

Result<uint32_t> check_fixed_header(std::span<const uint8_t> bytes, uint64_t file_size) {
  uint64_t have = std::min<uint64_t>(bytes.size(), file_size);
  if (have < kMagic.size()) {
    if (have > 0 && std::memcmp(bytes.data(), kMagic.data(), have) != 0) {
      return field_error(ErrorCode::kBadMagic, "magic", 0, le_prefix(bytes.data(), have),
                         "not a snapvm snapshot file (no \\x89SNAPVM\\n magic)");
    }
    return field_error(ErrorCode::kFileTooShort, "magic", 0, file_size, "the file ends inside the magic");
  }
  if (std::memcmp(bytes.data(), kMagic.data(), kMagic.size()) != 0) {
    return field_error(ErrorCode::kBadMagic, "magic", 0, le_prefix(bytes.data(), 8),
                       "not a snapvm snapshot file (expected the magic \\x89SNAPVM\\n)");
  }
  if (have < kVersionOffset + 4) {
    return field_error(ErrorCode::kFileTooShort, "format_version", kVersionOffset, file_size, "the file ends here");
  }
  const auto version = abi::load_le<uint32_t>(bytes.data() + kVersionOffset);
  if (version > kFormatVersion) {
    return field_error(ErrorCode::kNewerFormat, "format_version", kVersionOffset, version,
                       "format " + std::to_string(version) +
                           " was written by a newer snapvm; this snapvm reads format " +
                           std::to_string(kFormatVersion) + ": upgrade snapvm");
  }
  if (version < kFormatVersion) {
    return field_error(ErrorCode::kOlderFormat, "format_version", kVersionOffset, version,
                       "format " + std::to_string(version) + " is not read by this snapvm (format " +
                           std::to_string(kFormatVersion) + "): regenerate the snapshot from the guest binary");
  }
  if (have < kHeaderLengthOffset + 4) {
    return field_error(ErrorCode::kFileTooShort, "header_length", kHeaderLengthOffset, file_size, "the file ends here");
  }
  const auto length = abi::load_le<uint32_t>(bytes.data() + kHeaderLengthOffset);
  if (length < abi::kPageSize || length > kMaxHeaderLength) {
    return field_error(ErrorCode::kFieldOutOfRange, "header_length", kHeaderLengthOffset, length,
                       "between 4096 and " + std::to_string(kMaxHeaderLength) + " bytes");
  }
  if (length % abi::kPageSize != 0) {
    return field_error(ErrorCode::kMisaligned, "header_length", kHeaderLengthOffset, length,
                       "a multiple of 4096 (the blob starts page aligned right after the metadata)");
  }
  if (length > file_size) {
    return field_error(ErrorCode::kFileTooShort, "header_length", kHeaderLengthOffset, length,
                       "the file has only " + std::to_string(file_size) + " bytes");
  }
  if (have < kFixedHeaderSize) {
    return field_error(ErrorCode::kFileTooShort, "header_checksum", kChecksumOffset, file_size, "the file ends here");
  }
  return length;
}

std::vector<uint8_t> encode_metadata(const SnapshotMetadata& s, DigestAlgorithm algorithm, const Digest& digest) {
  DecodedSnapshotFile f;
  f.format_version = kFormatVersion;
  f.meta = s;
  for (const Region& r : s.layout.regions) {
    f.region_offsets.push_back(f.blob_size);
    f.blob_size += r.size;
  }
  Raw raw;
  raw.magic = kMagic;
  raw.architecture = make_tag<8>(kArchitecture);
  raw.hypervisor = make_tag<8>(s.hypervisor.empty() ? kHypervisor : s.hypervisor);
  raw.cpu_vendor = make_tag<kCpuVendorSize>(s.cpu_vendor.empty() ? host_cpu_vendor() : s.cpu_vendor);
  raw.stage = static_cast<uint32_t>(s.stage);
  raw.digest_algorithm = static_cast<uint32_t>(algorithm);
  raw.digest = digest;
  if (algorithm == DigestAlgorithm::kXxh3_128) std::fill(raw.digest.begin() + 16, raw.digest.end(), 0);

  Writer w;
  auto count = static_cast<uint32_t>(s.layout.regions.size());
  walk_fixed(w, f, raw, count);
  walk_variable(w, f, count);
  uint64_t length = (w.out.size() + abi::kPageSize - 1) / abi::kPageSize * abi::kPageSize;
  w.out.resize(length, 0);
  abi::store_le(&w.out[kHeaderLengthOffset], static_cast<uint32_t>(length));
  abi::store_le(&w.out[kBlobOffsetOffset], length);
  abi::store_le(&w.out[kChecksumOffset], compute_header_checksum(w.out));
  return std::move(w.out);
}

Result<DecodedSnapshotFile> decode_metadata(std::span<const uint8_t> bytes, uint64_t file_size) {
  uint32_t length = TRY(check_fixed_header(bytes, file_size));
  if (bytes.size() < length) {
    return field_error(ErrorCode::kFileTooShort, "header_length", kHeaderLengthOffset, length,
                       "only " + std::to_string(bytes.size()) + " bytes of metadata were read");
  }
  std::span<const uint8_t> header = bytes.first(length);
  const auto stored = abi::load_le<uint64_t>(header.data() + kChecksumOffset);
  uint64_t computed = compute_header_checksum(header);
  if (stored != computed) {
    return field_error(ErrorCode::kHeaderChecksum, "header_checksum", kChecksumOffset, stored,
                       "the metadata hashes to " + hex(computed) + " (XXH3-64): the header is corrupt");
  }

  Reader r(header, nullptr);
  DecodedSnapshotFile f;
  Raw raw;
  uint32_t count = 0;
  walk_fixed(r, f, raw, count);
  if (r.error) return std::move(*r.error);
  TRY(read_platform(f, raw));
  walk_variable(r, f, count);
  if (r.error) return std::move(*r.error);

  uint64_t end = r.position();
  if ((end + abi::kPageSize - 1) / abi::kPageSize * abi::kPageSize != length) {
    return field_error(ErrorCode::kFieldOutOfRange, "header_length", kHeaderLengthOffset, length,
                       "the metadata ends at " + hex(end) + ": header_length is the next page boundary");
  }
  for (uint64_t k = end; k < length; ++k) {
    if (header[k] != 0) return field_error(ErrorCode::kReservedNotZero, "padding", k, header[k], "zero padding");
  }
  return f;
}

std::vector<FieldInfo> describe_fields(std::span<const uint8_t> file) {
  std::vector<FieldInfo> fields;
  uint64_t limit = file.size();
  if (file.size() >= kFixedHeaderSize) {
    const auto length = abi::load_le<uint32_t>(file.data() + kHeaderLengthOffset);
    if (length >= kFixedHeaderSize && length <= file.size()) limit = length;
  }
  Reader r(file.first(limit), &fields);
  DecodedSnapshotFile f;
  Raw raw;
  uint32_t count = 0;
  walk_fixed(r, f, raw, count);
  walk_variable(r, f, count);
  if (!r.failed() && r.position() < limit) fields.push_back(FieldInfo{"padding", r.position(), limit - r.position()});
  if (limit < file.size()) fields.push_back(FieldInfo{"blob", limit, file.size() - limit});
  return fields;
}

std::optional<uint64_t> field_offset(std::string_view name) {
  for (const FieldInfo& f : fixed_fields()) {
    if (f.name == name) return f.offset;
  }
  // regions[i].member
  static constexpr std::string_view kPrefix = "regions[";
  if (name.substr(0, kPrefix.size()) != kPrefix) return std::nullopt;
  size_t close = name.find(']');
  if (close == std::string_view::npos || close + 1 >= name.size() || name[close + 1] != '.') return std::nullopt;
  uint64_t index = 0;
  for (size_t k = kPrefix.size(); k < close; ++k) {
    if (name[k] < '0' || name[k] > '9' || index > kMaxRegions) return std::nullopt;
    index = index * 10 + static_cast<uint64_t>(name[k] - '0');
  }
  static constexpr std::pair<std::string_view, uint64_t> kMembers[] = {
      {"guest_address", 0}, {"size", 8}, {"blob_offset", 16}, {"flags", 24}, {"kind", 28}};
  std::string_view member = name.substr(close + 2);
  for (const auto& [m, off] : kMembers) {
    if (m == member) return kRegionEntriesOffset + index * kRegionEntrySize + off;
  }
  return std::nullopt;
}

}  // namespace snapvm::format
