// call_codec.h: host side of the wire codec: typed Values to and from guest buffers, and the
// guest's manifest, over the freestanding codecs in snapvm/abi/ (wire.h, manifest.h). Every decode
// treats the bytes as hostile: errors name the field and offset.
#pragma once

#include <span>
#include <string_view>
#include <vector>

#include "snapvm/result.h"
#include "snapvm/value.h"

namespace snapvm::detail {

struct Manifest {
  std::vector<FunctionInfo> guest_functions;
  std::vector<FunctionInfo> host_functions;
};

// Encodes a call into `buffer`; returns its length. Fails if it does not fit.
Result<size_t> encode_call(std::span<uint8_t> buffer, uint32_t magic, std::string_view name,
                           std::span<const Value> args);
Result<size_t> encode_result(std::span<uint8_t> buffer, const Value& value);

struct DecodedCall {
  std::string name;
  std::vector<Value> args;
};
Result<DecodedCall> decode_call(std::span<const uint8_t> buffer, uint32_t magic);
Result<Value> decode_result(std::span<const uint8_t> buffer);
struct TextRecord {
  uint32_t number;
  std::string text;
};
Result<TextRecord> decode_text_record(std::span<const uint8_t> buffer, uint32_t magic);
// The guest's manifest, decoded by the codec the guest encodes it with (snapvm/abi/manifest.h).
Result<Manifest> decode_manifest(std::span<const uint8_t> buffer);

// Checks values against a signature's parameter list; the error names the argument.
Status check_arguments(std::string_view function, const Signature& sig, std::span<const Value> args);

}  // namespace snapvm::detail
