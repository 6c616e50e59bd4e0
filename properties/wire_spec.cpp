// wire_spec.cpp: the docs/abi.md wire layout, field by field.
#include "wire_spec.h"

#include <cstring>

#include "snapvm/abi/byte_order.h"
#include "support.h"

namespace snapvm::properties {

namespace {
constexpr uint32_t kResultMagic = 0x31525653;    // "SVR1"
constexpr uint32_t kManifestMagic = 0x314d5653;  // "SVM1"

class SpecWriter {
 public:
  void uint(const char* name, uint64_t v, size_t size) {
    m.fields.push_back({name, m.bytes.size(), size});
    m.bytes.resize(m.bytes.size() + size);
    abi::store_le(m.bytes.data() + m.bytes.size() - size, size, v);
  }
  void raw(const char* name, const void* p, size_t size) {
    m.fields.push_back({name, m.bytes.size(), size});
    const auto* b = static_cast<const uint8_t*>(p);
    m.bytes.insert(m.bytes.end(), b, b + size);
  }
  void begin(uint32_t magic) {
    uint("magic", magic, 4);
    uint("total_length", 0, 4);
  }
  SpecMessage finish() {
    abi::store_le(m.bytes.data() + 4, 4, m.bytes.size());
    return std::move(m);
  }
  // Tag, then the payload as docs/abi.md gives it for each type.
  void value(const char* name, const Value& v) {
    m.starts.push_back(m.fields.size());
    uint(name, v.index(), 1);
    std::visit(
        [&](const auto& x) {
          using T = std::decay_t<decltype(x)>;
          if constexpr (std::is_same_v<T, std::monostate>) {
          } else if constexpr (std::is_same_v<T, bool>) {
            uint(name, x ? 1 : 0, 1);
          } else if constexpr (std::is_same_v<T, std::string> || std::is_same_v<T, Bytes>) {
            uint(name, x.size(), 4);
            raw(name, x.data(), x.size());
          } else {
            uint64_t bits = 0;
            std::memcpy(&bits, &x, sizeof x);
            uint(name, bits, sizeof x);
          }
        },
        v);
  }
  SpecMessage m;
};
}  // namespace

SpecMessage spec_encode_call(const CallMessage& c) {
  SpecWriter w;
  w.begin(c.magic);
  w.uint("name_length", c.name.size(), 2);
  w.uint("argc", c.args.size(), 1);
  w.uint("reserved", 0, 1);
  w.raw("name", c.name.data(), c.name.size());
  for (const Value& v : c.args) w.value("argument", v);
  return w.finish();
}

SpecMessage spec_encode_result(const Value& v) {
  SpecWriter w;
  w.begin(kResultMagic);
  w.value("value", v);
  return w.finish();
}

SpecMessage spec_encode_text_record(const TextRecordMessage& t) {
  SpecWriter w;
  w.begin(t.magic);
  w.uint("number", t.number, 4);
  w.uint("text_length", t.text.size(), 4);
  w.raw("text", t.text.data(), t.text.size());
  return w.finish();
}

SpecMessage spec_encode_manifest(const ManifestMessage& mf) {
  SpecWriter w;
  w.begin(kManifestMagic);
  w.uint("guest_count", mf.guest.size(), 2);
  w.uint("host_count", mf.host.size(), 2);
  for (const auto* list : {&mf.guest, &mf.host}) {
    for (const FunctionInfo& f : *list) {
      w.m.starts.push_back(w.m.fields.size());
      w.uint("name_length", f.name.size(), 2);
      w.raw("name", f.name.data(), f.name.size());
      w.uint("result", static_cast<uint8_t>(f.signature.result), 1);
      w.uint("param_count", f.signature.params.size(), 1);
      for (ValueType p : f.signature.params) w.uint("param", static_cast<uint8_t>(p), 1);
    }
  }
  return w.finish();
}

void showValue(const CallMessage& m, std::ostream& os) {
  os << (m.magic == 0x31435653   ? "call "
         : m.magic == 0x31485653 ? "host call "
                                 : "call(magic?) ")
     << show_text(m.name) << show_values(m.args);
}

void showValue(const TextRecordMessage& m, std::ostream& os) {
  os << (m.magic == 0x314c5653 ? "log " : "abort ") << m.number << ' ' << show_text(m.text);
}

void showValue(const ManifestMessage& m, std::ostream& os) {
  auto list = [&](const char* what, const std::vector<FunctionInfo>& fs) {
    os << what << " [";
    for (size_t i = 0; i < fs.size(); ++i) {
      os << (i ? "; " : "") << show_text(fs[i].name) << ' ' << signature_to_string("", fs[i].signature);
    }
    os << "]";
  };
  list("guest", m.guest);
  list(" host", m.host);
}

}  // namespace snapvm::properties
