// kvm_floor.cpp: a 4 MiB guest with two 2 MiB pages: the first supervisor (system area and page
// tables), the second user (the code). The guest runs `mov dx, 0x10; out dx, al; jmp $` at CPL 3,
// the privilege level snapvm's guests run at (on some hosts CPL 0 is emulated and would mislead).
#include "kvm_floor.h"

#include <sys/mman.h>

#include <cstring>
#include <optional>
#include <variant>

#include "bench_support.h"
#include "hypervisor/kvm.h"
#include "hypervisor/vcpu.h"
#include "hypervisor/vm.h"
#include "memory/mapping.h"
#include "memory/system_area.h"
#include "snapvm/abi/layout.h"

namespace snapvm::bench {

namespace {
constexpr uint64_t kMemorySize = 4 * kMiB;
constexpr uint64_t kPml4 = 0x10000, kPdpt = 0x11000, kPd = 0x12000;  // inside the supervisor 2 MiB page
constexpr uint64_t kCode = 0x200000;                                 // the user 2 MiB page
constexpr uint16_t kPort = 0x10;

void put64(uint8_t* m, uint64_t at, uint64_t v) { std::memcpy(m + at, &v, 8); }

void write_guest(uint8_t* m) {
  write_system_area(std::span<uint8_t>(m, kMemorySize));
  constexpr uint64_t kPresent = 1, kWrite = 2, kUser = 4, kLarge = 0x80;
  put64(m, kPml4, kPdpt | kPresent | kWrite | kUser);
  put64(m, kPdpt, kPd | kPresent | kWrite | kUser);
  put64(m, kPd, 0 | kPresent | kWrite | kLarge);                  // 0-2 MiB: supervisor
  put64(m, kPd + 8, kCode | kPresent | kWrite | kUser | kLarge);  // 2-4 MiB: user
  const uint8_t code[] = {0x66, 0xba, kPort & 0xff, kPort >> 8,   // mov dx, kPort
                          0xee,                                   // out dx, al
                          0xeb, 0xfe};                            // jmp $
  std::memcpy(m + kCode, code, sizeof code);
}
}  // namespace

Result<FloorTimes> kvm_floor_once() {
  FloorTimes t;
  std::shared_ptr<const Kvm> kvm = TRY(Kvm::get());  // opened once per process, like snapvm's
  const auto t0 = Clock::now();
  {
    std::optional<Vm> vm = TRY(Vm::create(kvm));
    Mapping memory = TRY(Mapping::anonymous(kMemorySize, PROT_READ | PROT_WRITE));
    write_guest(memory.data());
    TRY(vm->set_memory(0, kMemorySize, memory.data(), /*log_dirty=*/false));
    std::optional<Vcpu> vcpu = TRY(vm->create_vcpu());
    TRY(vcpu->set_sregs(initial_special_registers(kPml4)));
    GeneralRegisters regs;
    regs.rip = kCode;
    regs.rsp = kCode + 2 * kMiB - 16;
    regs.rflags = abi::kInitialRflags;
    TRY(vcpu->set_regs(regs));
    Exit exit = TRY(vcpu->run());
    const auto t1 = Clock::now();
    const auto* out = std::get_if<exit::PortOut>(&exit);
    if (out == nullptr || out->port != kPort) {
      return make_error(ErrorCode::kKvmIoctl, "KVM_RUN", "expected an out to port 0x10, got " + describe_exit(exit));
    }
    t.start_seconds = seconds(t0, t1);
    vcpu.reset();
    vm.reset();
  }
  t.teardown_seconds = seconds(t0, Clock::now()) - t.start_seconds;
  return t;
}

}  // namespace snapvm::bench
