// exits.h: why KVM_RUN returned, decoded from kvm_run into plain values.
#pragma once

#include <cstdint>
#include <string>
#include <variant>

namespace snapvm {

namespace exit {
struct PortOut {  // the guest wrote to an I/O port
  uint16_t port;
  uint32_t value;  // first 4 bytes of the data, little-endian
};
struct PortIn {
  uint16_t port;
};
struct Halt {};
struct Shutdown {};     // triple fault
struct Interrupted {};  // KVM_RUN returned EINTR: a signal or immediate_exit
struct Mmio {
  uint64_t address;
  bool write;
};
struct InternalError {
  uint32_t suberror;
};
struct FailEntry {
  uint64_t reason;
};
struct DirtyRingFull {};  // KVM_EXIT_DIRTY_RING_FULL: harvest the ring, then run on
struct Other {
  uint32_t reason;
};
}  // namespace exit

using Exit = std::variant<exit::PortOut, exit::PortIn, exit::Halt, exit::Shutdown, exit::Interrupted, exit::Mmio,
                          exit::InternalError, exit::FailEntry, exit::DirtyRingFull, exit::Other>;

std::string describe_exit(const Exit& e);

}  // namespace snapvm
