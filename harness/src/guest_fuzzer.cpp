// guest_fuzzer.cpp: one sandbox per fuzzed function, restored between inputs; the input-to-arguments
// rule; reading the coverage areas a guest announces in its PEB.
#include "snapvm_harness/guest_fuzzer.h"

#include <cstring>

#include "sandbox/call_codec.h"
#include "sandbox/sandbox_access.h"
#include "snapvm/abi/byte_order.h"
#include "snapvm/abi/layout.h"
#include "snapvm_harness/host_stubs.h"

namespace snapvm::harness {

namespace {

bool variable_size(ValueType t) { return t == ValueType::kString || t == ValueType::kBytes; }

size_t fixed_size(ValueType t) {
  switch (t) {
    case ValueType::kBool:
      return 1;
    case ValueType::kI32:
    case ValueType::kU32:
    case ValueType::kF32:
      return 4;
    case ValueType::kI64:
    case ValueType::kU64:
    case ValueType::kF64:
      return 8;
    default:
      return 0;
  }
}

// Reads up to n bytes at `pos` as a little-endian number; missing bytes are zero.
uint64_t read_le(std::span<const uint8_t> in, size_t& pos, size_t n) {
  uint64_t v = 0;
  for (size_t i = 0; i < n; ++i, ++pos) {
    if (pos < in.size()) v |= uint64_t{in[pos]} << (8 * i);
  }
  return v;
}

Value scalar_from(ValueType t, uint64_t raw) {
  switch (t) {
    case ValueType::kBool:
      return raw != 0;
    case ValueType::kI32:
      return static_cast<int32_t>(static_cast<uint32_t>(raw));
    case ValueType::kU32:
      return static_cast<uint32_t>(raw);
    case ValueType::kI64:
      return static_cast<int64_t>(raw);
    case ValueType::kU64:
      return raw;
    case ValueType::kF32: {
      float f = 0;
      const auto bits = static_cast<uint32_t>(raw);
      std::memcpy(&f, &bits, sizeof f);
      return f;
    }
    case ValueType::kF64: {
      double d = 0;
      std::memcpy(&d, &raw, sizeof d);
      return d;
    }
    default:
      return std::monostate{};
  }
}

uint64_t scalar_bits(const Value& v) {
  return std::visit(
      [](const auto& x) -> uint64_t {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, bool>) {
          return x ? 1 : 0;
        } else if constexpr (std::is_same_v<T, float>) {
          uint32_t bits = 0;
          std::memcpy(&bits, &x, sizeof bits);
          return bits;
        } else if constexpr (std::is_same_v<T, double>) {
          uint64_t bits = 0;
          std::memcpy(&bits, &x, sizeof bits);
          return bits;
        } else if constexpr (std::is_integral_v<T>) {
          return static_cast<uint64_t>(x);
        } else {
          return 0;
        }
      },
      v);
}

std::span<const uint8_t> payload_of(const Value& v) {
  if (const auto* s = std::get_if<std::string>(&v)) return {reinterpret_cast<const uint8_t*>(s->data()), s->size()};
  if (const auto* b = std::get_if<Bytes>(&v)) return *b;
  return {};
}

Value variable_from(ValueType t, std::span<const uint8_t> bytes) {
  if (t == ValueType::kString) return std::string(bytes.begin(), bytes.end());
  return Bytes(bytes.begin(), bytes.end());
}

}  // namespace

std::vector<Value> split_input(const Signature& signature, std::span<const uint8_t> input) {
  std::vector<Value> args(signature.params.size());
  size_t pos = 0;
  size_t last_variable = signature.params.size();
  for (size_t i = 0; i < signature.params.size(); ++i) {
    const ValueType t = signature.params[i];
    if (variable_size(t)) {
      last_variable = i;
    } else {
      args[i] = scalar_from(t, read_le(input, pos, fixed_size(t)));
    }
  }
  for (size_t i = 0; i < signature.params.size(); ++i) {
    const ValueType t = signature.params[i];
    if (!variable_size(t)) continue;
    size_t length = SIZE_MAX;  // the last takes the rest
    if (i != last_variable) length = read_le(input, pos, 2);
    const size_t start = std::min(pos, input.size());
    length = std::min(length, input.size() - start);
    args[i] = variable_from(t, input.subspan(start, length));
    pos = start + length;
  }
  return args;
}

