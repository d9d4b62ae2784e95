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

} // namespace sluice
