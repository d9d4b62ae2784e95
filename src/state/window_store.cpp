#include <sluice/state/window_store.hpp>

#include "state/window_cache.hpp"
#include <sluice/state/big_endian.hpp>

#include <algorithm>
#include <cassert>
#include <limits>

namespace sluice {

namespace {

constexpr char data_tag = 'w';
constexpr char index_tag = 'x';
constexpr std::string_view stream_time_key{"m.stream_time"};
constexpr std::uint64_t sign_bit = std::uint64_t{1} << 63;
constexpr std::int64_t min_time = std::numeric_limits<std::int64_t>::min();
constexpr std::int64_t max_time = std::numeric_limits<std::int64_t>::max();

// Order-preserving time encoding: big-endian with the sign bit flipped.
void append_time(std::string& out, std::int64_t t) {
  big_endian::append<8>(out, static_cast<std::uint64_t>(t) ^ sign_bit);
}

std::int64_t read_time(std::string_view bytes) {
  return static_cast<std::int64_t>(big_endian::read<8>(bytes) ^ sign_bit);
}

void append_varint(std::string& out, std::size_t n) {
  while (n >= 0x80) {
    out.push_back(static_cast<char>((n & 0x7f) | 0x80));
    n >>= 7;
  }
  out.push_back(static_cast<char>(n));
}

// 'w' | varint(len) | key  (the prefix shared by all windows of key)
void encode_data_prefix(std::string& out, std::string_view key) {
  out.clear();
  out.push_back(data_tag);
  append_varint(out, key.size());
  out.append(key);
}

void encode_data_key(std::string& out, std::string_view key, std::int64_t start) {
  encode_data_prefix(out, key);
  append_time(out, start);
}

void encode_index_key(std::string& out, std::int64_t start, std::string_view key) {
  out.clear();
  out.push_back(index_tag);
  append_time(out, start);
  out.append(key);
}

class empty_window_iterator final : public window_iterator {
public:
  bool valid() const override { return false; }
  void next() override {}
  std::string_view key() const override { return {}; }
  std::int64_t window_start() const override { return 0; }
  std::string_view value() const override { return {}; }
  std::optional<error> status() const override { return std::nullopt; }
};

// Windows of one key: a scan of its contiguous data entries.
class key_window_iterator final : public window_iterator {
public:
  key_window_iterator(std::string key, std::unique_ptr<kv_iterator> it) : key_(std::move(key)), it_(std::move(it)) {}
  bool valid() const override { return it_->valid(); }
  void next() override { it_->next(); }
  std::string_view key() const override { return key_; }
  std::int64_t window_start() const override {
    auto k = it_->key();
    return read_time(k.substr(k.size() - 8));
  }
  std::string_view value() const override { return it_->value(); }
  std::optional<error> status() const override { return it_->status(); }

private:
  std::string key_;
  std::unique_ptr<kv_iterator> it_;
};

// Windows of all keys: a scan of the time index plus a point get of each window's value.
class all_window_iterator final : public window_iterator {
public:
  all_window_iterator(key_value_store& storage, std::unique_ptr<kv_iterator> it)
      : storage_(storage), it_(std::move(it)) {
    settle();
  }
  bool valid() const override { return valid_; }
  void next() override {
    it_->next();
    settle();
  }
  std::string_view key() const override { return it_->key().substr(9); }
  std::int64_t window_start() const override { return read_time(it_->key().substr(1, 8)); }
  std::string_view value() const override { return value_; }
  std::optional<error> status() const override {
    if (error_)
      return error_;
    return it_->status();
  }

private:
  void settle() {
    valid_ = false;
    for (; it_->valid(); it_->next()) {
      auto k = it_->key();
      if (k.size() < 9)
        continue; // not an index entry; cannot happen with this encoding
      encode_data_key(data_key_, k.substr(9), read_time(k.substr(1, 8)));
      auto found = storage_.get_into(data_key_, value_);
      if (!found) {
        error_ = found.error();
        return;
      }
      if (*found) {
        valid_ = true;
        return;
      }
    }
  }

