// libfuzzer.cpp: a GuestFuzzer's coverage handed to libFuzzer, and one input run the libFuzzer way.
// libFuzzer's interface is declared weak: this library links into programs without libFuzzer too (the
// tests), where registering reports that none is there.
#include "snapvm_harness/libfuzzer.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <memory>
#include <set>
#include <tuple>
#include <vector>

#include <unistd.h>

#include "snapshot/atomic_file.h"
#include "snapvm_harness/host_stubs.h"

// NOLINTBEGIN(bugprone-reserved-identifier,readability-identifier-naming): libFuzzer's names
extern "C" {
__attribute__((weak)) void __sanitizer_cov_8bit_counters_init(uint8_t* start, uint8_t* stop);
__attribute__((weak)) void __sanitizer_cov_pcs_init(const uintptr_t* start, const uintptr_t* stop);
__attribute__((weak)) void __sanitizer_cov_trace_cmp4(uint32_t a, uint32_t b);
__attribute__((weak)) void __sanitizer_cov_trace_cmp8(uint64_t a, uint64_t b);
// libFuzzer's own entry point: present wherever libFuzzer is linked (its main or not). The hooks above are
// not proof: the sanitizer runtimes define no-op versions of them.
__attribute__((weak)) int LLVMFuzzerRunDriver(int* argc, char*** argv, int (*callback)(const uint8_t*, size_t));
__attribute__((weak)) void __sanitizer_weak_hook_memcmp(void* caller_pc, const void* s1, const void* s2, size_t n,
                                                        int result);
}
// NOLINTEND(bugprone-reserved-identifier,readability-identifier-naming)

namespace snapvm::harness {

namespace {

// Outcome counters: [0] returned, [1] refused, [2..] a bucket of the returned value. Not coverage, but
// enough signal for a guest built without it (libFuzzer keeps inputs that reach a new bucket).
constexpr size_t kOutcomeCounters = 64;
uint8_t g_outcomes[kOutcomeCounters];

// Made-up PC tables (libFuzzer requires one entry per counter): addresses no host code has.
constexpr uintptr_t kOutcomePcBase = 0x5eed0000;
constexpr uintptr_t kGuestPcBase = 0x5eee0000;

std::vector<uintptr_t>& pc_table(size_t pairs, uintptr_t base) {
  static std::vector<std::unique_ptr<std::vector<uintptr_t>>> tables;  // libFuzzer keeps the pointers
  auto& t = tables.emplace_back(std::make_unique<std::vector<uintptr_t>>(pairs * 2));
  for (size_t i = 0; i < pairs; ++i) (*t)[2 * i] = base + i;
  return *t;
}

uint64_t value_hash(const Value& v) {
  uint64_t h = 0xcbf29ce484222325ull ^ v.index();
  auto mix = [&h](uint8_t b) { h = (h ^ b) * 0x100000001b3ull; };
  std::visit(
      [&](const auto& x) {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, std::string> || std::is_same_v<T, Bytes>) {
          for (size_t i = 0; i < x.size() && i < 64; ++i) mix(static_cast<uint8_t>(x[i]));
          for (size_t i = 0; i < 8; ++i) mix(static_cast<uint8_t>(x.size() >> (8 * i)));
        } else if constexpr (!std::is_same_v<T, std::monostate>) {
          uint8_t bytes[sizeof(T)];
          std::memcpy(bytes, &x, sizeof(T));
          for (uint8_t b : bytes) mix(b);
        }
      },
      v);
  return h;
}

uint32_t significant_bytes(uint64_t v) {
  uint32_t n = 0;
  while (v != 0) {
    ++n;
    v >>= 8;
  }
  return n;
}

// The comparisons the input made, as libFuzzer's hooks would have seen them in host code: 4- and
// 8-byte ones (and 2-byte ones, as libFuzzer reads its 4-byte table) feed its tables of recent compares,
// every size its table of compared words.
void feed_comparisons(const abi::CmpLog& log) {
  const uint32_t n = std::min(log.count, abi::kCmpLogCapacity);
  // Each site once per input: a loop's bound compared on every turn would crowd libFuzzer's small
  // tables out of the one compare that matters.
  uint32_t seen[64] = {};
  for (uint32_t i = 0; i < n; ++i) {
    const abi::CmpRecord r = log.records[i];
    if (r.a == r.b || r.size == 0 || r.size > 8) continue;
    // One-byte values: libFuzzer's byte mutations find those; its tables keep only longer words.
    if (std::max(r.a, r.b) < 0x100) continue;
    uint32_t& slot = seen[(r.pc * 0x9e3779b1u) >> 26];
    if (slot == r.pc + 1) continue;
    slot = r.pc + 1;
    // 2-byte compares go to the 4-byte table too: libFuzzer tries its entries that fit 16 bits as u16.
    if ((r.size == 2 || r.size == 4) && __sanitizer_cov_trace_cmp4 != nullptr) {
      __sanitizer_cov_trace_cmp4(static_cast<uint32_t>(r.a), static_cast<uint32_t>(r.b));
    }
    if (r.size == 8 && __sanitizer_cov_trace_cmp8 != nullptr) __sanitizer_cov_trace_cmp8(r.a, r.b);
    if (__sanitizer_weak_hook_memcmp != nullptr) {
      uint8_t a[8], b[8];
      for (size_t k = 0; k < 8; ++k) {
        a[k] = static_cast<uint8_t>(r.a >> (8 * k));
        b[k] = static_cast<uint8_t>(r.b >> (8 * k));
      }
      // The guest site's address stands in for the caller, so sites stay apart in libFuzzer's tables.
      // NOLINTNEXTLINE(performance-no-int-to-ptr): a guest address, never dereferenced
      __sanitizer_weak_hook_memcmp(reinterpret_cast<void*>(uintptr_t{r.pc}), a, b, r.size, 1);
      // Compilers widen narrow compares (a u16 field tested in a 32-bit register): offer the operands
      // at the width of their significant bytes too, which is what the input holds.
      const uint32_t width = std::max<uint32_t>(2, std::max(significant_bytes(r.a), significant_bytes(r.b)));
      if (width < r.size) {
        // NOLINTNEXTLINE(performance-no-int-to-ptr): as above
        __sanitizer_weak_hook_memcmp(reinterpret_cast<void*>(uintptr_t{r.pc} + 1), a, b, width, 1);
      }
    }
  }
}

// Keep-going mode: where crash inputs go, and the crashes already saved.
struct KeepGoing {
  bool on = false;
  std::string prefix;
  using Signature = std::tuple<ErrorCode, uint8_t, uint64_t, int32_t>;
  std::set<Signature> seen;
  uint64_t crashes = 0;
  std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();
};
KeepGoing& keep_going() {
  static KeepGoing k;
  return k;
}

KeepGoing::Signature signature_of(const Error& e) {
  return {e.code, e.fault ? e.fault->vector : uint8_t{0}, e.fault ? e.fault->rip : 0, e.guest_code.value_or(0)};
}

std::string input_name(std::span<const uint8_t> input) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (uint8_t b : input) h = (h ^ b) * 0x100000001b3ull;
  char name[32];
  std::snprintf(name, sizeof name, "crash-%016llx", static_cast<unsigned long long>(h));
  return name;
}

