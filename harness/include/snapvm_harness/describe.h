// describe.h: snapshots as JSON and as text, field by field (registers by name), for `snapvm inspect`,
// `snapvm diff` and reports.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "snapvm/snapshot.h"

namespace snapvm::harness {

nlohmann::json vcpu_to_json(const VcpuState& v);
nlohmann::json layout_to_json(const Layout& l);
nlohmann::json functions_to_json(const std::vector<FunctionInfo>& f);
nlohmann::json snapshot_to_json(const Snapshot& s);
std::string snapshot_to_text(const Snapshot& s);

// Every register as (name, value) pairs, in a fixed order: "rip", "cr3", "cs.selector", "xmm3", ...
std::vector<std::pair<std::string, std::string>> register_fields(const VcpuState& v);

}  // namespace snapvm::harness
