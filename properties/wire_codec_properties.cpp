// wire_codec_properties.cpp: the call wire codec (abi/wire.h, sandbox/call_codec.h) against
// docs/abi.md. Valid messages round-trip and encode to exactly the documented bytes; every byte
// string the decoder accepts is the canonical encoding of what it decoded; every defect generated on
// purpose is refused with the exact typed error (field, offset, value, status) it was meant to provoke.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <cstring>

#include "generators.h"
#include "sandbox/call_codec.h"
#include "snapvm/abi/byte_order.h"
#include "snapvm/abi/wire.h"
#include "support.h"

namespace snapvm::properties {
namespace {

namespace gen = rc::gen;
using abi::WireStatus;

constexpr uint8_t kCanary = 0xa5;
constexpr size_t kCanaryBytes = 64;

std::string mismatch(const char* what, std::span<const uint8_t> got, std::span<const uint8_t> want) {
  return std::string(what) + ": " + first_difference(got, want) + "\n  engine " + show_bytes(got, 48) + "\n  spec   " +
         show_bytes(want, 48);
}

bool canary_intact(const std::vector<uint8_t>& buf, size_t from) {
  for (size_t i = from; i < buf.size(); ++i) {
    if (buf[i] != kCanary) return false;
  }
  return true;
}

// ---- round trips and conformance --------------------------------------------------------------------

RC_GTEST_PROP(WireCodec, CallsRoundTripAndMatchTheDocumentedBytes, ()) {
  const CallMessage call = *gen_call();
  const SpecMessage spec = spec_encode_call(call);
  std::vector<uint8_t> buf(spec.bytes.size() + kCanaryBytes, kCanary);
  auto n = detail::encode_call(std::span(buf.data(), spec.bytes.size()), call.magic, call.name, call.args);
  RC_ASSERT(n.has_value());
  RC_ASSERT(canary_intact(buf, spec.bytes.size()));
  std::span<const uint8_t> got(buf.data(), *n);
  if (first_difference(got, spec.bytes) != "") RC_FAIL(mismatch("encode_call", got, spec.bytes));
  auto back = detail::decode_call(buf, call.magic);  // the whole buffer: bytes after the message are ignored
  if (!back) RC_FAIL("decode_call refused its own encoding: " + show_error(back.error()));
  RC_ASSERT(back->name == call.name);
  if (!same_values(back->args, call.args)) RC_FAIL("arguments came back as " + show_values(back->args));
}

RC_GTEST_PROP(WireCodec, ResultsRoundTripAndMatchTheDocumentedBytes, ()) {
  const Value v = *gen_value();
  const SpecMessage spec = spec_encode_result(v);
  std::vector<uint8_t> buf(spec.bytes.size() + kCanaryBytes, kCanary);
  auto n = detail::encode_result(std::span(buf.data(), spec.bytes.size()), v);
  RC_ASSERT(n.has_value());
  RC_ASSERT(canary_intact(buf, spec.bytes.size()));
  std::span<const uint8_t> got(buf.data(), *n);
  if (first_difference(got, spec.bytes) != "") RC_FAIL(mismatch("encode_result", got, spec.bytes));
  auto back = detail::decode_result(buf);
  if (!back) RC_FAIL("decode_result refused its own encoding: " + show_error(back.error()));
  if (!same_value(*back, v)) RC_FAIL("came back as " + show_value(*back));
}

RC_GTEST_PROP(WireCodec, TextRecordsRoundTripAndMatchTheDocumentedBytes, ()) {
  const TextRecordMessage rec = *gen_text_record();
  const SpecMessage spec = spec_encode_text_record(rec);
  std::vector<uint8_t> buf(spec.bytes.size() + kCanaryBytes, kCanary);
  size_t n = abi::encode_text_record(buf.data(), spec.bytes.size(), rec.magic, rec.number, rec.text.data(),
                                     static_cast<uint32_t>(rec.text.size()));
  RC_ASSERT(n == spec.bytes.size());
  RC_ASSERT(canary_intact(buf, spec.bytes.size()));
  std::span<const uint8_t> got(buf.data(), n);
  if (first_difference(got, spec.bytes) != "") RC_FAIL(mismatch("encode_text_record", got, spec.bytes));
  auto back = detail::decode_text_record(buf, rec.magic);
  if (!back) RC_FAIL("decode_text_record refused its own encoding: " + show_error(back.error()));
  RC_ASSERT(back->number == rec.number);
  RC_ASSERT(back->text == rec.text);
}

RC_GTEST_PROP(WireCodec, ManifestsRoundTrip, ()) {
  const ManifestMessage m = *gen_manifest();
  const SpecMessage spec = spec_encode_manifest(m);
  auto back = detail::decode_manifest(spec.bytes);
  if (!back) RC_FAIL("decode_manifest refused a documented manifest: " + show_error(back.error()));
  RC_ASSERT(back->guest_functions == m.guest);
  RC_ASSERT(back->host_functions == m.host);
}

// An encoder given too little room fails with a typed error and writes nothing past its buffer.
RC_GTEST_PROP(WireCodec, EncodersStayInsideTheirBuffer, ()) {
  const bool is_call = *gen::arbitrary<bool>();
  const CallMessage call = *gen_call();
  const Value v = *gen_value();
  const size_t need = is_call ? spec_encode_call(call).bytes.size() : spec_encode_result(v).bytes.size();
  const size_t cap = *uniform<size_t>(0, need);
  std::vector<uint8_t> buf(cap + kCanaryBytes, kCanary);
  std::span<uint8_t> room(buf.data(), cap);
  if (is_call) {
    auto n = detail::encode_call(room, call.magic, call.name, call.args);
    RC_ASSERT(!n.has_value());
    RC_ASSERT(n.error().code == ErrorCode::kCallTooLarge);
  } else {
    auto n = detail::encode_result(room, v);
    RC_ASSERT(!n.has_value());
    RC_ASSERT(n.error().code == ErrorCode::kHostFunctionError);
  }
  RC_ASSERT(canary_intact(buf, cap));
}

// Names over 128 bytes and more than 16 arguments never reach the wire.
RC_GTEST_PROP(WireCodec, EncodeCallRefusesWhatTheWireCannotCarry, ()) {
  CallMessage call = *gen_call();
  const bool long_name = *gen::arbitrary<bool>();
  if (long_name) {
    call.name =
        *gen::map(gen::inRange<size_t>(abi::kMaxNameLength + 1, 1000), [](size_t n) { return std::string(n, 'n'); });
  } else {
    call.args = *gen::mapcat(gen::inRange<size_t>(abi::kMaxArgs + 1, 64), [](size_t n) {
      return gen::container<std::vector<Value>>(n, gen_value_of(ValueType::kI32));
    });
  }
  std::vector<uint8_t> buf(1 << 16);
  auto n = detail::encode_call(buf, call.magic, call.name, call.args);
  RC_ASSERT(!n.has_value());
  RC_ASSERT(n.error().code == (long_name ? ErrorCode::kUnknownFunction : ErrorCode::kTooManyArguments));
  RC_ASSERT(n.error().value == std::optional<uint64_t>(long_name ? call.name.size() : call.args.size()));
}

// ---- decoding hostile bytes ---------------------------------------------------------------------------

enum class Kind { kCall, kResult, kRecord, kManifest };
const char* kind_prefix(Kind k) {
  switch (k) {
    case Kind::kCall:
      return "call";
    case Kind::kResult:
      return "result";
    case Kind::kRecord:
      return "record";
    case Kind::kManifest:
      return "manifest";
  }
  return "?";
}

struct Decoded {
  std::optional<Error> error;
  std::vector<uint8_t> reencoded;  // the canonical bytes of what was decoded
};

Decoded decode_and_reencode(Kind kind, uint32_t magic, const std::vector<uint8_t>& bytes) {
  Decoded d;
  switch (kind) {
    case Kind::kCall: {
      auto c = detail::decode_call(bytes, magic);
      if (!c) return {c.error(), {}};
      d.reencoded = spec_encode_call(CallMessage{magic, c->name, c->args}).bytes;
      std::vector<uint8_t> buf(d.reencoded.size());
      auto n = detail::encode_call(buf, magic, c->name, c->args);
      if (n && *n == buf.size())
        d.reencoded = buf;
      else
        d.reencoded.clear();
      return d;
    }
    case Kind::kResult: {
      auto v = detail::decode_result(bytes);
      if (!v) return {v.error(), {}};
      d.reencoded.resize(spec_encode_result(*v).bytes.size());
      auto n = detail::encode_result(d.reencoded, *v);
      if (!n || *n != d.reencoded.size()) d.reencoded.clear();
      return d;
    }
    case Kind::kRecord: {
      auto r = detail::decode_text_record(bytes, magic);
      if (!r) return {r.error(), {}};
      d.reencoded.resize(16 + r->text.size());
      size_t n = abi::encode_text_record(d.reencoded.data(), d.reencoded.size(), magic, r->number, r->text.data(),
                                         static_cast<uint32_t>(r->text.size()));
      if (n != d.reencoded.size()) d.reencoded.clear();
      return d;
    }
    case Kind::kManifest: {
      auto m = detail::decode_manifest(bytes);
      if (!m) return {m.error(), {}};
      d.reencoded = spec_encode_manifest(ManifestMessage{m->guest_functions, m->host_functions}).bytes;
      return d;
    }
  }
  return d;
}

// A valid message of `kind` (magic included) and its documented encoding.
struct Sample {
  Kind kind{};
  uint32_t magic = 0;
  std::string text;  // the message, shown
  SpecMessage spec;
};

Sample make_sample(Kind kind, std::optional<CallMessage> call = {}, std::optional<Value> value = {},
                   std::optional<ManifestMessage> manifest = {}) {
  Sample s;
  s.kind = kind;
  switch (kind) {
    case Kind::kCall: {
      CallMessage c = call ? *call : *gen_call();
      s.magic = c.magic;
      s.text = rc::toString(c);
      s.spec = spec_encode_call(c);
      break;
    }
    case Kind::kResult: {
      Value v = value ? *value : *gen_value();
      s.magic = abi::kResultMagic;
      s.text = "result " + show_value(v);
      s.spec = spec_encode_result(v);
      break;
    }
    case Kind::kRecord: {
      TextRecordMessage r = *gen_text_record();
      s.magic = r.magic;
      s.text = rc::toString(r);
      s.spec = spec_encode_text_record(r);
      break;
    }
    case Kind::kManifest: {
      ManifestMessage m = manifest ? *manifest : *gen_manifest();
      s.magic = abi::kManifestMagic;
      s.text = "manifest " + rc::toString(m);
      s.spec = spec_encode_manifest(m);
      break;
    }
  }
  return s;
}

rc::Gen<Kind> gen_kind() { return gen::element(Kind::kCall, Kind::kResult, Kind::kRecord, Kind::kManifest); }

struct HostileBytes {
  Kind kind{};
  uint32_t magic = 0;
  std::string how;
  std::vector<uint8_t> bytes;
};
void showValue(const HostileBytes& h, std::ostream& os) {
  os << kind_prefix(h.kind) << " bytes (" << h.how << ") " << show_bytes(h.bytes, 64);
}

rc::Gen<HostileBytes> gen_hostile_bytes() {
  return gen::exec([] {
    HostileBytes h;
    h.kind = *gen_kind();
    Sample s = make_sample(h.kind);
    h.magic = s.magic;
    h.bytes = s.spec.bytes;
    switch (*uniform(0, 3)) {
      case 0: {  // valid, then garbage the length does not cover
        auto tail = *gen::arbitrary<std::vector<uint8_t>>();
        h.bytes.insert(h.bytes.end(), tail.begin(), tail.end());
        h.how = s.text + " + " + std::to_string(tail.size()) + " bytes after it";
        break;
      }
      case 1: {  // valid, then a few bytes overwritten anywhere
        h.how = s.text + " with bytes overwritten:";
        size_t count = *gen::inRange<size_t>(1, 5);
        for (size_t i = 0; i < count; ++i) {
          size_t at = *uniform<size_t>(0, h.bytes.size());
          h.bytes[at] = *gen::arbitrary<uint8_t>();
          h.how += " [" + std::to_string(at) + "]=" + std::to_string(h.bytes[at]);
        }
        break;
      }
      default: {  // the right header over random bytes
        h.bytes = *gen::container<std::vector<uint8_t>>(*gen::inRange<size_t>(0, 64), gen::arbitrary<uint8_t>());
        h.bytes.insert(h.bytes.begin(), 8, 0);
        abi::store_le(h.bytes.data(), 4, h.magic);
        abi::store_le(h.bytes.data() + 4, 4, h.bytes.size());
        h.how = "random body";
        break;
      }
    }
    return h;
  });
}

// For any byte string the decoder accepts, encoding what it decoded gives back exactly the message's
// bytes (the encoding is canonical); anything else is refused with kWireMalformed naming a field.
RC_GTEST_PROP(WireCodec, AcceptedBytesAreCanonical, ()) {
  const HostileBytes h = *gen_hostile_bytes();
  Decoded d = decode_and_reencode(h.kind, h.magic, h.bytes);
  RC_CLASSIFY(!d.error, "accepted");
  if (d.error) {
    const Error& e = *d.error;
    RC_ASSERT(e.code == ErrorCode::kWireMalformed);
    if (e.field.rfind(std::string(kind_prefix(h.kind)) + ".", 0) != 0)
      RC_FAIL("error names no field: " + show_error(e));
    RC_ASSERT(e.offset.has_value());
    RC_ASSERT(*e.offset <= h.bytes.size());
    return;
  }
  const size_t total = abi::load_le(h.bytes.data() + 4, 4);
  RC_ASSERT(total <= h.bytes.size());
  std::span<const uint8_t> message(h.bytes.data(), total);
  if (first_difference(d.reencoded, message) != "") RC_FAIL(mismatch("re-encoding", d.reencoded, message));
}

// ---- defects made on purpose --------------------------------------------------------------------------

struct WireDefect {
  Kind kind{};
  uint32_t magic = 0;
  std::string message;  // the valid message it started from
  std::string defect;   // what was broken
  std::vector<uint8_t> bytes;
  // The error it must provoke.
  std::string field;
  uint64_t offset = 0;
  uint64_t value = 0;
  WireStatus status{};
};
void showValue(const WireDefect& d, std::ostream& os) {
  os << d.message << "\n  defect: " << d.defect << "\n  expect: " << kind_prefix(d.kind) << "." << d.field << " @"
     << d.offset << " =" << d.value << " (" << abi::wire_status_name(d.status)
     << ")\n  bytes: " << show_bytes(d.bytes, 64);
}

void expect(WireDefect& d, std::string field, uint64_t offset, uint64_t value, WireStatus status) {
  d.field = std::move(field);
  d.offset = offset;
  d.value = value;
  d.status = status;
}

// Defects every message kind can have: in its header, its length, or after its end.
bool header_defect(WireDefect& d, const SpecMessage& spec, int rule) {
  const size_t size = spec.bytes.size();
  switch (rule) {
    case 0: {
      uint32_t bad = *gen::distinctFrom(gen::arbitrary<uint32_t>(), d.magic);
      abi::store_le(d.bytes.data(), 4, bad);
      d.defect = "magic = " + hex(bad);
      expect(d, "magic", 0, bad, WireStatus::kBadMagic);
      return true;
    }
    case 1: {
      uint32_t t = *gen::inRange<uint32_t>(0, 8);
      abi::store_le(d.bytes.data() + 4, 4, t);
      d.defect = "total_length = " + std::to_string(t);
      expect(d, "total_length", 4, t, WireStatus::kBadLength);
      return true;
    }
    case 2: {
      uint32_t t = *gen::inRange<uint32_t>(static_cast<uint32_t>(size) + 1, UINT32_MAX);
      abi::store_le(d.bytes.data() + 4, 4, t);
      d.defect = "total_length = " + std::to_string(t) + " past the buffer";
      expect(d, "total_length", 4, t, WireStatus::kBadLength);
      return true;
    }
    case 3: {  // the buffer ends early; the length still claims the whole message
      size_t len = *uniform<size_t>(0, size);
      d.bytes.resize(len);
      d.defect = "buffer cut to " + std::to_string(len) + " bytes";
      if (len < 4)
        expect(d, "magic", 0, 4, WireStatus::kTruncated);
      else if (len < 8)
        expect(d, "total_length", 4, 4, WireStatus::kTruncated);
      else
        expect(d, "total_length", 4, size, WireStatus::kBadLength);
      return true;
    }
    case 4: {  // message and length cut at the same place: the field that crosses the end is named
      if (size <= 8) return false;
      size_t len = *gen::inRange<size_t>(8, size);
      d.bytes.resize(len);
      abi::store_le(d.bytes.data() + 4, 4, len);
      d.defect = "message cut to " + std::to_string(len) + " bytes (total_length too)";
      for (const SpecField& f : spec.fields) {
        if (f.offset + f.size > len) {
          expect(d, f.name, f.offset, f.size, WireStatus::kTruncated);
          break;
        }
      }
      return true;
    }
    case 5: {
      size_t extra = *gen::inRange<size_t>(1, 65);
      d.bytes.resize(size + extra, 0);
      abi::store_le(d.bytes.data() + 4, 4, size + extra);
      d.defect = std::to_string(extra) + " bytes past the last field, inside total_length";
      expect(d, "end", size, extra, WireStatus::kTrailingBytes);
      return true;
    }
  }
  return false;
}

// A value's own defects: an unknown tag, a bool that is not 0 or 1, a length past the message.
bool value_defect(WireDefect& d, const SpecMessage& spec, size_t start, const Value& v, int rule) {
  const SpecField& tag = spec.fields[start];
  switch (rule) {
    case 0: {
      uint8_t t = *gen::inRange<int>(abi::kValueTypeCount, 256);
      d.bytes[tag.offset] = t;
      d.defect = "type tag " + std::to_string(t) + " at " + std::to_string(tag.offset);
      expect(d, tag.name, tag.offset, t, WireStatus::kBadType);
      return true;
    }
    case 1: {
      if (!std::holds_alternative<bool>(v)) return false;
      const SpecField& payload = spec.fields[start + 1];
      uint8_t b = *gen::inRange<int>(2, 256);
      d.bytes[payload.offset] = b;
      d.defect = "bool byte " + std::to_string(b);
      expect(d, payload.name, payload.offset, b, WireStatus::kBadBool);
      return true;
    }
    case 2: {
      if (!std::holds_alternative<std::string>(v) && !std::holds_alternative<Bytes>(v)) return false;
      const SpecField& length = spec.fields[start + 1];
      const size_t room = spec.bytes.size() - (length.offset + 4);
      uint32_t n = *gen::inRange<uint64_t>(room + 1, uint64_t{UINT32_MAX} + 1);
      abi::store_le(d.bytes.data() + length.offset, 4, n);
      d.defect = "length " + std::to_string(n) + " with " + std::to_string(room) + " bytes left";
      expect(d, length.name, length.offset + 4, n, WireStatus::kTruncated);
      return true;
    }
  }
  return false;
}

// A call's own defects: its name length, argument count, reserved byte, or one argument's value.
bool call_defect(WireDefect& d, const SpecMessage& spec, const CallMessage& call, int rule) {
  if (rule == 0) {
    uint16_t n = *gen::inRange<int>(abi::kMaxNameLength + 1, 65536);
    abi::store_le(d.bytes.data() + 8, 2, n);
    d.defect = "name_length = " + std::to_string(n);
    expect(d, "name_length", 8, n, WireStatus::kTooLong);
  } else if (rule == 1) {
    uint8_t n = *gen::inRange<int>(abi::kMaxArgs + 1, 256);
    d.bytes[10] = n;
    d.defect = "argc = " + std::to_string(n);
    expect(d, "argc", 10, n, WireStatus::kTooMany);
  } else if (rule == 2) {
    uint8_t n = *gen::inRange<int>(1, 256);
    d.bytes[11] = n;
    d.defect = "reserved = " + std::to_string(n);
    expect(d, "reserved", 11, n, WireStatus::kBadReserved);
  } else {
    size_t i = *uniform<size_t>(0, call.args.size());
    if (!value_defect(d, spec, spec.starts[i], call.args[i], *uniform(0, 3))) return false;
    d.defect = "argument " + std::to_string(i) + ": " + d.defect;
  }
  return true;
}

// A log or abort record whose text length runs past the message.
void record_defect(WireDefect& d, const SpecMessage& spec) {
  const size_t room = spec.bytes.size() - 16;
  uint32_t n = *gen::inRange<uint64_t>(room + 1, uint64_t{UINT32_MAX} + 1);
  abi::store_le(d.bytes.data() + 12, 4, n);
  d.defect = "text_length " + std::to_string(n) + " with " + std::to_string(room) + " bytes left";
  expect(d, "text", 16, n, WireStatus::kTruncated);
}

// A manifest entry's name: too long, empty, or with a control character.
void manifest_name_defect(WireDefect& d, const SpecField& name_length, size_t entry, size_t name_size) {
  const int which = *uniform(0, 3);
  if (which == 0) {
    uint16_t n = *gen::inRange<int>(abi::kMaxNameLength + 1, 65536);
    abi::store_le(d.bytes.data() + name_length.offset, 2, n);
    d.defect = "entry " + std::to_string(entry) + " name_length = " + std::to_string(n);
    expect(d, "name_length", name_length.offset, n, WireStatus::kTooLong);
  } else if (which == 1) {  // an empty name: its bytes go, the rest of the entry stays
    d.bytes.erase(d.bytes.begin() + static_cast<long>(name_length.offset + 2),
                  d.bytes.begin() + static_cast<long>(name_length.offset + 2 + name_size));
    abi::store_le(d.bytes.data() + name_length.offset, 2, 0);
    abi::store_le(d.bytes.data() + 4, 4, d.bytes.size());
    d.defect = "entry " + std::to_string(entry) + " with an empty name";
    expect(d, "name_length", name_length.offset, 0, WireStatus::kBadName);
  } else {
    const size_t k = *uniform<size_t>(0, name_size);
    const uint8_t c = *gen::oneOf(gen::inRange<uint8_t>(0, 0x20), gen::just<uint8_t>(0x7f));
    d.bytes[name_length.offset + 2 + k] = c;
    d.defect = "entry " + std::to_string(entry) + " name byte " + std::to_string(k) + " = " + hex(c);
    expect(d, "name", name_length.offset + 2 + k, c, WireStatus::kBadName);
  }
}

// A manifest's defects: a function count over the limit, an entry's name, result or parameter types.
bool manifest_defect(WireDefect& d, const SpecMessage& spec, int rule) {
  const size_t entry = *uniform<size_t>(0, spec.starts.size());
  const SpecField& name_length = spec.fields[spec.starts[entry]];
  const size_t name_size = abi::load_le(d.bytes.data() + name_length.offset, 2);
  const size_t result_at = name_length.offset + 2 + name_size;
  const size_t params = d.bytes[result_at + 1];
  if (rule == 0) {
    const bool guest = *gen::arbitrary<bool>();
    uint16_t n = *gen::inRange<int>(abi::kMaxFunctions + 1, 65536);
    abi::store_le(d.bytes.data() + (guest ? 8 : 10), 2, n);
    d.defect = std::string(guest ? "guest_count" : "host_count") + " = " + std::to_string(n);
    expect(d, guest ? "guest_count" : "host_count", guest ? 8 : 10, n, WireStatus::kTooMany);
  } else if (rule == 1) {
    manifest_name_defect(d, name_length, entry, name_size);
  } else if (rule == 2) {
    if (*gen::arbitrary<bool>()) {
      uint8_t t = *gen::inRange<int>(abi::kValueTypeCount, 256);
      d.bytes[result_at] = t;
      d.defect = "entry " + std::to_string(entry) + " result type " + std::to_string(t);
      expect(d, "result", result_at, t, WireStatus::kBadType);
    } else {
      uint8_t n = *gen::inRange<int>(abi::kMaxArgs + 1, 256);
      d.bytes[result_at + 1] = n;
      d.defect = "entry " + std::to_string(entry) + " param_count = " + std::to_string(n);
      expect(d, "param_count", result_at + 1, n, WireStatus::kTooMany);
    }
  } else {
    if (params == 0) return false;
    size_t j = *uniform<size_t>(0, params);
    uint8_t t = *gen::weightedOneOf<int>({{1, gen::just(0)}, {3, gen::inRange<int>(abi::kValueTypeCount, 256)}});
    d.bytes[result_at + 2 + j] = t;
    d.defect = "entry " + std::to_string(entry) + " param " + std::to_string(j) + " type " + std::to_string(t);
    expect(d, "param", result_at + 2 + j, t, WireStatus::kBadType);
  }
  return true;
}

// A message of the kind with the part the defect needs: at least one value or function entry.
Sample defect_sample(Kind kind, std::optional<CallMessage>& call) {
  std::optional<Value> value;
  std::optional<ManifestMessage> manifest;
  if (kind == Kind::kCall) {
    call = *gen_call();
    if (call->args.empty()) call->args.push_back(*gen_value());
    size_t i = *uniform<size_t>(0, call->args.size());
    if (*uniform(0, 3) == 0)
      call->args[i] = *gen_value_of(*gen::element(ValueType::kBool, ValueType::kString, ValueType::kBytes));
  }
  if (kind == Kind::kManifest) {
    manifest = *gen_manifest();
    if (manifest->guest.empty() && manifest->host.empty()) {
      manifest->guest.push_back(FunctionInfo{"F", {ValueType::kI32, {ValueType::kI32}}});
    }
  }
  return make_sample(kind, call, value, manifest);
}

rc::Gen<WireDefect> gen_wire_defect() {
  return gen::exec([] {
    WireDefect d;
    d.kind = *gen_kind();
    std::optional<CallMessage> call;
    Sample s = defect_sample(d.kind, call);
    d.magic = s.magic;
    d.message = s.text;
    d.bytes = s.spec.bytes;
    const SpecMessage& spec = s.spec;
    for (;;) {
      const int family = *uniform(0, 2);
      if (family == 0) {
        if (header_defect(d, spec, *uniform(0, 6))) return d;
        continue;
      }
      const int rule = *uniform(0, 4);
      switch (d.kind) {
        case Kind::kCall:
          if (call_defect(d, spec, *call, rule)) return d;
          break;
        case Kind::kResult: {
          Value v = *detail::decode_result(spec.bytes);
          if (value_defect(d, spec, spec.starts[0], v, *uniform(0, 3))) return d;
          break;
        }
        case Kind::kRecord:
          record_defect(d, spec);
          return d;
        case Kind::kManifest:
          if (manifest_defect(d, spec, rule)) return d;
          break;
      }
    }
  });
}

RC_GTEST_PROP(WireCodec, DefectsAreRefusedWithTheExactError, ()) {
  const WireDefect d = *gen_wire_defect();
  Decoded got = decode_and_reencode(d.kind, d.magic, d.bytes);
  if (!got.error) RC_FAIL("accepted");
  const Error& e = *got.error;
  RC_TAG(abi::wire_status_name(d.status));
  RC_LOG() << "got: " << show_error(e) << "\n";
  RC_ASSERT(e.code == ErrorCode::kWireMalformed);
  RC_ASSERT(e.field == std::string(kind_prefix(d.kind)) + "." + d.field);
  RC_ASSERT(e.offset == std::optional<uint64_t>(d.offset));
  RC_ASSERT(e.value == std::optional<uint64_t>(d.value));
  RC_ASSERT(e.detail == std::string(abi::wire_status_name(d.status)));
}

}  // namespace
}  // namespace snapvm::properties
