// campaign.cpp: runs mutants in forked children and tallies what the loaders did with them.
#include "snapvm_harness/campaign.h"

#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <sstream>

#include "snapshot/atomic_file.h"
#include "snapvm/sandbox.h"
#include "snapvm/snapshot.h"
#include "snapvm_harness/compare.h"
#include "snapvm_harness/host_stubs.h"

namespace snapvm::harness {

namespace {

// What a child reports through its pipe: fixed size, no pointers.
struct ChildResult {
  int32_t from_file_code = -1;  // -1: loaded; else the ErrorCode
  int32_t unchecked_code = -1;
  uint8_t identical = 0;  // from_file's snapshot equals the original's
  uint8_t started = 0;
  uint8_t call_ok = 0;
};

// Writes the mutant into a memfd so loading goes through a real path (/proc/self/fd/N) and the disk
// is never touched.
std::string memfd_path(const std::vector<uint8_t>& bytes, int& fd_out) {
  int fd = ::memfd_create("snapvm-mutant", 0);
  fd_out = fd;
  if (fd < 0) return {};
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n <= 0) break;
    done += static_cast<size_t>(n);
  }
  return "/proc/self/fd/" + std::to_string(fd);
}

ChildResult attempt(const Mutant& m, const std::optional<Snapshot>& original, const CampaignOptions& options) {
  ChildResult r;
  int fd = -1;
  std::string path = memfd_path(m.bytes, fd);
  auto verified = Snapshot::from_file(path);
  auto unchecked = Snapshot::from_file_unchecked(path);
  if (!verified) r.from_file_code = static_cast<int32_t>(verified.error().code);
  if (!unchecked) r.unchecked_code = static_cast<int32_t>(unchecked.error().code);
  if (verified && original) r.identical = compare_snapshots(*original, *verified).equal() ? 1 : 0;
  const Snapshot* runnable = verified ? &*verified : unchecked ? &*unchecked : nullptr;
  if (options.run_guest && runnable != nullptr) {
    CallOptions o;
    o.timeout = std::chrono::milliseconds(options.call_timeout_ms);
    // A before-init mutant runs the guest's initialisation first: bounded like a call.
    auto sb = MultiUseSandbox::from_snapshot(*runnable, host_functions_for(runnable->host_functions()), {}, o);
    if (sb) {
      r.started = 1;
      bool has_echo = false;
      for (const auto& f : sb->guest_functions()) has_echo |= f.name == "Echo";
      auto result = has_echo ? sb->call("Echo", {std::string("mutant")}, o)
                             : Result<Value>(make_error(ErrorCode::kUnknownFunction, "Echo"));
      r.call_ok = result.has_value() ? 1 : 0;
    }
  }
  if (fd >= 0) ::close(fd);
  return r;
}

void save_artifact(const CampaignOptions& options, size_t index, const Mutant& m, const char* why) {
  if (!options.artifacts) return;
  std::error_code ec;
  std::filesystem::create_directories(*options.artifacts, ec);
  auto base = *options.artifacts / (std::string(why) + "-" + std::to_string(index));
  // Atomic like every file snapvm writes; a failure is reported, the campaign goes on.
  Status s = detail::write_file_atomically(base.string() + ".svm", m.bytes);
  if (s) s = detail::write_file_atomically(base.string() + ".txt", m.description + "\n");
  if (!s) std::cerr << "snapvm: cannot save the artifact " << base.string() << ": " << s.error().to_string() << "\n";
}
}  // namespace

namespace {
class Campaign {
 public:
  Campaign(std::span<const uint8_t> original_file, const CampaignOptions& options);
  void run(const Mutant& m);
  CampaignReport report;

 private:
  const CampaignOptions& options_;
  std::optional<Snapshot> original_;
  size_t index_ = 0;
};
}  // namespace

CampaignReport run_campaign(std::span<const uint8_t> original_file, const MutateOptions& mutate,
                            const CampaignOptions& options) {
  Campaign c(original_file, options);
  for_each_mutant(original_file, mutate, [&](Mutant&& m) {
    c.run(m);
    return true;
  });
  return std::move(c.report);
}

CampaignReport run_campaign(std::span<const uint8_t> original_file, const std::vector<Mutant>& mutants,
                            const CampaignOptions& options) {
  Campaign c(original_file, options);
  for (const Mutant& m : mutants) c.run(m);
  return std::move(c.report);
}

