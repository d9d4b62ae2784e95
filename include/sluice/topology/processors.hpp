// The stateless processors behind the stream DSL. Internal: included by stream.hpp.
#pragma once

#include <sluice/topology/json_arena.hpp>
#include <sluice/topology/processor.hpp>
#include <sluice/topology/serdes.hpp>

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

namespace sluice::detail {

/// The typed batch behind `p` (the graph guarantees the type).
template <class K, class V>
record_batch<K, V>& records_of(const batch_ptr& p) {
  return static_cast<record_batch<K, V>&>(*p);
}

/// True if nobody else can see `p`, so its records may be moved from or changed in place.
inline bool exclusive(const batch_ptr& p) { return p.use_count() == 1; }

/// Calls `f` as f(key, value) or f(value), whichever it accepts.
template <class F, class K, class V>
decltype(auto) call_kv(F& f, const K& k, const V& v) {
  if constexpr (std::is_invocable_v<F&, const K&, const V&>)
    return f(k, v);
  else
    return f(v);
}

/// True if serde `S` can allocate its values from a given storage (JSON).
template <class S>
constexpr bool takes_storage = requires(S& s, std::string_view bytes, boost::json::storage_ptr sp) {
  s.deserialize(bytes, sp);
};

/// Deserializes `bytes` with `s`, allocating from `storage` if the serde can.
template <class S>
typename S::value_type deserialize_with(S& s, std::string_view bytes, const boost::json::storage_ptr& storage) {
  if constexpr (takes_storage<S>)
    return s.deserialize(bytes, storage);
  else
    return s.deserialize(bytes);
}

/// Where the values of a consumed batch are allocated: one arena for the whole batch (no heap
/// allocation per record) when a serde can use it, the default heap otherwise.
template <class KS, class VS>
boost::json::storage_ptr storage_for(const raw_batch& raw) {
  if constexpr (takes_storage<KS> || takes_storage<VS>)
    return make_json_arena(static_cast<size_t>(raw.bytes));
  else
    return {};
}

/// Deserializes consumed bytes into typed records; event time is the record's timestamp.
template <class KS, class VS>
class source_processor final : public processor {
public:
  using K = typename KS::value_type;
  using V = typename VS::value_type;
  void process(const batch_ptr& in, processor_context& ctx) override {
    const auto& raw = static_cast<const raw_batch&>(*in);
    auto out = make_batch_like<K, V>(raw, raw.records.size());
    const auto storage = storage_for<KS, VS>(raw);
    for (const auto& r : raw.records) {
      try {
        out->records.push_back(
          {deserialize_with(keys_, r.key, storage), deserialize_with(values_, r.value, storage), r.meta});
        ctx.observe_event_time(r.meta.timestamp);
      } catch (const std::exception& e) {
        ctx.deserialization_failed(r, e);
      }
    }
    if (!out->records.empty())
      ctx.forward(std::move(out));
  }

private:
  KS keys_;
  VS values_;
};

/// Keeps the records for which the predicate holds (or does not, when `negate`).
template <class K, class V, class F>
class filter_processor final : public processor {
public:
  filter_processor(F f, std::string name, bool negate) : f_(std::move(f)), name_(std::move(name)), negate_(negate) {}
  void process(const batch_ptr& in, processor_context& ctx) override {
    auto& b = records_of<K, V>(in);
    auto keep = [&](const record<K, V>& r) {
      try {
        return static_cast<bool>(call_kv(f_, r.key, r.value)) != negate_;
      } catch (const std::exception& e) {
        ctx.processing_failed(r.meta, name_, e);
        return false;
      }
    };
    if (exclusive(in)) {
      std::erase_if(b.records, [&](const record<K, V>& r) { return !keep(r); });
      if (!b.records.empty())
        ctx.forward(in);
      return;
    }
    auto out = make_batch_like<K, V>(b, b.records.size());
    for (const auto& r : b.records)
      if (keep(r))
        out->records.push_back(r);
    if (!out->records.empty())
      ctx.forward(std::move(out));
  }

private:
  F f_;
  std::string name_;
  bool negate_;
};

/// Replaces each value by f(value) or f(key, value).
template <class K, class V, class V2, class F>
class map_values_processor final : public processor {
public:
  map_values_processor(F f, std::string name) : f_(std::move(f)), name_(std::move(name)) {}
  void process(const batch_ptr& in, processor_context& ctx) override {
    auto& b = records_of<K, V>(in);
    auto out = make_batch_like<K, V2>(b, b.records.size());
    const bool steal = exclusive(in);
    for_each_record(b, ctx, name_, [&](record<K, V>& r) {
      V2 v = call_kv(f_, r.key, r.value);
      if (steal)
        out->records.push_back({std::move(r.key), std::move(v), r.meta});
      else
        out->records.push_back({r.key, std::move(v), r.meta});
    });
    if (!out->records.empty())
      ctx.forward(std::move(out));
  }

private:
  F f_;
  std::string name_;
};

/// Replaces each record by f(key, value), a std::pair<K2, V2>.
template <class K, class V, class K2, class V2, class F>
class map_processor final : public processor {
public:
  map_processor(F f, std::string name) : f_(std::move(f)), name_(std::move(name)) {}
  void process(const batch_ptr& in, processor_context& ctx) override {
    auto& b = records_of<K, V>(in);
    auto out = make_batch_like<K2, V2>(b, b.records.size());
    for_each_record(b, ctx, name_, [&](const record<K, V>& r) {
      auto kv = f_(r.key, r.value);
      out->records.push_back({std::move(kv.first), std::move(kv.second), r.meta});
    });
    if (!out->records.empty())
      ctx.forward(std::move(out));
  }

private:
  F f_;
  std::string name_;
};

/// Replaces each key by f(key, value) and keeps the value: moved, not copied, when the batch is
/// not shared (group_by's re-keying).
template <class K, class V, class K2, class F>
class select_key_processor final : public processor {
public:
  select_key_processor(F f, std::string name) : f_(std::move(f)), name_(std::move(name)) {}
  void process(const batch_ptr& in, processor_context& ctx) override {
    auto& b = records_of<K, V>(in);
    auto out = make_batch_like<K2, V>(b, b.records.size());
    const bool steal = exclusive(in);
    for_each_record(b, ctx, name_, [&](record<K, V>& r) {
      K2 k = f_(r.key, r.value);
      if (steal)
        out->records.push_back({std::move(k), std::move(r.value), r.meta});
      else
        out->records.push_back({std::move(k), r.value, r.meta});
    });
    if (!out->records.empty())
      ctx.forward(std::move(out));
  }

private:
  F f_;
  std::string name_;
};

/// Replaces each record by the records of f(key, value), a range of std::pair<K2, V2>.
template <class K, class V, class K2, class V2, class F>
class flat_map_processor final : public processor {
public:
  flat_map_processor(F f, std::string name) : f_(std::move(f)), name_(std::move(name)) {}
  void process(const batch_ptr& in, processor_context& ctx) override {
    auto& b = records_of<K, V>(in);
    auto out = make_batch_like<K2, V2>(b, b.records.size());
    for_each_record(b, ctx, name_, [&](const record<K, V>& r) {
      for (auto&& kv : f_(r.key, r.value))
        out->records.push_back({std::move(kv.first), std::move(kv.second), r.meta});
    });
    if (!out->records.empty())
      ctx.forward(std::move(out));
  }

private:
  F f_;
  std::string name_;
};

/// Replaces each record by one record per element of f(value) or f(key, value), keeping the key.
template <class K, class V, class V2, class F>
class flat_map_values_processor final : public processor {
public:
  flat_map_values_processor(F f, std::string name) : f_(std::move(f)), name_(std::move(name)) {}
  void process(const batch_ptr& in, processor_context& ctx) override {
    auto& b = records_of<K, V>(in);
    auto out = make_batch_like<K, V2>(b, b.records.size());
    for_each_record(b, ctx, name_, [&](const record<K, V>& r) {
      for (auto&& v : call_kv(f_, r.key, r.value))
        out->records.push_back({r.key, std::move(v), r.meta});
    });
    if (!out->records.empty())
      ctx.forward(std::move(out));
  }

private:
  F f_;
  std::string name_;
};

/// Calls f(key, value) for each record; forwards the batch unchanged unless `terminal`.
template <class K, class V, class F>
class peek_processor final : public processor {
public:
  peek_processor(F f, std::string name, bool terminal)
      : f_(std::move(f)), name_(std::move(name)), terminal_(terminal) {}
  void process(const batch_ptr& in, processor_context& ctx) override {
    for_each_record(records_of<K, V>(in), ctx, name_, [&](const record<K, V>& r) { f_(r.key, r.value); });
    if (!terminal_)
      ctx.forward(in);
  }

private:
  F f_;
  std::string name_;
  bool terminal_;
};

/// Sends each record to the output port of the first predicate it satisfies; drops the others.
template <class K, class V, class P>
class split_processor final : public processor {
public:
  split_processor(std::vector<P> predicates, std::string name)
      : predicates_(std::move(predicates)), name_(std::move(name)) {}
  void process(const batch_ptr& in, processor_context& ctx) override {
    auto& b = records_of<K, V>(in);
    std::vector<std::shared_ptr<record_batch<K, V>>> outs(predicates_.size());
    for_each_record(b, ctx, name_, [&](const record<K, V>& r) {
      for (size_t i = 0; i < predicates_.size(); ++i) {
        if (call_kv(predicates_[i], r.key, r.value)) {
          if (!outs[i])
            outs[i] = make_batch_like<K, V>(b, b.records.size());
          outs[i]->records.push_back(r);
          return;
        }
      }
    });
    for (size_t i = 0; i < outs.size(); ++i)
      if (outs[i])
        ctx.forward(std::move(outs[i]), static_cast<int>(i));
  }

private:
  std::vector<P> predicates_;
  std::string name_;
};

/// Forwards every batch unchanged (merge points).
class pass_through_processor final : public processor {
public:
  void process(const batch_ptr& in, processor_context& ctx) override { ctx.forward(in); }
};

/// Serializes records and writes them to a topic.
template <class K, class V, class KS, class VS>
class sink_processor final : public processor {
public:
  sink_processor(std::string topic, std::string name) : topic_name_(std::move(topic)), name_(std::move(name)) {}
  void init(processor_context& ctx) override { topic_ = ctx.sink_topic(topic_name_); }
  void process(const batch_ptr& in, processor_context& ctx) override {
    for_each_record(records_of<K, V>(in), ctx, name_, [&](const record<K, V>& r) {
      keys_.serialize(r.key, key_buf_);
      values_.serialize(r.value, value_buf_);
      ctx.produce(topic_, key_buf_, value_buf_, r.meta);
    });
  }

private:
  std::string topic_name_;
  std::string name_;
  int topic_ = -1;
  KS keys_;
  VS values_;
  std::string key_buf_, value_buf_;
};

} // namespace sluice::detail
