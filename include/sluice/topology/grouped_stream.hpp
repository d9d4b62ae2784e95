// `grouped_stream` and `windowed_stream`: the stateful half of the DSL, as Kafka Streams'
// KGroupedStream and TimeWindowedKStream/SessionWindowedKStream. Aggregations return tables.
#pragma once

#include <sluice/topology/table.hpp>

namespace sluice {

/// Serdes (and a name) for `group_by`/`group_by_key`: KS for the key, VS for the value, used by
/// the repartition topic, the stores and the late-records topic.
template <serde KS, serde VS>
struct grouped {
  std::string name; ///< names the repartition topic "<name>-repartition"; empty = generated
};

namespace detail {
struct use_default {};
template <class S, class T>
struct serde_or_default {
  using type = S;
};
template <class T>
struct serde_or_default<use_default, T> {
  using type = typename default_serde<T>::type;
};
template <class S, class T>
using serde_or_default_t = typename serde_or_default<S, T>::type;
} // namespace detail

/// A stream grouped by key: every record of a key is in one task, ready to aggregate.
template <class K, class V, serde KS, serde VS>
class grouped_stream {
public:
  /// Windows the groups: aggregations then run per key and window.
  windowed_stream<K, V, KS, VS> windowed_by(windows w) const { return {b_, node_, port_, std::move(w)}; }

  /// Folds each key's records: agg = adder(key, value, agg), starting from init(); AS
  /// serializes the aggregate (default: default_serde of its type). Store: "<name>-store".
  template <class AS = detail::use_default, class Init, class Adder,
            class A = std::remove_cvref_t<std::invoke_result_t<Init&>>>
  auto aggregate(Init init, Adder adder, std::string name = {}) const {
    using S = detail::serde_or_default_t<AS, A>;
    return kv<detail::aggregate_policy<K, V, S, Init, Adder, detail::no_merger>>(
      {std::move(init), std::move(adder), {}}, std::move(name), "KSTREAM-AGGREGATE");
  }

  /// Kafka Streams' reduce: the first value, then reducer(aggregate, value).
  template <class Reducer>
  table<K, V, KS, VS> reduce(Reducer reducer, std::string name = {}) const {
    return kv<detail::reduce_policy<K, V, VS, Reducer>>(detail::reduce_policy<K, V, VS, Reducer>{std::move(reducer)},
                                                        std::move(name), "KSTREAM-REDUCE");
  }

  /// Records per key, as int64.
  table<K, int64_t, KS, serdes::int64> count(std::string name = {}) const {
    return kv<detail::count_policy<K, V>>({}, std::move(name), "KSTREAM-COUNT");
  }

  /// Several built-in aggregations (agg::count, sum, mean, min, max) as one JSON object per key.
  table<K, boost::json::value, KS, serdes::json> agg(std::vector<field_aggregation<V>> aggregations,
                                                     std::string name = {}) const {
    return kv<detail::fields_policy<K, V>>(detail::fields_policy<K, V>{std::move(aggregations)}, std::move(name),
                                           "KSTREAM-AGG");
  }

private:
  template <class, class>
  friend class stream;
  grouped_stream(topology_builder* b, int node, int port) : b_(b), node_(node), port_(port) {}

  template <class P, class R = typename P::result_type>
  table<K, R, KS, typename P::result_serde> kv(P policy, std::string name, const char* kind) const {
    auto n = name.empty() ? b_->next_name(kind) : name;
    auto node = b_->add_node(n, node_kind::processor, {{node_, port_}}, {}, [policy, n] {
      return std::make_unique<detail::kv_aggregate_processor<K, V, KS, P>>(policy, n);
    });
    b_->node(node).store = store_spec{n + "-store", false, 0, detail::aggregate_store_view<KS>(policy)};
    return table<K, R, KS, typename P::result_serde>{b_, node, 0};
  }

