// kvm_ioctls.h: ioctl numbers whose structs end in a flexible array. <linux/kvm.h> sizes those
// structs differently in C++ than in C (kvm_xsave is 4100 bytes under g++, 4096 in C), so the macros
// there encode the wrong size and KVM answers EINVAL. These use the kernel's (C) sizes.
#pragma once

#include <linux/kvm.h>
#include <sys/ioctl.h>

namespace snapvm::kvm_ioctl {

inline constexpr unsigned long kGetSupportedCpuid = _IOC(_IOC_READ | _IOC_WRITE, KVMIO, 0x05, 8);
inline constexpr unsigned long kSetCpuid2 = _IOC(_IOC_WRITE, KVMIO, 0x90, 8);
inline constexpr unsigned long kGetXsave = _IOC(_IOC_READ, KVMIO, 0xa4, 4096);
inline constexpr unsigned long kSetXsave = _IOC(_IOC_WRITE, KVMIO, 0xa5, 4096);
inline constexpr unsigned long kGetXsave2 = _IOC(_IOC_READ, KVMIO, 0xcf, 4096);

}  // namespace snapvm::kvm_ioctl
