// kvm_support.h: what the properties that run the sample guest share: a property macro that skips
// (or, under SNAPVM_REQUIRE_KVM=1, fails) where KVM is unusable before any case runs, and sandboxes of
// the sample guest made from its ELF or cold-started from a snapshot.
#pragma once

#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include "snapvm/sandbox.h"
#include "snapvm/snapshot.h"
#include "testing/kvm_test_support.h"

// Like RC_GTEST_PROP, but checks KVM first: the test is skipped with the reason (a failure under
// SNAPVM_REQUIRE_KVM=1) instead of every case failing. The RapidCheck id stays "Suite/Name", so
// RC_PARAMS="reproduce=..." lines work as for any RC_GTEST_PROP.
#define SNAPVM_KVM_PROPERTY(Suite, Name, ArgList)                    \
  void snapvm_kvm_property_##Suite##_##Name ArgList;                 \
  TEST(Suite, Name) {                                                \
    SNAPVM_REQUIRE_KVM();                                            \
    ::rc::detail::checkGTest(&snapvm_kvm_property_##Suite##_##Name); \
  }                                                                  \
  void snapvm_kvm_property_##Suite##_##Name ArgList

namespace snapvm::properties {

// A sample-guest sandbox from the ELF: initialised by running the guest, never snapshotted.
MultiUseSandbox fresh_sample_sandbox();
// The sample guest right after initialisation, taken once per process.
const Snapshot& sample_base_snapshot();
// Cold start of the sample guest from `snapshot`, with its host functions.
MultiUseSandbox sandbox_from(const Snapshot& snapshot);

}  // namespace snapvm::properties