  topology_builder* b_;
  int node_;
  int port_;
};

/// A grouped stream with windows: aggregations run per key and window and give a table keyed
/// by `windowed<K>`, emitted as `windows::emission` says.
template <class K, class V, serde KS, serde VS>
class windowed_stream {
public:
  /// As `grouped_stream::aggregate`, per window. Session windows need the merger overload.
  template <class AS = detail::use_default, class Init, class Adder,
            class A = std::remove_cvref_t<std::invoke_result_t<Init&>>>
  auto aggregate(Init init, Adder adder, std::string name = {}) const {
    using S = detail::serde_or_default_t<AS, A>;
    return windowed_aggregate<detail::aggregate_policy<K, V, S, Init, Adder, detail::no_merger>>(
      {std::move(init), std::move(adder), {}}, std::move(name), "KSTREAM-AGGREGATE");
  }

  /// As `aggregate`, with merger(key, agg1, agg2) combining sessions a record bridges.
  template <class AS = detail::use_default, class Init, class Adder, class Merger,
            class A = std::remove_cvref_t<std::invoke_result_t<Init&>>>
  requires(!std::is_convertible_v<Merger, std::string>) auto aggregate(Init init, Adder adder, Merger merger,
                                                                       std::string name = {}) const {
    using S = detail::serde_or_default_t<AS, A>;
    return windowed_aggregate<detail::aggregate_policy<K, V, S, Init, Adder, Merger>>(
      {std::move(init), std::move(adder), std::move(merger)}, std::move(name), "KSTREAM-AGGREGATE");
  }

  /// As `grouped_stream::reduce`, per window.
  template <class Reducer>
  auto reduce(Reducer reducer, std::string name = {}) const {
    return windowed_aggregate<detail::reduce_policy<K, V, VS, Reducer>>(
      detail::reduce_policy<K, V, VS, Reducer>{std::move(reducer)}, std::move(name), "KSTREAM-REDUCE");
  }

  /// Records per key and window.
  auto count(std::string name = {}) const {
    return windowed_aggregate<detail::count_policy<K, V>>({}, std::move(name), "KSTREAM-COUNT");
  }

  /// Built-in aggregations per key and window as one JSON object, e.g.
  /// `agg({agg::mean("usage", "usage_avg"), agg::max("usage", "usage_max")})`.
  auto agg(std::vector<field_aggregation<V>> aggregations, std::string name = {}) const {
    return windowed_aggregate<detail::fields_policy<K, V>>(detail::fields_policy<K, V>{std::move(aggregations)},
                                                           std::move(name), "KSTREAM-AGG");
  }

private:
  template <class, class, serde, serde>
  friend class grouped_stream;
  windowed_stream(topology_builder* b, int node, int port, windows w)
      : b_(b), node_(node), port_(port), w_(std::move(w)) {}

  template <class P, class R = typename P::result_type>
  table<windowed<K>, R, serdes::windowed_json<KS>, typename P::result_serde>
  windowed_aggregate(P policy, std::string name, const char* kind) const {
    if (w_.size_ms <= 0 || (w_.kind == window_kind::time && (w_.advance_ms <= 0 || w_.advance_ms > w_.size_ms)) ||
        w_.grace_ms < 0)
      throw topology_error("bad window definition: need size > 0, 0 < advance <= size, grace >= 0");
    if (w_.kind == window_kind::session && !P::mergeable)
      throw topology_error("session windows need aggregate(init, adder, merger): bridged sessions are merged");
    auto n = name.empty() ? b_->next_name(kind) : name;
    auto w = w_;
    auto node =
      b_->add_node(n, node_kind::processor, {{node_, port_}}, {}, [policy, w, n]() -> std::unique_ptr<processor> {
        switch (w.kind) {
        case window_kind::time:
          return std::make_unique<detail::time_window_aggregate_processor<K, V, KS, VS, P>>(w, policy, n);
        case window_kind::sliding:
          return std::make_unique<detail::sliding_window_aggregate_processor<K, V, KS, VS, P>>(w, policy, n);
        case window_kind::session:
          return std::make_unique<detail::session_window_aggregate_processor<K, V, KS, VS, P>>(w, policy, n);
        }
        return nullptr;
      });
    b_->node(node).store =
      store_spec{n + "-store", true, w_.effective_retention_ms(), detail::aggregate_store_view<KS>(policy)};
    return {b_, node, 0};
  }

  topology_builder* b_;
  int node_;
  int port_;
  windows w_;
};

} // namespace sluice
