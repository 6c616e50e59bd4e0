// host_calls.cpp: serving the guest's host calls, logs and aborts.
#include "sandbox/host_calls.h"

#include <exception>
#include <string>

#include "sandbox/call_codec.h"
#include "snapvm/abi/ports.h"

namespace snapvm::detail {

namespace {
// Runs the host function; an exception it throws or an error it returns is kHostFunctionError.
Result<Value> run_host_function(const std::string& name, const HostFunctionEntry& entry, std::span<const Value> args) {
  Result<Value> result = make_error(ErrorCode::kHostFunctionError, name);
  try {
    result = entry.fn(args);
  } catch (const std::exception& ex) {
    return make_error(ErrorCode::kHostFunctionError, name, std::string("threw: ") + ex.what());
  } catch (...) {
    return make_error(ErrorCode::kHostFunctionError, name, "threw a non-standard exception");
  }
  if (!result) return make_error(ErrorCode::kHostFunctionError, name, result.error().to_string());
  if (type_of(*result) != entry.signature.result) {
    return make_error(ErrorCode::kHostFunctionError, name,
                      std::string("returned ") + std::string(value_type_name(type_of(*result))) + ", signature says " +
                          std::string(value_type_name(entry.signature.result)));
  }
  return result;
}
}  // namespace

Error as_guest_protocol(Error e) {
  e.code = ErrorCode::kGuestProtocol;
  return e;
}

Result<size_t> serve_host_call(std::span<const uint8_t> output, std::span<uint8_t> input,
                               const HostFunctions& functions) {
  auto call = decode_call(output, abi::kHostCallMagic);
  if (!call) return as_guest_protocol(std::move(call).error());
  const HostFunctionEntry* entry = functions.find(call->name);
  if (entry == nullptr) return make_error(ErrorCode::kUnknownHostFunction, call->name, "no host function of that name");
  TRY(check_arguments(call->name, entry->signature, call->args));
  Value result = TRY(run_host_function(call->name, *entry, call->args));
  return encode_result(input, result);
}

Status serve_log(std::span<const uint8_t> output, const LogCallback& log) {
  auto rec = decode_text_record(output, abi::kLogMagic);
  if (!rec) return as_guest_protocol(std::move(rec).error());
  if (log) {
    uint32_t level =
        rec->number > static_cast<uint32_t>(LogLevel::kError) ? static_cast<uint32_t>(LogLevel::kError) : rec->number;
    log(static_cast<LogLevel>(level), rec->text);
  }
  return {};
}

Error abort_error(std::span<const uint8_t> output) {
  auto rec = decode_text_record(output, abi::kAbortMagic);
  Error e = make_error(ErrorCode::kGuestAbort, "guest");
  if (rec) {
    e.guest_code = static_cast<int32_t>(rec->number);
    e.detail = rec->text;
  } else {
    e.detail = "malformed abort record: " + rec.error().to_string();
  }
  return e;
}

}  // namespace snapvm::detail