Result<Bytes> join_input(const Signature& signature, const std::vector<Value>& values) {
  if (values.size() != signature.params.size()) {
    return make_error(ErrorCode::kArgumentMismatch, "arguments",
                      "expected " + std::to_string(signature.params.size()) + ", got " + std::to_string(values.size()));
  }
  Bytes out;
  size_t last_variable = values.size();
  for (size_t i = 0; i < values.size(); ++i) {
    const ValueType t = signature.params[i];
    if (type_of(values[i]) != t) {
      return make_error(ErrorCode::kArgumentMismatch, "argument " + std::to_string(i),
                        "expected " + std::string(value_type_name(t)));
    }
    if (variable_size(t)) {
      last_variable = i;
      continue;
    }
    const uint64_t bits = scalar_bits(values[i]);
    for (size_t b = 0; b < fixed_size(t); ++b) out.push_back(static_cast<uint8_t>(bits >> (8 * b)));
  }
  for (size_t i = 0; i < values.size(); ++i) {
    if (!variable_size(signature.params[i])) continue;
    const auto payload = payload_of(values[i]);
    if (i != last_variable) {
      if (payload.size() > 0xffff) {
        return field_error(ErrorCode::kArgumentMismatch, "argument " + std::to_string(i), 0, payload.size(),
                           "at most 65535 bytes (only the last string/bytes parameter may be longer)");
      }
      out.push_back(static_cast<uint8_t>(payload.size()));
      out.push_back(static_cast<uint8_t>(payload.size() >> 8));
    }
    out.insert(out.end(), payload.begin(), payload.end());
  }
  return out;
}

bool is_crash(const Error& e) {
  switch (e.code) {
    case ErrorCode::kGuestFault:
    case ErrorCode::kGuestAbort:
    case ErrorCode::kGuestProtocol:
    case ErrorCode::kGuestStopped:
    case ErrorCode::kTimeout:
    case ErrorCode::kWireMalformed:        // the guest's result message is broken
    case ErrorCode::kReturnMismatch:       // the guest returned another type than it declared
    case ErrorCode::kUnknownHostFunction:  // the guest called a host function it never declared
      return true;
    default:
      return false;
  }
}

Result<GuestFuzzer> GuestFuzzer::open(const std::filesystem::path& file, std::string_view function,
                                      const GuestFuzzOptions& options) {
  LoadOptions load;
  load.verify_digest = options.verify_digest;
  Snapshot snapshot = TRY(Snapshot::load(file, load));
  GuestFuzzer f = TRY(from_snapshot(std::move(snapshot), function, options));
  f.file_ = file;
  return f;
}

Result<GuestFuzzer> GuestFuzzer::from_snapshot(Snapshot snapshot, std::string_view function,
                                               const GuestFuzzOptions& options) {
  const FunctionInfo* found = nullptr;
  std::string names;
  for (const FunctionInfo& f : snapshot.guest_functions()) {
    if (f.name == function) found = &f;
    names += (names.empty() ? "" : ", ") + signature_to_string(f.name, f.signature);
  }
  if (found == nullptr) {
    return make_error(ErrorCode::kUnknownFunction, std::string(function),
                      "the snapshot's guest offers: " + (names.empty() ? std::string("nothing") : names));
  }
  CallOptions init;
  init.timeout = options.call_timeout;
  MultiUseSandbox sandbox =
      TRY(MultiUseSandbox::from_snapshot(snapshot, host_functions_for(snapshot.host_functions()), {}, init));
  GuestFuzzer f(std::move(snapshot), std::move(sandbox), *found, options);
  TRY(f.read_coverage());
  // The longest input that fits: every byte of an input adds at most one byte to the encoded call.
  std::vector<uint8_t> scratch(f.sandbox_.layout().config.input_size);
  const auto empty = split_input(f.function_.signature, {});
  const size_t overhead = TRY(detail::encode_call(scratch, abi::kCallMagic, f.function_.name, empty));
  f.max_input_size_ = scratch.size() - overhead;
  return f;
}

