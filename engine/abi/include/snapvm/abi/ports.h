// ports.h: the I/O ports a guest uses to signal the host, and the ABI version they belong to.
// Freestanding: included by guest code built with -ffreestanding.
#pragma once

#include <stdint.h>

namespace snapvm::abi {

// Bump on any change to ports, the PEB, the system layout or the wire codec; see
// docs/snapshot-versioning.md. Snapshot files record it and refuse to load under another ABI.
inline constexpr uint32_t kAbiVersion = 1;

// Each `out` from the guest to one of these ports is one message to the host. The payload, where
// there is one, is in the output buffer (see wire.h).
enum class Port : uint16_t {
  kInitialised = 0x5100,  // guest main finished registering; manifest in the output buffer
  kCallDone = 0x5101,     // result of the current call in the output buffer
  kHostCall = 0x5102,     // a host-function call in the output buffer; answer lands in the input buffer
  kLog = 0x5103,          // a log record in the output buffer
  kAbort = 0x5104,        // the guest gave up: code and message in the output buffer
  kFault = 0x5105,        // sent by the ring-0 trap stubs: the exception frame is on the ring-0 stack
};

}  // namespace snapvm::abi
