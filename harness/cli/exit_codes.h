// exit_codes.h: the snapvm CLI's exit statuses, one per error class, so scripts can tell a corrupt
// file from a missing one or a newer format. Listed in docs/cli.md.
#pragma once

#include "snapvm/error.h"

namespace snapvm::cli {

enum ExitCode : int {
  kExitOk = 0,
  kExitFailure = 1,   // anything not listed below, and harness checks that found problems
  kExitUsage = 2,     // bad command line
  kExitIo = 3,        // file missing, unreadable, unwritable
  kExitFormat = 4,    // malformed snapshot file: structure, fields, regions, ELF
  kExitVersion = 5,   // newer format or other ABI: regenerate or upgrade
  kExitChecksum = 6,  // header checksum or content digest mismatch
  kExitState = 7,     // vCPU state that is not a sane long-mode state
  kExitKvm = 8,       // KVM unavailable
  kExitGuest = 9,     // the guest faulted, aborted, timed out
  kExitCall = 10,     // unknown function, bad arguments, host function problems
};

inline int exit_code_for(const Error& e) {
  switch (e.cls()) {
    case ErrorClass::Io:
      return kExitIo;
    case ErrorClass::Format:
    case ErrorClass::Elf:
    case ErrorClass::Snapshot:
    case ErrorClass::Config:
      return kExitFormat;
    case ErrorClass::Version:
      return kExitVersion;
    case ErrorClass::Checksum:
      return kExitChecksum;
    case ErrorClass::State:
      return kExitState;
    case ErrorClass::Kvm:
      return kExitKvm;
    case ErrorClass::Guest:
      return kExitGuest;
    case ErrorClass::Call:
    case ErrorClass::Wire:
      return kExitCall;
  }
  return kExitFailure;
}

}  // namespace snapvm::cli
