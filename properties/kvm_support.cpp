// kvm_support.cpp: sample-guest sandboxes for the KVM properties. Setup failures throw, which
// RapidCheck reports as a failing case with the error's text.
#include "kvm_support.h"

#include <stdexcept>

#include "support.h"

namespace snapvm::properties {

MultiUseSandbox fresh_sample_sandbox() {
  auto s = testing::make_sample_sandbox();
  if (!s) throw std::runtime_error("a sandbox from " + testing::sample_guest_path() + ": " + show_error(s.error()));
  return std::move(*s);
}

const Snapshot& sample_base_snapshot() {
  static const Snapshot base = [] {
    MultiUseSandbox s = fresh_sample_sandbox();
    auto snap = s.snapshot();
    if (!snap) throw std::runtime_error("snapshot of a fresh sample sandbox: " + show_error(snap.error()));
    return std::move(*snap);
  }();
  return base;
}

MultiUseSandbox sandbox_from(const Snapshot& snapshot) {
  auto s = MultiUseSandbox::from_snapshot(snapshot, testing::sample_host_functions());
  if (!s) throw std::runtime_error("from_snapshot: " + show_error(s.error()));
  return std::move(*s);
}

}  // namespace snapvm::properties
