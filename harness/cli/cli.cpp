// cli.cpp: the snapvm commands. Each command is a function returning an exit status; errors go to
// stderr with their full text, and the status says which class of error it was (exit_codes.h).
#include "cli/cli.h"

#include <unistd.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>

#include "cli/exit_codes.h"
#include "cli/fuzz_command.h"
#include "snapshot/atomic_file.h"
#include "snapvm/sandbox.h"
#include "snapvm/snapshot.h"
#include "snapvm_harness/arguments.h"
#include "snapvm_harness/campaign.h"
#include "snapvm_harness/compare.h"
#include "snapvm_harness/describe.h"
#include "snapvm_harness/guest_fuzzer.h"
#include "snapvm_harness/host_stubs.h"
#include "snapvm_harness/main_job.h"
#include "snapvm_harness/mutators.h"

namespace snapvm::cli {

namespace {

int report(const Error& e) {
  std::cerr << "snapvm: " << e.to_string() << "\n";
  return exit_code_for(e);
}

// Parses "128K", "8M", "1G" or plain bytes.
uint64_t parse_size(const std::string& s) {
  size_t pos = 0;
  uint64_t n = std::stoull(s, &pos);
  std::string unit = s.substr(pos);
  if (unit == "K" || unit == "k" || unit == "KiB") return n * kKiB;
  if (unit == "M" || unit == "m" || unit == "MiB") return n * kMiB;
  if (unit == "G" || unit == "g" || unit == "GiB") return n * kGiB;
  if (!unit.empty()) throw CLI::ValidationError("size", "unknown unit '" + unit + "' (use K, M or G)");
  return n;
}

// A progress line on stderr for work on large files; silent when stderr is not a terminal.
std::function<void(uint64_t, uint64_t)> progress_printer(const char* what, bool force) {
  if (!force && !::isatty(STDERR_FILENO)) return {};
  return [what, last = -1](uint64_t done, uint64_t total) mutable {
    int pct = total == 0 ? 100 : static_cast<int>(done * 100 / total);
    if (pct == last) return;
    last = pct;
    std::fprintf(stderr, "\r%s: %3d%% (%llu MiB)", what, pct, static_cast<unsigned long long>(total >> 20));
    if (done >= total) std::fprintf(stderr, "\n");
  };
}

struct BakeArgs {
  std::string elf, output;
  std::string heap = "128K", stack = "64K", input = "64K", out_buf = "64K";
  std::string digest = "blake3";
  uint32_t format_version = 2;
  bool before_init = false;
  bool progress = false;
};

int bake(const BakeArgs& a) {
  SandboxConfig config;
  try {
    config.heap_size = parse_size(a.heap);
    config.stack_size = parse_size(a.stack);
    config.input_size = parse_size(a.input);
    config.output_size = parse_size(a.out_buf);
  } catch (const std::exception& e) {
    std::cerr << "snapvm bake: " << e.what() << "\n";
    return kExitUsage;
  }
  auto algorithm = parse_digest_algorithm(a.digest);
  if (!algorithm) {
    std::cerr << "snapvm bake: unknown digest '" << a.digest << "' (blake3 or xxh3)\n";
    return kExitUsage;
  }
  auto t0 = std::chrono::steady_clock::now();
  auto un = UninitializedSandbox::from_elf_file(a.elf, config);
  if (!un) return report(un.error());
  Result<Snapshot> snap = make_error(ErrorCode::kInvalidConfig);
  std::optional<MultiUseSandbox> sandbox;
  if (a.before_init) {
    snap = un->snapshot();
  } else {
    un->set_host_functions(harness::sample_host_functions());
    auto sb = std::move(*un).evolve();
    if (!sb) return report(sb.error());
    sandbox.emplace(std::move(*sb));
    snap = sandbox->snapshot();
  }
  if (!snap) return report(snap.error());
  SaveOptions save;
  save.digest = *algorithm;
  save.format_version = a.format_version;
  save.progress = progress_printer("saving", a.progress);
  if (auto s = snap->to_file(a.output, save); !s) return report(s.error());
  double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  std::cout << "baked " << a.output << " (" << (a.before_init ? "before" : "after") << " init, heap "
            << config.heap_size << " bytes, " << digest_algorithm_name(*algorithm) << ") in " << ms << " ms\n";
  return kExitOk;
}

Result<Snapshot> load(const std::string& path, bool unchecked, bool progress) {
  LoadOptions o;
  o.verify_digest = !unchecked;
  o.progress = progress_printer("verifying", progress);
  return Snapshot::load(path, o);
}

int inspect(const std::string& path, bool json, bool unchecked) {
  auto snap = load(path, unchecked, false);
  if (!snap) return report(snap.error());
  if (json) {
    std::cout << harness::snapshot_to_json(*snap).dump(2) << "\n";
  } else {
    std::cout << harness::snapshot_to_text(*snap);
  }
  return kExitOk;
}

int verify(const std::string& path, bool unchecked, bool progress, bool quiet) {
  auto snap = load(path, unchecked, progress);
  if (!snap) return report(snap.error());
  if (!quiet)
    std::cout << path << ": valid (" << (unchecked ? "header and structure" : "header, structure and digest") << ")\n";
  return kExitOk;
}

struct RunArgs {
  std::string snapshot, function;
  std::vector<std::string> args;
  std::string input;
  bool unchecked = false;
  double timeout_ms = 0;
  bool json = false;
};

int run_snapshot(const RunArgs& a) {
  auto t0 = std::chrono::steady_clock::now();
  auto snap = load(a.snapshot, a.unchecked, false);
  if (!snap) return report(snap.error());
  const FunctionInfo* fn = nullptr;
  for (const FunctionInfo& f : snap->guest_functions()) {
    if (f.name == a.function) fn = &f;
  }
  std::vector<Value> values;
  if (!a.input.empty()) {
    // An input file (a fuzzer's crash-* for one), split into arguments as `snapvm fuzz` splits its inputs.
    if (!a.args.empty()) {
      std::cerr << "snapvm run: give arguments or --input, not both\n";
      return kExitUsage;
    }
    std::ifstream in(a.input, std::ios::binary);
    if (!in) {
      std::cerr << "snapvm run: cannot read --input " << a.input << "\n";
      return kExitIo;
    }
    const Bytes bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (fn != nullptr) values = harness::split_input(fn->signature, bytes);
  } else if (fn != nullptr) {
    if (fn->signature.params.size() != a.args.size()) {
      std::cerr << "snapvm run: " << signature_to_string(fn->name, fn->signature) << " takes "
                << fn->signature.params.size() << " arguments, got " << a.args.size() << "\n";
      return kExitCall;
    }
    for (size_t i = 0; i < a.args.size(); ++i) {
      auto v = harness::parse_argument(fn->signature.params[i], a.args[i]);
      if (!v) return report(v.error());
      values.push_back(std::move(*v));
    }
  }
  CallOptions options;  // --timeout-ms bounds the call, and the initialisation of a before-init snapshot
  if (a.timeout_ms > 0) options.timeout = std::chrono::nanoseconds(static_cast<int64_t>(a.timeout_ms * 1e6));
  auto sb = MultiUseSandbox::from_snapshot(
      *snap, harness::host_functions_for(snap->host_functions()),
      [](LogLevel, std::string_view m) { std::cerr << "guest: " << m << "\n"; }, options);
  if (!sb) return report(sb.error());
  auto t1 = std::chrono::steady_clock::now();
  auto result = sb->call(a.function, values, options);
  auto t2 = std::chrono::steady_clock::now();
  if (!result) return report(result.error());
  double start_ms = std::chrono::duration<double, std::milli>(t1 - t0).count();
  double call_ms = std::chrono::duration<double, std::milli>(t2 - t1).count();
  if (a.json) {
    nlohmann::json j{{"result", value_to_string(*result)},
                     {"cold_start_ms", start_ms},
                     {"call_ms", call_ms},
                     {"dirty_tracking", std::string(sb->dirty_tracking())}};
    std::cout << j.dump() << "\n";
  } else {
    std::visit(
        [](const auto& x) {
          using T = std::decay_t<decltype(x)>;
          if constexpr (std::is_same_v<T, std::monostate>) {
            std::cout << "(void)\n";
          } else if constexpr (std::is_same_v<T, Bytes>) {
            for (uint8_t b : x) std::printf("%02x", b);
            std::cout << "\n";
          } else if constexpr (std::is_same_v<T, bool>) {
            std::cout << (x ? "true" : "false") << "\n";
          } else {
            std::cout << x << "\n";
          }
        },
        *result);
    std::cerr << "cold start " << start_ms << " ms, call " << call_ms << " ms, dirty tracking " << sb->dirty_tracking()
              << "\n";
  }
  return kExitOk;
}

Result<std::vector<uint8_t>> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error(ErrorCode::kIo, path, "cannot open");
  return std::vector<uint8_t>((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

int diff(const std::string& a_path, const std::string& b_path, bool json, bool unchecked) {
  auto a = load(a_path, unchecked, false);
  if (!a) return report(a.error());
  auto b = load(b_path, unchecked, false);
  if (!b) return report(b.error());
  harness::CompareOptions o;
  o.compare_digest = true;
  auto r = harness::compare_snapshots(*a, *b, o);
  if (json) {
    std::cout << r.to_json().dump(2) << "\n";
  } else {
    std::cout << r.to_text();
  }
  return r.equal() ? kExitOk : kExitFailure;
}

int mutate(const std::string& path, const std::string& dir, uint64_t seed, size_t random) {
  auto bytes = read_file(path);
  if (!bytes) return report(bytes.error());
  harness::MutateOptions o;
  o.seed = seed;
  o.random_per_family = random;
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return report(make_error(ErrorCode::kIo, dir, "cannot create the directory: " + ec.message()));
  nlohmann::json index = nlohmann::json::array();
  size_t i = 0;
  Status written;
  harness::for_each_mutant(*bytes, o, [&](harness::Mutant&& m) {
    char name[32];
    std::snprintf(name, sizeof name, "mutant-%05zu.svm", i++);
    // Thousands of files: each atomic, made durable together before the index (one syncfs, not an
    // fsync per file).
    written =
        detail::write_file_atomically(std::filesystem::path(dir) / name, m.bytes, detail::Durability::kAtomicOnly);
    if (!written) return false;
    index.push_back({{"file", name},
                     {"family", std::string(harness::mutator_family_name(m.family))},
                     {"description", m.description},
                     {"checksums_fixed", m.checksums_fixed},
                     {"must_reject", m.must_reject}});
    return true;
  });
  if (written) written = detail::sync_directory(dir);
  if (!written) return report(written.error());
  // The index last: a run that fails part way leaves the previous index (and so the previous set) whole.
  if (auto s = detail::write_file_atomically(std::filesystem::path(dir) / "index.json", index.dump(2) + "\n"); !s) {
    return report(s.error());
  }
  std::cout << "wrote " << i << " mutants to " << dir << " (index.json lists them)\n";
  return kExitOk;
}

int check(const std::string& path, uint64_t seed, size_t random, bool json, const std::string& artifacts,
          bool no_guest) {
  auto bytes = read_file(path);
  if (!bytes) return report(bytes.error());
  if (auto s = Snapshot::from_file(path); !s) {
    std::cerr << "snapvm check: the original must be valid first\n";
    return report(s.error());
  }
  harness::MutateOptions mo;
  mo.seed = seed;
  mo.random_per_family = random;
  harness::CampaignOptions co;
  co.run_guest = !no_guest;
  co.progress = true;
  if (!artifacts.empty()) co.artifacts = artifacts;
  std::cerr << "running the mutants of " << path << " (seed " << seed << ")\n";
  auto r = harness::run_campaign(*bytes, mo, co);
  if (json) {
    std::cout << r.to_json().dump(2) << "\n";
  } else {
    std::cout << r.to_text();
  }
  return r.ok() ? kExitOk : kExitFailure;
}

// ---- the command line: one function per subcommand, declaring its options -----------------------------

CLI::App* add_bake(CLI::App& app, BakeArgs& a) {
  auto* c = app.add_subcommand("bake", "Run a guest ELF's initialisation and save a snapshot file");
  c->add_option("elf", a.elf, "Guest ELF")->required()->check(CLI::ExistingFile);
  c->add_option("-o,--output", a.output, "Snapshot file to write")->required();
  c->add_option("--heap", a.heap, "Heap size (e.g. 128K, 8M, 256M)")->capture_default_str();
  c->add_option("--stack", a.stack, "Stack size")->capture_default_str();
  c->add_option("--input", a.input, "Input buffer size")->capture_default_str();
  c->add_option("--output-buffer", a.out_buf, "Output buffer size")->capture_default_str();
  c->add_option("--digest", a.digest, "Content digest: blake3 (default) or xxh3")->capture_default_str();
  c->add_option("--format-version", a.format_version,
                "Snapshot format: 2 (chunked digest, the default) or 1 (flat digest, for older readers)")
      ->check(CLI::Range(1, 2))
      ->capture_default_str();
  c->add_flag("--before-init", a.before_init, "Snapshot before guest initialisation");
  c->add_flag("--progress", a.progress, "Show progress even when stderr is not a terminal");
  return c;
}

struct FileArgs {
  std::string path;
  bool json = false, unchecked = false, progress = false, quiet = false;
};

CLI::App* add_inspect(CLI::App& app, FileArgs& a) {
  auto* c = app.add_subcommand("inspect", "Show a snapshot file's header, regions, registers, functions");
  c->add_option("file", a.path, "Snapshot file")->required();
  c->add_flag("--json", a.json, "Machine-readable output");
  c->add_flag("--unchecked", a.unchecked, "Skip the content digest");
  return c;
}

CLI::App* add_verify(CLI::App& app, FileArgs& a) {
  auto* c = app.add_subcommand("verify", "Check a snapshot file; exit status says what is wrong");
  c->add_option("file", a.path, "Snapshot file")->required();
  c->add_flag("--unchecked", a.unchecked, "Skip the content digest (header and structure only)");
  c->add_flag("--progress", a.progress, "Show progress even when stderr is not a terminal");
  c->add_flag("-q,--quiet", a.quiet, "Print nothing when valid");
  return c;
}

CLI::App* add_run(CLI::App& app, RunArgs& a) {
  auto* c = app.add_subcommand("run", "Cold start from a snapshot file and call one guest function");
  c->add_option("file", a.snapshot, "Snapshot file")->required();
  c->add_option("function", a.function, "Guest function")->required();
  c->add_option("args", a.args, "Arguments, parsed by the function's signature");
  c->add_option("--input", a.input, "Arguments from this file's bytes, split as `snapvm fuzz` splits an input")
      ->check(CLI::ExistingFile);
  c->add_flag("--unchecked", a.unchecked, "Load with from_file_unchecked (no content digest)");
  c->add_option("--timeout-ms", a.timeout_ms, "Call timeout in milliseconds");
  c->add_flag("--json", a.json, "Print result and timings as JSON");
  return c;
}

struct DiffArgs {
  std::string a, b;
  bool json = false, unchecked = false;
};

CLI::App* add_diff(CLI::App& app, DiffArgs& a) {
  auto* c = app.add_subcommand("diff", "Show what differs between two snapshot files");
  c->add_option("a", a.a, "First snapshot file")->required();
  c->add_option("b", a.b, "Second snapshot file")->required();
  c->add_flag("--json", a.json, "Machine-readable output");
  c->add_flag("--unchecked", a.unchecked, "Skip the content digests");
  return c;
}

// `mutate` and `check` share --seed and --random.
struct MutantArgs {
  std::string path, dir, artifacts;
  uint64_t seed = 1;
  size_t random_per_family = 64;
  bool json = false, no_guest = false;
};

CLI::App* add_mutate(CLI::App& app, MutantArgs& a) {
  auto* c = app.add_subcommand("mutate", "Write mutants of a snapshot file (deterministic from --seed)");
  c->add_option("file", a.path, "Valid snapshot file")->required()->check(CLI::ExistingFile);
  c->add_option("-o,--output", a.dir, "Directory for the mutants")->required();
  c->add_option("--seed", a.seed, "Seed")->capture_default_str();
  c->add_option("--random", a.random_per_family, "Random bit flips and byte overwrites each")->capture_default_str();
  return c;
}

CLI::App* add_check(CLI::App& app, MutantArgs& a) {
  auto* c = app.add_subcommand("check", "Run a mutation campaign against the loaders and the VM");
  c->add_option("file", a.path, "Valid snapshot file")->required()->check(CLI::ExistingFile);
  c->add_option("--seed", a.seed, "Seed")->capture_default_str();
  c->add_option("--random", a.random_per_family, "Random bit flips and byte overwrites each")->capture_default_str();
  c->add_option("--artifacts", a.artifacts, "Save crashing and wrongly accepted mutants here");
  c->add_flag("--json", a.json, "Machine-readable report");
  c->add_flag("--no-guest", a.no_guest, "Only load mutants; no cold start and call");
  return c;
}

CLI::App* add_harness(CLI::App& app, harness::MainJobOptions& job) {
  auto* c = app.add_subcommand("harness", "The main job: bake, round-trip, mutate, time cold starts; report");
  c->add_option("elf", job.guest_elf, "Guest ELF (the sample guest)")->required()->check(CLI::ExistingFile);
  c->add_option("--work-dir", job.work_dir, "Where snapshot files go")->capture_default_str();
  c->add_option("--report", job.report_path, "JSON report file")->capture_default_str();
  c->add_option("--heaps", job.heap_sizes, "Heap sizes in bytes")->capture_default_str();
  c->add_option("--seed", job.seed, "Mutation seed")->capture_default_str();
  c->add_option("--random", job.random_per_family, "Random mutants per family")->capture_default_str();
  c->add_option("--repetitions", job.repetitions, "Cold starts timed per path")->capture_default_str();
  return c;
}

}  // namespace

int run(int argc, char** argv) {
  if (is_fuzz_command(argc, argv)) return fuzz_command(argc, argv);
  CLI::App app{"snapvm: micro-VM sandboxes on KVM with snapshot files"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "snapvm 0.1.0 (snapshot format 1)");
  BakeArgs bake_args;
  FileArgs inspect_args, verify_args;
  RunArgs run_args;
  DiffArgs diff_args;
  MutantArgs mutants;  // one set: only one subcommand runs
  harness::MainJobOptions job;
  auto* bake_cmd = add_bake(app, bake_args);
  auto* inspect_cmd = add_inspect(app, inspect_args);
  auto* verify_cmd = add_verify(app, verify_args);
  auto* run_cmd = add_run(app, run_args);
  auto* diff_cmd = add_diff(app, diff_args);
  auto* mutate_cmd = add_mutate(app, mutants);
  auto* check_cmd = add_check(app, mutants);
  auto* job_cmd = add_harness(app, job);
  // Listed for --help only: `snapvm fuzz` is taken before CLI11 parses (fuzz_command.h).
  app.add_subcommand("fuzz", "Fuzz a guest function with libFuzzer, restoring the snapshot between inputs")
      ->allow_extras();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? kExitOk : kExitUsage;
  }
  const MutantArgs& m = mutants;
  if (*bake_cmd) return bake(bake_args);
  if (*inspect_cmd) return inspect(inspect_args.path, inspect_args.json, inspect_args.unchecked);
  if (*verify_cmd) return verify(verify_args.path, verify_args.unchecked, verify_args.progress, verify_args.quiet);
  if (*run_cmd) return run_snapshot(run_args);
  if (*diff_cmd) return diff(diff_args.a, diff_args.b, diff_args.json, diff_args.unchecked);
  if (*mutate_cmd) return mutate(m.path, m.dir, m.seed, m.random_per_family);
  if (*check_cmd) return check(m.path, m.seed, m.random_per_family, m.json, m.artifacts, m.no_guest);
  if (*job_cmd) return harness::run_main_job(job) ? kExitOk : kExitFailure;
  return kExitUsage;
}

}  // namespace snapvm::cli
