// support.h: what every property suite shares: readable text for values and bytes (what a shrunk
// counterexample prints), bit-exact value comparison, a scratch directory, and running a step in a
// forked child so a host crash becomes a failing (and shrinkable) case instead of a dead binary.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "snapvm/error.h"
#include "snapvm/value.h"

namespace snapvm::properties {

// "i32 -5", "f64 0x7ff8000000000001 (nan)", "string \"a\\x01\"", "bytes[3] 01 02 ff".
std::string show_value(const Value& v);
std::string show_values(const std::vector<Value>& values);  // "(i32 1, string \"x\")"
// Printable text with C escapes, at most `max` bytes shown.
std::string show_text(std::string_view s, size_t max = 48);
std::string show_bytes(std::span<const uint8_t> b, size_t max = 32);  // "[5] 01 02 03 04 05"
// Every field of an error, for failure messages: "FieldOutOfRange sregs.cr0 @0x260 =0x... (detail)".
std::string show_error(const Error& e);

// Type and bits equal: NaN payloads and -0.0 compare exactly (Value's operator== does not).
bool same_value(const Value& a, const Value& b);
bool same_values(const std::vector<Value>& a, const std::vector<Value>& b);

// "" when equal, else where the first difference is: "size 4096 vs 4100" or "byte 0x260: 01 vs 00".
std::string first_difference(std::span<const uint8_t> a, std::span<const uint8_t> b);

// A fresh directory under $TMPDIR (or /tmp), removed with everything in it on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path file(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

void write_file(const std::filesystem::path& path, std::span<const uint8_t> bytes);
std::vector<uint8_t> read_file(const std::filesystem::path& path);

// Runs `step` in a forked child and returns what it returned; a child killed by a signal (or that
// exits without answering) comes back as "CRASH: ..." so the property fails with the case that did it.
std::string run_isolated(const std::function<std::string()>& step);

}  // namespace snapvm::properties
