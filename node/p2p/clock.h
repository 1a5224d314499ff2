// The time source of the p2p layer. The node uses the real clock; tests use
// a FakeClock so that timeouts, bans, score decay and flood buckets can be
// driven step by step instead of slept through.
//
// Thread safety: every method may be called from any thread.
#ifndef PBCHAIN_NODE_P2P_CLOCK_H_
#define PBCHAIN_NODE_P2P_CLOCK_H_

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace pbchain {

class Clock {
 public:
  virtual ~Clock() = default;

  // The current time.
  virtual absl::Time Now() const = 0;

  // The process-wide real clock (absl::Now()); never destroyed.
  static Clock* Real();
};

// absl::Now().
class RealClock final : public Clock {
 public:
  absl::Time Now() const override { return absl::Now(); }
};

inline Clock* Clock::Real() {
  static RealClock* const clock = new RealClock();
  return clock;
}

// A clock that moves only when told to.
class FakeClock final : public Clock {
 public:
  // Starts at `start` (by default the real time now, so that times shown
  // next to block timestamps stay plausible).
  explicit FakeClock(absl::Time start = absl::Now()) : now_(start) {}

  absl::Time Now() const override {
    absl::MutexLock lock(&mu_);
    return now_;
  }
  // Moves the time forward by `d` (backward if negative).
  void Advance(absl::Duration d) {
    absl::MutexLock lock(&mu_);
    now_ += d;
  }
  void Set(absl::Time t) {
    absl::MutexLock lock(&mu_);
    now_ = t;
  }

 private:
  mutable absl::Mutex mu_;
  absl::Time now_ ABSL_GUARDED_BY(mu_);
};

}  // namespace pbchain

#endif  // PBCHAIN_NODE_P2P_CLOCK_H_