  key_value_store& storage_;
  std::unique_ptr<kv_iterator> it_;
  std::string data_key_;
  std::string value_;
  std::optional<error> error_;
  bool valid_ = false;
};

// A stored iterator merged with the cached windows [begin, end), both ordered by start then key
// (a per-key fetch has one key: start order). A cached window shadows the stored one with the
// same start and key; a cached tombstone hides it.
template <class CacheIter>
class merged_window_iterator final : public window_iterator {
public:
  merged_window_iterator(CacheIter begin, CacheIter end, std::unique_ptr<window_iterator> stored)
      : cache_(begin), cache_end_(end), stored_(std::move(stored)) {
    settle();
  }
  bool valid() const override { return current_ != source::none; }
  void next() override {
    if (current_ == source::cache)
      ++cache_;
    else
      stored_->next();
    settle();
  }
  std::string_view key() const override {
    return current_ == source::cache ? std::string_view{cache_->key} : stored_->key();
  }
  std::int64_t window_start() const override {
    return current_ == source::cache ? cache_->start : stored_->window_start();
  }
  std::string_view value() const override {
    return current_ == source::cache ? std::string_view{cache_->value} : stored_->value();
  }
  std::optional<error> status() const override { return stored_->status(); }

private:
  enum class source { none, cache, stored };

  void settle() {
    for (;;) {
      const bool c = cache_ != cache_end_;
      const bool s = stored_->valid();
      if (!c && !s) {
        current_ = source::none;
        return;
      }
      bool cache_first = !s;
      if (c && s) {
        const auto cached = std::pair{cache_->start, std::string_view{cache_->key}};
        const auto stored = std::pair{stored_->window_start(), stored_->key()};
        if (cached == stored) { // shadowed by the cache
          stored_->next();
          continue;
        }
        cache_first = cached < stored;
      }
      if (cache_first) {
        if (cache_->tombstone) {
          ++cache_;
          continue;
        }
        current_ = source::cache;
        return;
      }
      current_ = source::stored;
      return;
    }
  }

