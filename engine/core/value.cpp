// value.cpp: names and printing for values and signatures.
#include <sstream>

#include "snapvm/value.h"

namespace snapvm {

std::string_view value_type_name(ValueType t) {
  switch (t) {
    case ValueType::kVoid:
      return "void";
    case ValueType::kBool:
      return "bool";
    case ValueType::kI32:
      return "i32";
    case ValueType::kU32:
      return "u32";
    case ValueType::kI64:
      return "i64";
    case ValueType::kU64:
      return "u64";
    case ValueType::kF32:
      return "f32";
    case ValueType::kF64:
      return "f64";
    case ValueType::kString:
      return "string";
    case ValueType::kBytes:
      return "bytes";
  }
  return "unknown";
}

std::string value_to_string(const Value& v) {
  std::ostringstream out;
  out << value_type_name(type_of(v));
  std::visit(
      [&](const auto& x) {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, std::monostate>) {
        } else if constexpr (std::is_same_v<T, bool>) {
          out << ' ' << (x ? "true" : "false");
        } else if constexpr (std::is_same_v<T, std::string>) {
          out << " \"" << x << '"';
        } else if constexpr (std::is_same_v<T, Bytes>) {
          out << " [" << x.size() << " bytes]";
        } else {
          out << ' ' << x;
        }
      },
      v);
  return out.str();
}

std::string signature_to_string(std::string_view name, const Signature& s) {
  std::string out(name);
  out += '(';
  for (size_t i = 0; i < s.params.size(); ++i) {
    if (i != 0) out += ", ";
    out += value_type_name(s.params[i]);
  }
  out += ") -> ";
  out += value_type_name(s.result);
  return out;
}

}  // namespace snapvm
