// Gives the allocator's free memory back to the system at intervals, so that a steady app's
// resident set follows its live memory instead of its high-water mark.
#pragma once

#include "actors/metrics.hpp"

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

namespace sluice {

/// Every `interval`, returns the free pages of every malloc arena to the system (glibc's
/// `malloc_trim`; nothing elsewhere). glibc keeps memory freed in the middle of its heaps, and the
/// stores' memtables and the producer's batches are allocated and freed in cycles: without this the
/// resident set creeps towards each cycle's peak plus fragmentation. Runs on a thread of its own.
class memory_trimmer {
public:
  /// Starts trimming every `interval` (not at all if it is zero).
  explicit memory_trimmer(std::chrono::milliseconds interval);
  /// Stops the thread.
  ~memory_trimmer();
  memory_trimmer(const memory_trimmer&) = delete;
  memory_trimmer& operator=(const memory_trimmer&) = delete;

private:
  std::chrono::milliseconds interval_;
  std::mutex mutex_;
  std::condition_variable stop_wanted_;
  bool stop_ = false;
  std::thread thread_; // last: starts once the rest is ready
};

/// Gauges of the allocator's heaps (glibc's `mallinfo2`; none elsewhere): `sluice_heap_in_use_bytes`,
/// what the process holds, and `sluice_heap_free_bytes`, what it freed and the allocator keeps for reuse
/// (trimming gives the whole pages among them back, so not all of it is resident).
metrics_source heap_usage();

} // namespace sluice
