#pragma once
// The PostgreSQL lookup join of the DSL (Flink's JDBC lookup join, Kafka Streams' stream-table
// join against an external table):
//
//   stream.lookup_join(postgres_lookup_source{options}, key_fn, joiner, join_kind::inner)
//
// Per batch the processor collects the batch's distinct keys and runs ONE batched lookup (cache
// first) on a worker thread it owns, never on the thread that carries records (no blocking on scheduler threads). The
// node's input is held back (processor_context::defer) while the lookup runs, so per-key order is
// kept and the commit marker waits: records are joined only to the row PostgreSQL returned for
// them, and none is lost while PostgreSQL is down (the lookup retries with backoff until it
// answers or the task stops; a stopped task's batch is not committed and will be reprocessed).
//
// key_fn:  `key_fn(key, value)` or `key_fn(value)` → std::string (or std::optional<std::string>;
//          nullopt = "no key": an inner join drops the record, a left join keeps it, row = null).
// joiner:  `joiner(value, row)` or `joiner(key, value, row)` → the joined value; `row` points to the
//          looked-up row (column → JSON value) or is null for a left-join miss. `merge_row` is the
//          ready-made joiner for JSON values: the value's fields plus the row's columns.

#include <sluice/connectors/postgres/postgres_lookup.hpp>
#include <sluice/topology/metric.hpp>
#include <sluice/topology/processor.hpp>
#include <sluice/topology/stream.hpp>

#include <boost/json/value.hpp>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <unordered_set>
#include <utility>
#include <vector>

namespace sluice {

/// Counters of one postgres_lookup_source, summed over every task's processor (live or closed).
struct lookup_join_metrics {
  postgres_lookup_metrics lookup;    ///< Cache hits/misses, queries, retries, connects.
  std::uint64_t batches = 0;         ///< Batches joined (one lookup each, unless keyless).
  std::uint64_t records_in = 0;      ///< Records received by the join.
  std::uint64_t records_joined = 0;  ///< Records forwarded with their joined value.
  std::uint64_t records_dropped = 0; ///< Inner-join misses (no row, or no key) dropped.
  std::uint64_t records_failed = 0;  ///< Records dead-lettered (key_fn/joiner threw, lookup failed).
};

namespace detail {

/// State shared by all processors made from one postgres_lookup_source (and its copies).
struct lookup_source_state;

/// The per-processor lookup thread: owns one postgres_lookup (connection + cache) and runs the
/// blocking lookups handed to it, one at a time, in order.
class lookup_worker {
public:
  /// Called on the worker thread with the answer; not called when the worker was stopped.
  using done_handler = std::function<void(std::shared_ptr<expected<lookup_rows>>)>;

  /// Starts the thread; `node` and `task` only name the join in logs.
  lookup_worker(std::shared_ptr<lookup_source_state> state, std::string node);
  /// request_stop() on the lookup (a blocked lookup gives up), joins the thread, folds metrics.
  ~lookup_worker();
  lookup_worker(const lookup_worker&) = delete;
  lookup_worker& operator=(const lookup_worker&) = delete;

  /// Queues a lookup of `keys` for `records` records of task `task`; returns at once.
  void submit(std::vector<std::string> keys, std::size_t records, std::string task, done_handler on_done);

  /// Counts a batch outcome into the source's metrics (called on the node's thread).
  void count(std::uint64_t in, std::uint64_t joined, std::uint64_t dropped, std::uint64_t failed);

