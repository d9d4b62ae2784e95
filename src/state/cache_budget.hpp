#pragma once
// cache_budget: the byte budget of the record caches (`cache.max.bytes.buffering`), shared by
// every caching store of an instance (Kafka Streams shares it per stream thread; sluice's tasks
// run on any scheduler thread, so here it is per instance). Each cache charges the bytes it
// holds and, while the budget is exceeded, evicts its own least recently used entries (as Kafka
// Streams' ThreadCache evicts from the cache being written). Only the byte count is shared: it is
// atomic, so caches of tasks on different threads may charge it concurrently; each cache's
// entries are touched by its owner only.

#include <atomic>
#include <cstddef>

namespace sluice {

/// Thread-safe byte budget shared by caches; max_bytes == 0 disables caching.
class cache_budget {
 public:
  /// A budget of max_bytes for all caches that share it.
  explicit cache_budget(std::size_t max_bytes) noexcept : max_bytes_(max_bytes) {}
  cache_budget(const cache_budget&) = delete;
  cache_budget& operator=(const cache_budget&) = delete;

  /// The configured maximum.
  std::size_t max_bytes() const noexcept { return max_bytes_; }
  /// False when the budget is 0: caches write straight through.
  bool enabled() const noexcept { return max_bytes_ > 0; }
  /// Bytes charged by all caches now.
  std::size_t used_bytes() const noexcept { return used_.load(std::memory_order_relaxed); }
  /// True while the caches together hold more than max_bytes.
  bool exceeded() const noexcept { return used_bytes() > max_bytes_; }
  /// Adds n bytes held by a cache.
  void charge(std::size_t n) noexcept { used_.fetch_add(n, std::memory_order_relaxed); }
  /// Removes n bytes a cache no longer holds (at most what it charged).
  void release(std::size_t n) noexcept { used_.fetch_sub(n, std::memory_order_relaxed); }

 private:
  const std::size_t max_bytes_;
  std::atomic<std::size_t> used_{0};
};

}  // namespace sluice
