// The stateful processors behind the DSL: timestamped sources, aggregations (key-value, time,
// sliding and session windows), tables and top-n. Internal: included by grouped_stream.hpp and
// table.hpp. Stores come from `processor_context` (the node's `store_spec`); every store key and
// value is encoded into buffers the processor reuses.
#pragma once

#include <sluice/topology/aggregations.hpp>
#include <sluice/topology/errors.hpp>
#include <sluice/topology/processors.hpp>
#include <sluice/topology/timestamp_extractor.hpp>
#include <sluice/topology/windows.hpp>

#include <limits>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace sluice::detail {

/// A store read or write failed: fatal for the task (never dead-lettered as a bad record).
class state_failure : public stream_error {
  using stream_error::stream_error;
};

/// The value of `r`, or throws `state_failure`.
template <class T>
T checked(expected<T> r, const char* what) {
  if (!r)
    throw state_failure(std::string{what} + ": " + r.error().message);
  return std::move(r).value();
}
inline void checked(expected<void> r, const char* what) {
  if (!r)
    throw state_failure(std::string{what} + ": " + r.error().message);
}

/// As `for_each_record`, but store failures stop the task instead of dead-lettering.
template <class Records, class F>
void each_record(Records& records, processor_context& ctx, std::string_view node, F&& fn) {
  for (auto& r : records) {
    try {
      fn(r);
    } catch (const stream_error&) {
      throw;
    } catch (const std::exception& e) {
      ctx.processing_failed(r.meta, node, e);
    }
  }
}

