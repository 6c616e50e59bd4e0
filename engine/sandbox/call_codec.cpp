// call_codec.cpp: Values <-> wire messages, on top of the freestanding codec in abi/wire.h.
#include "sandbox/call_codec.h"

#include <cstring>
#include <string>

#include "snapvm/abi/wire.h"

namespace snapvm::detail {

namespace {
using abi::WireReader;
using abi::WireValue;

WireValue to_wire(const Value& v) {
  WireValue w;
  w.type = type_of(v);
  std::visit(
      [&](const auto& x) {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, std::monostate>) {
        } else if constexpr (std::is_same_v<T, bool>) {
          w.boolean = x ? 1 : 0;
        } else if constexpr (std::is_same_v<T, int32_t>) {
          w.i32 = x;
        } else if constexpr (std::is_same_v<T, uint32_t>) {
          w.u32 = x;
        } else if constexpr (std::is_same_v<T, int64_t>) {
          w.i64 = x;
        } else if constexpr (std::is_same_v<T, uint64_t>) {
          w.u64 = x;
        } else if constexpr (std::is_same_v<T, float>) {
          w.f32 = x;
        } else if constexpr (std::is_same_v<T, double>) {
          w.f64 = x;
        } else {
          w.span.data = reinterpret_cast<const uint8_t*>(x.data());
          w.span.size = static_cast<uint32_t>(x.size());
        }
      },
      v);
  return w;
}

Value from_wire(const WireValue& w) {
  switch (w.type) {
    case ValueType::kVoid:
      return Value{};
    case ValueType::kBool:
      return Value{w.boolean != 0};
    case ValueType::kI32:
      return Value{w.i32};
    case ValueType::kU32:
      return Value{w.u32};
    case ValueType::kI64:
      return Value{w.i64};
    case ValueType::kU64:
      return Value{w.u64};
    case ValueType::kF32:
      return Value{w.f32};
    case ValueType::kF64:
      return Value{w.f64};
    case ValueType::kString:
      return Value{std::string(reinterpret_cast<const char*>(w.span.data), w.span.size)};
    case ValueType::kBytes:
      return Value{Bytes(w.span.data, w.span.data + w.span.size)};
  }
  return Value{};
}

Error wire_error(const WireReader& r, const char* message) {
  return field_error(ErrorCode::kWireMalformed, std::string(message) + "." + r.error_field(), r.error_offset(),
                     r.error_value(), abi::wire_status_name(r.status()));
}

Status check_sizes(std::span<const Value> args) {
  for (size_t i = 0; i < args.size(); ++i) {
    size_t n = 0;
    if (auto* s = std::get_if<std::string>(&args[i])) n = s->size();
    if (auto* b = std::get_if<Bytes>(&args[i])) n = b->size();
    if (n > UINT32_MAX) {
      Error e = make_error(ErrorCode::kArgumentMismatch, "argument " + std::to_string(i), "longer than 4 GiB");
      e.value = n;
      return e;
    }
  }
  return {};
}
}  // namespace

Result<size_t> encode_call(std::span<uint8_t> buffer, uint32_t magic, std::string_view name,
                           std::span<const Value> args) {
  if (name.size() > abi::kMaxNameLength) {
    Error e = make_error(ErrorCode::kUnknownFunction, std::string(name), "name longer than 128 bytes");
    e.value = name.size();
    return e;
  }
  if (args.size() > abi::kMaxArgs) {
    Error e = make_error(ErrorCode::kArgumentMismatch, std::string(name), "more than 16 arguments");
    e.value = args.size();
    return e;
  }
  TRY(check_sizes(args));
  WireValue wire[abi::kMaxArgs];
  for (size_t i = 0; i < args.size(); ++i) wire[i] = to_wire(args[i]);
  size_t n = abi::encode_call(buffer.data(), buffer.size(), magic, name.data(), static_cast<uint16_t>(name.size()),
                              wire, static_cast<uint8_t>(args.size()));
  if (n == 0) {
    Error e = make_error(ErrorCode::kArgumentMismatch, std::string(name),
                         "the encoded call does not fit the input buffer (" + std::to_string(buffer.size()) +
                             " bytes); raise SandboxConfig::input_size");
    return e;
  }
  return n;
}

Result<size_t> encode_result(std::span<uint8_t> buffer, const Value& value) {
  TRY(check_sizes(std::span<const Value>(&value, 1)));
  size_t n = abi::encode_result(buffer.data(), buffer.size(), to_wire(value));
  if (n == 0) {
    return make_error(
        ErrorCode::kHostFunctionError, "result",
        "the host function's result does not fit the input buffer (" + std::to_string(buffer.size()) + " bytes)");
  }
  return n;
}

