// libfuzzer.h: a GuestFuzzer driven by libFuzzer, for `snapvm fuzz` and for a target of one's own:
//
//   static snapvm::harness::GuestFuzzer* fuzzer;
//   extern "C" int LLVMFuzzerInitialize(int*, char*** argv) {
//     fuzzer = snapvm::harness::libfuzzer_open(snapvm::harness::beside_program((*argv)[0], "my_guest.svm"),
//                                              "ParseRecords");
//     return 0;
//   }
//   extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
//     return snapvm::harness::libfuzzer_test_one_input(*fuzzer, data, size);
//   }
//
// The guest's counters are registered with libFuzzer as an inline 8-bit counter module (with the guest's
// PC table, or one made up when it has none), host views of guest memory: no copy per input. A second
// module of outcome counters (returned, refused, which value bucket came back) keeps a guest built
// without coverage fuzzable, blind. The CmpLog's operands go to libFuzzer's comparison hooks.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>

#include "snapvm/result.h"
#include "snapvm_harness/guest_fuzzer.h"

namespace snapvm::harness {

// Registers `fuzzer`'s coverage with the libFuzzer linked into this process (once per process, before
// fuzzing starts; libFuzzer keeps the views). kInvalidConfig when no libFuzzer is linked.
Status register_with_libfuzzer(GuestFuzzer& fuzzer);

// The line a crash prints before the process aborts (so libFuzzer keeps the input as crash-*):
// "==snapvm== crash in ParseRecords: GuestFault: ...; vector 14, error code 0x6, rip 0x..., cr2 0x...".
std::string crash_line(const GuestFuzzer& fuzzer, const Error& error);

// One input, libFuzzer's way: a crash prints crash_line to stderr and aborts; a refused input returns -1
// (libFuzzer does not add it to the corpus); otherwise 0, with the comparisons handed to libFuzzer.
int libfuzzer_test_one_input(GuestFuzzer& fuzzer, const uint8_t* data, size_t size);

// Keep going after crashes (`snapvm fuzz --keep-going`): a crash no longer aborts; the first input of
// each distinct crash (same error code and fault vector and RIP, or abort code) is saved as
// `<artifact_prefix>crash-<16 hex>` and announced with "==snapvm== new crash N after R runs (S s): ...";
// crashing inputs stay out of the corpus. At exit a line sums up the distinct crashes.
void keep_going_after_crashes(const std::string& artifact_prefix);
// The distinct crash signatures seen so far in keep-going mode.
size_t distinct_crashes();

// For LLVMFuzzerInitialize: opens and registers (where libFuzzer is linked: a replay build runs the
// inputs without it), or prints why not and exits with status 1 ("needs /dev/kvm: ..." without KVM).
// `--keep-going` among argv turns on keep_going_after_crashes (with -artifact_prefix= if given).
GuestFuzzer* libfuzzer_open(const std::filesystem::path& file, const std::string& function,
                            const GuestFuzzOptions& options = {});
// The same for a fuzz target shipped with its guest (fuzz/build.sh lays them out so): opens
// `<guest>.svm` beside the program, or, when it is missing, bakes it first from the guest ELF `<guest>`
// beside the program (into $TMPDIR if that directory is read-only). Reads --keep-going from argv.
GuestFuzzer* libfuzzer_open_guest(int argc, char** argv, const std::string& guest, const std::string& function,
                                  const GuestFuzzOptions& options = {});
// `name` in the directory of the running program (argv[0]), where build.sh puts a target's .svm file.
std::filesystem::path beside_program(const char* argv0, const std::string& name);

}  // namespace snapvm::harness
