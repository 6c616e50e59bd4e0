// host_calls.h: the records the guest leaves in its output buffer when it exits on a port, read as
// hostile bytes: a host call (decoded, checked against the registered signature, run, its result
// encoded into the input buffer), a log line, an abort.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "snapvm/host_functions.h"
#include "snapvm/result.h"
#include "snapvm/sandbox.h"

namespace snapvm::detail {

// A codec error in what the guest wrote is the guest breaking the protocol: the same error, with its
// field and offset, under kGuestProtocol.
Error as_guest_protocol(Error e);

// Serves the host call in `output`: finds the function, checks the arguments, runs it (an exception
// or an error it returns becomes kHostFunctionError), checks its result type and encodes the result
// into `input`. Returns the bytes written to `input`.
Result<size_t> serve_host_call(std::span<const uint8_t> output, std::span<uint8_t> input,
                               const HostFunctions& functions);

// Hands the log record in `output` to `log` (if set), levels above kError clamped to kError.
Status serve_log(std::span<const uint8_t> output, const LogCallback& log);

// The kGuestAbort error for the abort record in `output` (its code and message, or why it is malformed).
Error abort_error(std::span<const uint8_t> output);

}  // namespace snapvm::detail
