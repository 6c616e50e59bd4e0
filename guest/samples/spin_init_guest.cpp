// spin_init_guest: a guest whose initialisation never ends, for the tests of bounded initialisation
// (evolve, and from_snapshot of a before-init snapshot, with an init timeout).
#include "snapvm_guest.h"

extern "C" void guest_main() {
  volatile uint64_t spins = 0;
  for (;;) spins = spins + 1;
}