Campaign::Campaign(std::span<const uint8_t> original_file, const CampaignOptions& options) : options_(options) {
  int fd = -1;
  std::string path = memfd_path(std::vector<uint8_t>(original_file.begin(), original_file.end()), fd);
  auto s = Snapshot::from_file_unchecked(path);
  if (s) original_ = *s;
  if (fd >= 0) ::close(fd);
}

void Campaign::run(const Mutant& m) {
  const CampaignOptions& options = options_;
  const size_t i = index_++;
  {
    ++report.tried;
    if (options.progress && report.tried % 250 == 0) {
      std::fprintf(stderr, "[campaign] %zu mutants: %zu rejected, %zu accepted, %zu crashes\n", report.tried,
                   report.rejected, report.accepted, report.crashes);
    }
    ++report.by_family[std::string(mutator_family_name(m.family))];
    int pipefd[2];
    if (::pipe(pipefd) < 0) {
      ++report.crashes;
      report.findings.push_back("pipe failed: " + std::string(std::strerror(errno)));
      return;
    }
    pid_t pid = ::fork();
    if (pid == 0) {
      ::close(pipefd[0]);
      ChildResult r = attempt(m, original_, options);
      ssize_t unused = ::write(pipefd[1], &r, sizeof r);
      (void)unused;
      ::_exit(0);
    }
    ::close(pipefd[1]);
    ChildResult r;
    ssize_t got = pid > 0 ? ::read(pipefd[0], &r, sizeof r) : -1;
    ::close(pipefd[0]);
    int status = 0;
    if (pid > 0) ::waitpid(pid, &status, 0);
    if (pid < 0 || got != static_cast<ssize_t>(sizeof r) || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      ++report.crashes;
      std::string how = pid < 0               ? "fork failed"
                        : WIFSIGNALED(status) ? "signal " + std::to_string(WTERMSIG(status))
                                              : "no result";
      report.findings.push_back("host crash (" + how + "): " + m.description);
      save_artifact(options, i, m, "crash");
      return;
    }
    if (r.from_file_code >= 0) {
      ++report.rejected;
      ++report.rejected_by_code[std::string(error_code_name(static_cast<ErrorCode>(r.from_file_code)))];
    } else {
      ++report.accepted;
      if (r.identical) ++report.accepted_identical;
      if (m.must_reject && !r.identical) {
        ++report.wrongly_accepted;
        report.findings.push_back("accepted by from_file: " + m.description);
        save_artifact(options, i, m, "accepted");
      }
    }
    if (!m.checksums_fixed && !m.touches_blob_only && r.unchecked_code < 0 && !r.identical) {
      ++report.unchecked_accepted_header_mutation;
      report.findings.push_back("accepted by from_file_unchecked: " + m.description);
      save_artifact(options, i, m, "unchecked");
    }
    report.started += r.started;
    report.calls_ok += r.call_ok;
    report.calls_failed += r.started && !r.call_ok ? 1 : 0;
  }
}

nlohmann::json CampaignReport::to_json() const {
  return {{"tried", tried},
          {"rejected", rejected},
          {"accepted", accepted},
          {"accepted_identical", accepted_identical},
          {"wrongly_accepted", wrongly_accepted},
          {"unchecked_accepted_header_mutation", unchecked_accepted_header_mutation},
          {"started", started},
          {"calls_ok", calls_ok},
          {"calls_failed", calls_failed},
          {"host_crashes", crashes},
          {"rejected_by_code", rejected_by_code},
          {"by_family", by_family},
          {"findings", findings},
          {"ok", ok()}};
}

std::string CampaignReport::to_text() const {
  std::ostringstream out;
  out << "mutants tried:        " << tried << "\n"
      << "rejected (from_file): " << rejected << "\n";
  for (const auto& [code, n] : rejected_by_code) out << "  " << code << ": " << n << "\n";
  out << "accepted:             " << accepted << " (" << accepted_identical << " identical in meaning)\n"
      << "wrongly accepted:     " << wrongly_accepted << "\n"
      << "unchecked accepted a header change: " << unchecked_accepted_header_mutation << "\n"
      << "started / calls ok / calls failed: " << started << " / " << calls_ok << " / " << calls_failed << "\n"
      << "host crashes:         " << crashes << "\n";
  for (const auto& f : findings) out << "  finding: " << f << "\n";
  return out.str();
}

}  // namespace snapvm::harness
