#pragma once
// cache_budget: the byte budget of the record caches (`cache.max.bytes.buffering`), shared by
// every caching store of an instance (Kafka Streams shares it per stream thread; sluice's tasks
// run on any scheduler thread, so here it is per instance). Each cache charges the bytes it
// holds. While the budget is exceeded, a cache holding more than its fair share (max_bytes / the
// number of caches) evicts its own least recently used entries, after each write and at each
// flush (every commit). So every cache may grow to its fair share whatever the others hold, and
// a cache that grew beyond it while others were small gives the excess back once they need it,
// at its next write or commit at the latest: the caches hold at most max_bytes plus, until then,
// what some held above their share. Only counters are shared: they are atomic, so caches of tasks
// on different threads use them concurrently; each cache's entries are touched by its owner only.

#include <algorithm>
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
  /// Counts a cache sharing the budget (its constructor calls this).
  void join() noexcept { caches_.fetch_add(1, std::memory_order_relaxed); }
  /// Stops counting a cache (its destructor calls this, after releasing its bytes).
  void leave() noexcept { caches_.fetch_sub(1, std::memory_order_relaxed); }
  /// max_bytes divided by the caches sharing the budget now.
  std::size_t fair_share() const noexcept {
    return max_bytes_ / std::max<std::size_t>(1, caches_.load(std::memory_order_relaxed));
  }
  /// True when a cache holding `cache_bytes` must evict: the budget is exceeded and the cache
  /// holds more than its fair share.
  bool must_evict(std::size_t cache_bytes) const noexcept { return exceeded() && cache_bytes > fair_share(); }

private:
  const std::size_t max_bytes_;
  std::atomic<std::size_t> used_{0};
  std::atomic<std::size_t> caches_{0};
};

} // namespace sluice
