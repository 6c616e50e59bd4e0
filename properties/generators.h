// generators.h: RapidCheck generators of VALID values for the codecs: typed wire values, calls,
// results, log/abort records, manifests, and snapshot metadata (header fields, layout and region
// table, every vCPU register within the space validate.cpp accepts, function lists) plus small
// whole snapshots with memory. Generators of invalid values live beside the property that checks
// the error they provoke (wire_codec_properties.cpp, format_properties.cpp).
#pragma once

#include <rapidcheck.h>

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "snapshot/format.h"
#include "snapshot/snapshot_metadata.h"
#include "snapvm/snapshot.h"
#include "wire_spec.h"

namespace snapvm::properties {

// Uniform in [min, max) whatever the current size (gen::inRange scales its range with the size, so
// at small sizes it always gives min): for choosing which rule, field or index a case exercises.
// Shrinks towards min.
template <typename T>
rc::Gen<T> uniform(T min, T max) {
  return rc::gen::resize(100, rc::gen::inRange<T>(min, max));
}

// ---- wire values and messages ---------------------------------------------------------------------
rc::Gen<ValueType> gen_value_type();  // any of the ten
rc::Gen<ValueType> gen_param_type();  // any but void
rc::Gen<Value> gen_value_of(ValueType t);
rc::Gen<Value> gen_value();  // floats: every bit pattern (NaN payloads, -0, infinities) is fair
rc::Gen<std::string> gen_wire_bytes_string(size_t max);  // any bytes, length 0..max (size-scaled)
rc::Gen<CallMessage> gen_call();                         // call or host call; name <= 128, args <= 16
rc::Gen<TextRecordMessage> gen_text_record();            // log or abort
rc::Gen<ManifestMessage> gen_manifest();  // <= 256 functions a side (size-scaled); names 1..128, no control bytes

// ---- snapshot metadata ----------------------------------------------------------------------------
// Everything a snapshot file's metadata holds: the metadata value, plus the digest the file records
// (always set here; these two hide the base's optional digest fields, which stay empty).
struct MetadataValue : detail::SnapshotMetadata {
  DigestAlgorithm algorithm = DigestAlgorithm::kBlake3_256;
  Digest digest{};  // xxh3-128: the last 16 bytes are zero, as the file holds them
};
void showValue(const MetadataValue& m, std::ostream& os);

const detail::SnapshotMetadata& to_metadata(const MetadataValue& m);
std::vector<uint8_t> encode(const MetadataValue& m);  // format::encode_metadata
uint64_t blob_size(const MetadataValue& m);           // regions' sizes summed (wrapping)
// The whole file's size such a header describes: header_length + blob_size.
uint64_t file_size(const MetadataValue& m, const std::vector<uint8_t>& metadata);
format::DecodeOptions decode_options(const MetadataValue& m);  // expects m's CPU vendor
// Field by field, as "name: want vs got"; empty when the decoded file holds exactly `want`.
std::vector<std::string> metadata_differences(const MetadataValue& want, const format::DecodedSnapshotFile& got);

// Passes decode_and_validate: a layout from compute_layout over a generated configuration and image,
// special registers anywhere in the sane long-mode space, general registers inside their regions.
rc::Gen<MetadataValue> gen_valid_metadata();
// Passes decode_metadata (structure) but not necessarily the semantic checks: any register values,
// any region table of up to 64 entries, any layout numbers.
rc::Gen<MetadataValue> gen_structural_metadata();
// Function lists a file can hold: names of 1..128 bytes of any byte but the control characters
// (docs/snapshot-format.md allows 0x80-0xff): mostly printable ASCII, or any allowed byte throughout.
enum class NameBytes { kMostlyPrintable, kAnyAllowed };
rc::Gen<std::vector<FunctionInfo>> gen_file_functions(NameBytes names = NameBytes::kMostlyPrintable);

// ---- small whole snapshots, memory included ---------------------------------------------------------
struct MemoryWrite {
  size_t region = 0;    // index into the layout's regions (taken modulo their count)
  uint64_t offset = 0;  // taken modulo the region's size
  std::vector<uint8_t> bytes;
};
struct SnapshotSpec {
  MetadataValue meta;  // small configuration: every region's bytes stay in memory
  std::vector<MemoryWrite> writes;
};
void showValue(const SnapshotSpec& s, std::ostream& os);
rc::Gen<SnapshotSpec> gen_snapshot_spec();
Result<Snapshot> make_snapshot(const SnapshotSpec& spec);

}  // namespace snapvm::properties
