// vm.cpp: KVM_CREATE_VM, memory slots and the dirty log.
#include "hypervisor/vm.h"

#include <linux/kvm.h>
#include <sys/ioctl.h>

#include <cerrno>

#include "hypervisor/vcpu.h"

namespace snapvm {

Result<Vm> Vm::create(std::shared_ptr<const Kvm> kvm) {
  int fd;
  do {
    fd = ::ioctl(kvm->fd(), KVM_CREATE_VM, 0);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) return errno_error(ErrorCode::kKvmIoctl, "KVM_CREATE_VM", errno);
  return Vm(std::move(kvm), UniqueFd(fd));
}

Status Vm::set_memory(uint64_t guest_phys, uint64_t size, void* host, bool log_dirty) {
  kvm_userspace_memory_region region{};
  region.slot = 0;
  region.flags = log_dirty ? KVM_MEM_LOG_DIRTY_PAGES : 0;
  region.guest_phys_addr = guest_phys;
  region.memory_size = size;
  region.userspace_addr = reinterpret_cast<uint64_t>(host);
  if (::ioctl(fd_.get(), KVM_SET_USER_MEMORY_REGION, &region) < 0) {
    return errno_error(ErrorCode::kKvmIoctl, "KVM_SET_USER_MEMORY_REGION", errno);
  }
  return {};
}

Status Vm::get_dirty_log(std::span<uint64_t> bitmap) const {
  kvm_dirty_log log{};
  log.slot = 0;
  log.dirty_bitmap = bitmap.data();
  if (::ioctl(fd_.get(), KVM_GET_DIRTY_LOG, &log) < 0) {
    return errno_error(ErrorCode::kKvmIoctl, "KVM_GET_DIRTY_LOG", errno);
  }
  return {};
}

Result<Vcpu> Vm::create_vcpu() const { return Vcpu::create(*this); }

}  // namespace snapvm
