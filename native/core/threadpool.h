// A small persistent thread pool shared by the CPU kernels.
//   wn::pool().run(n, [&](int task, int thread) { ... });   // caller takes part; returns when all n are done
// Threads spin briefly before sleeping, so back-to-back calls (one per layer) stay cheap.
// Size: wn_runtime_options.threads (wn_runtime_configure) or the hardware thread count. Calls from inside a task run
// inline.
#pragma once
#include <functional>

namespace wn {
class ThreadPool {
 public:
  explicit ThreadPool(int threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool &) = delete;
  ThreadPool &operator=(const ThreadPool &) = delete;
  int size() const { return n_threads_; }
  void run(int n_tasks, const std::function<void(int task, int thread)> &fn);

 private:
  void stop_and_join() noexcept;
  struct Impl;
  Impl *impl_;
  int n_threads_;
};

ThreadPool &pool();
int default_threads();
}  // namespace wn
