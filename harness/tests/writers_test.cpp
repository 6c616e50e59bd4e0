// writers_test.cpp: every file the CLI and the generators write goes through the one atomic path
// (engine/snapshot/atomic_file.h): `snapvm mutate` stopped by RLIMIT_FSIZE part way keeps the previous
// mutants and index byte for byte and leaves no temporary; and no writer outside atomic_file.cpp opens
// a file for writing by itself (a source tripwire, so a new writer cannot bypass it unnoticed).
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>

#include "snapshot/atomic_file.h"
#include "snapshot/test_snapshot.h"

namespace snapvm {
namespace {

namespace fs = std::filesystem;

std::string read_text(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Runs the snapvm CLI with `args`; `fsize_limit` (bytes, 0: none) applies to the child only.
int run_cli(const std::vector<std::string>& args, uint64_t fsize_limit) {
  const std::string cli = std::string(SNAPVM_BUILD_DIR) + "/harness/snapvm";
  pid_t pid = ::fork();
  if (pid == 0) {
    if (fsize_limit != 0) {
      std::signal(SIGXFSZ, SIG_IGN);
      struct rlimit lim = {fsize_limit, fsize_limit};
      ::setrlimit(RLIMIT_FSIZE, &lim);
    }
    std::vector<char*> argv{const_cast<char*>(cli.c_str())};
    for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    int devnull = ::open("/dev/null", O_WRONLY);
    ::dup2(devnull, STDOUT_FILENO);
    ::execv(cli.c_str(), argv.data());
    ::_exit(127);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

class WritersTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/snapvm-writers-test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  std::map<std::string, std::string> contents(const fs::path& d) const {
    std::map<std::string, std::string> m;
    for (const auto& e : fs::directory_iterator(d)) m[e.path().filename().string()] = read_text(e.path());
    return m;
  }
  fs::path dir_;
};

TEST_F(WritersTest, MutateStoppedPartWayKeepsThePreviousSetWhole) {
  test_support::TestSnapshotOptions o;  // a 128 KiB heap: the files are ~0.3 MiB
  const fs::path snap = dir_ / "a.snap", out = dir_ / "mutants";
  ASSERT_TRUE(test_support::make_test_snapshot(o).value().to_file(snap).has_value());
  ASSERT_EQ(run_cli({"mutate", snap.string(), "-o", out.string(), "--seed", "1", "--random", "2"}, 0), 0);
  const auto before = contents(out);
  ASSERT_GT(before.size(), 2u);
  ASSERT_TRUE(before.count("index.json"));
  // A 64 KiB limit stops the first mutant part way (each is as large as the snapshot).
  EXPECT_NE(run_cli({"mutate", snap.string(), "-o", out.string(), "--seed", "2", "--random", "2"}, 64 * kKiB), 0);
  const auto after = contents(out);
  EXPECT_EQ(after.size(), before.size()) << "a temporary was left, or a file vanished";
  for (const auto& [name, text] : before) {
    auto it = after.find(name);
    ASSERT_NE(it, after.end()) << name;
    EXPECT_TRUE(it->second == text) << name << " changed: it was written in place";
  }
}

// Writing a file anywhere in the CLI, the harness or the generators means atomic_file.h: these
// source files may read files, never open one for writing by themselves.
TEST(WriterSources, NoWriterBypassesTheAtomicPath) {
  const fs::path root = SNAPVM_SOURCE_DIR;
  const std::regex writer(R"(std::ofstream|std::fstream|fopen\s*\(|O_WRONLY|O_RDWR|O_CREAT|creat\s*\(|O_TRUNC)");
  std::vector<fs::path> sources;
  for (const char* dir : {"harness/src", "harness/cli"}) {
    for (const auto& e : fs::directory_iterator(root / dir)) sources.push_back(e.path());
  }
  sources.push_back(root / "corpus/generate_seeds.cpp");
  sources.push_back(root / "engine/snapshot/snapshot_file.cpp");
  size_t scanned = 0;
  for (const fs::path& p : sources) {
    if (p.extension() != ".cpp") continue;
    ++scanned;
    std::ifstream in(p);
    std::string line;
    for (int n = 1; std::getline(in, line); ++n) {
      EXPECT_FALSE(std::regex_search(line, writer)) << p.lexically_relative(root).string() << ":" << n
                                                    << " writes a file outside engine/snapshot/atomic_file.h: " << line;
    }
  }
  EXPECT_GE(scanned, 10u);
}

}  // namespace
}  // namespace snapvm
