// wire_spec.h: the wire messages of docs/abi.md as plain values, and an encoder written from that
// page alone (not from abi/wire.h) that also records where every field lands. The codec properties
// compare the engine against it and use the field map to predict the exact error a defect provokes.
#pragma once

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "snapvm/value.h"

namespace snapvm::properties {

struct CallMessage {
  uint32_t magic = 0;       // abi::kCallMagic or abi::kHostCallMagic
  std::string name;         // any bytes, at most 128
  std::vector<Value> args;  // at most 16
};

struct TextRecordMessage {
  uint32_t magic = 0;  // abi::kLogMagic or abi::kAbortMagic
  uint32_t number = 0;
  std::string text;
};

struct ManifestMessage {
  std::vector<FunctionInfo> guest, host;  // at most 256 each; params never void
};

// A field as the decoder names it in errors ("argument", "name_length", ...).
struct SpecField {
  std::string name;
  size_t offset = 0;
  size_t size = 0;
};

struct SpecMessage {
  std::vector<uint8_t> bytes;
  std::vector<SpecField> fields;  // in order; a zero-size field marks an empty name or payload
  // Index of the field a value or an entry starts with (per argument / per manifest entry).
  std::vector<size_t> starts;
};

SpecMessage spec_encode_call(const CallMessage& m);
SpecMessage spec_encode_result(const Value& v);
SpecMessage spec_encode_text_record(const TextRecordMessage& m);
SpecMessage spec_encode_manifest(const ManifestMessage& m);

void showValue(const CallMessage& m, std::ostream& os);
void showValue(const TextRecordMessage& m, std::ostream& os);
void showValue(const ManifestMessage& m, std::ostream& os);

}  // namespace snapvm::properties
