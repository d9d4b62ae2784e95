#include "state/caching_store.hpp"

#include <cassert>

namespace sluice {

namespace {

error reentrant_write(const std::string& name) {
  return {errc::invalid_argument, "store '" + name + "' written from its own flush listener"};
}

// Merges the cache's [begin, end) with the inner store's iterator; the cache shadows the inner
// store on equal keys, and cached tombstones hide inner entries.
template <class MapIter>
class merged_iterator final : public kv_iterator {
public:
  merged_iterator(MapIter begin, MapIter end, std::unique_ptr<kv_iterator> inner)
      : cache_(begin), cache_end_(end), inner_(std::move(inner)) {
    settle();
  }
  bool valid() const override { return current_ != source::none; }
  void next() override {
    if (current_ == source::cache)
      ++cache_;
    else
      inner_->next();
    settle();
  }
  std::string_view key() const override {
    return current_ == source::cache ? std::string_view{cache_->first} : inner_->key();
  }
  std::string_view value() const override {
    return current_ == source::cache ? std::string_view{cache_->second.value} : inner_->value();
  }
  std::optional<error> status() const override { return inner_->status(); }

private:
  enum class source { none, cache, inner };

  void settle() {
    for (;;) {
      const bool c = cache_ != cache_end_;
      const bool i = inner_->valid();
      if (!c && !i) {
        current_ = source::none;
        return;
      }
      int cmp = 0;
      if (c && i) {
        cmp = std::string_view{cache_->first}.compare(inner_->key());
        if (cmp == 0) { // shadowed by the cache
          inner_->next();
          continue;
        }
      }
      if (c && (!i || cmp < 0)) {
        if (cache_->second.tombstone) {
          ++cache_;
          continue;
        }
        current_ = source::cache;
        return;
      }
      current_ = source::inner;
      return;
    }
  }

