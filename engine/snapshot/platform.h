// platform.h: what a snapshot file must have been recorded on to load here. The codec (format.h)
// only reads the platform tags; validate.cpp compares them with these expectations.
#pragma once

#include <optional>
#include <string>

namespace snapvm::format {

// The platform decode_and_validate expects a file to record.
struct DecodeOptions {
  // The CPU vendor the file must have been recorded on; nullopt: this machine's (host_cpu_vendor()).
  std::optional<std::string> cpu_vendor;
};

// The 12-character CPUID vendor string of this machine ("GenuineIntel", "AuthenticAMD").
std::string host_cpu_vendor();

}  // namespace snapvm::format