  CacheIter cache_;
  CacheIter cache_end_;
  std::unique_ptr<window_iterator> stored_;
  source current_ = source::none;
};

template <class CacheIter>
std::unique_ptr<window_iterator> merged(std::pair<CacheIter, CacheIter> cached,
                                        std::unique_ptr<window_iterator> stored) {
  return std::make_unique<merged_window_iterator<CacheIter>>(cached.first, cached.second, std::move(stored));
}

} // namespace

window_store::~window_store() = default;

window_store::window_store(std::unique_ptr<key_value_store> storage, window_store_options options)
    : storage_(std::move(storage)), options_(options) {
  if (options_.cache && options_.cache->enabled())
    cache_ = std::make_unique<window_cache>(options_.cache);
}

expected<std::unique_ptr<window_store>> window_store::open(std::unique_ptr<key_value_store> storage,
                                                           window_store_options options) {
  if (!storage)
    return error{errc::invalid_argument, "window_store::open: null storage"};
  if (options.retention_ms < 0 || options.purge_interval_ms < 0)
    return error{errc::invalid_argument, "window store '" + storage->name() + "': negative retention or interval"};
  std::unique_ptr<window_store> ws{new window_store(std::move(storage), options)};
  std::string value;
  auto found = ws->storage_->get_into(stream_time_key, value);
  if (!found)
    return std::move(found).error();
  if (*found) {
    if (value.size() != 8)
      return error{errc::corruption, "window store '" + ws->name() + "': bad stream time encoding"};
    ws->stream_time_ = read_time(value);
  }
  return ws;
}

std::optional<std::int64_t> window_store::expiry_cutoff() const noexcept {
  if (!stream_time_)
    return std::nullopt;
  if (*stream_time_ < min_time + options_.retention_ms)
    return min_time;
  return *stream_time_ - options_.retention_ms;
}

bool window_store::expired(std::int64_t window_start) const noexcept {
  auto cutoff = expiry_cutoff();
  return cutoff && window_start < *cutoff;
}

void window_store::observe(std::int64_t window_start) noexcept {
  if (options_.time_from_puts)
    advance_time(window_start);
}

void window_store::advance_time(std::int64_t time) noexcept {
  if (!stream_time_ || time > *stream_time_)
    stream_time_ = time;
}

void window_store::add_put(store_batch& batch, std::string_view key, std::int64_t start, std::string_view value) {
  encode_data_key(key_buffer_, key, start);
  batch.put(key_buffer_, value);
  encode_index_key(key_buffer2_, start, key);
  batch.put(key_buffer2_, {});
}

void window_store::add_remove(store_batch& batch, std::string_view key, std::int64_t start) {
  encode_data_key(key_buffer_, key, start);
  batch.remove(key_buffer_);
  encode_index_key(key_buffer2_, start, key);
  batch.remove(key_buffer2_);
}

void window_store::log(std::string_view key, std::int64_t start, std::optional<std::string_view> value,
                       std::int64_t timestamp_ms) {
  if (!options_.changelog)
    return;
  encode_changelog_key(key, start, key_buffer_);
  options_.changelog->append(key_buffer_, value, timestamp_ms);
}

expected<void> window_store::write_through(std::string_view key, std::int64_t start,
                                           std::optional<std::string_view> value, std::int64_t timestamp_ms) {
  batch_.clear();
  if (value)
    add_put(batch_, key, start, *value);
  else
    add_remove(batch_, key, start);
  if (auto r = storage_->write(batch_); !r)
    return r;
  log(key, start, value, timestamp_ms);
  return ok();
}

expected<void> window_store::evict_if_needed() {
  while (cache_->must_evict()) {
    auto& victim = cache_->eviction_candidate();
    if (victim.dirty) {
      std::optional<std::string_view> value;
      if (!victim.tombstone)
        value = victim.value;
      if (auto r = write_through(victim.key, victim.start, value, victim.timestamp_ms); !r)
        return r; // stays cached and dirty; a later flush retries
    }
    cache_->erase(victim);
  }
  return ok();
}

expected<void> window_store::put(std::string_view key, std::int64_t window_start, std::string_view value,
                                 std::int64_t timestamp_ms) {
  observe(window_start);
  if (expired(window_start)) {
    ++dropped_expired_;
    return ok();
  }
  if (cache_) {
    cache_->write(key, window_start, value, timestamp_ms);
    written_since_flush_ = true;
    if (auto r = evict_if_needed(); !r)
      return r;
  } else if (auto r = write_through(key, window_start, value, timestamp_ms); !r) {
    return r;
  }
  return maybe_purge();
}

expected<void> window_store::remove(std::string_view key, std::int64_t window_start, std::int64_t timestamp_ms) {
  if (!cache_)
    return write_through(key, window_start, std::nullopt, timestamp_ms);
  cache_->write(key, window_start, std::nullopt, timestamp_ms);
  written_since_flush_ = true;
  return evict_if_needed();
}

expected<bool> window_store::fetch_into(std::string_view key, std::int64_t window_start, std::string& value) {
  if (expired(window_start))
    return false;
  if (cache_) {
    if (const auto* w = cache_->find(key, window_start)) {
      if (w->tombstone)
        return false;
      value.assign(w->value);
      return true;
    }
  }
  encode_data_key(key_buffer_, key, window_start);
  return storage_->get_into(key_buffer_, value);
}

std::unique_ptr<window_iterator> window_store::fetch(std::string_view key, std::int64_t time_from,
                                                     std::int64_t time_to) {
  if (auto cutoff = expiry_cutoff())
    time_from = std::max(time_from, *cutoff);
  if (time_from > time_to)
    return std::make_unique<empty_window_iterator>();
  encode_data_key(key_buffer_, key, time_from);
  encode_data_key(key_buffer2_, key, time_to);
  auto stored = std::make_unique<key_window_iterator>(std::string{key},
                                                      storage_->scan(scan_bounds{key_buffer_, key_buffer2_, true}));
  if (!cache_)
    return stored;
  return merged(cache_->key_range(key, time_from, time_to), std::move(stored));
}

std::unique_ptr<window_iterator> window_store::fetch_all(std::int64_t time_from, std::int64_t time_to) {
  if (auto cutoff = expiry_cutoff())
    time_from = std::max(time_from, *cutoff);
  if (time_from > time_to)
    return std::make_unique<empty_window_iterator>();
  key_buffer_.assign(1, index_tag);
  append_time(key_buffer_, time_from);
  // Exclusive upper bound: the first index key of time_to + 1, or past all index keys.
  key_buffer2_.assign(1, time_to == max_time ? static_cast<char>(index_tag + 1) : index_tag);
  if (time_to != max_time)
    append_time(key_buffer2_, time_to + 1);
  auto stored =
    std::make_unique<all_window_iterator>(*storage_, storage_->scan(scan_bounds{key_buffer_, key_buffer2_, false}));
  if (!cache_)
    return stored;
  return merged(cache_->time_range(time_from, time_to), std::move(stored));
}

expected<std::uint64_t> window_store::purge_expired() {
  auto cutoff = expiry_cutoff();
  if (!cutoff || *cutoff == min_time)
    return std::uint64_t{0};
  if (cache_)
    cache_->erase_before(*cutoff);
  std::string from(1, index_tag);
  append_time(from, purged_up_to_.value_or(min_time));
  std::string to(1, index_tag);
  append_time(to, *cutoff);
  batch_.clear();
  std::uint64_t n = 0;
  {
    auto it = storage_->scan(scan_bounds{from, to, false});
    for (; it->valid(); it->next()) {
      auto k = it->key();
      if (k.size() < 9)
        continue;
      add_remove(batch_, k.substr(9), read_time(k.substr(1, 8)));
      ++n;
    }
    if (auto err = it->status())
      return *err;
  } // the iterator is gone before the store is written
  if (n > 0)
    if (auto r = storage_->write(batch_); !r)
      return std::move(r).error();
  purged_up_to_ = *cutoff;
  return n;
}

expected<void> window_store::maybe_purge() {
  auto cutoff = expiry_cutoff();
  if (!cutoff)
    return ok();
  if (cache_)
    cache_->erase_before(*cutoff); // cheap: looks at the oldest cached window only
  const std::int64_t interval =
    options_.purge_interval_ms > 0 ? options_.purge_interval_ms : std::max<std::int64_t>(options_.retention_ms / 4, 1);
  // The first purge after open scans from the oldest window: nothing is known about the past.
  // The cutoff never moves back, so its progress fits in 64 bits unsigned (not always signed).
  if (purged_up_to_ && static_cast<std::uint64_t>(*cutoff) - static_cast<std::uint64_t>(*purged_up_to_) <
                         static_cast<std::uint64_t>(interval))
    return ok();
  auto n = purge_expired();
  if (!n)
    return std::move(n).error();
  return ok();
}

expected<void> window_store::flush() {
  batch_.clear();
  if (cache_) {
    if (auto cutoff = expiry_cutoff())
      cache_->erase_before(*cutoff);
    for (const auto& w : cache_->dirty()) {
      if (w.tombstone)
        add_remove(batch_, w.key, w.start);
      else
        add_put(batch_, w.key, w.start, w.value);
    }
  }
  if (stream_time_) {
    key_buffer_.clear();
    append_time(key_buffer_, *stream_time_);
    batch_.put(stream_time_key, key_buffer_);
  }
  if (!batch_.empty())
    if (auto r = storage_->write(batch_); !r)
      return r; // the windows stay dirty; nothing was logged
  if (cache_) {
    for (const auto& w : cache_->dirty())
      log(w.key, w.start, w.tombstone ? std::nullopt : std::optional<std::string_view>{w.value}, w.timestamp_ms);
    cache_->mark_all_clean();
    if (!written_since_flush_)
      cache_->clear(); // idle since the last flush: give the budget to busy stores
    written_since_flush_ = false;
    if (auto r = evict_if_needed(); !r) // above its fair share of a full budget: shrink (all clean)
      return r;
  }
  return storage_->flush();
}

expected<void> window_store::commit_checkpoint(changelog_offset offset) { return storage_->commit_checkpoint(offset); }

expected<void> window_store::restore(std::span<const changelog_record> records, changelog_offset last_offset) {
  if (cache_ && cache_->size() > 0) {
    if (auto r = flush(); !r)
      return r;
    cache_->clear();
  }
  store_batch batch;
  for (const auto& r : records) {
    auto decoded = decode_changelog_key(r.key);
    if (!decoded)
      return error{errc::invalid_argument, "window store '" + name() + "': changelog key shorter than 8 bytes"};
    auto [key, start] = *decoded;
    observe(start);
    if (!r.value)
      add_remove(batch, key, start);
    else if (!expired(start))
      add_put(batch, key, start, *r.value);
  }
  if (stream_time_) {
    std::string t;
    append_time(t, *stream_time_);
    batch.put(stream_time_key, t);
  }
  batch.set_checkpoint(last_offset);
  if (auto r = storage_->write(batch); !r)
    return r;
  return maybe_purge();
}

void window_store::encode_changelog_key(std::string_view key, std::int64_t window_start, std::string& out) {
  out.clear();
  out.append(key);
  big_endian::append<8>(out, static_cast<std::uint64_t>(window_start));
}

std::optional<std::pair<std::string_view, std::int64_t>>
window_store::decode_changelog_key(std::string_view changelog_key) {
  if (changelog_key.size() < 8)
    return std::nullopt;
  const auto n = changelog_key.size() - 8;
  return std::pair{changelog_key.substr(0, n), static_cast<std::int64_t>(big_endian::read<8>(changelog_key.substr(n)))};
}

} // namespace sluice