  /// Logs why a batch's lookup failed without retry (query rejected, attempts exhausted).
  void log_failure(const std::string& task, const error& error);

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

/// joiner(key, value, row) when it takes the key, else joiner(value, row).
template <class J, class K, class V>
decltype(auto) call_joiner(J& joiner, const K& key, const V& value, const lookup_row* row) {
  if constexpr (std::is_invocable_v<J&, const K&, const V&, const lookup_row*>)
    return joiner(key, value, row);
  else
    return joiner(value, row);
}

/// The value type a joiner produces.
template <class K, class V, class J>
using joiner_result_t = std::remove_cvref_t<decltype(call_joiner(
  std::declval<J&>(), std::declval<const K&>(), std::declval<const V&>(), std::declval<const lookup_row*>()))>;

template <class T>
struct is_optional : std::false_type {};
template <class T>
struct is_optional<std::optional<T>> : std::true_type {};

/// Processor of one task: defers each batch until its lookup answered, then joins in order.
template <class K, class V, class V2, class KeyFn, class Joiner>
class postgres_lookup_join_processor final : public processor {
public:
  postgres_lookup_join_processor(std::shared_ptr<lookup_source_state> state, KeyFn key_fn, Joiner joiner,
                                 join_kind kind, std::string name)
      : worker_(std::move(state), name), key_fn_(std::move(key_fn)), joiner_(std::move(joiner)), kind_(kind),
        name_(std::move(name)) {}

  void process(const batch_ptr& in, processor_context& ctx) override {
    const auto& b = static_cast<const record_batch<K, V>&>(*in);
    if (b.records.empty())
      return;
    auto keys = std::make_shared<std::vector<record_key>>();
    keys->reserve(b.records.size());
    std::vector<std::string> distinct;
    std::unordered_set<std::string> seen;
    for (const auto& r : b.records) {
      try {
        auto k = key_of(r);
        if (k && seen.insert(*k).second)
          distinct.push_back(*k);
        keys->push_back(k ? record_key{std::move(*k), key_state::present} : record_key{{}, key_state::none});
      } catch (const std::exception& e) {
        ctx.processing_failed(r.meta, name_, e);
        keys->push_back(record_key{{}, key_state::failed});
      }
    }
    if (distinct.empty()) { // nothing to look up: join now
      join(in, *keys, nullptr, ctx);
      return;
    }
    auto resume = ctx.defer();
    worker_.submit(std::move(distinct), b.records.size(), ctx.task_id(),
                   [this, in, keys, resume](std::shared_ptr<expected<lookup_rows>> rows) {
                     // Runs on the node's thread, and only while this processor exists.
                     resume([this, in, keys, rows](processor_context& c) { join(in, *keys, rows.get(), c); });
                   });
  }

private:
  enum class key_state : std::uint8_t { present, none, failed };
  struct record_key {
    std::string key;
    key_state state;
  };

  std::optional<std::string> key_of(const record<K, V>& r) {
    using R = std::remove_cvref_t<decltype(call_kv(key_fn_, r.key, r.value))>;
    if constexpr (is_optional<R>::value) {
      auto k = call_kv(key_fn_, r.key, r.value);
      if (!k)
        return std::nullopt;
      return std::optional<std::string>{std::string(*k)};
    } else {
      return std::optional<std::string>{std::string(call_kv(key_fn_, r.key, r.value))};
    }
  }

  // Joins the batch in record order; `rows` is null when no key needed a lookup.
  void join(const batch_ptr& in, const std::vector<record_key>& keys, const expected<lookup_rows>* rows,
            processor_context& ctx) {
    const auto& b = static_cast<const record_batch<K, V>&>(*in);
    std::uint64_t joined = 0, dropped = 0, failed = 0;
    std::optional<std::runtime_error> lookup_error;
    if (rows && !rows->has_value()) {
      worker_.log_failure(ctx.task_id(), rows->error());
      lookup_error.emplace("lookup join " + name_ + ": PostgreSQL lookup failed (" + to_string(rows->error().code) +
                           "): " + rows->error().message);
    }
    auto out = make_batch_like<K, V2>(b, b.records.size());
    for (std::size_t i = 0; i < b.records.size(); ++i) {
      const auto& r = b.records[i];
      const auto& k = keys[i];
      if (k.state == key_state::failed) {
        ++failed;
        continue;
      }
      const lookup_row* row = nullptr;
      if (k.state == key_state::present) {
        if (lookup_error) {
          ctx.processing_failed(r.meta, name_, *lookup_error);
          ++failed;
          continue;
        }
        auto it = rows->value().find(k.key);
        if (it != rows->value().end() && it->second)
          row = &*it->second;
      }
      if (!row && kind_ == join_kind::inner) {
        ++dropped;
        continue;
      }
      try {
        out->records.push_back(record<K, V2>{r.key, call_joiner(joiner_, r.key, r.value, row), r.meta});
        ++joined;
      } catch (const std::exception& e) {
        ctx.processing_failed(r.meta, name_, e);
        ++failed;
      }
    }
    worker_.count(b.records.size(), joined, dropped, failed);
    if (!out->records.empty())
      ctx.forward(std::move(out));
  }

