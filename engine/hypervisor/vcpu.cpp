// vcpu.cpp: KVM_CREATE_VCPU, KVM_RUN and register state.
#include "hypervisor/vcpu.h"

#include <sys/ioctl.h>
#include <sys/mman.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "hypervisor/kvm_ioctls.h"
#include "hypervisor/vm.h"

namespace snapvm {

namespace {
int ioctl_retry(int fd, unsigned long request, void* arg) {
  int r;
  do {
    r = ::ioctl(fd, request, arg);
  } while (r < 0 && errno == EINTR);
  return r;
}

SegmentRegister seg_from_kvm(const kvm_segment& k) {
  SegmentRegister s;
  s.base = k.base;
  s.limit = k.limit;
  s.selector = k.selector;
  s.type = k.type, s.present = k.present, s.dpl = k.dpl, s.db = k.db, s.s = k.s, s.l = k.l, s.g = k.g;
  s.avl = k.avl, s.unusable = k.unusable;
  return s;
}
kvm_segment seg_to_kvm(const SegmentRegister& s) {
  kvm_segment k{};
  k.base = s.base;
  k.limit = s.limit;
  k.selector = s.selector;
  k.type = s.type, k.present = s.present, k.dpl = s.dpl, k.db = s.db, k.s = s.s, k.l = s.l, k.g = s.g;
  k.avl = s.avl, k.unusable = s.unusable;
  return k;
}
}  // namespace

GeneralRegisters from_kvm(const kvm_regs& r) {
  return GeneralRegisters{r.rax, r.rbx, r.rcx, r.rdx, r.rsi, r.rdi, r.rsp, r.rbp, r.r8,
                          r.r9,  r.r10, r.r11, r.r12, r.r13, r.r14, r.r15, r.rip, r.rflags};
}
kvm_regs to_kvm(const GeneralRegisters& r) {
  kvm_regs k{};
  k.rax = r.rax, k.rbx = r.rbx, k.rcx = r.rcx, k.rdx = r.rdx, k.rsi = r.rsi, k.rdi = r.rdi, k.rsp = r.rsp;
  k.rbp = r.rbp, k.r8 = r.r8, k.r9 = r.r9, k.r10 = r.r10, k.r11 = r.r11, k.r12 = r.r12, k.r13 = r.r13;
  k.r14 = r.r14, k.r15 = r.r15, k.rip = r.rip, k.rflags = r.rflags;
  return k;
}

SpecialRegisters from_kvm(const kvm_sregs& k) {
  SpecialRegisters s;
  s.cs = seg_from_kvm(k.cs), s.ds = seg_from_kvm(k.ds), s.es = seg_from_kvm(k.es), s.fs = seg_from_kvm(k.fs);
  s.gs = seg_from_kvm(k.gs), s.ss = seg_from_kvm(k.ss), s.tr = seg_from_kvm(k.tr), s.ldt = seg_from_kvm(k.ldt);
  s.gdt = {k.gdt.base, k.gdt.limit};
  s.idt = {k.idt.base, k.idt.limit};
  s.cr0 = k.cr0, s.cr2 = k.cr2, s.cr3 = k.cr3, s.cr4 = k.cr4, s.cr8 = k.cr8, s.efer = k.efer;
  s.apic_base = k.apic_base;
  for (size_t i = 0; i < 4; ++i) s.interrupt_bitmap[i] = k.interrupt_bitmap[i];
  return s;
}
kvm_sregs to_kvm(const SpecialRegisters& s) {
  kvm_sregs k{};
  k.cs = seg_to_kvm(s.cs), k.ds = seg_to_kvm(s.ds), k.es = seg_to_kvm(s.es), k.fs = seg_to_kvm(s.fs);
  k.gs = seg_to_kvm(s.gs), k.ss = seg_to_kvm(s.ss), k.tr = seg_to_kvm(s.tr), k.ldt = seg_to_kvm(s.ldt);
  k.gdt.base = s.gdt.base, k.gdt.limit = s.gdt.limit;
  k.idt.base = s.idt.base, k.idt.limit = s.idt.limit;
  k.cr0 = s.cr0, k.cr2 = s.cr2, k.cr3 = s.cr3, k.cr4 = s.cr4, k.cr8 = s.cr8, k.efer = s.efer;
  k.apic_base = s.apic_base;
  for (size_t i = 0; i < 4; ++i) k.interrupt_bitmap[i] = s.interrupt_bitmap[i];
  return k;
}

FpuState from_kvm(const kvm_fpu& k) {
  FpuState f;
  for (size_t i = 0; i < 8; ++i) std::memcpy(f.fpr[i].data(), k.fpr[i], 16);
  f.fcw = k.fcw, f.fsw = k.fsw, f.ftwx = k.ftwx, f.last_opcode = k.last_opcode;
  f.last_ip = k.last_ip, f.last_dp = k.last_dp;
  for (size_t i = 0; i < 16; ++i) std::memcpy(f.xmm[i].data(), k.xmm[i], 16);
  f.mxcsr = k.mxcsr;
  return f;
}
kvm_fpu to_kvm(const FpuState& f) {
  kvm_fpu k{};
  for (size_t i = 0; i < 8; ++i) std::memcpy(k.fpr[i], f.fpr[i].data(), 16);
  k.fcw = f.fcw, k.fsw = f.fsw, k.ftwx = f.ftwx, k.last_opcode = f.last_opcode;
  k.last_ip = f.last_ip, k.last_dp = f.last_dp;
  for (size_t i = 0; i < 16; ++i) std::memcpy(k.xmm[i], f.xmm[i].data(), 16);
  k.mxcsr = f.mxcsr;
  return k;
}

FpuState from_xsave(const kvm_xsave& x) {
  const auto* b = reinterpret_cast<const uint8_t*>(x.region);
  FpuState f;
  std::memcpy(&f.fcw, b + 0, 2);
  std::memcpy(&f.fsw, b + 2, 2);
  f.ftwx = b[4];
  std::memcpy(&f.last_opcode, b + 6, 2);
  std::memcpy(&f.last_ip, b + 8, 8);
  std::memcpy(&f.last_dp, b + 16, 8);
  std::memcpy(&f.mxcsr, b + 24, 4);
  for (size_t i = 0; i < 8; ++i) std::memcpy(f.fpr[i].data(), b + 32 + 16 * i, 16);
  for (size_t i = 0; i < 16; ++i) std::memcpy(f.xmm[i].data(), b + 160 + 16 * i, 16);
  return f;
}

void to_xsave(const FpuState& f, kvm_xsave& x) {
  auto* b = reinterpret_cast<uint8_t*>(x.region);
  std::memcpy(b + 0, &f.fcw, 2);
  std::memcpy(b + 2, &f.fsw, 2);
  b[4] = f.ftwx;
  b[5] = 0;
  std::memcpy(b + 6, &f.last_opcode, 2);
  std::memcpy(b + 8, &f.last_ip, 8);
  std::memcpy(b + 16, &f.last_dp, 8);
  std::memcpy(b + 24, &f.mxcsr, 4);
  for (size_t i = 0; i < 8; ++i) std::memcpy(b + 32 + 16 * i, f.fpr[i].data(), 16);
  for (size_t i = 0; i < 16; ++i) std::memcpy(b + 160 + 16 * i, f.xmm[i].data(), 16);
  // XSTATE_BV (header at 512): x87 and SSE state present, so XRSTOR loads them rather than resetting.
  uint64_t bv;
  std::memcpy(&bv, b + 512, 8);
  bv |= 3;
  std::memcpy(b + 512, &bv, 8);
}

Result<Vcpu> Vcpu::create(const Vm& vm) {
  int fd = ::ioctl(vm.fd(), KVM_CREATE_VCPU, 0);
  if (fd < 0) return errno_error(ErrorCode::kKvmIoctl, "KVM_CREATE_VCPU", errno);
  UniqueFd vcpu_fd(fd);
  size_t size = vm.kvm()->vcpu_mmap_size();
  auto run = Mapping::file(vcpu_fd.get(), 0, size, PROT_READ | PROT_WRITE, MAP_SHARED);
  if (!run) return std::move(run).error();
  if (const kvm_cpuid2* cpuid = vm.kvm()->supported_cpuid()) {
    // Best effort (see Kvm): the guest then sees the host's features through CPUID.
    (void)::ioctl(vcpu_fd.get(), kvm_ioctl::kSetCpuid2, cpuid);
  }
  // With CPUID set, the XSAVE image may outgrow struct kvm_xsave; KVM_CAP_XSAVE2 says how big it is.
  int xsave2 = ::ioctl(vm.fd(), KVM_CHECK_EXTENSION, KVM_CAP_XSAVE2);
  size_t xsave_size = xsave2 > static_cast<int>(sizeof(kvm_xsave)) ? static_cast<size_t>(xsave2) : sizeof(kvm_xsave);
  return Vcpu(std::move(vcpu_fd), std::move(*run), xsave_size);
}

Result<Exit> Vcpu::run() {
  if (::ioctl(fd_.get(), KVM_RUN, 0) < 0) {
    if (errno == EINTR || errno == EAGAIN) return Exit{exit::Interrupted{}};
    return errno_error(ErrorCode::kKvmIoctl, "KVM_RUN", errno);
  }
  const kvm_run* r = run_page();
  switch (r->exit_reason) {
    case KVM_EXIT_IO: {
      if (r->io.direction == KVM_EXIT_IO_IN) return Exit{exit::PortIn{r->io.port}};
      uint32_t value = 0;
      const auto* data = reinterpret_cast<const uint8_t*>(r) + r->io.data_offset;
      std::memcpy(&value, data, r->io.size < 4 ? r->io.size : 4);
      return Exit{exit::PortOut{r->io.port, value}};
    }
    case KVM_EXIT_HLT:
      return Exit{exit::Halt{}};
    case KVM_EXIT_SHUTDOWN:
      return Exit{exit::Shutdown{}};
    case KVM_EXIT_INTR:
      return Exit{exit::Interrupted{}};
    case KVM_EXIT_MMIO:
      return Exit{exit::Mmio{r->mmio.phys_addr, r->mmio.is_write != 0}};
    case KVM_EXIT_INTERNAL_ERROR:
      return Exit{exit::InternalError{r->internal.suberror}};
    case KVM_EXIT_FAIL_ENTRY:
      return Exit{exit::FailEntry{r->fail_entry.hardware_entry_failure_reason}};
    case KVM_EXIT_DIRTY_RING_FULL:
      return Exit{exit::DirtyRingFull{}};
    default:
      return Exit{exit::Other{r->exit_reason}};
  }
}

Result<GeneralRegisters> Vcpu::get_regs() const {
  kvm_regs k{};
  if (ioctl_retry(fd_.get(), KVM_GET_REGS, &k) < 0) return errno_error(ErrorCode::kKvmIoctl, "KVM_GET_REGS", errno);
  return from_kvm(k);
}
Status Vcpu::set_regs(const GeneralRegisters& regs) {
  kvm_regs k = to_kvm(regs);
  if (ioctl_retry(fd_.get(), KVM_SET_REGS, &k) < 0) return errno_error(ErrorCode::kKvmIoctl, "KVM_SET_REGS", errno);
  return {};
}
Result<SpecialRegisters> Vcpu::get_sregs() const {
  kvm_sregs k{};
  if (ioctl_retry(fd_.get(), KVM_GET_SREGS, &k) < 0) return errno_error(ErrorCode::kKvmIoctl, "KVM_GET_SREGS", errno);
  return from_kvm(k);
}
Status Vcpu::set_sregs(const SpecialRegisters& sregs) {
  kvm_sregs k = to_kvm(sregs);
  if (ioctl_retry(fd_.get(), KVM_SET_SREGS, &k) < 0) return errno_error(ErrorCode::kKvmIoctl, "KVM_SET_SREGS", errno);
  return {};
}
namespace {
static_assert(alignof(kvm_xsave) <= alignof(uint32_t) && sizeof(kvm_xsave) % sizeof(uint32_t) == 0);
kvm_xsave& as_kvm_xsave(std::vector<uint32_t>& image) { return *reinterpret_cast<kvm_xsave*>(image.data()); }
}  // namespace

Vcpu::XsaveImage Vcpu::new_xsave() const {
  // kvm_xsave is 4 KiB; larger images are the same layout with more bytes after it.
  const size_t bytes = std::max(xsave_size_, sizeof(kvm_xsave));
  return XsaveImage((bytes + sizeof(uint32_t) - 1) / sizeof(uint32_t), 0);
}

int Vcpu::get_xsave(XsaveImage& x) const {
  return ioctl_retry(fd_.get(), xsave_size_ > sizeof(kvm_xsave) ? kvm_ioctl::kGetXsave2 : kvm_ioctl::kGetXsave,
                     x.data());
}

Result<FpuState> Vcpu::get_fpu() const {
  if (!xsave_unsupported_) {
    XsaveImage x = new_xsave();
    if (get_xsave(x) == 0) return from_xsave(as_kvm_xsave(x));
  }
  kvm_fpu k{};
  if (ioctl_retry(fd_.get(), KVM_GET_FPU, &k) < 0) return errno_error(ErrorCode::kKvmIoctl, "KVM_GET_FPU", errno);
  return from_kvm(k);
}
Status Vcpu::set_fpu(const FpuState& fpu) {
  if (!xsave_unsupported_) {
    if (xsave_.empty()) {
      XsaveImage x = new_xsave();
      if (get_xsave(x) == 0) {
        xsave_ = std::move(x);
      } else {
        xsave_unsupported_ = true;  // KVM without XSAVE: KVM_SET_FPU below, MXCSR left at reset
      }
    }
    if (!xsave_.empty()) {
      to_xsave(fpu, as_kvm_xsave(xsave_));
      if (ioctl_retry(fd_.get(), kvm_ioctl::kSetXsave, xsave_.data()) < 0) {
        return errno_error(ErrorCode::kKvmIoctl, "KVM_SET_XSAVE", errno);
      }
      return {};
    }
  }
  kvm_fpu k = to_kvm(fpu);
  if (ioctl_retry(fd_.get(), KVM_SET_FPU, &k) < 0) return errno_error(ErrorCode::kKvmIoctl, "KVM_SET_FPU", errno);
  return {};
}

Result<VcpuState> Vcpu::get_state() const {
  VcpuState s;
  s.regs = TRY(get_regs());
  s.sregs = TRY(get_sregs());
  s.fpu = TRY(get_fpu());
  return s;
}

Status Vcpu::set_state(const VcpuState& state) {
  // Special registers first: the general registers' meaning depends on the mode they set.
  TRY(set_sregs(state.sregs));
  TRY(set_regs(state.regs));
  TRY(set_fpu(state.fpu));
  return {};
}

}  // namespace snapvm
