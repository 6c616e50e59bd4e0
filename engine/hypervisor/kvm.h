// kvm.h: the /dev/kvm system fd, opened once per process and shared. Checks the API version and the
// required capabilities (one table, checked once) so later failures are about the guest, not the host.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "memory/mapping.h"
#include "snapvm/result.h"

struct kvm_cpuid2;

namespace snapvm {

class Kvm {
 public:
  // The process-wide instance; the first call opens /dev/kvm. Errors say why KVM is unusable.
  static Result<std::shared_ptr<const Kvm>> get();
  // True when /dev/kvm exists and opens; tests use it to skip with a reason.
  static bool available(std::string* why = nullptr);

  int fd() const { return fd_.get(); }
  size_t vcpu_mmap_size() const { return vcpu_mmap_size_; }
  // KVM_GET_SUPPORTED_CPUID, fetched once; given to each vCPU so the guest sees SSE and friends.
  const kvm_cpuid2* supported_cpuid() const;

  Kvm(UniqueFd fd, size_t vcpu_mmap_size, std::vector<uint8_t> cpuid)
      : fd_(std::move(fd)), vcpu_mmap_size_(vcpu_mmap_size), cpuid_(std::move(cpuid)) {}

 private:
  UniqueFd fd_;
  size_t vcpu_mmap_size_;
  std::vector<uint8_t> cpuid_;  // a kvm_cpuid2 with its entries, or empty
};

}  // namespace snapvm
