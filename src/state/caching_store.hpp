#pragma once
// caching_store: the changelogging and caching layer over a key_value_store (Kafka Streams'
// CachingKeyValueStore + ChangeLoggingKeyValueBytesStore in one decorator).
//
// With a budget (cache_budget: max_bytes of its own, or one shared by the instance's caching
// stores), writes are coalesced per key in an LRU cache: reads see cached values, flush() writes
// all dirty entries to the inner store in one batch, then forwards each dirty entry once to the
// changelog writer and to the flush listener (the downstream "emit on flush"). While the budget
// is exceeded and this cache holds more than its fair share (cache_budget), its least recently
// used entries are evicted (after writes and at flush); a dirty victim is flushed (inner store,
// changelog, listener) on its own first. A cache written nothing between two
// flushes is idle and empties itself at the second (its bytes go back to busy stores).
// With a budget of 0 every write goes straight through: inner store, changelog, listener.

#include <cstddef>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <string>

#include "state/cache_budget.hpp"
#include <sluice/state/changelog_writer.hpp>
#include <sluice/state/key_value_store.hpp>

namespace sluice {

/// Called once per flushed entry (value nullopt = delete); must not write to the same store.
using flush_listener =
  std::function<void(std::string_view key, std::optional<std::string_view> value, std::int64_t timestamp_ms)>;

/// Options of a caching_store.
struct caching_store_options {
  /// 10 MiB (Kafka Streams' cache.max.bytes.buffering default): byte budget of this store's
  /// cache (keys + values + per-entry bookkeeping) when `budget` is null. 0 disables caching.
  std::size_t max_bytes = 10 * 1024 * 1024;
  /// A budget shared with other caching stores (then max_bytes is ignored); nullptr: its own.
  std::shared_ptr<cache_budget> budget;
  /// nullptr: changes are not logged (in-memory or test stores). Not owned; must outlive us.
  changelog_writer* changelog = nullptr;
  /// Empty: flushed entries are not forwarded downstream.
  flush_listener listener;
};

/// Caching, changelogging decorator over a key_value_store it owns.
class caching_store final : public key_value_store {
public:
  /// Approximate bookkeeping bytes charged per cached entry on top of key and value sizes.
  static constexpr std::size_t entry_overhead_bytes = 128;

  /// Wraps inner (must not be null).
  caching_store(std::unique_ptr<key_value_store> inner, caching_store_options options);
  /// Does not flush: unflushed dirty entries are dropped (the runtime flushes on commit/close);
  /// releases the cache's bytes from the budget.
  ~caching_store() override;

  const std::string& name() const override { return inner_->name(); }
  /// Serves from the cache; a miss reads the inner store and caches the result (also absence).
  expected<bool> get_into(std::string_view key, std::string& value) override;
  /// Caches the write as dirty; write-through when max_bytes == 0. Error during a flush callback.
  expected<void> put(std::string_view key, std::string_view value, std::int64_t timestamp_ms) override;
  /// Caches a dirty tombstone; write-through when max_bytes == 0.
  expected<void> remove(std::string_view key, std::int64_t timestamp_ms) override;
  /// Flushes dirty entries, drops the batch's keys from the cache, then writes the batch to the
  /// inner store unlogged (restore and checkpoint path).
  expected<void> write(const store_batch& batch) override;
  /// Merges cache and inner store, cache entries taking precedence.
  std::unique_ptr<kv_iterator> scan(const scan_bounds& bounds) override;
  /// Inner store's count plus dirty entries (which may already exist there): approximate.
  expected<std::uint64_t> approximate_num_entries() override;
  /// Writes all dirty entries to the inner store in one batch, then logs and forwards each once
  /// in the order they first became dirty; then flushes the inner store.
  expected<void> flush() override;
  std::optional<changelog_offset> checkpoint() const override { return inner_->checkpoint(); }

  /// Bytes this cache currently charges to its budget.
  std::size_t cached_bytes() const noexcept { return bytes_; }
  /// Number of cached entries (clean and dirty).
  std::size_t cached_entries() const noexcept { return cache_.size(); }
  /// Number of dirty (unflushed) entries.
  std::size_t dirty_entries() const noexcept { return dirty_.size(); }
  /// The wrapped store.
  key_value_store& inner() noexcept { return *inner_; }

private:
  struct entry;
  using cache_map = std::map<std::string, entry, std::less<>>;
  using order_list = std::list<cache_map::iterator>;
  struct entry {
    std::string value;
    bool tombstone = false;
    bool dirty = false;
    std::int64_t timestamp_ms = 0;
    order_list::iterator lru;       // position in lru_
    order_list::iterator dirty_pos; // position in dirty_, valid iff dirty
  };

  expected<void> write_through(std::string_view key, std::optional<std::string_view> value, std::int64_t timestamp_ms);
  expected<void> cache_write(std::string_view key, std::optional<std::string_view> value, std::int64_t timestamp_ms);
  cache_map::iterator insert_or_touch(std::string_view key);
  void erase(cache_map::iterator it);
  expected<void> evict_if_needed();
  void forward(std::string_view key, const entry& e);
  bool caching() const noexcept { return budget_->enabled(); }
  void charge(std::size_t n) noexcept {
    bytes_ += n;
    budget_->charge(n);
  }
  void release(std::size_t n) noexcept {
    bytes_ -= n;
    budget_->release(n);
  }

  std::unique_ptr<key_value_store> inner_;
  caching_store_options options_;
  std::shared_ptr<cache_budget> budget_;
  cache_map cache_;
  order_list lru_;   // front = least recently used
  order_list dirty_; // front = oldest dirty entry
  std::size_t bytes_ = 0;
  bool flushing_ = false;
  bool written_since_flush_ = false;
  store_batch batch_; // reused by flush()
};

} // namespace sluice
