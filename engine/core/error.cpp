// error.cpp: names, classes and text for ErrorCode, expanded from error_codes.def.
#include <cstdio>
#include <cstring>
#include <sstream>

#include "snapvm/error.h"

namespace snapvm {

namespace {
struct CodeInfo {
  std::string_view name;
  ErrorClass cls;
  std::string_view text;
};
constexpr CodeInfo kCodes[] = {
#define SNAPVM_ERROR(name, cls, text) {#name, ErrorClass::cls, text},
#include "snapvm/error_codes.def"
#undef SNAPVM_ERROR
};
}  // namespace

std::string_view error_code_name(ErrorCode code) { return kCodes[static_cast<size_t>(code)].name; }
std::string_view error_code_description(ErrorCode code) { return kCodes[static_cast<size_t>(code)].text; }
ErrorClass error_class(ErrorCode code) { return kCodes[static_cast<size_t>(code)].cls; }

std::string_view error_class_name(ErrorClass cls) {
  switch (cls) {
    case ErrorClass::Kvm:
      return "kvm";
    case ErrorClass::Io:
      return "io";
    case ErrorClass::Config:
      return "config";
    case ErrorClass::Elf:
      return "elf";
    case ErrorClass::Wire:
      return "wire";
    case ErrorClass::Call:
      return "call";
    case ErrorClass::Guest:
      return "guest";
    case ErrorClass::Snapshot:
      return "snapshot";
    case ErrorClass::Format:
      return "format";
    case ErrorClass::Version:
      return "version";
    case ErrorClass::Checksum:
      return "checksum";
    case ErrorClass::State:
      return "state";
  }
  return "unknown";
}

std::string Error::to_string() const {
  std::ostringstream out;
  out << error_code_name(code) << ": " << error_code_description(code);
  if (!field.empty()) out << "; " << field;
  if (offset) out << " at offset 0x" << std::hex << *offset << std::dec;
  if (value) out << " is 0x" << std::hex << *value << std::dec << " (" << *value << ")";
  if (fault) {
    out << "; vector " << unsigned{fault->vector} << ", error code 0x" << std::hex << fault->error_code << ", rip 0x"
        << fault->rip << ", cr2 0x" << fault->cr2 << std::dec;
  }
  if (guest_code) out << "; guest code " << *guest_code;
  if (sys_errno != 0) out << "; errno " << sys_errno << " (" << std::strerror(sys_errno) << ")";
  if (!detail.empty()) out << "; " << detail;
  return out.str();
}

Error make_error(ErrorCode code, std::string field, std::string detail) {
  Error e;
  e.code = code;
  e.field = std::move(field);
  e.detail = std::move(detail);
  return e;
}

Error field_error(ErrorCode code, std::string field, uint64_t offset, uint64_t value, std::string expected) {
  Error e = make_error(code, std::move(field), std::move(expected));
  e.offset = offset;
  e.value = value;
  return e;
}

std::string hex(uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(v));
  return buf;
}

Error errno_error(ErrorCode code, std::string what, int err) {
  Error e = make_error(code, std::move(what));
  e.sys_errno = err;
  return e;
}

}  // namespace snapvm