void record_crash(const GuestFuzzer& fuzzer, const Error& error, std::span<const uint8_t> input) {
  KeepGoing& k = keep_going();
  ++k.crashes;
  if (!k.seen.insert(signature_of(error)).second) return;
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - k.start).count();
  const std::string path = k.prefix + input_name(input);
  std::fprintf(stderr, "==snapvm== new crash %zu after %llu runs (%.1f s): %s\n", k.seen.size(),
               static_cast<unsigned long long>(fuzzer.runs()), seconds, crash_line(fuzzer, error).c_str());
  if (auto s = detail::write_file_atomically(path, input); !s) {
    std::fprintf(stderr, "==snapvm== could not save %s: %s\n", path.c_str(), s.error().to_string().c_str());
  } else {
    std::fprintf(stderr, "==snapvm== saved %s\n", path.c_str());
  }
}

}  // namespace

void keep_going_after_crashes(const std::string& artifact_prefix) {
  KeepGoing& k = keep_going();
  k.on = true;
  k.prefix = artifact_prefix;
  k.start = std::chrono::steady_clock::now();
  std::atexit([] {
    const KeepGoing& kg = keep_going();
    std::fprintf(stderr, "==snapvm== %zu distinct crash(es) in %llu crashing input(s)\n", kg.seen.size(),
                 static_cast<unsigned long long>(kg.crashes));
  });
}

size_t distinct_crashes() { return keep_going().seen.size(); }

Status register_with_libfuzzer(GuestFuzzer& fuzzer) {
  if (LLVMFuzzerRunDriver == nullptr || __sanitizer_cov_8bit_counters_init == nullptr ||
      __sanitizer_cov_pcs_init == nullptr) {
    return make_error(ErrorCode::kInvalidConfig, "libFuzzer", "this program is not linked with libFuzzer");
  }
  static bool registered = false;
  if (registered) return make_error(ErrorCode::kInvalidConfig, "libFuzzer", "coverage is registered already");
  registered = true;
  const auto& outcome_pcs = pc_table(kOutcomeCounters, kOutcomePcBase);
  __sanitizer_cov_8bit_counters_init(g_outcomes, g_outcomes + kOutcomeCounters);
  __sanitizer_cov_pcs_init(outcome_pcs.data(), outcome_pcs.data() + outcome_pcs.size());
  const GuestCoverage& c = fuzzer.coverage();
  if (!c.enabled()) return {};
  __sanitizer_cov_8bit_counters_init(c.counters.data(), c.counters.data() + c.counters.size());
  if (!c.pcs.empty()) {
    __sanitizer_cov_pcs_init(c.pcs.data(), c.pcs.data() + c.pcs.size());
  } else {
    const auto& pcs = pc_table(c.counters.size(), kGuestPcBase);
    __sanitizer_cov_pcs_init(pcs.data(), pcs.data() + pcs.size());
  }
  return {};
}

