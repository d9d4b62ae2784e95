#pragma once
// window_store: byte-oriented windowed store (Kafka Streams' WindowStore<Bytes, byte[]>),
// layered over a key_value_store (leveldb_store for the persistent variant, in_memory_store for
// the in-memory one). Keys are (record key, window start in ms).
//
// Encoding choice. Two orderings are wanted: per-key fetch(key, from, to), the hot path of
// windowed aggregations and joins, wants all windows of a key adjacent; expiry and
// fetch_all(from, to) want entries ordered by window start. A single encoding serves only one
// (`key|start` makes expiry a full scan; `start|key` makes a per-key fetch scan every key of the
// time range), and Kafka Streams' answer (segments) adds many stores. So every window is two
// entries, written in one atomic batch:
//   data  'w' | varint(len(key)) | key | flip(start)  -> value   (per-key fetch: one seek+scan)
//   index 'x' | flip(start) | key                      -> ""      (expiry: scan from the oldest)
// flip(t) = big-endian bytes of t with the sign bit flipped, so byte order is numeric order,
// negative times included. The varint length prefix makes the key part prefix-free: windows
// of "a" and "ab" can never interleave. The cost is one small extra entry per window (key plus
// 9 bytes, empty value); fetch_all pays a point get per window, which is acceptable for a
// rarely used query. Expiry remembers how far it purged and seeks past its own tombstones.
//
// Retention: stream time is the largest window start ever put or restored (or, for windowed
// operators, their watermark: `window_store_options::time_from_puts`). Windows with
// start < stream time - retention are expired: puts into them are dropped, fetches skip them,
// and purge (automatic every purge_interval_ms of stream time) deletes them locally. Expiry is
// not logged: window changelogs use cleanup.policy=compact,delete, and restore applies the same
// retention filter.
//
// Changelog record format (Kafka Streams' window key schema without the sequence number):
// key | start as 8 bytes big-endian two's complement.
//
// Caching (Kafka Streams' caching window store), with `window_store_options::cache` set to an
// enabled budget: put/remove go to a write-back window_cache that coalesces updates per (key,
// window start). Reads see it merged with the storage (a cached value or tombstone shadows the
// stored window). flush() writes every dirty window to the storage in one batch (with the
// stream time) and logs each once; when the shared budget is exceeded, a cache above its fair
// share (cache_budget) evicts its least recently used windows, a dirty one written and logged on
// its own first. So a window updated n
// times between two flushes costs one storage write and one changelog record, not n. Expired
// windows leave the cache too (dirty ones unwritten: nothing can read them any more). A cache
// that saw no write between two flushes is idle and empties itself at the second, so an idle
// task does not hold the budget that busy ones need. Without a cache every put goes straight to
// the storage and the changelog.

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include <sluice/state/changelog_writer.hpp>
#include <sluice/state/key_value_store.hpp>

namespace sluice {

class cache_budget; // the shared budget of the write-back caches (internal)
class window_cache; // the write-back cache (internal)

/// Options of a window_store.
struct window_store_options {
  /// 1 day (Kafka Streams' default): how long windows live behind stream time. Must be at least
  /// window size + grace or windows are dropped before they close.
  std::int64_t retention_ms = 24 * 60 * 60 * 1000;
  /// 0 = retention/4: purge expired windows each time the cutoff advances this much; larger
  /// means fewer, bigger purge batches and more expired bytes kept meanwhile.
  std::int64_t purge_interval_ms = 0;
  /// nullptr: changes are not logged. Not owned; must outlive the store.
  changelog_writer* changelog = nullptr;
  /// true: stream time is the largest window start put or restored. false: only `advance_time`
  /// moves it — windowed operators drive it by their watermark, so inputs far apart in event
  /// time never expire windows that have not closed yet.
  bool time_from_puts = true;
  /// The budget the store's write-back cache charges, shared with the instance's other caching
  /// stores; nullptr or a 0 budget: no cache, every put is written and logged at once.
  std::shared_ptr<cache_budget> cache;
};

/// Cursor over windows; per-key fetch yields one key in window order, fetch_all yields windows
/// ordered by start, then key.
class window_iterator {
public:
  virtual ~window_iterator() = default;
  /// True while positioned on a window; false at the end or after an error (see status()).
  virtual bool valid() const = 0;
  /// Moves to the next window; requires valid().
  virtual void next() = 0;
  /// The record key; requires valid(); the view lives until next().
  virtual std::string_view key() const = 0;
  /// The window start in ms; requires valid().
  virtual std::int64_t window_start() const = 0;
  /// The window's value; requires valid(); the view lives until next().
  virtual std::string_view value() const = 0;
  /// The error that ended iteration early, if any.
  virtual std::optional<error> status() const = 0;
};

/// Windowed store with retention over a key_value_store it owns.
class window_store {
public:
  /// Wraps storage (must not be null, must not be a logging store: this layer logs itself)
  /// and reads its persisted stream time.
  static expected<std::unique_ptr<window_store>> open(std::unique_ptr<key_value_store> storage,
                                                      window_store_options options);

