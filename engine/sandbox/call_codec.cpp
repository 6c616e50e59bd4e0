// call_codec.cpp: Values <-> wire messages, on top of the freestanding codec in abi/wire.h.
#include "sandbox/call_codec.h"

#include <cstring>
#include <string>

#include "snapvm/abi/manifest.h"
#include "snapvm/abi/tripwires.h"
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
      Error e = make_error(ErrorCode::kValueTooLong, "argument " + std::to_string(i), "longer than 4 GiB");
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
    Error e = make_error(ErrorCode::kTooManyArguments, std::string(name), "more than 16 arguments");
    e.value = args.size();
    return e;
  }
  TRY(check_sizes(args));
  WireValue wire[abi::kMaxArgs];
  for (size_t i = 0; i < args.size(); ++i) wire[i] = to_wire(args[i]);
  size_t n = abi::encode_call(buffer.data(), buffer.size(), magic, name.data(), static_cast<uint16_t>(name.size()),
                              wire, static_cast<uint8_t>(args.size()));
  if (n == 0) {
    return make_error(ErrorCode::kCallTooLarge, std::string(name),
                      "the encoded call does not fit the input buffer (" + std::to_string(buffer.size()) +
                          " bytes); raise SandboxConfig::input_size");
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
  Manifest m;
  auto add = [&m](bool is_host, const abi::FunctionDecl& f) {
    FunctionInfo info;
    info.name.assign(f.name, f.name_length);
    info.signature.result = f.result;
    info.signature.params.assign(f.params, f.params + f.param_count);
    (is_host ? m.host_functions : m.guest_functions).push_back(std::move(info));
  };
  if (!abi::decode_manifest(r, add)) return wire_error(r, "manifest");
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
