#include "state/window_cache.hpp"

#include <cassert>
#include <limits>

namespace sluice {

window_cache::window_cache(std::shared_ptr<cache_budget> budget) : budget_(std::move(budget)) {
  assert(budget_);
  budget_->join();
}

window_cache::~window_cache() {
  clear();
  budget_->leave();
}

void window_cache::charge(cached_window& w) noexcept {
  const std::size_t now = entry_overhead_bytes + w.key.size() + w.value.size();
  if (now == w.charged)
    return; // the usual update of a fixed-size aggregate: no shared counter traffic
  if (now > w.charged)
    budget_->charge(now - w.charged);
  else
    budget_->release(w.charged - now);
  bytes_ = bytes_ + now - w.charged;
  w.charged = now;
}

cached_window* window_cache::find(std::string_view key, std::int64_t start) {
  auto it = by_key_.find(key_then_start::type{key, start});
  if (it == by_key_.end())
    return nullptr;
  lru_.splice(lru_.end(), lru_, lru_.iterator_to(*it));
  return &*it;
}

cached_window& window_cache::write(std::string_view key, std::int64_t start, std::optional<std::string_view> value,
                                   std::int64_t timestamp_ms) {
  typename by_key_set::insert_commit_data commit;
  auto [it, fresh] = by_key_.insert_check(key_then_start::type{key, start}, commit);
  cached_window* w;
  if (fresh) {
    w = new cached_window;
    w->key.assign(key);
    w->start = start;
    by_key_.insert_commit(*w, commit);
    by_time_.insert(*w);
    lru_.push_back(*w);
  } else {
    w = &*it;
    lru_.splice(lru_.end(), lru_, lru_.iterator_to(*w));
  }
  if (value) {
    w->value.assign(*value); // reuses the buffer's capacity
    w->tombstone = false;
  } else {
    w->value.clear();
    w->tombstone = true;
  }
  w->timestamp_ms = timestamp_ms;
  if (!w->dirty) {
    w->dirty = true;
    dirty_.push_back(*w);
  }
  charge(*w);
  return *w;
}

void window_cache::mark_clean(cached_window& w) noexcept {
  if (!w.dirty)
    return;
  dirty_.erase(dirty_.iterator_to(w));
  w.dirty = false;
}

void window_cache::mark_all_clean() noexcept {
  dirty_.clear_and_dispose([](cached_window* w) { w->dirty = false; });
}

void window_cache::erase(cached_window& w) noexcept {
  mark_clean(w);
  lru_.erase(lru_.iterator_to(w));
  by_time_.erase(by_time_.iterator_to(w));
  by_key_.erase(by_key_.iterator_to(w));
  budget_->release(w.charged);
  bytes_ -= w.charged;
  delete &w;
}

std::size_t window_cache::erase_before(std::int64_t cutoff) noexcept {
  std::size_t n = 0;
  while (!by_time_.empty() && by_time_.begin()->start < cutoff) {
    erase(*by_time_.begin());
    ++n;
  }
  return n;
}

void window_cache::clear() noexcept {
  while (!lru_.empty())
    erase(lru_.front());
}

std::pair<window_cache::by_key_set::iterator, window_cache::by_key_set::iterator>
window_cache::key_range(std::string_view key, std::int64_t from, std::int64_t to) {
  if (from > to)
    return {by_key_.end(), by_key_.end()};
  return {by_key_.lower_bound(key_then_start::type{key, from}), by_key_.upper_bound(key_then_start::type{key, to})};
}

std::pair<window_cache::by_time_set::iterator, window_cache::by_time_set::iterator>
window_cache::time_range(std::int64_t from, std::int64_t to) {
  if (from > to)
    return {by_time_.end(), by_time_.end()};
  auto end = to == std::numeric_limits<std::int64_t>::max() ? by_time_.end()
                                                            : by_time_.lower_bound(start_then_key::type{to + 1, {}});
  return {by_time_.lower_bound(start_then_key::type{from, {}}), end};
}

} // namespace sluice
