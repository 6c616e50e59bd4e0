// cli.h: the `snapvm` command line: bake, inspect, verify, run (and the harness commands).
#pragma once

namespace snapvm::cli {

// Returns the process exit status; see docs/cli.md for the codes.
int run(int argc, char** argv);

}  // namespace snapvm::cli