Result<DecodedCall> decode_call(std::span<const uint8_t> buffer, uint32_t magic) {
  WireReader r(buffer.data(), buffer.size());
  abi::CallView view;
  if (!abi::decode_call(r, magic, view)) return wire_error(r, "call");
  DecodedCall call;
  call.name.assign(view.name, view.name_length);
  for (uint8_t i = 0; i < view.argc; ++i) call.args.push_back(from_wire(view.args[i]));
  return call;
}

Result<Value> decode_result(std::span<const uint8_t> buffer) {
  WireReader r(buffer.data(), buffer.size());
  WireValue v;
  if (!abi::decode_result(r, v)) return wire_error(r, "result");
  return from_wire(v);
}

Result<TextRecord> decode_text_record(std::span<const uint8_t> buffer, uint32_t magic) {
  WireReader r(buffer.data(), buffer.size());
  TextRecord rec{};
  abi::ByteSpan text{};
  if (!abi::decode_text_record(r, magic, rec.number, text)) return wire_error(r, "record");
  rec.text.assign(reinterpret_cast<const char*>(text.data), text.size);
  return rec;
}

Result<Manifest> decode_manifest(std::span<const uint8_t> buffer) {
  WireReader r(buffer.data(), buffer.size());
  uint32_t total = 0;
  uint16_t guest_count = 0, host_count = 0;
  if (!abi::decode_message_header(r, abi::kManifestMagic, total) || !r.u16(guest_count, "guest_count") ||
      !r.u16(host_count, "host_count")) {
    return wire_error(r, "manifest");
  }
  if (guest_count > abi::kMaxFunctions) {
    r.fail_at(8, abi::WireStatus::kTooMany, "guest_count", guest_count);
    return wire_error(r, "manifest");
  }
  if (host_count > abi::kMaxFunctions) {
    r.fail_at(10, abi::WireStatus::kTooMany, "host_count", host_count);
    return wire_error(r, "manifest");
  }
  Manifest m;
  auto read_entries = [&](uint16_t count, std::vector<FunctionInfo>& out) -> bool {
    for (uint16_t i = 0; i < count; ++i) {
      uint16_t name_length = 0;
      const uint8_t* name = nullptr;
      uint8_t result = 0, param_count = 0;
      size_t at = r.offset();
      if (!r.u16(name_length, "name_length")) return false;
      if (name_length > abi::kMaxNameLength)
        return r.fail_at(at, abi::WireStatus::kTooLong, "name_length", name_length);
      if (name_length == 0) return r.fail_at(at, abi::WireStatus::kBadLength, "name_length", 0);
      size_t name_at = r.offset();
      if (!r.bytes(name, name_length, "name")) return false;
      for (uint16_t c = 0; c < name_length; ++c) {
        // Snapshot files refuse such names, so a guest must not be able to register them.
        if (name[c] < 0x20 || name[c] == 0x7f)
          return r.fail_at(name_at + c, abi::WireStatus::kBadType, "name", name[c]);
      }
      at = r.offset();
      if (!r.u8(result, "result")) return false;
      if (result >= abi::kValueTypeCount) return r.fail_at(at, abi::WireStatus::kBadType, "result", result);
      at = r.offset();
      if (!r.u8(param_count, "param_count")) return false;
      if (param_count > abi::kMaxArgs) return r.fail_at(at, abi::WireStatus::kTooMany, "param_count", param_count);
      FunctionInfo f;
      f.name.assign(reinterpret_cast<const char*>(name), name_length);
      f.signature.result = static_cast<ValueType>(result);
      for (uint8_t p = 0; p < param_count; ++p) {
        uint8_t t = 0;
        at = r.offset();
        if (!r.u8(t, "param")) return false;
        if (t >= abi::kValueTypeCount || t == 0) return r.fail_at(at, abi::WireStatus::kBadType, "param", t);
        f.signature.params.push_back(static_cast<ValueType>(t));
      }
      out.push_back(std::move(f));
    }
    return true;
  };
  if (!read_entries(guest_count, m.guest_functions) || !read_entries(host_count, m.host_functions) ||
      !abi::decode_message_end(r)) {
    return wire_error(r, "manifest");
  }
  return m;
}

Status check_arguments(std::string_view function, const Signature& sig, std::span<const Value> args) {
  if (args.size() != sig.params.size()) {
    Error e = make_error(
        ErrorCode::kArgumentMismatch, std::string(function),
        "expected " + std::to_string(sig.params.size()) + " arguments: " + signature_to_string(function, sig));
    e.value = args.size();
    return e;
  }
  for (size_t i = 0; i < args.size(); ++i) {
    if (type_of(args[i]) != sig.params[i]) {
      return make_error(ErrorCode::kArgumentMismatch, std::string(function) + " argument " + std::to_string(i),
                        std::string("expected ") + std::string(value_type_name(sig.params[i])) + ", got " +
                            std::string(value_type_name(type_of(args[i]))));
    }
  }
  return {};
}

}  // namespace snapvm::detail