  /// Drops the cache's dirty windows unwritten (flush() first to keep them).
  ~window_store();

  /// The store's name (the storage's).
  const std::string& name() const { return storage_->name(); }

  /// Sets the value of (key, window_start); advances stream time; dropped if already expired.
  /// Cached: written and logged at the next flush or when evicted.
  expected<void> put(std::string_view key, std::int64_t window_start, std::string_view value,
                     std::int64_t timestamp_ms);

  /// Deletes (key, window_start) and logs a tombstone (cached like put).
  expected<void> remove(std::string_view key, std::int64_t window_start, std::int64_t timestamp_ms);

  /// Reads the value of one window into value; false if absent or expired.
  expected<bool> fetch_into(std::string_view key, std::int64_t window_start, std::string& value);

  /// Windows of key with time_from <= start <= time_to, in start order, expired ones skipped.
  std::unique_ptr<window_iterator> fetch(std::string_view key, std::int64_t time_from, std::int64_t time_to);

  /// Windows of all keys with time_from <= start <= time_to, ordered by start then key.
  std::unique_ptr<window_iterator> fetch_all(std::int64_t time_from, std::int64_t time_to);

  /// Moves stream time forward to `time` (never back); see `window_store_options::time_from_puts`.
  void advance_time(std::int64_t time) noexcept;

  /// Stream time: the largest window start seen, or (with `time_from_puts` false) the latest
  /// `advance_time`; nullopt before any.
  std::optional<std::int64_t> observed_stream_time() const noexcept { return stream_time_; }

  /// Windows starting before this are expired (nullopt: nothing is expired yet).
  std::optional<std::int64_t> expiry_cutoff() const noexcept;

  /// Deletes all expired windows now (normally automatic); returns how many stored windows
  /// were deleted (expired cached windows are dropped too, not counted).
  expected<std::uint64_t> purge_expired();

  /// Number of puts dropped because their window had already expired.
  std::uint64_t dropped_expired() const noexcept { return dropped_expired_; }

  /// Writes the cache's dirty windows and the stream time to the storage in one batch, logs each
  /// of those windows once, then flushes the storage. On a failed write nothing is logged and the
  /// windows stay dirty.
  expected<void> flush();

  /// The changelog offset committed with the data, or nullopt.
  std::optional<changelog_offset> checkpoint() const { return storage_->checkpoint(); }

  /// Commits offset as checkpoint; see key_value_store::commit_checkpoint.
  expected<void> commit_checkpoint(changelog_offset offset);

  /// Applies changelog records (keys in changelog format) plus last_offset atomically, bypassing
  /// the cache (flushed and emptied first if it holds anything). Records of expired windows are
  /// skipped; invalid_argument if a key is shorter than 8 bytes.
  expected<void> restore(std::span<const changelog_record> records, changelog_offset last_offset);

  /// Encodes (key, window_start) as a changelog record key into out (reusing its capacity).
  static void encode_changelog_key(std::string_view key, std::int64_t window_start, std::string& out);

  /// Splits a changelog record key into (key, window_start); nullopt if shorter than 8 bytes.
  static std::optional<std::pair<std::string_view, std::int64_t>> decode_changelog_key(std::string_view changelog_key);

  /// The underlying key_value_store.
  key_value_store& storage() noexcept { return *storage_; }

  /// The write-back cache, or nullptr when caching is off.
  const window_cache* cache() const noexcept { return cache_.get(); }

private:
  window_store(std::unique_ptr<key_value_store> storage, window_store_options options);
  bool expired(std::int64_t window_start) const noexcept;
  void observe(std::int64_t window_start) noexcept;
  expected<void> maybe_purge();
  void add_put(store_batch& batch, std::string_view key, std::int64_t start, std::string_view value);
  void add_remove(store_batch& batch, std::string_view key, std::int64_t start);
  void log(std::string_view key, std::int64_t start, std::optional<std::string_view> value, std::int64_t timestamp_ms);
  expected<void> write_through(std::string_view key, std::int64_t start, std::optional<std::string_view> value,
                               std::int64_t timestamp_ms);
  expected<void> evict_if_needed();

  std::unique_ptr<key_value_store> storage_;
  window_store_options options_;
  std::optional<std::int64_t> stream_time_;
  std::optional<std::int64_t> purged_up_to_; // no expired window below this remains
  std::uint64_t dropped_expired_ = 0;
  store_batch batch_;      // reused by put/remove
  std::string key_buffer_; // reused key encodings
  std::string key_buffer2_;
  std::unique_ptr<window_cache> cache_; // null: caching is off
  bool written_since_flush_ = false;
};

} // namespace sluice
