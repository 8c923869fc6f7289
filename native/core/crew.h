// A crew: a fixed set of persistent threads that each take one fixed part of a job and coordinate
// through spin signals, for code whose parts wait on each other many times per call (the CPU
// synthesizer's two-thread pipeline, native/cpu/synth.cc). core/threadpool.h is the other shape:
// independent tasks handed out dynamically, for the trainer's GEMMs.
//
//   Crew crew(2);                          // the caller plus 1 worker, which sleeps between runs
//   crew.run([&](int k) { ... });          // fn(0) on the caller, fn(k) on worker k; returns when all have
//
//   SpinSignal s;  s.publish(n) (release)  /  s.wait(n): spins (then yields) until the count is >= n
//
// A signal is one cache line written by one thread: waiting on it costs no read-modify-write and, for
// two threads, one cache-line transfer per publish. The worker spins only while a run is in progress.
#pragma once
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>

namespace wn {

struct alignas(64) SpinSignal {
  std::atomic<uint64_t> v{0};
  void reset() { v.store(0, std::memory_order_relaxed); }
  void publish(uint64_t n) { v.store(n, std::memory_order_release); }
  void wait(uint64_t n) const;  // returns once the published count is >= n (acquire)
};

class Crew {
 public:
  explicit Crew(int threads);  // threads >= 1: the caller plus threads - 1 workers
  ~Crew();
  Crew(const Crew &) = delete;
  Crew &operator=(const Crew &) = delete;
  int size() const { return n_; }
  // Runs fn(k) for k = 0..size()-1 at the same time, k = 0 on the calling thread; returns when every
  // one has returned. fn must not throw. One run at a time.
  void run(const std::function<void(int)> &fn);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  int n_;
};

}  // namespace wn
