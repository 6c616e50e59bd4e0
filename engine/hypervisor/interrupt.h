// interrupt.h: stopping a running vCPU from another thread (cancel) or from a timer (timeout).
// Both set kvm_run.immediate_exit and send the vCPU thread a signal, so KVM_RUN returns EINTR
// whether the thread is inside the guest or about to enter it.
#pragma once

#include <linux/kvm.h>
#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <optional>

#include "snapvm/result.h"

namespace snapvm {

class InterruptState {
 public:
  // Called by the vCPU thread around a call.
  void begin_call(kvm_run* run);
  void end_call();
  // From any thread: interrupts the call in progress. Returns false if none was running.
  bool cancel();
  bool cancel_requested() const { return cancel_requested_.load(std::memory_order_acquire); }
  // After an interrupted KVM_RUN that was neither a cancel nor a timeout, re-arm the vCPU to run.
  void clear_spurious(kvm_run* run);

 private:
  mutable std::mutex mu_;
  kvm_run* run_ = nullptr;
  pid_t tid_ = 0;
  std::atomic<bool> cancel_requested_{false};
};

// begin_call() for the lifetime of a scope: one run of the vCPU.
class InterruptScope {
 public:
  InterruptScope(InterruptState& state, kvm_run* run) : state_(state) { state_.begin_call(run); }
  ~InterruptScope() { state_.end_call(); }
  InterruptScope(const InterruptScope&) = delete;
  InterruptScope& operator=(const InterruptScope&) = delete;

 private:
  InterruptState& state_;
};

// A one-shot timer that interrupts this thread's vCPU at the deadline. No timer when `timeout` is empty.
class CallTimer {
 public:
  static Result<CallTimer> arm(std::optional<std::chrono::nanoseconds> timeout);
  CallTimer(CallTimer&& o) noexcept;
  CallTimer& operator=(CallTimer&&) = delete;
  CallTimer(const CallTimer&) = delete;
  ~CallTimer();
  bool expired() const;

 private:
  CallTimer() = default;
  bool armed_ = false;
  void* timer_ = nullptr;  // timer_t
  std::chrono::steady_clock::time_point deadline_{};
};

// The signal used to kick vCPU threads (SIGRTMIN + 2); installed once per process.
int kick_signal();

}  // namespace snapvm
