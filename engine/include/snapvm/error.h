// error.h: the one error type. Every failure names what was wrong: a code, and where it applies the
// field, its byte offset, its value and what was expected; guest faults carry the CPU's report.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace snapvm {

enum class ErrorCode : uint16_t {
#define SNAPVM_ERROR(name, cls, text) k##name,
#include "snapvm/error_codes.def"
#undef SNAPVM_ERROR
};

// Coarse classes: the CLI maps each to a distinct exit status.
enum class ErrorClass : uint8_t { Kvm, Io, Config, Elf, Wire, Call, Guest, Snapshot, Format, Version, Checksum, State };

std::string_view error_code_name(ErrorCode code);
std::string_view error_code_description(ErrorCode code);
ErrorClass error_class(ErrorCode code);
std::string_view error_class_name(ErrorClass cls);

// What the guest's CPU reported when it raised an exception (delivered to the ring-0 stub).
struct FaultInfo {
  uint8_t vector = 0;
  uint64_t error_code = 0;
  uint64_t rip = 0;
  uint64_t cr2 = 0;
  bool operator==(const FaultInfo&) const = default;
};

struct Error {
  ErrorCode code{};
  std::string field;                  // "regions[3].size", "KVM_RUN", "argument 1"; empty if none
  std::optional<uint64_t> offset;     // byte offset in the file or message, when there is one
  std::optional<uint64_t> value;      // the offending value, when it is a number
  std::string detail;                 // what was expected, or the text that came with the error
  std::optional<FaultInfo> fault;     // guest CPU exceptions only
  std::optional<int32_t> guest_code;  // guest aborts only
  int sys_errno = 0;                  // failed syscalls and ioctls only

  ErrorClass cls() const { return error_class(code); }
  std::string to_string() const;
};

// Builders, so call sites read as one line.
Error make_error(ErrorCode code, std::string field = {}, std::string detail = {});
Error field_error(ErrorCode code, std::string field, uint64_t offset, uint64_t value, std::string expected);
Error errno_error(ErrorCode code, std::string what, int err);
std::string hex(uint64_t v);  // "0x1f"

}  // namespace snapvm
