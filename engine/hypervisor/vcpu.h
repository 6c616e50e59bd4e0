// vcpu.h: one vCPU: its fd, the shared kvm_run page, the run loop step and its register state.
// Methods are named for their ioctls; state crosses in the plain structs of vcpu_state.h.
#pragma once

#include <linux/kvm.h>

#include <memory>
#include <vector>

#include "hypervisor/exits.h"
#include "memory/mapping.h"
#include "snapvm/result.h"
#include "snapvm/vcpu_state.h"

namespace snapvm {

class Vm;

class Vcpu {
 public:
  static Result<Vcpu> create(const Vm& vm);

  // KVM_RUN once; EINTR comes back as exit::Interrupted, other failures as errors.
  Result<Exit> run();

  Result<GeneralRegisters> get_regs() const;
  Status set_regs(const GeneralRegisters& regs);
  Result<SpecialRegisters> get_sregs() const;
  Status set_sregs(const SpecialRegisters& sregs);
  Result<FpuState> get_fpu() const;
  Status set_fpu(const FpuState& fpu);
  Result<VcpuState> get_state() const;
  Status set_state(const VcpuState& state);

  // The kvm_run page: cancellation sets immediate_exit from another thread or a signal handler.
  kvm_run* run_page() const { return reinterpret_cast<kvm_run*>(run_.data()); }
  int fd() const { return fd_.get(); }  // the dirty ring is mapped from it

 private:
  Vcpu(UniqueFd fd, Mapping run, size_t xsave_size)
      : fd_(std::move(fd)), run_(std::move(run)), xsave_size_(xsave_size) {}
  // An XSAVE image of the size this vCPU's CPUID needs (more than 4 KiB with large features): 32-bit
  // words, as kvm_xsave is, so it can be viewed as one (an array of kvm_xsave, a struct ending in a
  // flexible array member, is a GNU extension).
  using XsaveImage = std::vector<uint32_t>;
  XsaveImage new_xsave() const;
  int get_xsave(XsaveImage& x) const;
  UniqueFd fd_;
  Mapping run_;
  // The vCPU's XSAVE image, fetched once: set_fpu patches the legacy (FXSAVE) part and writes it back.
  // KVM_GET/SET_FPU ignore MXCSR, so XSAVE is the only way to capture the complete SSE state.
  size_t xsave_size_ = sizeof(kvm_xsave);
  XsaveImage xsave_;  // empty until fetched
  bool xsave_unsupported_ = false;
};

// Conversions between KVM's structs and snapvm's plain ones (every field).
GeneralRegisters from_kvm(const kvm_regs& r);
kvm_regs to_kvm(const GeneralRegisters& r);
SpecialRegisters from_kvm(const kvm_sregs& s);
kvm_sregs to_kvm(const SpecialRegisters& s);
FpuState from_kvm(const kvm_fpu& f);
kvm_fpu to_kvm(const FpuState& f);
// The legacy FXSAVE area (first 512 bytes) of an XSAVE image.
FpuState from_xsave(const kvm_xsave& x);
void to_xsave(const FpuState& f, kvm_xsave& x);

}  // namespace snapvm
