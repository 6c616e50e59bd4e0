// value.h: typed values that cross the host/guest boundary, and function signatures.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "snapvm/abi/wire.h"

namespace snapvm {

using ValueType = abi::ValueType;
using Bytes = std::vector<uint8_t>;

// Alternative index == ValueType tag.
using Value =
    std::variant<std::monostate, bool, int32_t, uint32_t, int64_t, uint64_t, float, double, std::string, Bytes>;

inline ValueType type_of(const Value& v) { return static_cast<ValueType>(v.index()); }
std::string_view value_type_name(ValueType t);
std::string value_to_string(const Value& v);  // for logs and the CLI: "i32 42", "string \"hi\""

struct Signature {
  ValueType result = ValueType::kVoid;
  std::vector<ValueType> params;
  bool operator==(const Signature&) const = default;
};
std::string signature_to_string(std::string_view name, const Signature& s);  // "Add(i32, i32) -> i32"

struct FunctionInfo {
  std::string name;
  Signature signature;
  bool operator==(const FunctionInfo&) const = default;
};

}  // namespace snapvm
