#pragma once
// leveldb_store: the persistent key_value_store, one LevelDB database per (task, store).
//
// Layout inside LevelDB: user entries live under the one-byte prefix 0x01, internal metadata
// (the changelog checkpoint) under 0x00, so no user key can collide with the checkpoint key
// and a scan of user data never sees metadata. Data and checkpoint go through one WriteBatch.
//
// Durability: writes never fsync (WriteOptions::sync = false). A process crash loses nothing
// (the OS has the log); a machine crash may lose the newest writes, which the changelog topic
// restores. LevelDB's log is sequential, so a recovered checkpoint never runs ahead of data.

#include <cstddef>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <sluice/state/key_value_store.hpp>

namespace leveldb {
class Cache;
class DB;
class Env;
class FilterPolicy;
class Logger;
class WriteBatch;
} // namespace leveldb

namespace sluice {

/// Tuning of one LevelDB store. A process holds (tasks x stores) of these, so defaults keep
/// per-store memory and file descriptors small.
struct leveldb_store_options {
  /// 4 MiB (LevelDB's default): memtable size; a per-store cost multiplied by the store count.
  std::size_t write_buffer_size = 4 * 1024 * 1024;
  /// nullptr: each store gets LevelDB's private 8 MiB block cache; pass one shared cache to bound
  /// read-cache memory for the whole instance instead.
  std::shared_ptr<leveldb::Cache> block_cache = nullptr;
  /// 4 KiB (LevelDB's default): good for point gets of small aggregate values.
  std::size_t block_size = 4 * 1024;
  /// 10 bits/key bloom filter (~1% false positives): gets of absent keys (first record of a key,
  /// window lookups) skip disk reads. 0 disables.
  int bloom_bits_per_key = 10;
  /// 64 (LevelDB: 1000): many stores share one process' descriptor limit.
  int max_open_files = 64;
  /// true: corruption is reported at open instead of silently dropping data; we then wipe and
  /// rebuild from the changelog, which is always correct.
  bool paranoid_checks = true;
  /// nullptr = the default POSIX environment; tests pass leveldb::NewMemEnv(...). Not owned.
  leveldb::Env* env = nullptr;
};

/// How leveldb_store::open found the database.
enum class open_outcome : std::uint8_t {
  opened_existing, ///< Existing data and checkpoint: restore from checkpoint() + 1.
  created_empty,   ///< No store existed: full restore from the changelog's beginning.
  wiped_corrupt,   ///< The store was corrupt or failed to open; wiped; full restore needed.
};

class leveldb_store;

namespace detail {
/// The stored form of a checkpoint: the offset as 8 bytes big-endian two's complement.
std::string encode_checkpoint(changelog_offset offset);
/// The offset `encode_checkpoint` wrote; nullopt unless `bytes` is 8 bytes long.
std::optional<changelog_offset> decode_checkpoint(std::string_view bytes);
} // namespace detail

/// An opened store plus how it was found.
struct opened_leveldb_store {
  std::unique_ptr<leveldb_store> store;                 ///< The open, usable store.
  open_outcome outcome = open_outcome::opened_existing; ///< How it was found.
  std::string reason;                                   ///< Why it was wiped (wiped_corrupt only).
  /// True if the store holds nothing and must be rebuilt from the changelog's beginning.
  bool needs_full_restore() const noexcept { return outcome != open_outcome::opened_existing; }
};

/// LevelDB-backed key_value_store.
class leveldb_store final : public key_value_store {
public:
  /// Opens (creating if missing) the database in directory path. If it is corrupt or fails to
  /// open for any reason but a held lock, the directory is wiped and reopened empty, and the
  /// outcome says so. Errors: locked (open elsewhere), io_error (reopen after wipe failed).
  static expected<opened_leveldb_store> open(const std::filesystem::path& path, std::string name,
                                             leveldb_store_options options = {});

  ~leveldb_store() override;
  leveldb_store(const leveldb_store&) = delete;
  leveldb_store& operator=(const leveldb_store&) = delete;

  const std::string& name() const override { return name_; }
  expected<bool> get_into(std::string_view key, std::string& value) override;
  expected<void> put(std::string_view key, std::string_view value, std::int64_t timestamp_ms) override;
  expected<void> remove(std::string_view key, std::int64_t timestamp_ms) override;
  expected<void> write(const store_batch& batch) override;
  /// Iterators read a consistent snapshot taken at creation.
  std::unique_ptr<kv_iterator> scan(const scan_bounds& bounds) override;
  /// Counts by scanning keys: O(n), for metrics and tests.
  expected<std::uint64_t> approximate_num_entries() override;
  /// LevelDB writes go straight to its log and memtable, so there is nothing to push down.
  expected<void> flush() override;
  std::optional<changelog_offset> checkpoint() const override { return checkpoint_; }

  /// The directory holding the database.
  const std::filesystem::path& path() const noexcept { return path_; }

private:
  leveldb_store(std::filesystem::path path, std::string name, leveldb_store_options options);
  expected<void> open_db();
  const std::string& data_key(std::string_view key);

  std::filesystem::path path_;
  std::string name_;
  leveldb_store_options options_;
  std::unique_ptr<const leveldb::FilterPolicy> filter_policy_;
  std::unique_ptr<leveldb::Logger> logger_;
  std::unique_ptr<leveldb::DB> db_;
  std::unique_ptr<leveldb::WriteBatch> write_batch_; // reused by put/remove/write
  std::string key_buffer_;                           // reused prefixed-key encoding
  std::optional<changelog_offset> checkpoint_;
};

} // namespace sluice
