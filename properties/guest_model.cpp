// guest_model.cpp: the sample guest, function by function, as plain C++.
#include "guest_model.h"

#include "generators.h"
#include "snapvm/abi/layout.h"
#include "support.h"

namespace snapvm::properties {

namespace gen = rc::gen;

namespace {
// Keeps the 128 KiB default heap far from full however many calls a case makes: the model does not
// model the allocator, so it must never run out.
constexpr uint64_t kMaxFill = 3 * abi::kPageSize + 200;
constexpr size_t kMaxAppend = 48;

Outcome ok(Value v) {
  Outcome o;
  o.ok = true;
  o.value = std::move(v);
  return o;
}
Outcome error(ErrorCode code) {
  Outcome o;
  o.error = code;
  return o;
}
Outcome fault(uint8_t vector) {
  Outcome o = error(ErrorCode::kGuestFault);
  o.vector = vector;
  return o;
}

std::vector<uint8_t> fill_pattern(uint64_t size, uint32_t seed) {
  std::vector<uint8_t> out(size);
  uint32_t x = seed | 1;
  for (uint64_t i = 0; i < size; ++i) {
    x ^= x << 13, x ^= x >> 17, x ^= x << 5;
    out[i] = static_cast<uint8_t>(x);
  }
  return out;
}

GuestCall call(std::string f, std::vector<Value> args = {}) { return GuestCall{std::move(f), std::move(args)}; }

rc::Gen<int64_t> gen_small_i64() {
  return gen::map(gen::inRange<int64_t>(-(int64_t{1} << 40), int64_t{1} << 40), [](int64_t v) { return v; });
}
}  // namespace

bool Outcome::operator==(const Outcome& o) const {
  if (ok != o.ok) return false;
  if (ok) return same_value(value, o.value);
  return error == o.error && guest_code == o.guest_code && vector == o.vector;
}

void showValue(const Outcome& o, std::ostream& os) {
  if (o.ok) {
    os << show_value(o.value);
    return;
  }
  os << "error " << error_code_name(o.error);
  if (o.guest_code) os << " (guest code " << *o.guest_code << ")";
  if (o.vector) os << " (vector " << static_cast<int>(*o.vector) << ")";
}

Outcome outcome_of(const Result<Value>& r) {
  if (r) return ok(*r);
  Outcome o = error(r.error().code);
  o.guest_code = r.error().guest_code;
  if (r.error().fault) o.vector = r.error().fault->vector;
  return o;
}

void showValue(const GuestCall& c, std::ostream& os) {
  os << c.function << "(";
  for (size_t i = 0; i < c.args.size(); ++i) {
    os << (i ? ", " : "");
    // Buffers print short: their length and first bytes are what a reader needs.
    if (auto* b = std::get_if<Bytes>(&c.args[i])) {
      os << "bytes" << show_bytes(*b, 8);
    } else {
      os << show_value(c.args[i]);
    }
  }
  os << ")";
}

std::string show_calls(const std::vector<GuestCall>& calls) {
  std::string out = "[";
  for (size_t i = 0; i < calls.size(); ++i) out += (i ? ", " : "") + rc::toString(calls[i]);
  return out + "]";
}

void showValue(const GuestState& s, std::ostream& os) {
  os << "{global " << s.global << ", counter " << s.counter << ", buffer" << show_bytes(s.buffer, 8);
  if (s.mxcsr != GuestState::kDefaultMxcsr) os << ", mxcsr 0x" << std::hex << s.mxcsr << std::dec;
  os << "}";
}

uint64_t fnv1a(const std::vector<uint8_t>& bytes) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (uint8_t b : bytes) h = (h ^ b) * 0x100000001b3ull;
  return h;
}

