// kvm_test_support.h: shared by every test that needs /dev/kvm: skip (with the reason) where KVM is
// absent, the sample guest's paths, and its host functions.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "hypervisor/kvm.h"
#include "snapvm/sandbox.h"

namespace snapvm::testing {

inline std::string sample_guest_path() { return std::string(SNAPVM_BUILD_DIR) + "/guest/sample_guest"; }
inline std::string sample_guest_exec_path() { return std::string(SNAPVM_BUILD_DIR) + "/guest/sample_guest_exec"; }

// The host functions the sample guest requires.
inline HostFunctions sample_host_functions() {
  HostFunctions f;
  (void)f.add_typed("HostAdd", [](int64_t a, int64_t b) { return a + b; });
  (void)f.add_typed("HostEcho", [](std::string s) { return "host:" + s; });
  return f;
}

inline Result<MultiUseSandbox> make_sample_sandbox(SandboxConfig config = {}) {
  return SandboxBuilder::from_elf(sample_guest_path(), config).host_functions(sample_host_functions()).build();
}

// GTEST_SKIP with the reason when /dev/kvm is unusable. Tests that can run elsewhere must not use it.
// With SNAPVM_REQUIRE_KVM=1 in the environment (ci/test sets it where /dev/kvm exists) a missing KVM
// is a failure, so a skip can never hide one.
#define SNAPVM_REQUIRE_KVM()                                                   \
  do {                                                                         \
    std::string snapvm_why_;                                                   \
    if (!::snapvm::Kvm::available(&snapvm_why_)) {                             \
      const char* snapvm_req_ = std::getenv("SNAPVM_REQUIRE_KVM");             \
      if (snapvm_req_ != nullptr && std::string(snapvm_req_) == "1") {         \
        FAIL() << "SNAPVM_REQUIRE_KVM=1 but KVM is unusable: " << snapvm_why_; \
      }                                                                        \
      GTEST_SKIP() << "needs /dev/kvm: " << snapvm_why_;                       \
    }                                                                          \
  } while (0)

#define ASSERT_OK(expr)                                                  \
  do {                                                                   \
    const auto& snapvm_r_ = (expr);                                      \
    ASSERT_TRUE(snapvm_r_.has_value()) << snapvm_r_.error().to_string(); \
  } while (0)

}  // namespace snapvm::testing
