// compare.cpp: snapshot comparison for round trips and `snapvm diff`.
#include "snapvm_harness/compare.h"

#include <cstring>
#include <sstream>

#include "snapvm/abi/layout.h"
#include "snapvm_harness/describe.h"

namespace snapvm::harness {

namespace {

void field(CompareReport& r, std::string where, const std::string& a, const std::string& b) {
  if (a != b) r.fields.push_back({std::move(where), a, b});
}

std::string functions_text(const std::vector<FunctionInfo>& fs) {
  std::string s;
  for (const auto& f : fs) s += signature_to_string(f.name, f.signature) + "; ";
  return s;
}

void compare_memory(CompareReport& r, const Snapshot& a, const Snapshot& b) {
  const auto& ra = a.layout().regions;
  for (size_t i = 0; i < ra.size() && i < b.layout().regions.size(); ++i) {
    if (!(ra[i] == b.layout().regions[i])) continue;  // reported as a region difference instead
    auto x = a.region_bytes(i);
    auto y = b.region_bytes(i);
    for (uint64_t off = 0; off < ra[i].size; off += abi::kPageSize) {
      ++r.memory_pages_compared;
      if (std::memcmp(x.data() + off, y.data() + off, abi::kPageSize) == 0) continue;
      ++r.memory_pages_different;
      uint64_t addr = ra[i].guest_address + off;
      if (!r.memory.empty() && r.memory.back().first_page_address + r.memory.back().pages * abi::kPageSize == addr) {
        ++r.memory.back().pages;
      } else {
        r.memory.push_back({addr, 1});
      }
    }
  }
}
}  // namespace

CompareReport compare_snapshots(const Snapshot& a, const Snapshot& b, const CompareOptions& options) {
  CompareReport r;
  field(r, "header.stage", std::to_string(static_cast<int>(a.stage())), std::to_string(static_cast<int>(b.stage())));
  field(r, "header.entrypoint", hex(a.entrypoint()), hex(b.entrypoint()));
  field(r, "header.dispatch", hex(a.dispatch()), hex(b.dispatch()));
  if (options.compare_digest) {
    auto alg = [](const Snapshot& s) {
      return s.digest_algorithm() ? std::string(digest_algorithm_name(*s.digest_algorithm())) : "none";
    };
    field(r, "header.digest_algorithm", alg(a), alg(b));
    field(r, "header.digest", a.digest() ? "set" : "none", b.digest() ? "set" : "none");
    if (a.digest() && b.digest() && *a.digest() != *b.digest()) r.fields.push_back({"header.digest", "differs", ""});
  }
  nlohmann::json la = layout_to_json(a.layout()), lb = layout_to_json(b.layout());
  for (auto it = la.begin(); it != la.end(); ++it) {
    if (it.key() == "regions") continue;
    field(r, "layout." + it.key(), it.value().dump(), lb.value(it.key(), nlohmann::json()).dump());
  }
  const auto& ra = a.layout().regions;
  const auto& rb = b.layout().regions;
  field(r, "regions.count", std::to_string(ra.size()), std::to_string(rb.size()));
  for (size_t i = 0; i < ra.size() && i < rb.size(); ++i) {
    std::string p = "regions[" + std::to_string(i) + "]";
    field(r, p + ".guest_address", hex(ra[i].guest_address), hex(rb[i].guest_address));
    field(r, p + ".size", std::to_string(ra[i].size), std::to_string(rb[i].size));
    field(r, p + ".flags", region_flags_string(ra[i].flags), region_flags_string(rb[i].flags));
    field(r, p + ".kind", std::string(region_kind_name(ra[i].kind)), std::string(region_kind_name(rb[i].kind)));
  }
  auto fa = register_fields(a.vcpu());
  auto fb = register_fields(b.vcpu());
  for (size_t i = 0; i < fa.size(); ++i) field(r, "vcpu." + fa[i].first, fa[i].second, fb[i].second);
  field(r, "guest_functions", functions_text(a.guest_functions()), functions_text(b.guest_functions()));
  field(r, "host_functions", functions_text(a.host_functions()), functions_text(b.host_functions()));
  if (options.compare_memory) compare_memory(r, a, b);
  return r;
}

nlohmann::json CompareReport::to_json() const {
  nlohmann::json j;
  j["equal"] = equal();
  j["fields"] = nlohmann::json::array();
  for (const auto& d : fields) j["fields"].push_back({{"field", d.where}, {"a", d.a}, {"b", d.b}});
  j["memory"] = {{"pages_compared", memory_pages_compared}, {"pages_different", memory_pages_different}};
  j["memory"]["ranges"] = nlohmann::json::array();
  for (const auto& m : memory) {
    j["memory"]["ranges"].push_back({{"start", hex(m.first_page_address)},
                                     {"end", hex(m.first_page_address + m.pages * abi::kPageSize)},
                                     {"pages", m.pages}});
  }
  return j;
}

std::string CompareReport::to_text() const {
  std::ostringstream out;
  if (equal()) {
    out << "identical (" << memory_pages_compared << " pages compared)\n";
    return out.str();
  }
  for (const auto& d : fields) out << d.where << ": " << d.a << " -> " << d.b << "\n";
  if (!memory.empty()) {
    out << "memory: " << memory_pages_different << " of " << memory_pages_compared << " pages differ\n";
    for (const auto& m : memory) {
      out << "  " << hex(m.first_page_address) << "-" << hex(m.first_page_address + m.pages * abi::kPageSize) << " ("
          << m.pages << (m.pages == 1 ? " page)\n" : " pages)\n");
    }
  }
  return out.str();
}

}  // namespace snapvm::harness