Outcome predict(SandboxState& s, const GuestCall& c) {
  if (s.poisoned) return error(ErrorCode::kPoisoned);
  GuestState& g = s.guest;
  const std::string& f = c.function;
  auto arg = [&](size_t i) -> const Value& { return c.args.at(i); };
  if (f == "SetGlobal") {
    g.global = std::get<int64_t>(arg(0));
    return ok(Value{});
  }
  if (f == "GetGlobal") return ok(Value{g.global});
  if (f == "Increment") return ok(Value{++g.counter});
  if (f == "BufferAppend") {
    const Bytes& b = std::get<Bytes>(arg(0));
    g.buffer.insert(g.buffer.end(), b.begin(), b.end());
    return ok(Value{uint64_t{g.buffer.size()}});
  }
  if (f == "BufferFill") {
    g.buffer = fill_pattern(std::get<uint64_t>(arg(0)), std::get<uint32_t>(arg(1)));
    return ok(Value{fnv1a(g.buffer)});
  }
  if (f == "BufferChecksum") return ok(Value{fnv1a(g.buffer)});
  if (f == "SetMxcsr") {
    g.mxcsr = std::get<uint32_t>(arg(0));
    return ok(Value{});
  }
  if (f == "GetMxcsr") return ok(Value{g.mxcsr});
  if (f == "TouchPages") {
    uint64_t pages = std::get<uint64_t>(arg(0));
    if (pages * abi::kPageSize > g.buffer.size()) {
      s.poisoned = true;
      Outcome o = error(ErrorCode::kGuestAbort);
      o.guest_code = 13;
      return o;
    }
    for (uint64_t i = 0; i < pages; ++i) ++g.buffer[i * abi::kPageSize];
    return ok(Value{pages});
  }
  if (f == "WriteEdgePage") {  // a byte nothing reads: invisible to calls, seen only in the pages
    const uint32_t kind = std::get<uint32_t>(arg(0));
    const bool last = std::get<bool>(arg(1));
    if (kind < 3 || kind > 6 || (kind == 5 && !last)) {
      s.poisoned = true;
      Outcome o = error(ErrorCode::kGuestAbort);
      o.guest_code = 14;
      return o;
    }
    return ok(Value{});
  }
  if (f == "Add") {
    auto a = static_cast<uint32_t>(std::get<int32_t>(arg(0))), b = static_cast<uint32_t>(std::get<int32_t>(arg(1)));
    return ok(Value{static_cast<int32_t>(a + b)});
  }
  if (f == "EchoI64" || f == "EchoF64" || f == "Echo" || f == "EchoBytes") return ok(arg(0));
  if (f == "CallHostAdd") return ok(Value{std::get<int64_t>(arg(0)) + std::get<int64_t>(arg(1))});
  if (f == "CallHostEcho") return ok(Value{"host:" + std::get<std::string>(arg(0))});
  if (f == "Divide") {
    int32_t d = std::get<int32_t>(arg(0));
    if (d == 0) {
      s.poisoned = true;
      return fault(0);  // #DE
    }
    return ok(Value{100 / d});
  }
  if (f == "Abort") {
    s.poisoned = true;
    Outcome o = error(ErrorCode::kGuestAbort);
    o.guest_code = std::get<int32_t>(arg(0));
    return o;
  }
  if (f == "Ud2") {
    s.poisoned = true;
    return fault(6);  // #UD
  }
  if (f == "NullDeref") {
    s.poisoned = true;
    return fault(14);  // #PF
  }
  throw std::logic_error("the model has no function " + f);
}

