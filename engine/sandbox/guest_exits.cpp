// guest_exits.cpp: each exit of a run, handed to the part that serves it.
#include "sandbox/guest_exits.h"

#include "sandbox/fault.h"
#include "sandbox/host_calls.h"

namespace snapvm::detail {

std::span<uint8_t> input_buffer(const Layout& layout, const GuestMemory& memory) {
  return memory.all().subspan(layout.input_base, layout.config.input_size);
}
std::span<uint8_t> output_buffer(const Layout& layout, const GuestMemory& memory) {
  return memory.all().subspan(layout.output_base, layout.config.output_size);
}

Status GuestExits::on_host_call() {
  size_t n =
      TRY(serve_host_call(output_buffer(p_.layout, p_.memory), input_buffer(p_.layout, p_.memory), p_.host_functions));
  p_.dirty.mark_host_write(p_.layout.input_base, n);
  return {};
}

Status GuestExits::on_log() { return serve_log(output_buffer(p_.layout, p_.memory), p_.log); }

Error GuestExits::on_abort() { return abort_error(output_buffer(p_.layout, p_.memory)); }

Error GuestExits::on_fault() {
  auto regs = p_.vcpu.get_regs();
  auto sregs = p_.vcpu.get_sregs();
  if (!regs) return std::move(regs).error();
  if (!sregs) return std::move(sregs).error();
  return fault_error(p_.memory.all(), regs->rsp, sregs->cr2);
}

Status GuestExits::on_dirty_ring_full() { return p_.dirty.collect(p_.vm); }

Status GuestExits::on_interrupted() {
  if (p_.interrupt.cancel_requested()) return make_error(ErrorCode::kCancelled, "call");
  if (p_.timer.expired()) return make_error(ErrorCode::kTimeout, "call");
  p_.interrupt.clear_spurious(p_.vcpu.run_page());
  return {};
}

}  // namespace snapvm::detail
