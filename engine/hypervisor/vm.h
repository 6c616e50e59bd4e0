// vm.h: one KVM VM: its fd, its memory slot and its dirty log. One vCPU per VM in snapvm.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "hypervisor/kvm.h"
#include "memory/mapping.h"
#include "snapvm/result.h"

namespace snapvm {

class Vcpu;

class Vm {
 public:
  static Result<Vm> create(std::shared_ptr<const Kvm> kvm);

  // KVM_SET_USER_MEMORY_REGION for slot 0, with dirty-page logging.
  Status set_memory(uint64_t guest_phys, uint64_t size, void* host, bool log_dirty);
  // KVM_GET_DIRTY_LOG for slot 0: sets a bit per page written since the last call (and clears KVM's).
  Status get_dirty_log(std::span<uint64_t> bitmap) const;
  Result<Vcpu> create_vcpu() const;

  const std::shared_ptr<const Kvm>& kvm() const { return kvm_; }
  int fd() const { return fd_.get(); }

 private:
  Vm(std::shared_ptr<const Kvm> kvm, UniqueFd fd) : kvm_(std::move(kvm)), fd_(std::move(fd)) {}
  std::shared_ptr<const Kvm> kvm_;
  UniqueFd fd_;
};

}  // namespace snapvm
