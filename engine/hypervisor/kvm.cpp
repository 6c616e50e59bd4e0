// kvm.cpp: opening /dev/kvm and checking what snapvm needs of it.
#include "hypervisor/kvm.h"
#include "hypervisor/kvm_ioctls.h"

#include <fcntl.h>
#include <linux/kvm.h>
#include <sys/ioctl.h>

#include <cerrno>
#include <mutex>

namespace snapvm {

namespace {
struct RequiredCap {
  int cap;
  const char* name;
};
// Every capability snapvm relies on, checked once in Kvm::get().
constexpr RequiredCap kRequiredCaps[] = {
    {KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY"},
    {KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT"},  // race-free cancellation
};

Result<std::shared_ptr<const Kvm>> open_kvm() {
  int fd = ::open("/dev/kvm", O_RDWR | O_CLOEXEC);
  if (fd < 0) {
    int err = errno;
    Error e = errno_error(ErrorCode::kKvmUnavailable, "/dev/kvm", err);
    e.detail = err == ENOENT   ? "no /dev/kvm: is the kvm module loaded, or is this a container without the device?"
               : err == EACCES ? "permission denied: add the user to the kvm group"
               : err == ENODEV ? "the kvm device node exists but no hypervisor backs it"
                               : "";
    return e;
  }
  UniqueFd kvm(fd);
  int version = ::ioctl(kvm.get(), KVM_GET_API_VERSION, 0);
  if (version != KVM_API_VERSION) {
    Error e = make_error(ErrorCode::kKvmApiVersion, "KVM_GET_API_VERSION", "expected 12");
    e.value = static_cast<uint64_t>(version);
    return e;
  }
  for (const RequiredCap& c : kRequiredCaps) {
    if (::ioctl(kvm.get(), KVM_CHECK_EXTENSION, c.cap) <= 0) {
      return make_error(ErrorCode::kKvmMissingCapability, c.name, "this host's KVM lacks it");
    }
  }
  int mmap_size = ::ioctl(kvm.get(), KVM_GET_VCPU_MMAP_SIZE, 0);
  if (mmap_size <= 0) return errno_error(ErrorCode::kKvmIoctl, "KVM_GET_VCPU_MMAP_SIZE", errno);

  // Supported CPUID, best effort: some paravirtual backends do not offer it, and a guest at CPL 3
  // runs without it.
  std::vector<uint8_t> cpuid;
  for (uint32_t n = 64; n <= 4096; n *= 2) {
    std::vector<uint8_t> buf(sizeof(kvm_cpuid2) + n * sizeof(kvm_cpuid_entry2));
    auto* c = reinterpret_cast<kvm_cpuid2*>(buf.data());
    c->nent = n;
    if (::ioctl(kvm.get(), kvm_ioctl::kGetSupportedCpuid, c) == 0) {
      buf.resize(sizeof(kvm_cpuid2) + c->nent * sizeof(kvm_cpuid_entry2));
      cpuid = std::move(buf);
      break;
    }
    if (errno != E2BIG) break;
  }
  return std::make_shared<const Kvm>(std::move(kvm), static_cast<size_t>(mmap_size), std::move(cpuid));
}
}  // namespace

const kvm_cpuid2* Kvm::supported_cpuid() const {
  return cpuid_.empty() ? nullptr : reinterpret_cast<const kvm_cpuid2*>(cpuid_.data());
}

Result<std::shared_ptr<const Kvm>> Kvm::get() {
  static std::mutex mu;
  static std::shared_ptr<const Kvm> instance;
  std::lock_guard lock(mu);
  if (instance) return instance;
  auto opened = open_kvm();
  if (!opened) return std::move(opened).error();
  instance = *opened;
  return instance;
}

bool Kvm::available(std::string* why) {
  auto k = get();
  if (!k && why != nullptr) *why = k.error().to_string();
  return k.has_value();
}

}  // namespace snapvm
