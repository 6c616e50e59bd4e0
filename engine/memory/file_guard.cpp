// file_guard.cpp: the range registry (fixed slots, readable from a signal handler) and the handler.
#include "memory/file_guard.h"

#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <mutex>

namespace snapvm {

namespace {
constexpr int kSlots = 4096;
struct Slot {
  std::atomic<uintptr_t> start{0};
  std::atomic<uintptr_t> end{0};
  std::atomic<bool> hit{false};
};
Slot g_slots[kSlots];
std::mutex g_alloc;
struct sigaction g_previous {};

void on_sigbus(int sig, siginfo_t* info, void* context) {
  auto addr = reinterpret_cast<uintptr_t>(info->si_addr);
  for (Slot& s : g_slots) {
    uintptr_t start = s.start.load(std::memory_order_acquire);
    if (start == 0 || addr < start || addr >= s.end.load(std::memory_order_acquire)) continue;
    // A zero page in place of the vanished file page: the faulting access retries and succeeds.
    uintptr_t page = addr & ~uintptr_t{4095};
    // The address comes from the kernel as an integer (si_addr, rounded down): no pointer to derive it from.
    // NOLINTNEXTLINE(performance-no-int-to-ptr)
    void* p = ::mmap(reinterpret_cast<void*>(page), 4096, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    if (p != MAP_FAILED) {
      s.hit.store(true, std::memory_order_release);
      return;
    }
    break;
  }
  // Not ours: behave as if we had never been installed.
  if (g_previous.sa_flags & SA_SIGINFO) {
    if (g_previous.sa_sigaction != nullptr) return g_previous.sa_sigaction(sig, info, context);
  } else if (g_previous.sa_handler != SIG_DFL && g_previous.sa_handler != SIG_IGN) {
    return g_previous.sa_handler(sig);
  }
  ::signal(SIGBUS, SIG_DFL);
  ::raise(SIGBUS);
}

void install_once() {
  static std::once_flag once;
  std::call_once(once, [] {
    struct sigaction sa {};
    sa.sa_sigaction = on_sigbus;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_SIGINFO | SA_NODEFER;
    sigaction(SIGBUS, &sa, &g_previous);
  });
}
}  // namespace

FileGuard FileGuard::protect(const void* addr, size_t size) {
  install_once();
  std::lock_guard lock(g_alloc);
  for (int i = 0; i < kSlots; ++i) {
    if (g_slots[i].start.load(std::memory_order_relaxed) != 0) continue;
    g_slots[i].hit.store(false, std::memory_order_relaxed);
    g_slots[i].end.store(reinterpret_cast<uintptr_t>(addr) + size, std::memory_order_release);
    g_slots[i].start.store(reinterpret_cast<uintptr_t>(addr), std::memory_order_release);
    return FileGuard(i);
  }
  return FileGuard();
}

bool FileGuard::tripped() const { return slot_ >= 0 && g_slots[slot_].hit.load(std::memory_order_acquire); }

void FileGuard::release() {
  if (slot_ < 0) return;
  std::lock_guard lock(g_alloc);
  g_slots[slot_].start.store(0, std::memory_order_release);
  g_slots[slot_].end.store(0, std::memory_order_release);
  slot_ = -1;
}

}  // namespace snapvm