GuestFuzzer::GuestFuzzer(Snapshot snapshot, MultiUseSandbox sandbox, FunctionInfo function,
                         const GuestFuzzOptions& options)
    : snapshot_(std::move(snapshot)), sandbox_(std::move(sandbox)), function_(std::move(function)), options_(options) {}

// The PEB's coverage fields are the guest's word: every area must lie inside guest memory.
Status GuestFuzzer::read_coverage() {
  const detail::GuestMemory& memory = detail::SandboxAccess::machine(sandbox_).memory();
  auto peb = TRY(memory.range(abi::kPebAddress, sizeof(abi::Peb), "peb"));
  auto field = [&](size_t offset) { return abi::load_le<uint64_t>(peb.data() + offset); };
  const uint64_t counters = field(offsetof(abi::Peb, coverage_counters));
  const uint64_t size = field(offsetof(abi::Peb, coverage_counters_size));
  const uint64_t pcs = field(offsetof(abi::Peb, coverage_pcs));
  const uint64_t cmp_log = field(offsetof(abi::Peb, coverage_cmp_log));
  coverage_ = {};
  if (counters == 0 && size == 0) return {};
  if (size == 0 || size > memory.size()) {
    return field_error(ErrorCode::kGuestProtocol, "peb.coverage_counters_size",
                       offsetof(abi::Peb, coverage_counters_size), size, "between 1 and the guest memory size");
  }
  coverage_.counters = TRY(memory.range(counters, size, "peb.coverage_counters"));
  if (pcs != 0) {
    if (pcs % alignof(uintptr_t) != 0) {
      return field_error(ErrorCode::kGuestProtocol, "peb.coverage_pcs", offsetof(abi::Peb, coverage_pcs), pcs,
                         "8-byte aligned");
    }
    auto table = TRY(memory.range(pcs, size * 2 * sizeof(uintptr_t), "peb.coverage_pcs"));
    coverage_.pcs = {reinterpret_cast<const uintptr_t*>(table.data()), size * 2};
  }
  if (cmp_log != 0) {
    if (cmp_log % alignof(abi::CmpLog) != 0) {
      return field_error(ErrorCode::kGuestProtocol, "peb.coverage_cmp_log", offsetof(abi::Peb, coverage_cmp_log),
                         cmp_log, "8-byte aligned");
    }
    auto log = TRY(memory.range(cmp_log, sizeof(abi::CmpLog), "peb.coverage_cmp_log"));
    coverage_.cmp_log = reinterpret_cast<const abi::CmpLog*>(log.data());
  }
  return {};
}

ExecResult GuestFuzzer::run(std::span<const uint8_t> input) {
  ExecResult r;
  if (needs_restore_) {
    if (auto s = sandbox_.restore(snapshot_); !s) {
      // Restoring a snapshot this sandbox came from fails only when the host is in trouble (KVM, the file).
      r.outcome = ExecOutcome::kRefused;
      r.error = s.error();
      return r;
    }
  }
  needs_restore_ = true;
  ++runs_;
  CallOptions options;
  options.timeout = options_.call_timeout;
  auto result = sandbox_.call(function_.name, split_input(function_.signature, input), options);
  if (result) {
    r.result = std::move(*result);
    return r;
  }
  r.outcome = is_crash(result.error()) ? ExecOutcome::kCrash : ExecOutcome::kRefused;
  r.error = std::move(result).error();
  return r;
}

}  // namespace snapvm::harness
