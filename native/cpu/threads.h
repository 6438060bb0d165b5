// The one way the CPU kernels of this folder spread a call over threads: `parts` slices, run by the calling thread and the
// workers of a small persistent pool, and all done before run_slices returns. Workers are native threads of the library's
// own, so the work does not wait on a managed thread pool that may be busy serving requests (or on libtorch's OpenMP pool).
// One call at a time owns the pool; a call made while another owns it starts threads for itself instead (concurrent
// encoders in a server). The caller takes slices too, so a slow-waking worker delays nothing but its own share. A worker
// spins about 50 µs for the next call before sleeping: consecutive layers of one forward pass then find it awake, while a
// core is not held past that (libtorch's threads run between the calls).
#pragma once
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace dss {

class SlicePool {
 public:
  /// Runs slice(t) for t in [0, parts) over the caller and parts − 1 workers; false (nothing run) when another call owns the pool.
  bool try_run(int32_t parts, const std::function<void(int32_t)>& slice) {
    std::unique_lock<std::mutex> owner(own_, std::try_to_lock);
    if (!owner.owns_lock()) return false;
    while ((int32_t)workers_.size() < parts - 1) workers_.emplace_back([this] { work(); });
    uint64_t generation;
    {
      std::lock_guard<std::mutex> lock(mu_);
      slice_ = &slice;
      parts_ = parts;
      left_.store(parts, std::memory_order_relaxed);
      generation = generation_.load(std::memory_order_relaxed) + 1;
      next_.store(generation << 32, std::memory_order_release);
      generation_.store(generation, std::memory_order_release);
    }
    wake_.notify_all();
    take(slice, parts, generation);
    while (left_.load(std::memory_order_acquire) > 0) std::this_thread::yield();
    return true;
  }

 private:
  // Claims slices of call `generation` while it has some left. A claim names the call (next_ holds the generation in its
  // high half), so a worker that wakes after its call ended claims nothing from the next one with the old function.
  void take(const std::function<void(int32_t)>& slice, int32_t parts, uint64_t generation) {
    for (;;) {
      uint64_t v = next_.load(std::memory_order_acquire);
      int32_t t;
      do {
        if ((v >> 32) != generation) return;
        t = (int32_t)(v & 0xFFFFFFFFu);
        if (t >= parts) return;
      } while (!next_.compare_exchange_weak(v, v + 1, std::memory_order_acq_rel, std::memory_order_acquire));
      slice(t);
      left_.fetch_sub(1, std::memory_order_acq_rel);
    }
  }

  void work() {
    uint64_t seen = 0;
    for (;;) {
      const auto until = std::chrono::steady_clock::now() + std::chrono::microseconds(50);
      while (generation_.load(std::memory_order_acquire) == seen && std::chrono::steady_clock::now() < until) {
#if defined(__x86_64__)
        __builtin_ia32_pause();
#endif
      }
      const std::function<void(int32_t)>* slice;
      int32_t parts;
      {
        std::unique_lock<std::mutex> lock(mu_);
        wake_.wait(lock, [&] { return generation_.load(std::memory_order_acquire) != seen; });
        seen = generation_.load(std::memory_order_acquire);
        slice = slice_;
        parts = parts_;
      }
      take(*slice, parts, seen);  // the function is only called for a claim of this generation, while its caller waits
    }
  }

  std::mutex own_, mu_;
  std::condition_variable wake_;
  std::vector<std::thread> workers_;
  const std::function<void(int32_t)>* slice_ = nullptr;
  int32_t parts_ = 0;
  std::atomic<uint64_t> next_{0};  // generation << 32 | next slice
  std::atomic<int32_t> left_{0};
  std::atomic<uint64_t> generation_{0};
};

template <class Slice>
void run_slices(int32_t parts, Slice slice) {
  if (parts <= 1) { slice(0); return; }
  static SlicePool* pool = new SlicePool();  // never destroyed: its workers live as long as the process
  const std::function<void(int32_t)> job = slice;
  if (pool->try_run(parts, job)) return;
  std::vector<std::thread> helpers;
  helpers.reserve((size_t)parts - 1);
  for (int32_t t = 1; t < parts; t++) helpers.emplace_back(slice, t);
  slice(0);
  for (auto& h : helpers) h.join();
}

}  // namespace dss
