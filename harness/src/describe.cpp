// describe.cpp: snapshots as JSON and text; registers flattened to named fields.
#include "snapvm_harness/describe.h"

#include <sstream>

namespace snapvm::harness {

namespace {
using nlohmann::json;

std::string hex_bytes(const uint8_t* p, size_t n) {
  static const char* d = "0123456789abcdef";
  std::string s;
  for (size_t i = 0; i < n; ++i) {
    s += d[p[i] >> 4];
    s += d[p[i] & 15];
  }
  return s;
}

void add_segment(std::vector<std::pair<std::string, std::string>>& out, const std::string& name,
                 const SegmentRegister& s) {
  out.emplace_back(name + ".base", hex(s.base));
  out.emplace_back(name + ".limit", hex(s.limit));
  out.emplace_back(name + ".selector", hex(s.selector));
  out.emplace_back(name + ".type", std::to_string(s.type));
  out.emplace_back(name + ".present", std::to_string(s.present));
  out.emplace_back(name + ".dpl", std::to_string(s.dpl));
  out.emplace_back(name + ".db", std::to_string(s.db));
  out.emplace_back(name + ".s", std::to_string(s.s));
  out.emplace_back(name + ".l", std::to_string(s.l));
  out.emplace_back(name + ".g", std::to_string(s.g));
  out.emplace_back(name + ".avl", std::to_string(s.avl));
  out.emplace_back(name + ".unusable", std::to_string(s.unusable));
}
}  // namespace

std::vector<std::pair<std::string, std::string>> register_fields(const VcpuState& v) {
  std::vector<std::pair<std::string, std::string>> out;
  const GeneralRegisters& r = v.regs;
  const std::pair<const char*, uint64_t> gprs[] = {
      {"rax", r.rax}, {"rbx", r.rbx}, {"rcx", r.rcx}, {"rdx", r.rdx}, {"rsi", r.rsi}, {"rdi", r.rdi},
      {"rsp", r.rsp}, {"rbp", r.rbp}, {"r8", r.r8},   {"r9", r.r9},   {"r10", r.r10}, {"r11", r.r11},
      {"r12", r.r12}, {"r13", r.r13}, {"r14", r.r14}, {"r15", r.r15}, {"rip", r.rip}, {"rflags", r.rflags}};
  for (const auto& [n, x] : gprs) out.emplace_back(n, hex(x));
  const SpecialRegisters& s = v.sregs;
  add_segment(out, "cs", s.cs);
  add_segment(out, "ds", s.ds);
  add_segment(out, "es", s.es);
  add_segment(out, "fs", s.fs);
  add_segment(out, "gs", s.gs);
  add_segment(out, "ss", s.ss);
  add_segment(out, "tr", s.tr);
  add_segment(out, "ldt", s.ldt);
  out.emplace_back("gdt.base", hex(s.gdt.base));
  out.emplace_back("gdt.limit", hex(s.gdt.limit));
  out.emplace_back("idt.base", hex(s.idt.base));
  out.emplace_back("idt.limit", hex(s.idt.limit));
  const std::pair<const char*, uint64_t> ctl[] = {{"cr0", s.cr0},
                                                  {"cr2", s.cr2},
                                                  {"cr3", s.cr3},
                                                  {"cr4", s.cr4},
                                                  {"cr8", s.cr8},
                                                  {"efer", s.efer},
                                                  {"apic_base", s.apic_base}};
  for (const auto& [n, x] : ctl) out.emplace_back(n, hex(x));
  for (size_t i = 0; i < 4; ++i)
    out.emplace_back("interrupt_bitmap[" + std::to_string(i) + "]", hex(s.interrupt_bitmap[i]));
  const FpuState& f = v.fpu;
  for (size_t i = 0; i < 8; ++i) out.emplace_back("st" + std::to_string(i), hex_bytes(f.fpr[i].data(), 16));
  out.emplace_back("fcw", hex(f.fcw));
  out.emplace_back("fsw", hex(f.fsw));
  out.emplace_back("ftwx", hex(f.ftwx));
  out.emplace_back("last_opcode", hex(f.last_opcode));
  out.emplace_back("last_ip", hex(f.last_ip));
  out.emplace_back("last_dp", hex(f.last_dp));
  for (size_t i = 0; i < 16; ++i) out.emplace_back("xmm" + std::to_string(i), hex_bytes(f.xmm[i].data(), 16));
  out.emplace_back("mxcsr", hex(f.mxcsr));
  return out;
}

json vcpu_to_json(const VcpuState& v) {
  json j = json::object();
  for (const auto& [name, value] : register_fields(v)) j[name] = value;
  return j;
}

json layout_to_json(const Layout& l) {
  json regions = json::array();
  for (const Region& r : l.regions) {
    regions.push_back({{"kind", std::string(region_kind_name(r.kind))},
                       {"guest_address", hex(r.guest_address)},
                       {"size", r.size},
                       {"flags", region_flags_string(r.flags)}});
  }
  return {{"heap_size", l.config.heap_size},
          {"stack_size", l.config.stack_size},
          {"input_size", l.config.input_size},
          {"output_size", l.config.output_size},
          {"image_base", hex(l.image_base)},
          {"image_end", hex(l.image_end)},
          {"input_base", hex(l.input_base)},
          {"output_base", hex(l.output_base)},
          {"heap_base", hex(l.heap_base)},
          {"stack_base", hex(l.stack_base)},
          {"page_table_base", hex(l.page_table_base)},
          {"page_table_size", l.page_table_size},
          {"memory_size", l.memory_size},
          {"regions", regions}};
}

json functions_to_json(const std::vector<FunctionInfo>& fs) {
  json a = json::array();
  for (const FunctionInfo& f : fs) a.push_back(signature_to_string(f.name, f.signature));
  return a;
}

json snapshot_to_json(const Snapshot& s) {
  json j;
  j["stage"] = s.stage() == SnapshotStage::kAfterInit ? "after-init" : "before-init";
  j["abi_version"] = s.abi_version();
  j["hypervisor"] = s.hypervisor();
  j["cpu_vendor"] = s.cpu_vendor();
  j["entrypoint"] = hex(s.entrypoint());
  j["dispatch"] = hex(s.dispatch());
  if (auto v = s.format_version()) {
    j["format_version"] = *v;
    j["digest_scheme"] = s.digest_chunk_size() ? "chunked" : "flat";
  }
  if (auto c = s.digest_chunk_size()) j["digest_chunk_size"] = *c;
  if (auto a = s.digest_algorithm()) j["digest_algorithm"] = std::string(digest_algorithm_name(*a));
  if (auto d = s.digest()) {
    size_t n = s.digest_algorithm() == DigestAlgorithm::kXxh3_128 ? 16 : 32;
    j["digest"] = hex_bytes(d->data(), n);
  }
  j["layout"] = layout_to_json(s.layout());
  j["vcpu"] = vcpu_to_json(s.vcpu());
  j["guest_functions"] = functions_to_json(s.guest_functions());
  j["host_functions"] = functions_to_json(s.host_functions());
  return j;
}

std::string snapshot_to_text(const Snapshot& s) {
  std::ostringstream out;
  json j = snapshot_to_json(s);
  out << "stage:       " << j["stage"].get<std::string>() << "\n";
  out << "platform:    x86_64, " << s.hypervisor() << ", " << s.cpu_vendor() << ", ABI " << s.abi_version() << "\n";
  out << "entrypoint:  " << j["entrypoint"].get<std::string>() << "\n";
  out << "dispatch:    " << j["dispatch"].get<std::string>() << "\n";
  if (j.contains("format_version")) {
    out << "format:      " << j["format_version"].get<uint32_t>() << " (";
    if (auto c = s.digest_chunk_size()) {
      out << "chunked digest, " << *c / 1024 << " KiB chunks";
    } else {
      out << "flat digest";
    }
    out << ")\n";
  }
  if (j.contains("digest")) {
    out << "digest:      " << j["digest_algorithm"].get<std::string>() << " " << j["digest"].get<std::string>() << "\n";
  }
  const Layout& l = s.layout();
  out << "memory:      " << l.memory_size << " bytes (heap " << l.config.heap_size << ", stack " << l.config.stack_size
      << ", input " << l.config.input_size << ", output " << l.config.output_size << ")\n";
  out << "regions:\n";
  for (const Region& r : l.regions) {
    out << "  " << hex(r.guest_address) << "  " << r.size << " bytes  " << region_flags_string(r.flags) << "  "
        << region_kind_name(r.kind) << "\n";
  }
  out << "registers:\n";
  for (const auto& [name, value] : register_fields(s.vcpu())) {
    if (name.find('.') != std::string::npos && name.rfind("cs.", 0) != 0 && name.rfind("ss.", 0) != 0) continue;
    out << "  " << name << " = " << value << "\n";
  }
  out << "guest functions:\n";
  for (const FunctionInfo& f : s.guest_functions()) out << "  " << signature_to_string(f.name, f.signature) << "\n";
  out << "host functions:\n";
  for (const FunctionInfo& f : s.host_functions()) out << "  " << signature_to_string(f.name, f.signature) << "\n";
  return out.str();
}

}  // namespace snapvm::harness
