#include "core/threadpool.h"
#include "core/runtime.h"

#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <thread>
#include <vector>
#include "core/platform.h"

namespace wn {

static thread_local bool t_in_pool_task = false;

struct ThreadPool::Impl {
  std::vector<std::thread> workers;
  std::mutex mu;
  std::condition_variable cv;
  std::atomic<unsigned> generation{0};
  std::atomic<int> next_task{0};
  std::atomic<int> active{0};  // workers still inside the current generation
  std::atomic<bool> stop{false};
  const std::function<void(int, int)> *fn = nullptr;
  int n_tasks = 0;
  std::mutex run_mu;  // one run() at a time from outside the pool

  void work(int thread) {
    t_in_pool_task = true;
    int t;
    while ((t = next_task.fetch_add(1, std::memory_order_relaxed)) < n_tasks) (*fn)(t, thread);
    t_in_pool_task = false;
  }

  void loop(int thread) {
    unsigned seen = 0;
    for (;;) {
      // Spin a little, then sleep until a new generation starts.
      int spins = 0;
      while (generation.load(std::memory_order_acquire) == seen && !stop.load(std::memory_order_relaxed)) {
        if (++spins < 20000) {
          cpu_relax();
        } else {
          std::unique_lock<std::mutex> lk(mu);
          cv.wait(lk, [&] { return generation.load(std::memory_order_acquire) != seen || stop.load(); });
        }
      }
      if (stop.load()) return;
      seen = generation.load(std::memory_order_acquire);
      work(thread);
      active.fetch_sub(1, std::memory_order_acq_rel);
    }
  }
};

// When a thread cannot start (std::system_error, or std::bad_alloc for its state), the ones already
// started are stopped and joined and the exception goes on to the caller (wn::guarded turns it into a
// status); pool() tries again on its next use.
ThreadPool::ThreadPool(int threads) : impl_(new Impl), n_threads_(threads < 1 ? 1 : threads) {
  try {
    impl_->workers.reserve((size_t)n_threads_ - 1);
    for (int i = 1; i < n_threads_; ++i) impl_->workers.emplace_back([this, i] { impl_->loop(i); });
  } catch (...) {
    stop_and_join();
    throw;
  }
}

void ThreadPool::stop_and_join() noexcept {
  impl_->stop.store(true);
  { std::lock_guard<std::mutex> lk(impl_->mu); }
  impl_->cv.notify_all();
  for (auto &w : impl_->workers) w.join();
  delete impl_;
  impl_ = nullptr;
}

ThreadPool::~ThreadPool() { stop_and_join(); }

void ThreadPool::run(int n_tasks, const std::function<void(int, int)> &fn) {
  if (n_tasks <= 0) return;
  if (n_threads_ == 1 || n_tasks == 1 || t_in_pool_task) {
    for (int t = 0; t < n_tasks; ++t) fn(t, 0);
    return;
  }
  std::lock_guard<std::mutex> run_lock(impl_->run_mu);
  impl_->fn = &fn;
  impl_->n_tasks = n_tasks;
  impl_->next_task.store(0, std::memory_order_relaxed);
  impl_->active.store(n_threads_ - 1, std::memory_order_relaxed);
  {
    std::lock_guard<std::mutex> lk(impl_->mu);
    impl_->generation.fetch_add(1, std::memory_order_acq_rel);
  }
  impl_->cv.notify_all();
  impl_->work(0);
  while (impl_->active.load(std::memory_order_acquire) != 0) cpu_relax();
  impl_->fn = nullptr;
}

int default_threads() {
  if (const int n = runtime().threads; n >= 1 && n <= 1024) return n;
  unsigned h = std::thread::hardware_concurrency();
  return h ? (int)h : 1;
}

ThreadPool &pool() {
  static ThreadPool p(default_threads());
  return p;
}

}  // namespace wn
