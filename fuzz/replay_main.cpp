// replay_main.cpp: the main of the g++ build of every fuzz target, after LLVM's
// StandaloneFuzzTargetMain.c. Runs LLVMFuzzerInitialize (if the target has one), then the target
// once on every file named on the command line; a directory stands for every regular file below it,
// in sorted order. No mutation, no coverage: ctest uses it to replay corpus/ on every CI run, and
// it runs any one crashing input under gdb or valgrind.
//
//   build/ci/fuzz/snapshot_file_fuzzer corpus/seeds/snapshot_file crash-1234
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);
extern "C" __attribute__((weak)) int LLVMFuzzerInitialize(int* argc, char*** argv);

namespace {
namespace fs = std::filesystem;

bool collect(const fs::path& p, std::vector<fs::path>& out) {
  std::error_code ec;
  if (fs::is_directory(p, ec)) {
    std::vector<fs::path> files;
    for (const auto& e : fs::recursive_directory_iterator(p, ec)) {
      if (e.is_regular_file()) files.push_back(e.path());
    }
    std::sort(files.begin(), files.end());
    out.insert(out.end(), files.begin(), files.end());
    return !ec;
  }
  if (fs::is_regular_file(p, ec)) {
    out.push_back(p);
    return true;
  }
  return false;
}
}  // namespace

int main(int argc, char** argv) {
  if (LLVMFuzzerInitialize != nullptr) LLVMFuzzerInitialize(&argc, &argv);
  std::vector<fs::path> inputs;
  for (int i = 1; i < argc; ++i) {
    if (argv[i][0] == '-') continue;  // libFuzzer flags (-runs=, -dict=...) are accepted and ignored
    if (!collect(argv[i], inputs)) {
      std::fprintf(stderr, "%s: no such file or directory: %s\n", argv[0], argv[i]);
      return 2;
    }
  }
  for (const fs::path& p : inputs) {
    std::ifstream in(p, std::ios::binary);
    std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (!in.eof() && in.fail()) {
      std::fprintf(stderr, "%s: cannot read %s\n", argv[0], p.c_str());
      return 2;
    }
    std::printf("Running: %s (%zu bytes)\n", p.c_str(), bytes.size());
    std::fflush(stdout);
    // A heap copy sized exactly (never null, even when empty), as libFuzzer passes it: ASan builds
    // catch a read one byte past the end.
    std::unique_ptr<uint8_t[]> copy(new uint8_t[bytes.size()]);
    std::copy(bytes.begin(), bytes.end(), copy.get());
    LLVMFuzzerTestOneInput(copy.get(), bytes.size());
  }
  std::printf("Executed %zu inputs\n", inputs.size());
  return 0;
}