  MapIter cache_;
  MapIter cache_end_;
  std::unique_ptr<kv_iterator> inner_;
  source current_ = source::none;
};

} // namespace

caching_store::caching_store(std::unique_ptr<key_value_store> inner, caching_store_options options)
    : inner_(std::move(inner)), options_(std::move(options)),
      budget_(options_.budget ? options_.budget : std::make_shared<cache_budget>(options_.max_bytes)) {
  assert(inner_);
  budget_->join();
}

caching_store::~caching_store() {
  budget_->release(bytes_);
  budget_->leave();
}

void caching_store::forward(std::string_view key, const entry& e) {
  std::optional<std::string_view> value;
  if (!e.tombstone)
    value = e.value;
  if (options_.changelog)
    options_.changelog->append(key, value, e.timestamp_ms);
  if (options_.listener)
    options_.listener(key, value, e.timestamp_ms);
}

expected<void> caching_store::write_through(std::string_view key, std::optional<std::string_view> value,
                                            std::int64_t timestamp_ms) {
  auto r = value ? inner_->put(key, *value, timestamp_ms) : inner_->remove(key, timestamp_ms);
  if (!r)
    return r;
  flushing_ = true;
  if (options_.changelog)
    options_.changelog->append(key, value, timestamp_ms);
  if (options_.listener)
    options_.listener(key, value, timestamp_ms);
  flushing_ = false;
  return ok();
}

caching_store::cache_map::iterator caching_store::insert_or_touch(std::string_view key) {
  auto it = cache_.lower_bound(key);
  if (it != cache_.end() && it->first == key) {
    lru_.splice(lru_.end(), lru_, it->second.lru); // most recently used; no allocation
    return it;
  }
  it = cache_.emplace_hint(it, std::string{key}, entry{});
  it->second.lru = lru_.insert(lru_.end(), it);
  charge(key.size() + entry_overhead_bytes);
  return it;
}

void caching_store::erase(cache_map::iterator it) {
  release(it->first.size() + entry_overhead_bytes + it->second.value.size());
  lru_.erase(it->second.lru);
  if (it->second.dirty)
    dirty_.erase(it->second.dirty_pos);
  cache_.erase(it);
}

expected<void> caching_store::cache_write(std::string_view key, std::optional<std::string_view> value,
                                          std::int64_t timestamp_ms) {
  auto it = insert_or_touch(key);
  entry& e = it->second;
  const std::size_t old_size = e.value.size();
  written_since_flush_ = true;
  if (value) {
    e.value.assign(*value); // reuses capacity when a key is updated repeatedly
    e.tombstone = false;
  } else {
    e.value.clear();
    e.tombstone = true;
  }
  if (e.value.size() > old_size) // an unchanged size (the usual update) touches no shared counter
    charge(e.value.size() - old_size);
  else if (e.value.size() < old_size)
    release(old_size - e.value.size());
  e.timestamp_ms = timestamp_ms;
  if (!e.dirty) {
    e.dirty = true;
    e.dirty_pos = dirty_.insert(dirty_.end(), it);
  }
  return evict_if_needed();
}

expected<void> caching_store::evict_if_needed() {
  while (!lru_.empty() && budget_->must_evict(bytes_)) {
    auto victim = lru_.front();
    if (victim->second.dirty) {
      const entry& e = victim->second;
      auto r = e.tombstone ? inner_->remove(victim->first, e.timestamp_ms)
                           : inner_->put(victim->first, e.value, e.timestamp_ms);
      if (!r)
        return r; // stays cached and dirty; a later flush retries
      flushing_ = true;
      forward(victim->first, e);
      flushing_ = false;
    }
    erase(victim);
  }
  return ok();
}

expected<bool> caching_store::get_into(std::string_view key, std::string& value) {
  if (!caching())
    return inner_->get_into(key, value);
  if (auto it = cache_.find(key); it != cache_.end()) {
    lru_.splice(lru_.end(), lru_, it->second.lru);
    if (it->second.tombstone)
      return false;
    value.assign(it->second.value);
    return true;
  }
  auto found = inner_->get_into(key, value);
  if (!found || flushing_)
    return found; // no cache mutation while a flush walks the cache
  auto it = insert_or_touch(key);
  if (*found) {
    it->second.value.assign(value);
    charge(value.size());
  } else {
    it->second.tombstone = true; // cache the absence: repeated misses skip the inner store
  }
  if (auto r = evict_if_needed(); !r)
    return std::move(r).error();
  return found;
}

expected<void> caching_store::put(std::string_view key, std::string_view value, std::int64_t timestamp_ms) {
  if (flushing_)
    return reentrant_write(name());
  if (!caching())
    return write_through(key, value, timestamp_ms);
  return cache_write(key, value, timestamp_ms);
}

expected<void> caching_store::remove(std::string_view key, std::int64_t timestamp_ms) {
  if (flushing_)
    return reentrant_write(name());
  if (!caching())
    return write_through(key, std::nullopt, timestamp_ms);
  return cache_write(key, std::nullopt, timestamp_ms);
}

expected<void> caching_store::flush() {
  if (flushing_)
    return reentrant_write(name());
  if (!dirty_.empty()) {
    batch_.clear();
    for (auto it : dirty_) {
      if (it->second.tombstone)
        batch_.remove(it->first);
      else
        batch_.put(it->first, it->second.value);
    }
    if (auto r = inner_->write(batch_); !r)
      return r; // everything stays dirty; nothing was logged or forwarded
    flushing_ = true;
    for (auto it : dirty_) {
      forward(it->first, it->second);
      it->second.dirty = false;
    }
    flushing_ = false;
    dirty_.clear();
    batch_.clear();
  }
  if (!written_since_flush_) // idle since the last flush: give the budget to busy stores
    while (!lru_.empty())
      erase(lru_.front());
  written_since_flush_ = false;
  if (auto r = evict_if_needed(); !r) // above its fair share of a full budget: shrink (all clean)
    return r;
  return inner_->flush();
}

expected<void> caching_store::write(const store_batch& batch) {
  if (auto r = flush(); !r)
    return r;
  batch.for_each([this](std::string_view key, std::optional<std::string_view>) {
    if (auto it = cache_.find(key); it != cache_.end())
      erase(it);
  });
  return inner_->write(batch);
}

std::unique_ptr<kv_iterator> caching_store::scan(const scan_bounds& bounds) {
  auto inner = inner_->scan(bounds);
  if (!caching())
    return inner;
  auto begin = cache_.lower_bound(bounds.from);
  auto end = cache_.end();
  if (bounds.to) {
    if (bounds.from > *bounds.to || (bounds.from == *bounds.to && !bounds.to_inclusive))
      begin = end;
    else
      end = bounds.to_inclusive ? cache_.upper_bound(*bounds.to) : cache_.lower_bound(*bounds.to);
  }
  return std::make_unique<merged_iterator<cache_map::const_iterator>>(begin, end, std::move(inner));
}

expected<std::uint64_t> caching_store::approximate_num_entries() {
  auto n = inner_->approximate_num_entries();
  if (!n)
    return n;
  return *n + dirty_.size();
}

} // namespace sluice
