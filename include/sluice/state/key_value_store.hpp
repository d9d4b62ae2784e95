#pragma once
// key_value_store: the byte-oriented key-value state store interface (Kafka Streams'
// KeyValueStore<Bytes, byte[]>). Typed access comes later, in the DSL, through serdes.
//
// Threading: a store belongs to one task and is used from one actor at a time; no method is
// thread-safe. Iterators are invalidated by any write to the store: finish (or destroy) an
// iterator before writing.

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include <sluice/error.hpp>
#include <sluice/state/store_batch.hpp>

namespace sluice {

/// One changelog record to apply during restore; value == nullopt is a tombstone.
struct changelog_record {
  std::string_view key;                  ///< Store key bytes (must outlive the restore call).
  std::optional<std::string_view> value; ///< New value, or nullopt for a delete.
};

/// Cursor over key-value pairs in ascending byte-wise key order.
class kv_iterator {
public:
  virtual ~kv_iterator() = default;
  /// True while positioned on an entry; false at the end or after an error (see status()).
  virtual bool valid() const = 0;
  /// Moves to the next entry; requires valid().
  virtual void next() = 0;
  /// Current key; requires valid(); the view lives until next() or destruction.
  virtual std::string_view key() const = 0;
  /// Current value; requires valid(); the view lives until next() or destruction.
  virtual std::string_view value() const = 0;
  /// The error that ended iteration early, if any.
  virtual std::optional<error> status() const = 0;
};

/// Key bounds of a scan: [from, to] or [from, to) in byte order; no `to` = up to the last key.
struct scan_bounds {
  std::string_view from;              ///< Inclusive lower bound ("" = from the first key).
  std::optional<std::string_view> to; ///< Upper bound, nullopt = unbounded.
  bool to_inclusive = true;           ///< Whether `to` itself is included.
};

/// Returns the smallest key greater than every key starting with prefix, or nullopt if none
/// exists (prefix empty or all 0xff). Used to turn a prefix into an exclusive upper bound.
std::optional<std::string> prefix_successor(std::string_view prefix);

/// Byte-oriented key-value store with an atomically committed changelog checkpoint.
class key_value_store {
public:
  virtual ~key_value_store() = default;

  /// The store's name, unique within a task; names its changelog topic.
  virtual const std::string& name() const = 0;

  /// Reads key into value (reusing its capacity); returns false, value unspecified, if absent.
  virtual expected<bool> get_into(std::string_view key, std::string& value) = 0;

  /// Returns key's value, or nullopt if absent. Allocates; hot paths use get_into.
  expected<std::optional<std::string>> get(std::string_view key);

  /// Sets key to value. timestamp_ms is the event time of the record causing the write; it is
  /// carried to the changelog by logging stores and ignored by plain ones.
  virtual expected<void> put(std::string_view key, std::string_view value, std::int64_t timestamp_ms) = 0;

  /// Deletes key (a tombstone in the changelog); deleting an absent key is not an error.
  virtual expected<void> remove(std::string_view key, std::int64_t timestamp_ms) = 0;

  /// Applies batch atomically together with its checkpoint (if set). Bypasses caching and
  /// changelogging: this is how restore and checkpoint commits reach persistent storage.
  virtual expected<void> write(const store_batch& batch) = 0;

  /// Entries with from <= key <= to, in key order (empty if from > to).
  std::unique_ptr<kv_iterator> range(std::string_view from, std::string_view to);

  /// Entries whose key starts with prefix, in key order.
  std::unique_ptr<kv_iterator> prefix_scan(std::string_view prefix);

  /// All entries in key order.
  std::unique_ptr<kv_iterator> all();

  /// Entries within bounds, in key order; the primitive behind range/prefix_scan/all. The
  /// bounds are copied: their views need only live for the call.
  virtual std::unique_ptr<kv_iterator> scan(const scan_bounds& bounds) = 0;

  /// Number of entries, possibly approximate; may cost a scan (LevelDB): for metrics and tests.
  virtual expected<std::uint64_t> approximate_num_entries() = 0;

  /// Pushes buffered writes down (cache to store to LevelDB memtable/log). Durability across
  /// machine crashes is the changelog's job, so this does not fsync.
  virtual expected<void> flush() = 0;

  /// The changelog offset last committed with the data, or nullopt if the store never had one.
  virtual std::optional<changelog_offset> checkpoint() const = 0;

  /// Commits offset as the checkpoint (a batch holding only the checkpoint). Call after flush()
  /// once the changelog records written by that flush are acknowledged: the store's ordered
  /// log guarantees a recovered checkpoint never covers data that was lost.
  expected<void> commit_checkpoint(changelog_offset offset);

  /// Applies changelog records (in offset order) and last_offset as the new checkpoint in one
  /// atomic batch. Restore resumes after checkpoint(): crash mid-restore loses nothing.
  expected<void> restore(std::span<const changelog_record> records, changelog_offset last_offset);
};

} // namespace sluice
