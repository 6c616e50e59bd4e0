// dirty_log_test.cpp: restore through each dirty-log mode the machine's KVM offers (dirty ring, manual
// clear, plain bitmap), chosen with SNAPVM_DIRTY_LOG: the mode is the one asked for, restore copies back
// exactly the pages written, memory equals the snapshot afterwards, and later writes are seen again
// (a mode that forgot to re-protect restored pages would miss them). A mode this KVM lacks is skipped
// with its capability named; the default picks the best one.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>

#include "testing/kvm_test_support.h"

namespace snapvm {
namespace {

class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    ::setenv(name, value, 1);
  }
  ~ScopedEnv() {
    if (old_) {
      ::setenv(name_, old_->c_str(), 1);
    } else {
      ::unsetenv(name_);
    }
  }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

struct Mode {
  const char* env;   // SNAPVM_DIRTY_LOG
  const char* name;  // MultiUseSandbox::dirty_tracking()
};

class DirtyLogTest : public ::testing::TestWithParam<Mode> {
 protected:
  // A sample sandbox in the parameter's mode, with a heap large enough to overflow the dirty ring.
  std::optional<MultiUseSandbox> make() {
    ScopedEnv env("SNAPVM_DIRTY_LOG", GetParam().env);
    SandboxConfig config;
    config.heap_size = 32 * kMiB;
    auto sb = testing::make_sample_sandbox(config);
    if (!sb && sb.error().code == ErrorCode::kKvmUnavailable) {
      skipped_ = sb.error().to_string();
      return std::nullopt;
    }
    EXPECT_TRUE(sb) << sb.error().to_string();
    if (!sb) return std::nullopt;
    return std::move(*sb);
  }
  std::string skipped_;
};

TEST_P(DirtyLogTest, RestoreCopiesBackExactlyTheWrittenPagesAndSeesLaterWrites) {
  SNAPVM_REQUIRE_KVM();
  auto sb = make();
  if (!skipped_.empty()) GTEST_SKIP() << GetParam().name << " not offered by this KVM: " << skipped_;
  ASSERT_TRUE(sb);
  EXPECT_EQ(sb->dirty_tracking(), GetParam().name);
  ASSERT_OK(sb->call("BufferFill", {uint64_t{6000 * 4096}, uint32_t{7}}));  // 6000 pages: more than the ring
  auto snap = sb->snapshot();
  ASSERT_OK(snap);
  const uint64_t base_sum = *sb->call_as<uint64_t>("BufferChecksum");
  ASSERT_OK(sb->restore(*snap));

  // Three rounds: the pages restored in one round must be reported again when written in the next.
  for (uint64_t pages : {uint64_t{1}, uint64_t{5000}, uint64_t{3}}) {
    SCOPED_TRACE(pages);
    ASSERT_OK(sb->call("TouchPages", {pages}));
    EXPECT_NE(*sb->call_as<uint64_t>("BufferChecksum"), base_sum);
    ASSERT_OK(sb->restore(*snap));
    // The pages touched plus the few every call writes (stack, output buffer, globals): never the heap.
    EXPECT_GE(sb->last_restore_pages(), pages);
    EXPECT_LE(sb->last_restore_pages(), pages + 16) << "restore copied pages nobody wrote";
    EXPECT_EQ(*sb->call_as<uint64_t>("BufferChecksum"), base_sum) << "a written page was not restored";
    ASSERT_OK(sb->restore(*snap));
  }
}

INSTANTIATE_TEST_SUITE_P(EachMode, DirtyLogTest,
                         ::testing::Values(Mode{"ring", "dirty-ring"}, Mode{"manual", "manual-clear"},
                                           Mode{"bitmap", "bitmap"}),
                         [](const auto& p) { return std::string(p.param.env); });

TEST(DirtyLogChoice, TheDefaultIsTheBestOffered) {
  SNAPVM_REQUIRE_KVM();
  ScopedEnv env("SNAPVM_DIRTY_LOG", "");
  auto sb = testing::make_sample_sandbox();
  ASSERT_OK(sb);
  // Linux has had the dirty ring on x86 since 5.11 and manual clear since 5.8: the default must use one.
  const std::string_view mode = sb->dirty_tracking();
  EXPECT_TRUE(mode == "dirty-ring" || mode == "manual-clear") << mode;
  std::printf("dirty tracking by default: %.*s\n", static_cast<int>(mode.size()), mode.data());
}

TEST(DirtyLogChoice, AnUnknownRequestIsATypedError) {
  SNAPVM_REQUIRE_KVM();
  ScopedEnv env("SNAPVM_DIRTY_LOG", "sometimes");
  auto sb = testing::make_sample_sandbox();
  ASSERT_FALSE(sb);
  EXPECT_EQ(sb.error().code, ErrorCode::kInvalidConfig);
  EXPECT_EQ(sb.error().field, "SNAPVM_DIRTY_LOG");
}

}  // namespace
}  // namespace snapvm
