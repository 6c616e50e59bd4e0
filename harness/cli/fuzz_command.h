// fuzz_command.h: `snapvm fuzz FILE FUNCTION [--timeout-ms=N] [--unchecked] [libFuzzer flags, corpus dirs]`,
// libFuzzer over a guest function (harness/libfuzzer.h). Not parsed by CLI11: libFuzzer's flags are
// single-dash words like -runs=1000 that CLI11 would refuse.
#pragma once

namespace snapvm::cli {

// True when argv is a `snapvm fuzz` command line, or one libFuzzer re-executes in -fork/-jobs mode.
bool is_fuzz_command(int argc, char** argv);
int fuzz_command(int argc, char** argv);

}  // namespace snapvm::cli
