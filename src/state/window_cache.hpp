#pragma once
// window_cache: the record cache of a window store (Kafka Streams' CachingWindowStore over its
// NamedCache). Each cached window is (record key, window start) -> latest value or tombstone,
// dirty until the store flushes it. Two orders are kept, like the store's data and index
// entries: by key then start (per-key fetch, point reads) and by start then key (fetch_all,
// expiry). Plus an LRU list (eviction) and a dirty list (flush). Entries are one allocation each
// (intrusive hooks); updating a cached window allocates nothing once its value buffer has grown.
//
// The cache only keeps entries and their byte charge against the budget; the window_store
// decides what to write (flush, eviction) and merges the cache with its storage on reads.

#include <boost/intrusive/list.hpp>
#include <boost/intrusive/set.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "state/cache_budget.hpp"

namespace sluice {

/// One cached window: its latest value (or a tombstone) and whether the store lacks it yet.
struct cached_window {
  std::string key;
  std::int64_t start = 0;
  std::string value;
  bool tombstone = false;
  bool dirty = false;
  std::int64_t timestamp_ms = 0; // of the record that wrote it last
  std::size_t charged = 0;       // bytes charged to the budget for it
  boost::intrusive::set_member_hook<> by_key_hook, by_time_hook;
  boost::intrusive::list_member_hook<> lru_hook, dirty_hook;
};

/// The windows cached for one window store; used from the store's owner only.
class window_cache {
  struct key_then_start {
    using type = std::pair<std::string_view, std::int64_t>;
    type operator()(const cached_window& w) const noexcept { return {w.key, w.start}; }
  };
  struct start_then_key {
    using type = std::pair<std::int64_t, std::string_view>;
    type operator()(const cached_window& w) const noexcept { return {w.start, w.key}; }
  };
  using set_hook = boost::intrusive::set_member_hook<>;
  using list_hook = boost::intrusive::list_member_hook<>;

public:
  using by_key_set =
    boost::intrusive::set<cached_window,
                          boost::intrusive::member_hook<cached_window, set_hook, &cached_window::by_key_hook>,
                          boost::intrusive::key_of_value<key_then_start>>;
  using by_time_set =
    boost::intrusive::set<cached_window,
                          boost::intrusive::member_hook<cached_window, set_hook, &cached_window::by_time_hook>,
                          boost::intrusive::key_of_value<start_then_key>>;
  using window_list =
    boost::intrusive::list<cached_window,
                           boost::intrusive::member_hook<cached_window, list_hook, &cached_window::lru_hook>>;
  using dirty_list =
    boost::intrusive::list<cached_window,
                           boost::intrusive::member_hook<cached_window, list_hook, &cached_window::dirty_hook>>;

  /// Bookkeeping bytes charged per window on top of its key and value.
  static constexpr std::size_t entry_overhead_bytes = sizeof(cached_window);

  /// A cache charging budget (must not be null), counted among its caches.
  explicit window_cache(std::shared_ptr<cache_budget> budget);
  /// Drops every entry (dirty ones are lost: the runtime flushes before closing), releases
  /// their bytes and leaves the budget.
  ~window_cache();
  window_cache(const window_cache&) = delete;
  window_cache& operator=(const window_cache&) = delete;

  /// The cached window (key, start), marked most recently used; nullptr if not cached.
  cached_window* find(std::string_view key, std::int64_t start);
  /// Caches value (nullopt: a tombstone) for (key, start) as dirty and most recently used.
  cached_window& write(std::string_view key, std::int64_t start, std::optional<std::string_view> value,
                       std::int64_t timestamp_ms);
  /// Drops w from the cache, releasing its bytes.
  void erase(cached_window& w) noexcept;
  /// Drops every window starting before cutoff, dirty or not; returns how many.
  std::size_t erase_before(std::int64_t cutoff) noexcept;
  /// Drops every entry.
  void clear() noexcept;
  /// Marks w as written to the store.
  void mark_clean(cached_window& w) noexcept;
  /// Marks every dirty window as written to the store.
  void mark_all_clean() noexcept;

  /// True while this cache must evict (cache_budget::must_evict) and has something to evict.
  bool must_evict() const noexcept { return !lru_.empty() && budget_->must_evict(bytes_); }
  /// The least recently used window; requires a non-empty cache.
  cached_window& eviction_candidate() noexcept { return lru_.front(); }

  /// Windows of key with from <= start <= to, in start order: [first, second).
  std::pair<by_key_set::iterator, by_key_set::iterator> key_range(std::string_view key, std::int64_t from,
                                                                  std::int64_t to);
  /// Windows with from <= start <= to, ordered by start then key: [first, second).
  std::pair<by_time_set::iterator, by_time_set::iterator> time_range(std::int64_t from, std::int64_t to);
  /// Dirty windows in the order they became dirty.
  dirty_list& dirty() noexcept { return dirty_; }

  /// Number of cached windows (clean and dirty).
  std::size_t size() const noexcept { return by_key_.size(); }
  /// Number of dirty windows.
  std::size_t dirty_count() const noexcept { return dirty_.size(); }
  /// Bytes this cache has charged to the budget.
  std::size_t bytes() const noexcept { return bytes_; }
  /// The shared budget.
  const cache_budget& budget() const noexcept { return *budget_; }

private:
  void charge(cached_window& w) noexcept;

  std::shared_ptr<cache_budget> budget_;
  by_key_set by_key_;
  by_time_set by_time_;
  window_list lru_; // front = least recently used
  dirty_list dirty_;
  std::size_t bytes_ = 0;
};

} // namespace sluice
