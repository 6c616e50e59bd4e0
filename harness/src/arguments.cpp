// arguments.cpp: command-line words parsed as typed call arguments (arguments.h).
#include "snapvm_harness/arguments.h"

#include <charconv>
#include <cstdlib>

namespace snapvm::harness {

namespace {
template <typename T>
Result<Value> parse_number(ValueType t, const std::string& s) {
  T v{};
  const char* end = s.data() + s.size();
  int base = 10;
  const char* begin = s.data();
  if constexpr (std::is_integral_v<T>) {
    if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
      base = 16;
      begin += 2;
    }
    auto [p, ec] = std::from_chars(begin, end, v, base);
    if (ec == std::errc() && p == end) return Value{v};
  } else {
    char* stop = nullptr;
    double d = std::strtod(s.c_str(), &stop);
    if (!s.empty() && stop == s.c_str() + s.size()) return Value{static_cast<T>(d)};
  }
  return make_error(ErrorCode::kArgumentMismatch, s, std::string("not a valid ") + std::string(value_type_name(t)));
}
}  // namespace

Result<Value> parse_argument(ValueType t, const std::string& s) {
  switch (t) {
    case ValueType::kVoid:
      return Value{};
    case ValueType::kBool:
      if (s == "true" || s == "1") return Value{true};
      if (s == "false" || s == "0") return Value{false};
      return make_error(ErrorCode::kArgumentMismatch, s, "not a bool (true/false)");
    case ValueType::kI32:
      return parse_number<int32_t>(t, s);
    case ValueType::kU32:
      return parse_number<uint32_t>(t, s);
    case ValueType::kI64:
      return parse_number<int64_t>(t, s);
    case ValueType::kU64:
      return parse_number<uint64_t>(t, s);
    case ValueType::kF32:
      return parse_number<float>(t, s);
    case ValueType::kF64:
      return parse_number<double>(t, s);
    case ValueType::kString:
      return Value{s};
    case ValueType::kBytes: {
      if (s.size() % 2 != 0)
        return make_error(ErrorCode::kArgumentMismatch, s, "bytes as an even number of hex digits");
      Bytes b;
      for (size_t i = 0; i < s.size(); i += 2) {
        uint8_t x = 0;
        auto [p, ec] = std::from_chars(s.data() + i, s.data() + i + 2, x, 16);
        if (ec != std::errc() || p != s.data() + i + 2) {
          return make_error(ErrorCode::kArgumentMismatch, s, "bytes as hex digits");
        }
        b.push_back(x);
      }
      return Value{b};
    }
  }
  return make_error(ErrorCode::kArgumentMismatch, s, "unknown type");
}

}  // namespace snapvm::harness
