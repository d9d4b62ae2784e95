#pragma once
// Lookup join against a PostgreSQL table (Flink's JDBC lookup source): batched key lookups with
// one parameterised query per call, an LRU+TTL cache in front, and reconnect-with-backoff.
//
// Threading: lookup() BLOCKS (network I/O, backoff sleeps). Call it from a detached CAF actor or
// a thread of its own, never from a scheduler thread that carries records. One
// postgres_lookup serves one caller at a time (calls are serialised by an internal mutex);
// request_stop() and metrics() may be called from any thread.

#include <sluice/error.hpp>

#include <boost/json/object.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace spdlog {
class logger;
}

namespace sluice {

/// Configuration of a postgres_lookup (names follow Flink's lookup.* options).
struct postgres_lookup_options {
  /// libpq connection string (key=value or postgres:// URI); empty = libpq's PG* environment
  /// variables (PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE…), as psql does.
  std::string conninfo = "";
  /// Table to read, optionally schema-qualified ("public.cpu_thresholds"); quoted as identifier.
  std::string table = "";
  /// Column the keys are matched against; also names the result column that keys a row.
  std::string key_column = "";
  /// Columns to return; empty = all columns (SELECT *). The key column is always included.
  std::vector<std::string> columns = {};
  /// Full query instead of table/columns: must take the key array as `$1` (e.g.
  /// `... WHERE hostname = ANY($1)`) and return key_column. Empty = generated from table.
  std::string query = "";
  /// Max rows (present or absent keys) the cache holds; 0 disables the cache (every key queried).
  std::size_t cache_max_rows = 10000;
  /// How long a cached answer is served before it is looked up again (lookup.cache.ttl).
  std::chrono::milliseconds cache_ttl = std::chrono::seconds{60};
  /// The clock cached answers age by; nullptr = std::chrono::steady_clock (tests pass their own).
  std::function<std::chrono::steady_clock::time_point()> clock = nullptr;
  /// First wait after a connection failure; doubles per attempt (don't hammer a restarting DB).
  std::chrono::milliseconds retry_backoff_min = std::chrono::milliseconds{100};
  /// Upper bound of the backoff, so recovery is noticed within this time.
  std::chrono::milliseconds retry_backoff_max = std::chrono::seconds{10};
  /// Attempts per lookup call before giving up with attempts_exhausted; 0 = retry until success
  /// or request_stop() (the default: a lookup join must not drop or guess rows).
  std::size_t max_attempts = 0;
  /// Server-side statement_timeout per query, so a stuck query becomes a retry; 0 = none.
  std::chrono::milliseconds query_timeout = std::chrono::seconds{30};
  /// Logger for connection trouble and retries; null = spdlog's default logger.
  std::shared_ptr<spdlog::logger> logger = nullptr;
};

/// One looked-up row: column name → value (numbers as JSON numbers, NULL as null,
/// json/jsonb parsed, numeric as double, everything else as string).
using lookup_row = boost::json::object;

/// Answer of a lookup: every requested key → its row, or nullopt when the table has no such key.
using lookup_rows = std::unordered_map<std::string, std::optional<lookup_row>>;

/// Counters of a postgres_lookup, all monotonic since construction.
struct postgres_lookup_metrics {
  std::uint64_t cache_hits = 0;   ///< Keys answered from the cache (present or absent).
  std::uint64_t cache_misses = 0; ///< Keys that had to be queried.
  std::uint64_t queries = 0;      ///< Queries that returned successfully (one per lookup call).
  std::uint64_t retries = 0;      ///< Failed attempts that were retried.
  std::uint64_t connects = 0;     ///< Successful (re)connections.
};

/// Batched, cached, self-healing key lookup against one PostgreSQL table or query.
class postgres_lookup {
public:
  /// Validates options; connects lazily on the first lookup(). Invalid options make every
  /// lookup() fail with invalid_options (see validate()).
  explicit postgres_lookup(postgres_lookup_options options);
  /// Closes the connection.
  ~postgres_lookup();
  postgres_lookup(const postgres_lookup&) = delete;
  postgres_lookup& operator=(const postgres_lookup&) = delete;

  /// Returns a row or nullopt for every distinct key, answering from the cache first and with
  /// ONE query for all misses. Blocks while PostgreSQL is unreachable, reconnecting with backoff
  /// and re-running the same query: it never returns partial or stale-beyond-TTL results.
  /// Errors: cancelled (request_stop), query_failed (statement rejected), attempts_exhausted.
  expected<lookup_rows> lookup(const std::vector<std::string>& keys);

  /// Makes a blocked or future lookup() return `cancelled` promptly; thread-safe, irreversible.
  void request_stop() noexcept;

  /// True once request_stop() was called.
  bool stop_requested() const noexcept;

  /// Drops all cached rows (e.g. after the owner learned the table changed).
  void invalidate_cache();

  /// Snapshot of the counters; thread-safe.
  postgres_lookup_metrics metrics() const noexcept;

  /// The SQL text this lookup prepares (for logs and tests; contains no data).
  const std::string& statement_text() const noexcept { return sql_; }

  /// Checks options without connecting; returns an explanation when they cannot work.
  static std::optional<std::string> validate(const postgres_lookup_options& options);

private:
  struct cache_entry {
    std::string key;
    std::optional<lookup_row> row;
    std::chrono::steady_clock::time_point expires;
  };
  using cache_list = std::list<cache_entry>;

  std::optional<error> ensure_connected(std::string& failure);
  void disconnect() noexcept;
  void cache_put(const std::string& key, std::optional<lookup_row> row, std::chrono::steady_clock::time_point now);
  bool wait_backoff(std::chrono::milliseconds delay);
  std::string target_description() const;

  postgres_lookup_options options_;
  std::optional<std::string> invalid_;
  std::string sql_;
  std::string password_; // only to scrub it from messages, never logged
  std::shared_ptr<spdlog::logger> log_;
  struct connection_holder; // wraps pqxx::connection (a typedef in pqxx 6, not declarable here)
  std::unique_ptr<connection_holder> conn_;

  std::mutex call_mutex_; // serialises lookup() calls and protects the cache
  cache_list lru_;        // front = most recently used
  std::unordered_map<std::string, cache_list::iterator> index_;

  std::mutex stop_mutex_;
  std::condition_variable stop_cv_;
  std::atomic<bool> stop_{false};

  std::atomic<std::uint64_t> hits_{0}, misses_{0}, queries_{0}, retries_{0}, connects_{0};
};

/// Builds the text of a PostgreSQL array literal ({"a","b\"c"}) for passing keys as ONE bound
/// parameter; elements are quoted and escaped, so record data never becomes SQL.
std::string to_pg_array_literal(const std::vector<std::string>& values);

} // namespace sluice