std::string crash_line(const GuestFuzzer& fuzzer, const Error& error) {
  return "==snapvm== crash in " + fuzzer.function().name + ": " + error.to_string();
}

int libfuzzer_test_one_input(GuestFuzzer& fuzzer, const uint8_t* data, size_t size) {
  ExecResult r = fuzzer.run({data, size});
  switch (r.outcome) {
    case ExecOutcome::kCrash:
      if (keep_going().on) {
        record_crash(fuzzer, *r.error, {data, size});
        return -1;
      }
      std::fprintf(stderr, "%s\n", crash_line(fuzzer, *r.error).c_str());
      std::fflush(stderr);
      std::abort();  // libFuzzer's SIGABRT handler saves the input as crash-*
    case ExecOutcome::kRefused:
      g_outcomes[1] = 1;
      return -1;
    case ExecOutcome::kReturned:
      break;
  }
  g_outcomes[0] = 1;
  g_outcomes[2 + value_hash(r.result) % (kOutcomeCounters - 2)] = 1;
  if (const abi::CmpLog* log = fuzzer.coverage().cmp_log) feed_comparisons(*log);
  return 0;
}

GuestFuzzer* libfuzzer_open(const std::filesystem::path& file, const std::string& function,
                            const GuestFuzzOptions& options) {
  static std::unique_ptr<GuestFuzzer> kept;  // lives until exit: libFuzzer holds its counters
  auto f = GuestFuzzer::open(file, function, options);
  if (!f) {
    const bool no_kvm = f.error().code == ErrorCode::kKvmUnavailable;
    std::cerr << "snapvm fuzz: " << (no_kvm ? "needs /dev/kvm: " : "") << file.string() << ": " << f.error().to_string()
              << "\n";
    std::exit(1);
  }
  kept = std::make_unique<GuestFuzzer>(std::move(*f));
  if (auto s = register_with_libfuzzer(*kept); !s && LLVMFuzzerRunDriver != nullptr) {
    std::cerr << "snapvm fuzz: " << s.error().to_string() << "\n";
    std::exit(1);
  }
  return kept.get();
}

namespace {

Status bake_guest(const std::filesystem::path& elf, const std::filesystem::path& file) {
  MultiUseSandbox sandbox = TRY(SandboxBuilder::from_elf(elf).host_functions(sample_host_functions()).build());
  Snapshot snapshot = TRY(sandbox.snapshot());
  return snapshot.to_file(file);
}

}  // namespace

GuestFuzzer* libfuzzer_open_guest(int argc, char** argv, const std::string& guest, const std::string& function,
                                  const GuestFuzzOptions& options) {
  std::string prefix = "./";
  bool keep = false;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (a == "--keep-going") keep = true;
    if (a.starts_with("-artifact_prefix=")) prefix = std::string(a.substr(std::strlen("-artifact_prefix=")));
  }
  if (keep) keep_going_after_crashes(prefix);
  std::filesystem::path file = beside_program(argv[0], guest + ".svm");
  if (!std::filesystem::exists(file)) {
    const std::filesystem::path elf = beside_program(argv[0], guest);
    if (::access(file.parent_path().c_str(), W_OK) != 0) {
      file = std::filesystem::temp_directory_path() / (guest + "-" + std::to_string(::getpid()) + ".svm");
    }
    if (auto s = bake_guest(elf, file); !s) {
      const bool no_kvm = s.error().code == ErrorCode::kKvmUnavailable;
      std::cerr << "snapvm fuzz: " << (no_kvm ? "needs /dev/kvm: " : "") << "baking " << elf.string() << ": "
                << s.error().to_string() << "\n";
      std::exit(1);
    }
    std::cerr << "snapvm fuzz: baked " << file.string() << " from " << elf.string() << "\n";
  }
  return libfuzzer_open(file, function, options);
}

std::filesystem::path beside_program(const char* argv0, const std::string& name) {
  std::error_code ec;
  auto self = std::filesystem::canonical("/proc/self/exe", ec);
  if (ec) self = std::filesystem::absolute(argv0);
  return self.parent_path() / name;
}

}  // namespace snapvm::harness
