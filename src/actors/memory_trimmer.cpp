#include "actors/memory_trimmer.hpp"

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace sluice {

memory_trimmer::memory_trimmer(std::chrono::milliseconds interval)
    : interval_(interval), thread_([this] {
        if (interval_.count() <= 0)
          return;
        std::unique_lock lock{mutex_};
        while (!stop_wanted_.wait_for(lock, interval_, [this] { return stop_; })) {
#if defined(__GLIBC__)
          lock.unlock();
          malloc_trim(0);
          lock.lock();
#endif
        }
      }) {
}

memory_trimmer::~memory_trimmer() {
  {
    std::lock_guard lock{mutex_};
    stop_ = true;
  }
  stop_wanted_.notify_one();
  thread_.join();
}

metrics_source heap_usage() {
  return [](std::vector<metric_sample>& out) {
#if defined(__GLIBC__)
    const auto heap = mallinfo2(); // walks every arena under its lock: a scrape's cost, not the data path's
    out.push_back({"sluice_heap_in_use_bytes",
                   "Bytes the process holds from its allocator",
                   metric_type::gauge,
                   {},
                   static_cast<double>(heap.uordblks + heap.hblkhd)});
    out.push_back({"sluice_heap_free_bytes",
                   "Bytes freed to the allocator and kept in its heaps",
                   metric_type::gauge,
                   {},
                   static_cast<double>(heap.fordblks)});
#endif
  };
}

} // namespace sluice
