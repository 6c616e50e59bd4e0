// interrupt.cpp: the kick signal, cancellation and call timers.
#include "hypervisor/interrupt.h"

#include <signal.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>

namespace snapvm {

namespace {
thread_local kvm_run* volatile t_current_run = nullptr;

void on_kick(int) {
  // Async-signal-safe: a plain store. KVM_RUN checks it on entry; the signal itself ends a run in progress.
  if (kvm_run* run = t_current_run) run->immediate_exit = 1;
}

pid_t current_tid() { return static_cast<pid_t>(::syscall(SYS_gettid)); }
}  // namespace

int kick_signal() {
  static const int signo = [] {
    int s = SIGRTMIN + 2;
    struct sigaction sa {};
    sa.sa_handler = on_kick;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;  // no SA_RESTART: KVM_RUN must come back with EINTR
    sigaction(s, &sa, nullptr);
    return s;
  }();
  return signo;
}

void InterruptState::begin_call(kvm_run* run) {
  kick_signal();
  std::lock_guard lock(mu_);
  run->immediate_exit = 0;
  run_ = run;
  tid_ = current_tid();
  cancel_requested_.store(false, std::memory_order_release);
  t_current_run = run;
}

void InterruptState::end_call() {
  std::lock_guard lock(mu_);
  t_current_run = nullptr;
  if (run_ != nullptr) run_->immediate_exit = 0;
  run_ = nullptr;
  tid_ = 0;
}

bool InterruptState::cancel() {
  std::lock_guard lock(mu_);
  if (run_ == nullptr) return false;
  cancel_requested_.store(true, std::memory_order_release);
  run_->immediate_exit = 1;
  ::syscall(SYS_tgkill, ::getpid(), tid_, kick_signal());
  return true;
}

void InterruptState::clear_spurious(kvm_run* run) {
  std::lock_guard lock(mu_);
  if (!cancel_requested_.load(std::memory_order_acquire)) run->immediate_exit = 0;
}

Result<CallTimer> CallTimer::arm(std::optional<std::chrono::nanoseconds> timeout) {
  CallTimer t;
  if (!timeout) return t;
  sigevent sev{};
  sev.sigev_notify = SIGEV_THREAD_ID;
  sev.sigev_signo = kick_signal();
  sev._sigev_un._tid = current_tid();
  timer_t id{};
  if (::timer_create(CLOCK_MONOTONIC, &sev, &id) < 0) return errno_error(ErrorCode::kSyscall, "timer_create", errno);
  t.timer_ = id;
  t.armed_ = true;
  t.deadline_ = std::chrono::steady_clock::now() + *timeout;
  auto ns = std::max<int64_t>(timeout->count(), 1);
  itimerspec spec{};
  spec.it_value.tv_sec = ns / 1000000000;
  spec.it_value.tv_nsec = ns % 1000000000;
  // Re-fire every 10 ms in case the first signal landed outside KVM_RUN.
  spec.it_interval.tv_nsec = 10L * 1000 * 1000;
  if (::timer_settime(id, 0, &spec, nullptr) < 0) return errno_error(ErrorCode::kSyscall, "timer_settime", errno);
  return t;
}

CallTimer::CallTimer(CallTimer&& o) noexcept : armed_(o.armed_), timer_(o.timer_), deadline_(o.deadline_) {
  o.armed_ = false;
}

CallTimer::~CallTimer() {
  if (armed_) ::timer_delete(static_cast<timer_t>(timer_));
}

bool CallTimer::expired() const { return armed_ && std::chrono::steady_clock::now() >= deadline_; }

}  // namespace snapvm
