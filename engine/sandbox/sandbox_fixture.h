// sandbox_fixture.h: the fixture of the KVM sandbox tests: a sandbox of the sample guest per test.
#pragma once

#include <gtest/gtest.h>

#include <optional>

#include "testing/kvm_test_support.h"

namespace snapvm {

class SandboxTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SNAPVM_REQUIRE_KVM();
    auto sb = testing::make_sample_sandbox();
    ASSERT_OK(sb);
    sandbox_.emplace(std::move(*sb));
  }
  MultiUseSandbox& sb() { return *sandbox_; }
  std::optional<MultiUseSandbox> sandbox_;
};

}  // namespace snapvm