rc::Gen<GuestCall> gen_state_call() {
  auto i64 = gen::map(gen::arbitrary<int64_t>(), [](int64_t v) { return Value{v}; });
  auto bytes = gen::map(gen::container<std::vector<uint8_t>>(gen::arbitrary<uint8_t>()), [](std::vector<uint8_t> b) {
    if (b.size() > kMaxAppend) b.resize(kMaxAppend);
    return Value{Bytes(std::move(b))};
  });
  // Whole pages often: a buffer spanning pages is what page-granular snapshots and restores must get right.
  auto fill_size = gen::weightedOneOf<uint64_t>(
      {{2, gen::inRange<uint64_t>(0, 64)},
       {4, gen::map(uniform<uint64_t>(1, 4), [](uint64_t p) { return p * abi::kPageSize; })},
       {1, gen::inRange<uint64_t>(0, kMaxFill + 1)}});
  auto text = gen::map(gen_wire_bytes_string(40), [](std::string s) { return Value{std::move(s)}; });
  return gen::weightedOneOf<GuestCall>({
      {4, gen::map(i64, [](Value v) { return call("SetGlobal", {std::move(v)}); })},
      {3, gen::just(call("GetGlobal"))},
      {3, gen::just(call("Increment"))},
      {3, gen::map(bytes, [](Value v) { return call("BufferAppend", {std::move(v)}); })},
      {4, gen::map(gen::pair(fill_size, gen::arbitrary<uint32_t>()),
                   [](std::pair<uint64_t, uint32_t> p) {
                     return call("BufferFill", {Value{p.first}, Value{p.second}});
                   })},
      {3, gen::just(call("BufferChecksum"))},
      // Any rounding mode, flush-to-zero and sticky flags; every exception stays masked (an unmasked
      // one would fault the next SSE instruction the runtime runs) and DAZ stays clear (MXCSR_MASK may
      // lack it: ldmxcsr would #GP).
      {2, gen::map(gen::arbitrary<uint32_t>(),
                   [](uint32_t r) { return call("SetMxcsr", {Value{GuestState::kDefaultMxcsr | (r & 0xe03fu)}}); })},
      {2, gen::just(call("GetMxcsr"))},
      // Doubles pass through XMM registers untouched, NaN payloads included.
      {1, gen::map(gen::arbitrary<double>(), [](double d) { return call("EchoF64", {Value{d}}); })},
      // Never past the buffer here: TouchPages(0) always succeeds; more pages are tried by
      // gen_any_call, where a poisoning abort is expected when the buffer is too small.
      {1, gen::just(call("TouchPages", {Value{uint64_t{0}}}))},
      {1, gen::map(gen::pair(gen::arbitrary<int32_t>(), gen::arbitrary<int32_t>()),
                   [](std::pair<int32_t, int32_t> p) {
                     return call("Add", {Value{p.first}, Value{p.second}});
                   })},
      {1, gen::map(i64, [](Value v) { return call("EchoI64", {std::move(v)}); })},
      {1, gen::map(text, [](Value v) { return call("Echo", {std::move(v)}); })},
      {1, gen::map(gen::pair(gen_small_i64(), gen_small_i64()),
                   [](std::pair<int64_t, int64_t> p) {
                     return call("CallHostAdd", {Value{p.first}, Value{p.second}});
                   })},
      {1, gen::map(text, [](Value v) { return call("CallHostEcho", {std::move(v)}); })},
      // The edge pages no other call writes (the heap's last page, the stack's lowest, the input and
      // output buffers' last; their first pages every call writes, the heap's first BufferFill).
      {2, gen::map(gen::elementOf(edge_page_calls()), [](GuestCall c) { return c; })},
      // Divide(non-zero) once raised #DE (KvmRegressions.SampleGuestDividesByNonZero keeps it).
      {1, gen::map(gen::suchThat(gen::arbitrary<int32_t>(), [](int32_t d) { return d != 0; }),
                   [](int32_t d) { return call("Divide", {Value{d}}); })},
  });
}

rc::Gen<GuestCall> gen_any_call() {
  return gen::weightedOneOf<GuestCall>({
      {20, gen_state_call()},
      {3, gen::map(gen::inRange<uint64_t>(1, 5), [](uint64_t n) { return call("TouchPages", {Value{n}}); })},
      {1, gen::map(gen::pair(gen::arbitrary<int32_t>(), gen_wire_bytes_string(24)),
                   [](std::pair<int32_t, std::string> p) {
                     return call("Abort", {Value{p.first}, Value{std::move(p.second)}});
                   })},
      {1, gen::just(call("Ud2"))},
      {1, gen::just(call("NullDeref"))},
      {1, gen::just(call("Divide", {Value{int32_t{0}}}))},
  });
}

std::vector<GuestCall> edge_page_calls() {
  std::vector<GuestCall> out;
  for (uint32_t kind : {3u, 4u, 6u}) {
    out.push_back(call("WriteEdgePage", {Value{kind}, Value{false}}));
    out.push_back(call("WriteEdgePage", {Value{kind}, Value{true}}));
  }
  out.push_back(call("WriteEdgePage", {Value{uint32_t{5}}, Value{true}}));
  return out;
}

std::vector<GuestCall> observe_calls() {
  return {call("GetGlobal"), call("BufferChecksum"), call("GetMxcsr"), call("Increment")};
}

Outcome run_call(MultiUseSandbox& sandbox, const GuestCall& c) { return outcome_of(sandbox.call(c.function, c.args)); }

}  // namespace snapvm::properties