  lookup_worker worker_;
  KeyFn key_fn_;
  Joiner joiner_;
  join_kind kind_;
  std::string name_;
};

} // namespace detail

/// The lookup side of `stream.lookup_join`: a PostgreSQL table (or query) read through a batched,
/// cached postgres_lookup. Copies share metrics; every task's processor has its own connection,
/// cache and worker thread.
class postgres_lookup_source {
public:
  /// Validates `options` (throws std::invalid_argument naming the problem); connects lazily.
  explicit postgres_lookup_source(postgres_lookup_options options);

  /// The joined value type for the DSL: what `joiner` returns.
  template <class K, class V, class Joiner>
  using joined_type = detail::joiner_result_t<K, V, Joiner>;

  /// Makes the processor of one task (called by the DSL, once per task).
  template <class K, class V, class KeyFn, class Joiner>
  std::unique_ptr<processor> make_processor(KeyFn key_fn, Joiner joiner, join_kind kind,
                                            const std::string& node) const {
    using V2 = joined_type<K, V, Joiner>;
    return std::make_unique<detail::postgres_lookup_join_processor<K, V, V2, KeyFn, Joiner>>(
      state_, std::move(key_fn), std::move(joiner), kind, node);
  }

  /// Counters summed over every processor made from this source (and its copies); thread-safe.
  lookup_join_metrics metrics() const;

  /// Appends this source's counters, labelled `operator="<node>"`, to a scrape (/metrics).
  void collect_metrics(const std::string& node, std::vector<metric_sample>& out) const;

  /// The options every processor's lookup uses.
  const postgres_lookup_options& options() const;

private:
  std::shared_ptr<detail::lookup_source_state> state_;
};

/// Ready-made joiner for JSON values: the value's fields, then every column of the row that the
/// value does not already have (a non-object value becomes {"value": v}); a null row adds nothing.
struct merge_row_fn {
  /// Merged copy of `value` and `row`.
  boost::json::value operator()(const boost::json::value& value, const lookup_row* row) const;
};
/// The merge joiner: `stream.lookup_join(source, json_field_key("hostname"), merge_row)`.
inline constexpr merge_row_fn merge_row{};

/// A key_fn for JSON values: the field `name` as text (strings as-is, numbers as templates print
/// them); nullopt when the value is not an object, lacks the field, or it is null.
std::function<std::optional<std::string>(const boost::json::value&)> json_field_key(std::string name);

/// postgres_lookup_options from configuration properties (see docs/connectors.md), starting from
/// `base`: postgres.url, lookup.table, lookup.key.column, lookup.columns (comma-separated),
/// lookup.query, lookup.cache.max.rows, lookup.cache.ttl.ms, lookup.retry.backoff.min.ms,
/// lookup.retry.backoff.max.ms, lookup.max.attempts, lookup.query.timeout.ms. Unknown keys are
/// ignored; a malformed number throws std::invalid_argument naming the key. Without postgres.url
/// libpq's PG* environment variables apply.
postgres_lookup_options postgres_lookup_options_from(const std::map<std::string, std::string>& properties,
                                                     postgres_lookup_options base = {});

} // namespace sluice
