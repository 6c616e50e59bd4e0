// harness_vm_test.cpp: the round-trip driver and the mutation campaign against the sample guest in a
// real VM, and the CLI end to end (bake, then run prints the echo).
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "snapvm_harness/campaign.h"
#include "snapvm_harness/roundtrip.h"
#include "testing/kvm_test_support.h"

namespace snapvm::harness {
namespace {

namespace fs = std::filesystem;

fs::path temp_path(const std::string& name) {
  return fs::temp_directory_path() / ("snapvm-harness-" + std::to_string(::getpid()) + "-" + name);
}

TEST(HarnessVm, RoundTripOfTheSampleGuestFindsNoDifference) {
  SNAPVM_REQUIRE_KVM();
  auto sb = testing::make_sample_sandbox();
  ASSERT_OK(sb);
  ASSERT_OK(sb->call("SetGlobal", {int64_t{77}}));
  auto snap = sb->snapshot();
  ASSERT_OK(snap);
  RoundTripReport r = round_trip(*snap, temp_path("rt.svm"));
  EXPECT_TRUE(r.ok()) << r.to_json().dump(2);
  EXPECT_EQ(r.calls, sample_call_script().size());
  EXPECT_FALSE(fs::exists(temp_path("rt.svm")));
}

TEST(HarnessVm, CampaignOverTheSampleGuestHasNoCrashAndNoWrongAcceptance) {
  SNAPVM_REQUIRE_KVM();
  SandboxConfig small;
  small.heap_size = 16 * kKiB;
  small.stack_size = 16 * kKiB;
  small.input_size = 4 * kKiB;
  small.output_size = 4 * kKiB;
  auto sb = testing::make_sample_sandbox(small);
  ASSERT_OK(sb);
  auto snap = sb->snapshot();
  ASSERT_OK(snap);
  fs::path file = temp_path("campaign.svm");
  ASSERT_OK(snap->to_file(file));
  std::ifstream in(file, std::ios::binary);
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  fs::remove(file);
  MutateOptions mo;
  mo.seed = 3;
  mo.random_per_family = 16;
  mo.boundary_values_per_field = 1;
  // Every third mutant keeps every family in and the run short under emulated KVM; ci/main and
  // `snapvm check` run them all.
  std::vector<Mutant> subset;
  size_t i = 0;
  for_each_mutant(bytes, mo, [&](Mutant&& m) {
    if (i++ % 3 == 0) subset.push_back(std::move(m));
    return true;
  });
  CampaignReport r = run_campaign(bytes, subset);
  std::printf("%s", r.to_text().c_str());
  EXPECT_EQ(r.by_family.size(), 7u);
  EXPECT_GT(r.tried, 500u);
  EXPECT_EQ(r.crashes, 0u);
  EXPECT_EQ(r.wrongly_accepted, 0u);
  EXPECT_EQ(r.unchecked_accepted_header_mutation, 0u);
  EXPECT_GT(r.rejected, r.tried / 2);
  EXPECT_GT(r.started, 0u);
}

TEST(HarnessVm, CliBakeThenRunPrintsTheEcho) {
  SNAPVM_REQUIRE_KVM();
  std::string cli = std::string(SNAPVM_BUILD_DIR) + "/harness/snapvm";
  fs::path file = temp_path("cli.svm");
  std::string bake = cli + " bake " + testing::sample_guest_path() + " -o " + file.string() + " >/dev/null";
  ASSERT_EQ(std::system(bake.c_str()), 0);
  std::string run = cli + " run " + file.string() + " Echo hello 2>/dev/null";
  FILE* p = ::popen(run.c_str(), "r");
  ASSERT_NE(p, nullptr);
  char line[256] = {};
  ASSERT_NE(std::fgets(line, sizeof line, p), nullptr);
  EXPECT_EQ(::pclose(p), 0);
  EXPECT_STREQ(line, "hello\n");
  std::string verify = cli + " verify -q " + file.string();
  EXPECT_EQ(std::system(verify.c_str()), 0);
  // A corrupt file gets the checksum class's exit status (6).
  {
    std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(100);
    f.put('\x5a');
  }
  EXPECT_EQ(WEXITSTATUS(std::system((verify + " 2>/dev/null").c_str())), 6);
  fs::remove(file);
}

}  // namespace
}  // namespace snapvm::harness
