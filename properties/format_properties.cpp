// format_properties.cpp: the snapshot file codec (snapshot/format.h). Metadata round-trips through
// encode_metadata/decode_metadata for any structurally valid content and through decode_and_validate
// for any valid snapshot; any header a loader accepts is the canonical encoding of what it decoded.
// (Whole files, memory included: file_roundtrip_properties.cpp.)
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include "generators.h"
#include "snapshot/file_patch.h"
#include "snapshot/format.h"
#include "snapshot/validate.h"
#include "snapvm/abi/byte_order.h"
#include "snapvm/abi/layout.h"
#include "support.h"

namespace snapvm::properties {
namespace {

namespace gen = rc::gen;

std::string join(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) out += "\n  " + l;
  return out;
}

void check_header_shape(const std::vector<uint8_t>& bytes) {
  RC_ASSERT(bytes.size() % abi::kPageSize == 0);
  RC_ASSERT(abi::load_le(bytes.data() + format::kHeaderLengthOffset, 4) == bytes.size());
  RC_ASSERT(abi::load_le(bytes.data() + format::kBlobOffsetOffset, 8) == bytes.size());
}

// decode_metadata(encode_metadata(x)) == x for anything the format can carry, sane or not.
RC_GTEST_PROP(SnapshotFormat, StructuralMetadataRoundTrips, ()) {
  const MetadataValue m = *gen_structural_metadata();
  const std::vector<uint8_t> bytes = encode(m);
  check_header_shape(bytes);
  auto decoded = format::decode_metadata(bytes, bytes.size());
  if (!decoded) RC_FAIL("refused its own encoding: " + show_error(decoded.error()));
  auto diffs = metadata_differences(m, *decoded);
  if (!diffs.empty()) RC_FAIL("decoded differently:" + join(diffs));
}

// Every valid snapshot's metadata passes every check and comes back unchanged.
RC_GTEST_PROP(SnapshotFormat, ValidMetadataPassesValidationAndRoundTrips, ()) {
  const MetadataValue m = *gen_valid_metadata();
  const std::vector<uint8_t> bytes = encode(m);
  check_header_shape(bytes);
  auto decoded = format::decode_and_validate(bytes, file_size(m, bytes), decode_options(m));
  if (!decoded) RC_FAIL("a valid snapshot was refused: " + show_error(decoded.error()));
  auto diffs = metadata_differences(m, *decoded);
  if (!diffs.empty()) RC_FAIL("decoded differently:" + join(diffs));
}

struct EditedHeader {
  MetadataValue original;
  std::vector<std::string> edits;
  std::vector<uint8_t> bytes;  // checksum fixed after the edits
};
void showValue(const EditedHeader& e, std::ostream& os) {
  os << "edits:";
  for (const auto& s : e.edits) os << " " << s;
  os << "\n  of ";
  showValue(e.original, os);
}

// A valid header with a few bytes overwritten, mostly inside the fields the metadata uses, sometimes
// in its padding; the checksum is fixed so the decoder and the validator see every field.
rc::Gen<EditedHeader> gen_edited_header() {
  return gen::exec([] {
    EditedHeader e;
    e.original = *gen_valid_metadata();
    e.bytes = encode(e.original);
    auto fields = format::describe_fields(e.bytes);
    uint64_t used = e.bytes.size();
    for (const auto& f : fields) {
      if (f.name == "padding") used = f.offset;
    }
    size_t count = *gen::inRange<size_t>(1, 5);
    for (size_t i = 0; i < count; ++i) {
      uint64_t at = *gen::weightedOneOf<uint64_t>({{8, gen::inRange<uint64_t>(format::kFixedHeaderSize, used)},
                                                   {1, gen::inRange<uint64_t>(0, e.bytes.size())}});
      uint8_t v = *gen::weightedOneOf<uint8_t>(
          {{2, gen::arbitrary<uint8_t>()}, {1, gen::just<uint8_t>(e.bytes[at] ^ 1)}, {1, gen::just<uint8_t>(0)}});
      std::string name = "?";
      for (const auto& f : fields) {
        if (at >= f.offset && at < f.offset + f.size) name = f.name;
      }
      e.edits.push_back("[" + hex(at) + " " + name + "]=" + hex(v));
      e.bytes[at] = v;
    }
    format::fix_header_checksum(e.bytes);
    return e;
  });
}

// Canonical encoding: whatever header a loader accepts (decode_and_validate), encoding what it decoded
// gives back those exact bytes: no two accepted byte strings hold the same snapshot. (decode_metadata
// alone also accepts any region blob_offset and blob_size; encode_metadata derives both from the
// region sizes and validate_snapshot holds the file to that.)
RC_GTEST_PROP(SnapshotFormat, AcceptedHeadersAreCanonical, ()) {
  const EditedHeader e = *gen_edited_header();
  const uint64_t size = e.bytes.size() + blob_size(e.original);
  auto decoded = format::decode_and_validate(e.bytes, size, decode_options(e.original));
  RC_CLASSIFY(decoded.has_value(), "accepted");
  if (!decoded) {
    const Error& err = decoded.error();
    ErrorClass c = err.cls();
    if (c != ErrorClass::Format && c != ErrorClass::Version && c != ErrorClass::Checksum && c != ErrorClass::State) {
      RC_FAIL("refused with an error outside the file-format classes: " + show_error(err));
    }
    if (err.field.empty() || !err.offset) RC_FAIL("the error names no field or offset: " + show_error(err));
    return;
  }
  const detail::SnapshotMetadata& d = decoded->meta;
  RC_ASSERT(d.digest_algorithm.has_value());
  RC_ASSERT(d.digest.has_value());
  std::vector<uint8_t> again = format::encode_metadata(d, *d.digest_algorithm, *d.digest);
  std::string diff = first_difference(again, e.bytes);
  if (!diff.empty()) RC_FAIL("re-encoding differs at " + diff);
}

// docs/snapshot-format.md allows any name byte but the control characters (< 0x20, 0x7f), and the
// manifest decoder (call_codec.cpp) lets a guest register such names. This found format.cpp testing
// each name byte as a signed char (so 0x80-0xff counted as control characters and a guest with a UTF-8
// function name could run but not be saved); kept as Regressions.FunctionNameWithByte0x80RoundTrips.
RC_GTEST_PROP(SnapshotFormat, FunctionNamesWithAnyNonControlByteRoundTrip, ()) {
  MetadataValue m = *gen_valid_metadata();
  m.guest_functions = *gen::nonEmpty(gen_file_functions(NameBytes::kAnyAllowed));
  const std::vector<uint8_t> bytes = encode(m);
  auto decoded = format::decode_and_validate(bytes, file_size(m, bytes), decode_options(m));
  if (!decoded) RC_FAIL("refused: " + show_error(decoded.error()));
  auto diffs = metadata_differences(m, *decoded);
  if (!diffs.empty()) RC_FAIL("decoded differently:" + join(diffs));
}

}  // namespace
}  // namespace snapvm::properties
