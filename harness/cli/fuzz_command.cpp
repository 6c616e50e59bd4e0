// fuzz_command.cpp: `snapvm fuzz`. libFuzzer gets argv[0], snapvm's own settings as double-dash flags
// (which libFuzzer ignores but passes on when it re-executes the program for -fork or -jobs), then the
// user's libFuzzer flags and corpus directories.
#include "cli/fuzz_command.h"

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "cli/exit_codes.h"
#include "snapvm_harness/libfuzzer.h"

#if SNAPVM_HAVE_LIBFUZZER
extern "C" int LLVMFuzzerRunDriver(int* argc, char*** argv, int (*callback)(const uint8_t* data, size_t size));
#endif

namespace snapvm::cli {

namespace {

constexpr std::string_view kFileFlag = "--snapvm-file=";
constexpr std::string_view kFunctionFlag = "--snapvm-function=";
constexpr std::string_view kTimeoutFlag = "--timeout-ms=";
constexpr std::string_view kUncheckedFlag = "--unchecked";
constexpr std::string_view kKeepGoingFlag = "--keep-going";

harness::GuestFuzzer* g_fuzzer = nullptr;

int test_one_input(const uint8_t* data, size_t size) {
  return harness::libfuzzer_test_one_input(*g_fuzzer, data, size);
}

void usage() {
  std::cerr << "usage: snapvm fuzz FILE.svm FUNCTION [--timeout-ms=N] [--unchecked] [--keep-going] [libFuzzer "
               "flags...] [corpus "
               "dirs or inputs...]\n"
               "  Fuzzes FUNCTION of the guest in FILE.svm with libFuzzer, restoring the snapshot between inputs.\n"
               "  --timeout-ms=N  per-input call time limit (default 1000); past it the input is a crash\n"
               "  --unchecked     load without verifying the content digest\n"
               "  --keep-going    do not stop at a crash: save the first input of each distinct crash\n"
               "                  (-artifact_prefix) and go on\n"
               "  Inputs map to the function's parameters as docs/guest-fuzzing.md says. A crash prints\n"
               "  '==snapvm== crash in FUNCTION: ...' and libFuzzer saves the input as crash-*; replay it with\n"
               "  'snapvm fuzz FILE.svm FUNCTION crash-FILE' or 'snapvm run FILE.svm FUNCTION --input crash-FILE'.\n";
}

bool starts_with(const char* s, std::string_view prefix) { return std::string_view(s).starts_with(prefix); }

}  // namespace

bool is_fuzz_command(int argc, char** argv) {
  if (argc >= 2 && std::strcmp(argv[1], "fuzz") == 0) return true;
  return argc >= 2 && starts_with(argv[1], kFileFlag);
}

int fuzz_command(int argc, char** argv) {
  std::string file, function;
  harness::GuestFuzzOptions options;
  std::vector<std::string> passed;  // to libFuzzer, after argv[0]
  bool has_max_len = false, keep_going = false;
  std::string artifact_prefix = "./";
  int i = 1;
  if (std::strcmp(argv[1], "fuzz") == 0) {
    if (argc < 4 || std::strcmp(argv[2], "--help") == 0 || std::strcmp(argv[2], "-h") == 0) {
      usage();
      return argc >= 3 && argv[2][0] == '-' && argv[2][1] != '\0' ? kExitOk : kExitUsage;
    }
    file = argv[2];
    function = argv[3];
    i = 4;
  }
  for (; i < argc; ++i) {
    const char* a = argv[i];
    if (starts_with(a, kFileFlag)) {
      file = a + kFileFlag.size();
    } else if (starts_with(a, kFunctionFlag)) {
      function = a + kFunctionFlag.size();
    } else if (starts_with(a, kTimeoutFlag)) {
      char* end = nullptr;
      const double ms = std::strtod(a + kTimeoutFlag.size(), &end);
      if (end == a + kTimeoutFlag.size() || *end != '\0' || !(ms > 0)) {
        std::cerr << "snapvm fuzz: " << a << ": expected a positive number of milliseconds\n";
        return kExitUsage;
      }
      options.call_timeout = std::chrono::nanoseconds(static_cast<int64_t>(ms * 1e6));
    } else if (std::string_view(a) == kUncheckedFlag) {
      options.verify_digest = false;
    } else if (std::string_view(a) == kKeepGoingFlag) {
      keep_going = true;
    } else {
      if (starts_with(a, "-max_len=")) has_max_len = true;
      if (starts_with(a, "-artifact_prefix=")) artifact_prefix = a + std::strlen("-artifact_prefix=");
      passed.emplace_back(a);
    }
  }
  if (file.empty() || function.empty()) {
    usage();
    return kExitUsage;
  }
#if SNAPVM_HAVE_LIBFUZZER
  static std::unique_ptr<harness::GuestFuzzer> fuzzer;  // lives until exit: libFuzzer holds its counters
  auto opened = harness::GuestFuzzer::open(file, function, options);
  if (!opened) {
    std::cerr << "snapvm fuzz: " << file << ": " << opened.error().to_string() << "\n";
    return exit_code_for(opened.error());
  }
  fuzzer = std::make_unique<harness::GuestFuzzer>(std::move(*opened));
  if (auto s = harness::register_with_libfuzzer(*fuzzer); !s) {
    std::cerr << "snapvm fuzz: " << s.error().to_string() << "\n";
    return kExitFailure;
  }
  g_fuzzer = fuzzer.get();
  const harness::GuestCoverage& c = g_fuzzer->coverage();
  std::cerr << "snapvm fuzz: " << file << " " << signature_to_string(function, g_fuzzer->function().signature)
            << "; dirty tracking " << g_fuzzer->dirty_tracking() << "; ";
  if (c.enabled()) {
    std::cerr << "guest coverage: " << c.counters.size() << " counters"
              << (c.pcs.empty() ? " (hashed edges)" : " (one per edge, with PC table)")
              << (c.cmp_log != nullptr ? ", comparisons" : "") << "\n";
  } else {
    std::cerr << "no guest coverage: the guest was built without it (snapvm_add_guest COVERAGE); fuzzing blind, "
                 "on outcomes only\n";
  }
  // What libFuzzer sees: our settings first (re-executed children get them back), then the user's.
  std::vector<std::string> words{
      argv[0], std::string(kFileFlag) + file, std::string(kFunctionFlag) + function,
      std::string(kTimeoutFlag) + std::to_string(static_cast<double>(options.call_timeout.count()) / 1e6)};
  if (!options.verify_digest) words.emplace_back(kUncheckedFlag);
  if (keep_going) {
    words.emplace_back(kKeepGoingFlag);
    harness::keep_going_after_crashes(artifact_prefix);
  }
  if (!has_max_len) words.push_back("-max_len=" + std::to_string(std::min<size_t>(4096, g_fuzzer->max_input_size())));
  words.insert(words.end(), passed.begin(), passed.end());
  std::vector<char*> args;
  args.reserve(words.size() + 1);
  for (auto& w : words) args.push_back(w.data());
  args.push_back(nullptr);
  int fuzz_argc = static_cast<int>(words.size());
  char** fuzz_argv = args.data();
  return LLVMFuzzerRunDriver(&fuzz_argc, &fuzz_argv, test_one_input);
#else
  (void)has_max_len;
  (void)keep_going;
  (void)test_one_input;
  std::cerr << "snapvm fuzz: this snapvm was built without libFuzzer (install libclang-rt-14-dev and reconfigure)\n";
  return kExitFailure;
#endif
}

}  // namespace snapvm::cli