/// Floor division (rounds toward negative infinity).
inline int64_t floor_div(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

/// Deserializes consumed bytes and sets each record's event time with a timestamp extractor.
template <serde KS, serde VS>
class timestamped_source_processor final : public processor {
public:
  using K = typename KS::value_type;
  using V = typename VS::value_type;
  timestamped_source_processor(consumed<V> options, std::string name)
      : options_(std::move(options)), name_(std::move(name)) {}
  void process(const batch_ptr& in, processor_context& ctx) override {
    const auto& raw = static_cast<const raw_batch&>(*in);
    auto out = make_batch_like<K, V>(raw, raw.records.size());
    const auto storage = storage_for<KS, VS>(raw);
    for (const auto& r : raw.records) {
      try {
        out->records.push_back(
          {deserialize_with(keys_, r.key, storage), deserialize_with(values_, r.value, storage), r.meta});
      } catch (const std::exception& e) {
        ctx.deserialization_failed(r, e);
        continue;
      }
      auto& rec = out->records.back();
      try {
        rec.meta.timestamp = event_time(options_, rec.value, r.meta);
      } catch (const std::exception& e) {
        ctx.processing_failed(r.meta, name_, e);
        out->records.pop_back();
        continue;
      }
      ctx.observe_event_time(rec.meta.timestamp);
    }
    if (!out->records.empty())
      ctx.forward(std::move(out));
  }

  /// The event time of `value` by `options`; throws `missing_timestamp` without one and no fallback.
  static int64_t event_time(consumed<V>& options, const V& value, const record_meta& meta) {
    if (!options.timestamp)
      return meta.timestamp;
    if (auto t = options.timestamp(value, meta))
      return *t;
    if (options.fallback_to_record_timestamp)
      return meta.timestamp;
    throw missing_timestamp("record has no usable event time");
  }

private:
  consumed<V> options_;
  std::string name_;
  KS keys_;
  VS values_;
};

/// Non-windowed aggregation into the node's key-value store (serialized key -> encoded
/// aggregate); emits the new aggregate of the key on every record (a table update).
template <class K, class V, serde KS, class P>
class kv_aggregate_processor final : public processor {
public:
  using R = typename P::result_type;
  kv_aggregate_processor(P policy, std::string name) : policy_(std::move(policy)), name_(std::move(name)) {}
  void process(const batch_ptr& in, processor_context& ctx) override {
    auto& b = records_of<K, V>(in);
    auto& store = ctx.key_value_state();
    auto out = make_batch_like<K, std::optional<R>>(b, b.records.size());
    each_record(b.records, ctx, name_, [&](const record<K, V>& r) {
      keys_.serialize(r.key, key_buf_);
      if (checked(store.get_into(key_buf_, value_buf_), "aggregate read")) {
        policy_.decode(value_buf_, agg_);
        policy_.add(agg_, r.key, r.value);
      } else {
        policy_.first(agg_, r.key, r.value);
      }
      policy_.encode(agg_, value_buf_);
      checked(store.put(key_buf_, value_buf_, r.meta.timestamp), "aggregate write");
      out->records.push_back({r.key, std::optional<R>{policy_.result(agg_)}, r.meta});
    });
    if (!out->records.empty())
      ctx.forward(std::move(out));
  }

private:
  P policy_;
  std::string name_;
  KS keys_;
  std::string key_buf_, value_buf_;
  typename P::agg_type agg_{};
};

/// What the three windowed aggregations share: the watermark, lateness and final emission. A
/// window lives in the store under a "store start" (its start; a session's end) and is closed
/// once store start <= watermark - `close_offset`. A record is late when every window it would
/// go into is closed. The watermark is the node's (docs/windowing.md): restored from the last
/// commit, so windows it closed were emitted before, and moved forward by `advance`.
template <class K, class V, serde KS, serde VS, class P>
class window_aggregate_base : public processor {
public:
  using R = typename P::result_type;
  using A = typename P::agg_type;
  using out_batch = record_batch<windowed<K>, std::optional<R>>;

  window_aggregate_base(windows w, P policy, std::string name, int64_t close_offset)
      : w_(std::move(w)), policy_(std::move(policy)), name_(std::move(name)), close_offset_(close_offset) {}

  void init(processor_context& ctx) override {
    if (!w_.late_records_topic.empty())
      late_topic_ = ctx.sink_topic(w_.late_records_topic);
    watermark_ = emitted_up_to_ = ctx.watermark();
    if (watermark_ != no_watermark)
      ctx.window_state().advance_time(watermark_);
  }

  void process(const batch_ptr& in, processor_context& ctx) override {
    auto& b = records_of<K, V>(in);
    auto& store = ctx.window_state();
    auto out = make_batch_like<windowed<K>, std::optional<R>>(b, final() ? 0 : b.records.size());
    each_record(b.records, ctx, name_, [&](const record<K, V>& r) {
      keys_.serialize(r.key, key_buf_);
      if (!aggregate(store, r, *out))
        late(r, ctx);
    });
    if (!out->records.empty())
      ctx.forward(std::move(out));
  }

  void advance(int64_t watermark, processor_context& ctx) override {
    watermark_ = watermark;
    auto& store = ctx.window_state();
    if (final()) {
      auto out = std::make_shared<out_batch>();
      emit_closed(store, *out, ctx);
      if (!out->records.empty())
        ctx.forward(std::move(out));
    }
    store.advance_time(watermark); // retention counts behind the watermark
  }

protected:
  /// Folds `r` (key already in `key_buf_`) into its open windows; false if all were closed.
  virtual bool aggregate(window_store& store, const record<K, V>& r, out_batch& out) = 0;
  /// The window of a stored entry, for final emission: (start, end) as reported.
  virtual std::pair<int64_t, int64_t> bounds(int64_t store_start, std::string_view value) const = 0;
  /// The aggregate bytes of a stored value.
  virtual std::string_view agg_bytes(std::string_view value) const = 0;

  bool final() const { return w_.emission == emit_strategy::final; }
  /// True if the window stored under `store_start` is closed (nothing is before any watermark).
  bool closed(int64_t store_start) const {
    return watermark_ != no_watermark && store_start <= watermark_ - close_offset_;
  }

  /// Adds a current-mode update of window [start, end) holding `agg` to `out`; the result (a
  /// JSON row, say) is built only then, never under final emission.
  void emit(out_batch& out, const K& key, int64_t start, int64_t end, const A& agg, const record_meta& meta) {
    if (!final())
      out.records.push_back({windowed<K>{key, start, end}, std::optional<R>{policy_.result(agg)}, meta});
  }
  /// Adds a current-mode retraction of window [start, end) to `out`.
  void retract(out_batch& out, const K& key, int64_t start, int64_t end, const record_meta& meta) {
    if (!final())
      out.records.push_back({windowed<K>{key, start, end}, std::nullopt, meta});
  }

  windows w_;
  P policy_;
  std::string name_;
  KS keys_;
  VS values_;
  std::string key_buf_, value_buf_;
  A agg_{}, other_{};
  int64_t watermark_ = no_watermark;

private:
  void late(const record<K, V>& r, processor_context& ctx) {
    w_.late_records->fetch_add(1, std::memory_order_relaxed);
    ctx.late_record(r.meta, name_);
    if (late_topic_ < 0)
      return;
    values_.serialize(r.value, late_value_);
    ctx.produce(late_topic_, key_buf_, late_value_, r.meta);
  }

  // Final emission: every window that closed since the last call, ordered by start then key.
  void emit_closed(window_store& store, out_batch& out, processor_context& ctx) {
    if (watermark_ == no_watermark)
      return;
    constexpr int64_t lowest = std::numeric_limits<int64_t>::min();
    const int64_t to = watermark_ - close_offset_;
    const int64_t from = emitted_up_to_ != no_watermark ? emitted_up_to_ - close_offset_ + 1 : lowest;
    emitted_up_to_ = watermark_;
    if (from > to)
      return;
    auto it = store.fetch_all(from, to);
    for (; it->valid(); it->next()) {
      auto [start, end] = bounds(it->window_start(), it->value());
      record_meta meta;
      meta.timestamp = end;
      try {
        policy_.decode(agg_bytes(it->value()), agg_);
        out.records.push_back(
          {windowed<K>{keys_.deserialize(it->key()), start, end}, std::optional<R>{policy_.result(agg_)}, meta});
      } catch (const std::exception& e) {
        ctx.processing_failed(meta, name_, e);
      }
    }
    if (auto s = it->status())
      throw state_failure("window scan: " + s->message);
  }

  int64_t close_offset_;
  int64_t emitted_up_to_ = no_watermark;
  int late_topic_ = -1;
  std::string late_value_;
};

/// Tumbling and hopping windows: epoch-aligned [s, s + size) for s = k * advance.
template <class K, class V, serde KS, serde VS, class P>
class time_window_aggregate_processor final : public window_aggregate_base<K, V, KS, VS, P> {
  using base = window_aggregate_base<K, V, KS, VS, P>;

public:
  time_window_aggregate_processor(windows w, P policy, std::string name)
      : base(w, std::move(policy), std::move(name), w.size_ms + w.grace_ms) {}

protected:
  bool aggregate(window_store& store, const record<K, V>& r, typename base::out_batch& out) override {
    const int64_t size = this->w_.size_ms, advance = this->w_.advance_ms, ts = r.meta.timestamp;
    const int64_t first = (floor_div(ts - size, advance) + 1) * advance; // smallest start with ts < start + size
    bool any = false;
    for (int64_t s = first; s <= ts; s += advance) {
      if (this->closed(s))
        continue;
      any = true;
      if (checked(store.fetch_into(this->key_buf_, s, this->value_buf_), "window read")) {
        this->policy_.decode(this->value_buf_, this->agg_);
        this->policy_.add(this->agg_, r.key, r.value);
      } else {
        this->policy_.first(this->agg_, r.key, r.value);
      }
      this->policy_.encode(this->agg_, this->value_buf_);
      checked(store.put(this->key_buf_, s, this->value_buf_, ts), "window write");
      this->emit(out, r.key, s, s + size, this->agg_, r.meta);
    }
    return any;
  }
  std::pair<int64_t, int64_t> bounds(int64_t s, std::string_view) const override { return {s, s + this->w_.size_ms}; }
  std::string_view agg_bytes(std::string_view v) const override { return v; }
};

/// Kafka Streams' sliding windows [s, s + d] (inclusive), created and filled as its
/// KStreamSlidingWindowAggregate does: a record's left window [t - d, t], the right window
/// [p + 1, p + 1 + d] of the previous record p, and the record's own right window when later
/// records exist. Stored value: max record timestamp (8 bytes) | aggregate.
template <class K, class V, serde KS, serde VS, class P>
class sliding_window_aggregate_processor final : public window_aggregate_base<K, V, KS, VS, P> {
  using base = window_aggregate_base<K, V, KS, VS, P>;

public:
  sliding_window_aggregate_processor(windows w, P policy, std::string name)
      : base(w, std::move(policy), std::move(name), w.size_ms + w.grace_ms + 1) {}

protected:
  struct entry {
    int64_t start = 0;
    int64_t max_ts = 0;
    std::string agg; // reused between records
  };

  bool aggregate(window_store& store, const record<K, V>& r, typename base::out_batch& out) override {
    const int64_t d = this->w_.size_ms, ts = r.meta.timestamp;
    if (this->closed(ts)) // every window holding ts ends by ts + d: all closed
      return false;
    // Windows that may hold ts, end before it (the previous record's), or start right after it.
    size_t n = 0;
    {
      auto it = store.fetch(this->key_buf_, ts - 2 * d, ts + 1);
      for (; it->valid(); it->next(), ++n) {
        if (n == entries_.size())
          entries_.emplace_back();
        auto v = it->value();
        if (v.size() < 8)
          throw std::invalid_argument("corrupt sliding window in store");
        entries_[n].start = it->window_start();
        entries_[n].max_ts = read_i64(v);
        entries_[n].agg.assign(v.substr(8));
      }
      if (auto s = it->status())
        throw state_failure("window scan: " + s->message);
    }
    std::optional<int64_t> previous;
    int left = -1, right = -1;
    bool left_exists = false, right_exists = false;
    for (size_t i = 0; i < n; ++i) {
      auto& e = entries_[i];
      const int64_t end = e.start + d;
      if (end < ts) {
        left = static_cast<int>(i);
        previous = e.max_ts;
      } else if (end == ts) {
        left_exists = true;
        if (e.max_ts < ts)
          previous = e.max_ts;
        update(store, r, e.start, e.max_ts, e.agg, out);
      } else if (e.start <= ts) {
        right = static_cast<int>(i); // aggregate before this record: it seeds ts's right window
        update(store, r, e.start, e.max_ts, e.agg, out);
      } else {
        right_exists = true; // e.start == ts + 1
      }
    }
    auto has_start = [&](int64_t s) {
      for (size_t i = 0; i < n; ++i)
        if (entries_[i].start == s)
          return true;
      return false;
    };
    if (previous && !has_start(*previous + 1) && *previous + 1 + d >= ts)
      put_first(store, r, *previous + 1, out); // the previous record's right window now holds ts
    if (!left_exists) {
      if (previous && left >= 0 && *previous >= ts - d)
        update(store, r, ts - d, ts, entries_[static_cast<size_t>(left)].agg, out);
      else
        put_first(store, r, ts - d, out);
    }
    if (!right_exists && right >= 0 && entries_[static_cast<size_t>(right)].max_ts > ts) {
      const auto& e = entries_[static_cast<size_t>(right)];
      if (!this->closed(ts + 1)) {
        write(store, ts + 1, e.max_ts, e.agg, ts);
        if (!this->final()) {
          this->policy_.decode(e.agg, this->agg_);
          this->emit(out, r.key, ts + 1, ts + 1 + d, this->agg_, r.meta);
        }
      }
    }
    return true;
  }

  std::pair<int64_t, int64_t> bounds(int64_t s, std::string_view) const override { return {s, s + this->w_.size_ms}; }
  std::string_view agg_bytes(std::string_view v) const override { return v.substr(8); }

private:
  // Window `start` := (aggregate `agg` + r), max timestamp max(max_ts, r's).
  void update(window_store& store, const record<K, V>& r, int64_t start, int64_t max_ts, std::string_view agg,
              typename base::out_batch& out) {
    if (this->closed(start))
      return;
    this->policy_.decode(agg, this->agg_);
    this->policy_.add(this->agg_, r.key, r.value);
    finish(store, r, start, std::max(max_ts, r.meta.timestamp), out);
  }
  void put_first(window_store& store, const record<K, V>& r, int64_t start, typename base::out_batch& out) {
    if (this->closed(start))
      return;
    this->policy_.first(this->agg_, r.key, r.value);
    finish(store, r, start, r.meta.timestamp, out);
  }
  void finish(window_store& store, const record<K, V>& r, int64_t start, int64_t max_ts,
              typename base::out_batch& out) {
    this->policy_.encode(this->agg_, agg_buf_);
    write(store, start, max_ts, agg_buf_, r.meta.timestamp);
    this->emit(out, r.key, start, start + this->w_.size_ms, this->agg_, r.meta);
  }
  void write(window_store& store, int64_t start, int64_t max_ts, std::string_view agg, int64_t ts) {
    this->value_buf_.clear();
    append_i64(this->value_buf_, max_ts);
    this->value_buf_.append(agg);
    checked(store.put(this->key_buf_, start, this->value_buf_, ts), "window write");
  }

  std::vector<entry> entries_;
  std::string agg_buf_;
};

/// Session windows: a key's records less than or exactly `gap` apart share a session
/// [first, last]; a record bridging sessions merges them (the old ones are retracted). Stored
/// under the session end (so retention counts from the end); value: start (8 bytes) | aggregate.
template <class K, class V, serde KS, serde VS, class P>
class session_window_aggregate_processor final : public window_aggregate_base<K, V, KS, VS, P> {
  using base = window_aggregate_base<K, V, KS, VS, P>;

public:
  session_window_aggregate_processor(windows w, P policy, std::string name)
      : base(w, std::move(policy), std::move(name), w.size_ms + w.grace_ms + 1) {}

protected:
  struct entry {
    int64_t start = 0;
    int64_t end = 0;
    std::string agg;
  };

  bool aggregate(window_store& store, const record<K, V>& r, typename base::out_batch& out) override {
    const int64_t gap = this->w_.size_ms, ts = r.meta.timestamp;
    size_t n = 0;
    int64_t start = ts, end = ts;
    {
      auto it = store.fetch(this->key_buf_, ts - gap, std::numeric_limits<int64_t>::max());
      for (; it->valid(); it->next()) {
        auto v = it->value();
        if (v.size() < 8)
          throw std::invalid_argument("corrupt session in store");
        const int64_t s = read_i64(v);
        if (s > ts + gap)
          continue;
        if (n == entries_.size())
          entries_.emplace_back();
        entries_[n].start = s;
        entries_[n].end = it->window_start();
        entries_[n].agg.assign(v.substr(8));
        start = std::min(start, s);
        end = std::max(end, entries_[n].end);
        ++n;
      }
      if (auto s = it->status())
        throw state_failure("session scan: " + s->message);
    }
    if (this->watermark_ != no_watermark &&
        end < this->watermark_ - this->w_.grace_ms) // the merged session is already closed
      return false;
    if (n == 0) {
      this->policy_.first(this->agg_, r.key, r.value);
    } else {
      this->policy_.decode(entries_[0].agg, this->agg_);
      for (size_t i = 1; i < n; ++i) {
        this->policy_.decode(entries_[i].agg, this->other_);
        this->policy_.merge(this->agg_, this->other_, r.key);
      }
      this->policy_.add(this->agg_, r.key, r.value);
    }
    for (size_t i = 0; i < n; ++i) {
      const auto& e = entries_[i];
      if (e.start == start && e.end == end)
        continue;
      if (e.end != end)
        checked(store.remove(this->key_buf_, e.end, ts), "session delete");
      this->retract(out, r.key, e.start, e.end, r.meta); // the merged-away session
    }
    this->value_buf_.clear();
    append_i64(this->value_buf_, start);
    this->policy_.encode(this->agg_, agg_buf_);
    this->value_buf_.append(agg_buf_);
    checked(store.put(this->key_buf_, end, this->value_buf_, ts), "session write");
    this->emit(out, r.key, start, end, this->agg_, r.meta);
    return true;
  }

  std::pair<int64_t, int64_t> bounds(int64_t end, std::string_view v) const override { return {read_i64(v), end}; }
  std::string_view agg_bytes(std::string_view v) const override { return v.substr(8); }

private:
  std::vector<entry> entries_;
  std::string agg_buf_;
};

/// A table from a topic: latest value per key in the node's key-value store (the consumed
/// bytes as they are); an empty or null value is a tombstone that deletes the key.
template <serde KS, serde VS>
class table_source_processor final : public processor {
public:
  using K = typename KS::value_type;
  using V = typename VS::value_type;
  table_source_processor(consumed<V> options, std::string name)
      : options_(std::move(options)), name_(std::move(name)) {}
  void process(const batch_ptr& in, processor_context& ctx) override {
    const auto& raw = static_cast<const raw_batch&>(*in);
    auto& store = ctx.key_value_state();
    auto out = make_batch_like<K, std::optional<V>>(raw, raw.records.size());
    for (const auto& r : raw.records) {
      record<K, std::optional<V>> rec;
      const bool tombstone = r.value_is_null || r.value.empty();
      try {
        rec = {keys_.deserialize(r.key), tombstone ? std::nullopt : std::optional<V>{values_.deserialize(r.value)},
               r.meta};
      } catch (const std::exception& e) {
        ctx.deserialization_failed(r, e);
        continue;
      }
      try {
        if (rec.value)
          rec.meta.timestamp = timestamped_source_processor<KS, VS>::event_time(options_, *rec.value, r.meta);
        if (tombstone)
          checked(store.remove(r.key, rec.meta.timestamp), "table delete");
        else
          checked(store.put(r.key, r.value, rec.meta.timestamp), "table write");
      } catch (const stream_error&) {
        throw;
      } catch (const std::exception& e) {
        ctx.processing_failed(r.meta, name_, e);
        continue;
      }
      out->records.push_back(std::move(rec));
    }
    if (!out->records.empty())
      ctx.forward(std::move(out));
  }

private:
  consumed<V> options_;
  std::string name_;
  KS keys_;
  VS values_;
};

/// A table's updates as a stream: deletes are dropped, values unwrapped.
template <class K, class V>
class table_to_stream_processor final : public processor {
public:
  void process(const batch_ptr& in, processor_context& ctx) override {
    auto& b = records_of<K, std::optional<V>>(in);
    auto out = make_batch_like<K, V>(b, b.records.size());
    const bool steal = exclusive(in);
    for (auto& r : b.records)
      if (r.value) {
        if (steal)
          out->records.push_back({std::move(r.key), std::move(*r.value), r.meta});
        else
          out->records.push_back({r.key, *r.value, r.meta});
      }
    if (!out->records.empty())
      ctx.forward(std::move(out));
  }
};

/// Table filter: a value failing `f` becomes a delete, so downstream forgets the key.
template <class K, class V, class F>
class table_filter_processor final : public processor {
public:
  table_filter_processor(F f, std::string name) : f_(std::move(f)), name_(std::move(name)) {}
  void process(const batch_ptr& in, processor_context& ctx) override {
    auto& b = records_of<K, std::optional<V>>(in);
    auto out = make_batch_like<K, std::optional<V>>(b, b.records.size());
    each_record(b.records, ctx, name_, [&](const record<K, std::optional<V>>& r) {
      const bool keep = r.value && call_kv(f_, r.key, *r.value);
      out->records.push_back({r.key, keep ? r.value : std::nullopt, r.meta});
    });
    if (!out->records.empty())
      ctx.forward(std::move(out));
  }

private:
  F f_;
  std::string name_;
};

/// Table map_values: maps present values, passes deletes.
template <class K, class V, class V2, class F>
class table_map_values_processor final : public processor {
public:
  table_map_values_processor(F f, std::string name) : f_(std::move(f)), name_(std::move(name)) {}
  void process(const batch_ptr& in, processor_context& ctx) override {
    auto& b = records_of<K, std::optional<V>>(in);
    auto out = make_batch_like<K, std::optional<V2>>(b, b.records.size());
    each_record(b.records, ctx, name_, [&](const record<K, std::optional<V>>& r) {
      out->records.push_back({r.key, r.value ? std::optional<V2>{call_kv(f_, r.key, *r.value)} : std::nullopt, r.meta});
    });
    if (!out->records.empty())
      ctx.forward(std::move(out));
  }

private:
  F f_;
  std::string name_;
};

} // namespace sluice::detail
