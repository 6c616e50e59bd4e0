// inputs.cpp: synthetic inputs. Everything here is a pure function of its arguments: no clock, no
// randomness, no host facts (the CPU vendor comes from the options), so seeds regenerate identically.
#include "fuzz/inputs.h"

#include <elf.h>

#include <algorithm>
#include <cstring>

#include "elf/elf_loader.h"
#include "memory/peb.h"
#include "memory/system_area.h"
#include "sandbox/call_codec.h"
#include "snapshot/chunk_digest.h"
#include "snapshot/digest.h"
#include "snapshot/format.h"
#include "snapvm/abi/byte_order.h"
#include "snapvm/abi/layout.h"
#include "snapvm/abi/ports.h"
#include "snapvm/abi/wire.h"

namespace snapvm::fuzz {

namespace {
constexpr uint64_t kImageBase = abi::kDefaultImageBase;

template <typename T>
void put(std::vector<uint8_t>& out, size_t at, const T& v) {
  if (out.size() < at + sizeof v) out.resize(at + sizeof v, 0);
  std::memcpy(out.data() + at, &v, sizeof v);
}

// Appends the low `n` bytes of `v`, little-endian.
void append_le(std::vector<uint8_t>& out, uint64_t v, size_t n) {
  out.resize(out.size() + n);
  abi::store_le(out.data() + out.size() - n, n, v);
}

// A tiny x86-64 emitter: just the instructions the tiny guest needs, with rip-relative operands
// computed from where the bytes land.
struct Emitter {
  std::vector<uint8_t> b;
  void raw(std::initializer_list<uint8_t> bytes) { b.insert(b.end(), bytes); }
  void imm32(uint32_t v) { append_le(b, v, 4); }
  void pad_to(size_t offset) { b.resize(offset, 0xcc); }  // int3 between routines
  // lea reg, [rip + target]: 48 8d /r with mod=00 rm=101; `reg` is 6 (rsi) or 0 (rax).
  void lea_rip(uint8_t reg, size_t target) {
    raw({0x48, 0x8d, static_cast<uint8_t>(0x05 | (reg << 3))});
    imm32(static_cast<uint32_t>(target - (b.size() + 4)));
  }
  void mov_ecx(uint32_t v) { raw({0xb9}), imm32(v); }
  void out_port(abi::Port port) {  // mov dx, port; out dx, al
    auto p = static_cast<uint16_t>(port);
    raw({0x66, 0xba, static_cast<uint8_t>(p), static_cast<uint8_t>(p >> 8), 0xee});
  }
  // rdi = output buffer (peb->output_base, PEB pointer in rbx); rsi = message; rep movsb.
  void copy_to_output(size_t message, size_t length) {
    raw({0x48, 0x8b, 0x7b, 0x30});  // mov rdi, [rbx + 48]
    lea_rip(6, message);
    mov_ecx(static_cast<uint32_t>(length));
    raw({0xf3, 0xa4});  // rep movsb
  }
};

struct TinyMessages {
  std::vector<uint8_t> manifest, log, host_call, result;
};

TinyMessages tiny_messages() {
  TinyMessages m;
  m.manifest = encode_manifest({FunctionInfo{"Nothing", Signature{ValueType::kVoid, {}}}},
                               {FunctionInfo{"HostEcho", Signature{ValueType::kString, {ValueType::kString}}}});
  m.log = encode_text_record(abi::kLogMagic, static_cast<uint32_t>(2), "tiny guest call");
  m.host_call = encode_call(abi::kHostCallMagic, "HostEcho", {Value{std::string("fuzz")}});
  m.result = encode_result(Value{});
  return m;
}

constexpr size_t kMessagesOffset = 0xc0;  // within tiny_guest_code()

// The loaded image as guest memory would hold it, for guest_file.
struct LoadedGuest {
  Layout layout;
  std::vector<uint8_t> memory;  // guest physical memory [0, layout.memory_size)
  uint64_t entry = 0;
};

Result<LoadedGuest> load_guest(std::span<const uint8_t> elf, const SandboxConfig& config) {
  ElfImage image = TRY(parse_elf(elf));
  LoadedGuest g;
  g.layout = TRY(compute_layout(config, image.regions()));
  g.memory.assign(g.layout.memory_size, 0);
  TRY(load_elf(image, g.memory));
  g.entry = image.relocated_entry();
  // The PEB as Machine::write_peb writes it.
  const abi::Peb peb = detail::make_peb(g.layout);
  std::memcpy(g.memory.data() + abi::kPebAddress, &peb, sizeof peb);
  return g;
}
}  // namespace

SandboxConfig smallest_config() {
  SandboxConfig c;
  c.heap_size = SandboxConfig::kMinHeap;
  c.stack_size = SandboxConfig::kMinStack;
  c.input_size = SandboxConfig::kMinBuffer;
  c.output_size = SandboxConfig::kMinBuffer;
  return c;
}

// ---- the tiny guest ---------------------------------------------------------------------------

std::vector<uint8_t> tiny_guest_code() {
  const TinyMessages m = tiny_messages();
  const size_t manifest = kMessagesOffset, log = manifest + m.manifest.size(), host_call = log + m.log.size(),
               result = host_call + m.host_call.size();
  const size_t dispatch = kTinyDispatchOffset - kTinyEntryOffset;
  Emitter e;
  // Entry, rdi = PEB: manifest to the output buffer, peb->dispatch = dispatch, signal kInitialised.
  e.raw({0x48, 0x89, 0xfb});  // mov rbx, rdi
  e.copy_to_output(manifest, m.manifest.size());
  e.lea_rip(0, dispatch);
  e.raw({0x48, 0x89, 0x43, 0x50});  // mov [rbx + 80], rax
  e.out_port(abi::Port::kInitialised);
  e.raw({0x0f, 0x0b});  // ud2: never resumed
  e.pad_to(dispatch);
  // Dispatch, rdi = PEB: log, call HostEcho, return void.
  e.raw({0x48, 0x89, 0xfb});  // mov rbx, rdi
  e.copy_to_output(log, m.log.size());
  e.out_port(abi::Port::kLog);
  e.copy_to_output(host_call, m.host_call.size());
  e.out_port(abi::Port::kHostCall);
  e.copy_to_output(result, m.result.size());
  e.out_port(abi::Port::kCallDone);
  e.raw({0x0f, 0x0b});  // ud2: never resumed
  e.pad_to(kMessagesOffset);
  for (const auto* msg : {&m.manifest, &m.log, &m.host_call, &m.result})
    e.b.insert(e.b.end(), msg->begin(), msg->end());
  return e.b;
}

namespace {
Elf64_Ehdr elf_header(uint16_t type, uint64_t entry, uint16_t phnum) {
  Elf64_Ehdr h{};
  std::memcpy(h.e_ident, ELFMAG, SELFMAG);
  h.e_ident[EI_CLASS] = ELFCLASS64;
  h.e_ident[EI_DATA] = ELFDATA2LSB;
  h.e_ident[EI_VERSION] = EV_CURRENT;
  h.e_type = type;
  h.e_machine = EM_X86_64;
  h.e_version = EV_CURRENT;
  h.e_entry = entry;
  h.e_phoff = sizeof(Elf64_Ehdr);
  h.e_ehsize = sizeof(Elf64_Ehdr);
  h.e_phentsize = sizeof(Elf64_Phdr);
  h.e_phnum = phnum;
  return h;
}

Elf64_Phdr phdr(uint32_t type, uint32_t flags, uint64_t offset, uint64_t vaddr, uint64_t filesz, uint64_t memsz,
                uint64_t align) {
  return Elf64_Phdr{type, flags, offset, vaddr, vaddr, filesz, memsz, align};
}
}  // namespace

std::vector<uint8_t> tiny_guest_elf() {
  const std::vector<uint8_t> code = tiny_guest_code();
  const uint64_t code_end = kTinyEntryOffset + code.size();
  std::vector<uint8_t> out;
  put(out, 0, elf_header(ET_EXEC, kImageBase + kTinyEntryOffset, 2));
  put(out, sizeof(Elf64_Ehdr), phdr(PT_LOAD, PF_R | PF_X, 0, kImageBase, code_end, code_end, abi::kPageSize));
  put(out, sizeof(Elf64_Ehdr) + sizeof(Elf64_Phdr),
      phdr(PT_LOAD, PF_R | PF_W, 0, kImageBase + abi::kPageSize, 0, abi::kPageSize, abi::kPageSize));
  out.resize(kTinyEntryOffset, 0);
  out.insert(out.end(), code.begin(), code.end());
  return out;
}

std::vector<uint8_t> tiny_guest_pie() {
  const std::vector<uint8_t> code = tiny_guest_code();
  const uint64_t code_end = kTinyEntryOffset + code.size();
  // Data (file offset == vaddr - one page): dynamic section, one RELA entry, the slot it patches.
  const uint64_t data = (code_end + 15) / 16 * 16, dynamic = data, rela = dynamic + 4 * sizeof(Elf64_Dyn),
                 slot = rela + sizeof(Elf64_Rela), data_end = slot + 8;
  std::vector<uint8_t> out;
  put(out, 0, elf_header(ET_DYN, kTinyEntryOffset, 3));
  size_t at = sizeof(Elf64_Ehdr);
  put(out, at, phdr(PT_LOAD, PF_R | PF_X, 0, 0, code_end, code_end, abi::kPageSize));
  put(out, at += sizeof(Elf64_Phdr),
      phdr(PT_LOAD, PF_R | PF_W, data, abi::kPageSize + data, data_end - data, data_end - data, abi::kPageSize));
  put(out, at += sizeof(Elf64_Phdr),
      phdr(PT_DYNAMIC, PF_R | PF_W, dynamic, abi::kPageSize + dynamic, rela - dynamic, rela - dynamic, 8));
  out.resize(kTinyEntryOffset, 0);
  out.insert(out.end(), code.begin(), code.end());
  out.resize(data, 0);
  const Elf64_Dyn dyn[4] = {{DT_RELA, {abi::kPageSize + rela}},
                            {DT_RELASZ, {sizeof(Elf64_Rela)}},
                            {DT_RELAENT, {sizeof(Elf64_Rela)}},
                            {DT_NULL, {0}}};
  put(out, dynamic, dyn);
  put(out, rela,
      Elf64_Rela{abi::kPageSize + slot, ELF64_R_INFO(0, R_X86_64_RELATIVE), static_cast<int64_t>(kTinyDispatchOffset)});
  put(out, slot, uint64_t{0});
  return out;
}

// ---- snapshot files ---------------------------------------------------------------------------

std::vector<uint8_t> encode_file(const detail::SnapshotMetadata& data,
                                 const std::vector<std::vector<uint8_t>>& region_bytes, DigestAlgorithm digest,
                                 uint32_t format_version) {
  std::vector<uint8_t> blob;
  for (const auto& r : region_bytes) blob.insert(blob.end(), r.begin(), r.end());
  if (format_version < 2) {
    std::vector<uint8_t> file = format::encode_metadata(data, digest, compute_digest(digest, blob));
    file.insert(file.end(), blob.begin(), blob.end());
    return file;
  }
  ChunkHashOptions one_thread;
  one_thread.threads = 1;
  auto chunked = compute_chunked_digest(digest, blob, one_thread);
  if (!chunked) return {};
  const format::ChunkTableRef ref{chunked->chunk_size, 0, static_cast<uint32_t>(chunked->entries.size())};
  std::vector<uint8_t> file = format::encode_metadata(data, digest, chunked->root, ref);
  file.insert(file.end(), blob.begin(), blob.end());
  const std::vector<uint8_t> table = encode_chunk_table(chunked->entries);
  file.insert(file.end(), table.begin(), table.end());
  return file;
}

Result<std::vector<uint8_t>> guest_file(std::span<const uint8_t> elf, const FileOptions& options) {
  LoadedGuest g = TRY(load_guest(elf, options.config));
  detail::SnapshotMetadata d;
  d.stage = options.stage;
  d.abi_version = abi::kAbiVersion;
  d.layout = g.layout;
  d.entrypoint = g.entry;
  d.cpu_vendor = options.cpu_vendor;
  d.vcpu.sregs = initial_special_registers(g.layout.page_table_base);
  d.vcpu.regs.rip = g.entry;
  d.vcpu.regs.rsp = g.layout.stack_top();
  d.vcpu.regs.rdi = abi::kPebAddress;
  d.vcpu.regs.rflags = abi::kInitialRflags;
  d.vcpu.fpu.fcw = 0x37f;
  d.vcpu.fpu.mxcsr = 0x1f80;
  if (options.stage == SnapshotStage::kAfterInit) {
    // What the tiny guest's entry leaves behind, up to its kInitialised signal.
    if (g.entry != kImageBase + kTinyEntryOffset) {
      return make_error(ErrorCode::kInvalidConfig, "stage", "after-init files are made only for the tiny guest");
    }
    const TinyMessages m = tiny_messages();
    const uint64_t dispatch = kImageBase + kTinyDispatchOffset;
    std::memcpy(g.memory.data() + abi::kPebAddress + offsetof(abi::Peb, dispatch), &dispatch, 8);
    std::memcpy(g.memory.data() + g.layout.output_base, m.manifest.data(), m.manifest.size());
    d.dispatch = dispatch;
    d.vcpu.regs.rip = kImageBase + kTinyEntryOffset + 0x25;  // the ud2 after `out`
    d.vcpu.regs.rbx = abi::kPebAddress;
    d.vcpu.regs.rdi = g.layout.output_base + m.manifest.size();
    d.vcpu.regs.rsi = kImageBase + kTinyEntryOffset + kMessagesOffset + m.manifest.size();
    d.vcpu.regs.rax = dispatch;
    d.vcpu.regs.rdx = static_cast<uint16_t>(abi::Port::kInitialised);
    d.guest_functions = {FunctionInfo{"Nothing", Signature{ValueType::kVoid, {}}}};
    d.host_functions = {FunctionInfo{"HostEcho", Signature{ValueType::kString, {ValueType::kString}}}};
  }
  std::vector<std::vector<uint8_t>> regions;
  for (const Region& r : g.layout.regions) {
    regions.emplace_back(g.memory.begin() + static_cast<long>(r.guest_address),
                         g.memory.begin() + static_cast<long>(r.end()));
  }
  return encode_file(d, regions, options.digest, options.format_version);
}

std::vector<uint8_t> tiny_guest_file(const FileOptions& options) {
  auto file = guest_file(tiny_guest_elf(), options);
  return file ? std::move(*file) : std::vector<uint8_t>{};
}

// ---- wire messages ----------------------------------------------------------------------------

std::vector<uint8_t> encode_call(uint32_t magic, std::string_view name, const std::vector<Value>& args) {
  std::vector<uint8_t> buf(1 << 16);
  auto n = detail::encode_call(buf, magic, name, args);
  buf.resize(n ? *n : 0);
  return buf;
}

std::vector<uint8_t> encode_result(const Value& value) {
  std::vector<uint8_t> buf(1 << 16);
  auto n = detail::encode_result(buf, value);
  buf.resize(n ? *n : 0);
  return buf;
}

std::vector<uint8_t> encode_text_record(uint32_t magic, uint32_t number, std::string_view text) {
  std::vector<uint8_t> buf(abi::kMessageHeaderSize + 8 + text.size());
  size_t n =
      abi::encode_text_record(buf.data(), buf.size(), magic, number, text.data(), static_cast<uint32_t>(text.size()));
  buf.resize(n);
  return buf;
}

std::vector<uint8_t> encode_manifest(const std::vector<FunctionInfo>& guest, const std::vector<FunctionInfo>& host) {
  std::vector<uint8_t> out;
  append_le(out, abi::kManifestMagic, 4);
  append_le(out, 0, 4);  // total length, patched below
  append_le(out, guest.size(), 2);
  append_le(out, host.size(), 2);
  for (const auto* list : {&guest, &host}) {
    for (const FunctionInfo& f : *list) {
      append_le(out, f.name.size(), 2);
      out.insert(out.end(), f.name.begin(), f.name.end());
      out.push_back(static_cast<uint8_t>(f.signature.result));
      out.push_back(static_cast<uint8_t>(f.signature.params.size()));
      for (ValueType t : f.signature.params) out.push_back(static_cast<uint8_t>(t));
    }
  }
  auto total = static_cast<uint32_t>(out.size());
  std::memcpy(out.data() + 4, &total, 4);
  return out;
}

std::vector<FunctionInfo> sample_guest_functions() {
  using VT = ValueType;
  auto fn = [](const char* name, VT result, std::vector<VT> params = {}) {
    return FunctionInfo{name, Signature{result, std::move(params)}};
  };
  return {fn("Echo", VT::kString, {VT::kString}),
          fn("EchoBool", VT::kBool, {VT::kBool}),
          fn("EchoI32", VT::kI32, {VT::kI32}),
          fn("EchoU32", VT::kU32, {VT::kU32}),
          fn("EchoI64", VT::kI64, {VT::kI64}),
          fn("EchoU64", VT::kU64, {VT::kU64}),
          fn("EchoF32", VT::kF32, {VT::kF32}),
          fn("EchoF64", VT::kF64, {VT::kF64}),
          fn("EchoBytes", VT::kBytes, {VT::kBytes}),
          fn("Add", VT::kI32, {VT::kI32, VT::kI32}),
          fn("AddF64", VT::kF64, {VT::kF64, VT::kF64}),
          fn("GetMxcsr", VT::kU32),
          fn("SetMxcsr", VT::kVoid, {VT::kU32}),
          fn("SetGlobal", VT::kVoid, {VT::kI64}),
          fn("GetGlobal", VT::kI64),
          fn("Increment", VT::kI64),
          fn("BufferAppend", VT::kU64, {VT::kBytes}),
          fn("BufferFill", VT::kU64, {VT::kU64, VT::kU32}),
          fn("BufferChecksum", VT::kU64),
          fn("TouchPages", VT::kU64, {VT::kU64}),
          fn("CallHostAdd", VT::kI64, {VT::kI64, VT::kI64}),
          fn("CallHostEcho", VT::kString, {VT::kString}),
          fn("Log", VT::kVoid, {VT::kString}),
          fn("NullDeref", VT::kU64),
          fn("Ud2", VT::kVoid),
          fn("Divide", VT::kI32, {VT::kI32}),
          fn("WriteCode", VT::kVoid),
          fn("StackOverflow", VT::kU64),
          fn("Spin", VT::kVoid),
          fn("Abort", VT::kVoid, {VT::kI32, VT::kString})};
}

std::vector<FunctionInfo> sample_host_functions() {
  return {FunctionInfo{"HostAdd", Signature{ValueType::kI64, {ValueType::kI64, ValueType::kI64}}},
          FunctionInfo{"HostEcho", Signature{ValueType::kString, {ValueType::kString}}}};
}

// ---- ELF files --------------------------------------------------------------------------------

std::vector<uint8_t> loadable_part(std::span<const uint8_t> elf) {
  if (elf.size() < sizeof(Elf64_Ehdr)) return {elf.begin(), elf.end()};
  Elf64_Ehdr h;
  std::memcpy(&h, elf.data(), sizeof h);
  uint64_t end = sizeof h;
  for (uint16_t i = 0; i < h.e_phnum; ++i) {
    const uint64_t at = h.e_phoff + uint64_t{i} * sizeof(Elf64_Phdr);
    if (at > elf.size() || elf.size() - at < sizeof(Elf64_Phdr)) break;
    Elf64_Phdr p;
    std::memcpy(&p, elf.data() + at, sizeof p);
    end = std::max({end, at + sizeof p, p.p_offset + p.p_filesz});
  }
  end = std::min<uint64_t>(end, elf.size());
  std::vector<uint8_t> out(elf.begin(), elf.begin() + static_cast<long>(end));
  h.e_shoff = 0;
  h.e_shnum = 0;
  h.e_shstrndx = 0;
  std::memcpy(out.data(), &h, sizeof h);
  return out;
}

}  // namespace snapvm::fuzz
