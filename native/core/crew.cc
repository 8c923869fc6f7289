// Persistent threads with a fixed part each, and spin signals: see native/core/crew.h.
#include "core/crew.h"
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>
#include "core/platform.h"

namespace wn {

void SpinSignal::wait(uint64_t n) const {
  // A few thousand pauses (~microseconds) cover the waits of a running pipeline; past that the other
  // thread is probably descheduled (a busy machine), so give the core away.
  int spins = 0;
  while (v.load(std::memory_order_acquire) < n) {
    if (++spins < 2000)
      cpu_relax();
    else
      std::this_thread::yield();
  }
}

struct Crew::Impl {
  std::vector<std::thread> workers;
  std::mutex mu;
  std::condition_variable cv;
  uint64_t generation = 0;  // guarded by mu
  bool stop = false;        // guarded by mu
  const std::function<void(int)> *fn = nullptr;
  SpinSignal done;  // workers that finished the current run

  void shutdown() {
    {
      std::lock_guard<std::mutex> lk(mu);
      stop = true;
    }
    cv.notify_all();
    for (auto &w : workers) w.join();
  }

  void loop(int k) {
    uint64_t seen = 0;
    for (;;) {
      {
        std::unique_lock<std::mutex> lk(mu);
        cv.wait(lk, [&] { return stop || generation != seen; });
        if (stop) return;
        seen = generation;
      }
      (*fn)(k);
      done.v.fetch_add(1, std::memory_order_acq_rel);
    }
  }
};

Crew::Crew(int threads) : impl_(new Impl), n_(threads < 1 ? 1 : threads) {
  try {
    for (int k = 1; k < n_; ++k) impl_->workers.emplace_back([this, k] { impl_->loop(k); });
  } catch (...) {  // a thread could not start: stop the ones that did, then report
    impl_->shutdown();
    throw;
  }
}

Crew::~Crew() { impl_->shutdown(); }

void Crew::run(const std::function<void(int)> &fn) {
  if (n_ == 1) {
    fn(0);
    return;
  }
  impl_->fn = &fn;
  impl_->done.reset();
  {
    std::lock_guard<std::mutex> lk(impl_->mu);
    ++impl_->generation;
  }
  impl_->cv.notify_all();
  fn(0);
  impl_->done.wait((uint64_t)n_ - 1);
  impl_->fn = nullptr;
}

}  // namespace wn
