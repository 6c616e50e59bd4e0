// guest_fuzzer_vm_test.cpp: GuestFuzzer and `snapvm fuzz` over the sample guest in a real VM: inputs
// run from a snapshot file, nothing an input does is seen by the next, the restore costs the pages the
// input dirtied, crashes are told apart from refusals and name the fault, and a crash found by
// `snapvm fuzz` replays to the same fault with `snapvm fuzz` and with `snapvm run --input`.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <regex>

#include "snapvm/abi/layout.h"
#include "snapvm_harness/guest_fuzzer.h"
#include "snapvm_harness/libfuzzer.h"
#include "testing/kvm_test_support.h"

namespace snapvm::harness {
namespace {

namespace fs = std::filesystem;

class GuestFuzzerVm : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("snapvm-guest-fuzz-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // The sample guest baked to a file after initialisation, as `snapvm bake` does.
  // `buffer_bytes`: the guest's heap buffer (TouchPages writes it) allocated before the snapshot.
  fs::path bake(SandboxConfig config = {}, uint64_t buffer_bytes = 0) {
    auto sb = testing::make_sample_sandbox(config);
    EXPECT_TRUE(sb) << sb.error().to_string();
    if (buffer_bytes != 0) {
      auto filled = sb->call("BufferFill", {buffer_bytes, uint32_t{7}});
      EXPECT_TRUE(filled) << filled.error().to_string();
    }
    auto snap = sb->snapshot();
    EXPECT_TRUE(snap) << snap.error().to_string();
    fs::path file = dir_ / "sample.svm";
    auto s = snap->to_file(file);
    EXPECT_TRUE(s) << s.error().to_string();
    return file;
  }
  GuestFuzzer open(const std::string& function, GuestFuzzOptions options = {}) {
    if (file_.empty()) file_ = bake();
    auto f = GuestFuzzer::open(file_, function, options);
    if (!f) throw std::runtime_error(f.error().to_string());
    return std::move(*f);
  }
  static Bytes input(const GuestFuzzer& f, std::vector<Value> values) {
    auto in = join_input(f.function().signature, values);
    if (!in) throw std::runtime_error(in.error().to_string());
    return *in;
  }

  fs::path dir_;
  fs::path file_;
};

TEST_F(GuestFuzzerVm, RunsInputsFromASnapshotFile) {
  SNAPVM_REQUIRE_KVM();
  GuestFuzzer f = open("Add");
  EXPECT_EQ(f.file(), file_);
  for (int32_t i = 0; i < 5; ++i) {
    ExecResult r = f.run(input(f, {int32_t{i}, int32_t{40}}));
    ASSERT_EQ(r.outcome, ExecOutcome::kReturned) << (r.error ? r.error->to_string() : "");
    EXPECT_EQ(std::get<int32_t>(r.result), 40 + i);
  }
  EXPECT_EQ(f.runs(), 5u);
  EXPECT_FALSE(f.coverage().enabled());  // the sample guest is built without coverage
  EXPECT_EQ(f.coverage().cmp_log, nullptr);
}

TEST_F(GuestFuzzerVm, UnknownFunctionNamesWhatTheGuestOffers) {
  SNAPVM_REQUIRE_KVM();
  file_ = bake();
  auto f = GuestFuzzer::open(file_, "NoSuchFunction");
  ASSERT_FALSE(f);
  EXPECT_EQ(f.error().code, ErrorCode::kUnknownFunction);
  EXPECT_EQ(f.error().field, "NoSuchFunction");
  EXPECT_NE(f.error().detail.find("Add(i32, i32) -> i32"), std::string::npos) << f.error().detail;
}

TEST_F(GuestFuzzerVm, AGlobalSetByOneInputIsNotSeenByTheNext) {
  SNAPVM_REQUIRE_KVM();
  GuestFuzzer f = open("Increment");  // ++g_counter
  ExecResult first = f.run({});
  ASSERT_EQ(first.outcome, ExecOutcome::kReturned);
  for (int i = 0; i < 4; ++i) {
    ExecResult again = f.run({});
    ASSERT_EQ(again.outcome, ExecOutcome::kReturned);
    EXPECT_EQ(std::get<int64_t>(again.result), std::get<int64_t>(first.result)) << "input " << i + 1;
  }
}

TEST_F(GuestFuzzerVm, ARestoreCopiesBackThePagesThePreviousInputDirtied) {
  SNAPVM_REQUIRE_KVM();
  SandboxConfig config;
  config.heap_size = 4 * kMiB;
  file_ = bake(config, 256 * abi::kPageSize);
  GuestFuzzer f = open("TouchPages");
  for (uint64_t pages : {uint64_t{1}, uint64_t{16}, uint64_t{256}, uint64_t{1}}) {
    ExecResult touched = f.run(input(f, {pages}));
    ASSERT_EQ(touched.outcome, ExecOutcome::kReturned) << touched.error->to_string();
    ASSERT_EQ(f.run(input(f, {uint64_t{0}})).outcome, ExecOutcome::kReturned);
    // The restore before the second run undid the first: its pages plus the few every call writes
    // (stack, buffers, the call's heap copy); far from the heap's 1024 pages.
    EXPECT_GE(f.last_restore_pages(), pages);
    EXPECT_LE(f.last_restore_pages(), pages + 8) << pages << " pages touched";
  }
}

TEST_F(GuestFuzzerVm, FaultsAbortsAndTimeoutsAreCrashesThatNameWhatHappened) {
  SNAPVM_REQUIRE_KVM();
  GuestFuzzer divide = open("Divide");
  ExecResult r = divide.run(input(divide, {int32_t{0}}));
  ASSERT_EQ(r.outcome, ExecOutcome::kCrash);
  ASSERT_TRUE(r.error && r.error->fault);
  EXPECT_EQ(r.error->code, ErrorCode::kGuestFault);
  EXPECT_EQ(r.error->fault->vector, 0u);
  const std::string line = crash_line(divide, *r.error);
  EXPECT_NE(line.find("==snapvm== crash in Divide: GuestFault"), std::string::npos) << line;
  EXPECT_NE(line.find("vector 0,"), std::string::npos) << line;
  // The next input runs on a restored sandbox as if nothing had happened.
  ExecResult ok = divide.run(input(divide, {int32_t{4}}));
  ASSERT_EQ(ok.outcome, ExecOutcome::kReturned) << (ok.error ? ok.error->to_string() : "");
  EXPECT_EQ(std::get<int32_t>(ok.result), 25);

  GuestFuzzer null_deref = open("NullDeref");
  r = null_deref.run({});
  ASSERT_EQ(r.outcome, ExecOutcome::kCrash);
  ASSERT_TRUE(r.error->fault);
  EXPECT_EQ(r.error->fault->vector, 14u);
  EXPECT_EQ(r.error->fault->cr2, 0u);

  GuestFuzzer abort_fn = open("Abort");
  r = abort_fn.run(input(abort_fn, {int32_t{1234}, std::string("planted")}));
  ASSERT_EQ(r.outcome, ExecOutcome::kCrash);
  EXPECT_EQ(r.error->code, ErrorCode::kGuestAbort);
  EXPECT_EQ(r.error->guest_code, 1234);

  GuestFuzzOptions quick;
  quick.call_timeout = std::chrono::milliseconds(50);
  GuestFuzzer spin = open("Spin", quick);
  r = spin.run({});
  ASSERT_EQ(r.outcome, ExecOutcome::kCrash);
  EXPECT_EQ(r.error->code, ErrorCode::kTimeout);
  r = spin.run({});  // poisoned by the timeout, restored: the same again, not kPoisoned
  EXPECT_EQ(r.error->code, ErrorCode::kTimeout);
}

TEST_F(GuestFuzzerVm, AnInputTooLargeForTheInputBufferIsRefusedNotACrash) {
  SNAPVM_REQUIRE_KVM();
  SandboxConfig config;
  config.input_size = 4 * kKiB;
  file_ = bake(config);
  GuestFuzzer f = open("EchoBytes");
  ASSERT_GT(f.max_input_size(), 3000u);
  ASSERT_LT(f.max_input_size(), 4096u);
  ExecResult fits = f.run(Bytes(f.max_input_size(), 0x61));
  ASSERT_EQ(fits.outcome, ExecOutcome::kReturned) << (fits.error ? fits.error->to_string() : "");
  EXPECT_EQ(std::get<Bytes>(fits.result).size(), f.max_input_size());
  ExecResult too_big = f.run(Bytes(f.max_input_size() + 1, 0x61));
  ASSERT_EQ(too_big.outcome, ExecOutcome::kRefused);
  EXPECT_EQ(too_big.error->code, ErrorCode::kCallTooLarge);
}

TEST_F(GuestFuzzerVm, RegisteringCoverageNeedsLibfuzzerInTheProcess) {
  SNAPVM_REQUIRE_KVM();
  GuestFuzzer f = open("Add");
  auto s = register_with_libfuzzer(f);  // this test binary has no libFuzzer
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, ErrorCode::kInvalidConfig);
}

std::string run_command(const std::string& command, int& status) {
  FILE* p = ::popen((command + " 2>&1").c_str(), "r");
  if (p == nullptr) return {};
  std::string out;
  char buf[4096];
  size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  status = ::pclose(p);
  return out;
}

std::string fault_rip(const std::string& text) {
  std::smatch m;
  return std::regex_search(text, m, std::regex("vector 0, error code 0x0, rip (0x[0-9a-f]+)")) ? m[1].str() : "";
}

TEST_F(GuestFuzzerVm, CliFindsACrashThatReplaysWithFuzzAndWithRun) {
  SNAPVM_REQUIRE_KVM();
  file_ = bake();
  const std::string cli = std::string(SNAPVM_BUILD_DIR) + "/harness/snapvm";
  int status = 0;
  // Divide(i32) divides 100 by its argument: zero is found at once (the empty input is one).
  const std::string out = run_command(
      cli + " fuzz " + file_.string() + " Divide -seed=1 -runs=5000 -artifact_prefix=" + (dir_ / "").string(), status);
  ASSERT_NE(status, 0) << out;
  EXPECT_NE(out.find("no guest coverage"), std::string::npos) << out;
  ASSERT_NE(out.find("==snapvm== crash in Divide: GuestFault"), std::string::npos) << out;
  const std::string rip = fault_rip(out);
  ASSERT_FALSE(rip.empty()) << out;
  fs::path crash;
  for (const auto& e : fs::directory_iterator(dir_)) {
    if (e.path().filename().string().starts_with("crash-")) crash = e.path();
  }
  ASSERT_FALSE(crash.empty()) << out;

  const std::string replay = run_command(cli + " fuzz " + file_.string() + " Divide " + crash.string(), status);
  EXPECT_NE(status, 0) << replay;
  EXPECT_EQ(fault_rip(replay), rip) << replay;

  const std::string run = run_command(cli + " run " + file_.string() + " Divide --input " + crash.string(), status);
  EXPECT_EQ(WEXITSTATUS(status), 9) << run;  // kExitGuest
  EXPECT_EQ(fault_rip(run), rip) << run;
}

TEST_F(GuestFuzzerVm, CliKeepGoingSavesEachDistinctCrashOnce) {
  SNAPVM_REQUIRE_KVM();
  file_ = bake();
  const std::string cli = std::string(SNAPVM_BUILD_DIR) + "/harness/snapvm";
  int status = 0;
  const std::string out = run_command(cli + " fuzz " + file_.string() + " Divide --keep-going -seed=1 -runs=300 " +
                                          "-artifact_prefix=" + (dir_ / "").string(),
                                      status);
  EXPECT_EQ(status, 0) << out;
  EXPECT_NE(out.find("==snapvm== new crash 1 after "), std::string::npos) << out;
  EXPECT_EQ(out.find("==snapvm== new crash 2"), std::string::npos) << out;  // one fault, one signature
  EXPECT_NE(out.find("==snapvm== 1 distinct crash(es)"), std::string::npos) << out;
  size_t files = 0;
  for (const auto& e : fs::directory_iterator(dir_)) files += e.path().filename().string().starts_with("crash-");
  EXPECT_EQ(files, 1u);
}

}  // namespace
}  // namespace snapvm::harness
