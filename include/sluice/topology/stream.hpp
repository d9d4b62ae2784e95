// `stream<K, V>`: a typed handle on an unbounded stream of records, as Kafka Streams' KStream.
// Every operation adds a node to the builder's graph and returns a handle on its output.
#pragma once

#include <sluice/topology/processors.hpp>
#include <sluice/topology/stateful_processors.hpp>
#include <sluice/topology/topology_builder.hpp>

#include <functional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace sluice {

/// The serde used by `to(topic)` when none is named: string, json, int64, json_text.
template <class T>
struct default_serde;
template <>
struct default_serde<std::string> {
  using type = serdes::string;
};
template <>
struct default_serde<boost::json::value> {
  using type = serdes::json;
};
template <>
struct default_serde<int64_t> {
  using type = serdes::int64;
};
template <>
struct default_serde<json_text> {
  using type = serdes::json_text;
};

/// The value serde of an alerts topic: V's default serde, for JSON `typed_json`, so an alert
/// renders as it did before the topic (a double 95.0 stays "95.0" in a message template).
template <class V>
struct alert_serde : default_serde<V> {};
template <>
struct alert_serde<boost::json::value> {
  using type = serdes::typed_json;
};

template <class K, class V, serde KS, serde VS>
class grouped_stream;
template <class K, class V, serde KS, serde VS>
class windowed_stream;
template <serde KS, serde VS>
struct grouped;

/// Inner joins drop records without a match; left joins keep them with a null row.
enum class join_kind { inner, left };

namespace detail {
template <class F, class K, class V>
using kv_result_t =
  std::remove_cvref_t<decltype(call_kv(std::declval<F&>(), std::declval<const K&>(), std::declval<const V&>()))>;
} // namespace detail

/// A stream of records with keys of type K and values of type V.
template <class K, class V>
class stream {
public:
  using key_type = K;
  using value_type = V;

  /// Keeps the records for which `predicate(key, value)` (or `predicate(value)`) is true.
  template <class F>
  stream filter(F predicate, std::string name = {}) const {
    auto n = name_or(name, "FILTER");
    return child<K, V>(
      n, [f = std::move(predicate), n] { return std::make_unique<detail::filter_processor<K, V, F>>(f, n, false); });
  }

  /// Keeps the records for which `predicate` is false.
  template <class F>
  stream filter_not(F predicate, std::string name = {}) const {
    auto n = name_or(name, "FILTER");
    return child<K, V>(
      n, [f = std::move(predicate), n] { return std::make_unique<detail::filter_processor<K, V, F>>(f, n, true); });
  }

  /// Replaces each value by `mapper(value)` or `mapper(key, value)`; keys stay.
  template <class F, class V2 = detail::kv_result_t<F, K, V>>
  stream<K, V2> map_values(F mapper, std::string name = {}) const {
    auto n = name_or(name, "MAPVALUES");
    return child<K, V2>(
      n, [f = std::move(mapper), n] { return std::make_unique<detail::map_values_processor<K, V, V2, F>>(f, n); });
  }

  /// Replaces each record by `mapper(key, value)`, a std::pair of new key and value.
  template <class F, class R = std::invoke_result_t<F&, const K&, const V&>,
            class K2 = std::remove_cvref_t<typename R::first_type>,
            class V2 = std::remove_cvref_t<typename R::second_type>>
  stream<K2, V2> map(F mapper, std::string name = {}) const {
    auto n = name_or(name, "MAP");
    return child<K2, V2>(
      n, [f = std::move(mapper), n] { return std::make_unique<detail::map_processor<K, V, K2, V2, F>>(f, n); });
  }

  /// Replaces each record by zero or more: `mapper(key, value)` returns a range of std::pair.
  template <class F, class R = std::invoke_result_t<F&, const K&, const V&>,
            class P = std::remove_cvref_t<decltype(*std::begin(std::declval<R&>()))>, class K2 = typename P::first_type,
            class V2 = typename P::second_type>
  stream<K2, V2> flat_map(F mapper, std::string name = {}) const {
    auto n = name_or(name, "FLATMAP");
    return child<K2, V2>(
      n, [f = std::move(mapper), n] { return std::make_unique<detail::flat_map_processor<K, V, K2, V2, F>>(f, n); });
  }

  /// Replaces each value by zero or more values: `mapper(value)` (or `(key, value)`) returns a range.
  template <class F, class R = detail::kv_result_t<F, K, V>,
            class V2 = std::remove_cvref_t<decltype(*std::begin(std::declval<R&>()))>>
  stream<K, V2> flat_map_values(F mapper, std::string name = {}) const {
    auto n = name_or(name, "FLATMAPVALUES");
    return child<K, V2>(
      n, [f = std::move(mapper), n] { return std::make_unique<detail::flat_map_values_processor<K, V, V2, F>>(f, n); });
  }

  /// Calls `action(key, value)` for each record and passes the stream on unchanged.
  template <class F>
  stream peek(F action, std::string name = {}) const {
    auto n = name_or(name, "PEEK");
    return child<K, V>(
      n, [f = std::move(action), n] { return std::make_unique<detail::peek_processor<K, V, F>>(f, n, false); });
  }

  /// Calls `action(key, value)` for each record; ends the stream.
  template <class F>
  void foreach (F action, std::string name = {}) const {
    auto n = name_or(name, "FOREACH");
    child<K, V>(n,
                [f = std::move(action), n] { return std::make_unique<detail::peek_processor<K, V, F>>(f, n, true); });
  }

  /// Splits the stream: each record goes to the branch of the first predicate it satisfies
  /// (records matching none are dropped; end with an always-true predicate for a default branch).
  std::vector<stream> split(std::vector<std::function<bool(const K&, const V&)>> predicates,
                            std::string name = {}) const {
    auto n = name_or(name, "BRANCH");
    const auto ports = predicates.size();
    auto node = builder_->add_node(n, node_kind::processor, {{node_, port_}}, {}, [p = std::move(predicates), n] {
      return std::make_unique<detail::split_processor<K, V, std::function<bool(const K&, const V&)>>>(p, n);
    });
    builder_->set_ports(node, ports);
    std::vector<stream> out;
    for (size_t i = 0; i < ports; ++i)
      out.push_back(stream{builder_, node, static_cast<int>(i)});
    return out;
  }

  /// A stream of the records of this stream and `other`, in no particular order between them.
  stream merge(const stream& other, std::string name = {}) const {
    auto node =
      builder_->add_node(name_or(name, "MERGE"), node_kind::processor, {{node_, port_}, {other.node_, other.port_}}, {},
                         [] { return std::make_unique<detail::pass_through_processor>(); });
    return stream{builder_, node, 0};
  }

  /// Writes the stream to `topic` with serdes KS and VS (by default those of K and V).
  template <serde KS = typename default_serde<K>::type, serde VS = typename default_serde<V>::type>
  void to(const std::string& topic, std::string name = {}) const {
    static_assert(std::is_same_v<typename KS::value_type, K>, "key serde does not match the key type");
    static_assert(std::is_same_v<typename VS::value_type, V>, "value serde does not match the value type");
    auto n = name_or(name, "SINK");
    builder_->add_node(n, node_kind::sink, {{node_, port_}}, {topic},
                       [topic, n] { return std::make_unique<detail::sink_processor<K, V, KS, VS>>(topic, n); });
  }

  /// Adds a node whose per-task processors `make` creates, turning records<K, V> into
  /// records<K2, V2>: the extension point for operators defined outside the core DSL.
  template <class K2, class V2>
  stream<K2, V2> process(std::function<std::unique_ptr<processor>()> make, std::string name = {}) const {
    return child<K2, V2>(name_or(name, "PROCESSOR"), std::move(make));
  }

  /// Joins each record with rows looked up in an external table (e.g. `postgres_lookup_source`):
  /// `key_fn(key, value)` gives the lookup key, `joiner(value, row)` the joined value; `row` is
  /// null for `join_kind::left` misses. The lookup type supplies the processor.
  template <class Lookup, class KeyFn, class Joiner>
  auto lookup_join(Lookup lookup, KeyFn key_fn, Joiner joiner, join_kind kind = join_kind::inner,
                   std::string name = {}) const {
    using V2 = typename Lookup::template joined_type<K, V, Joiner>;
    auto n = name_or(name, "LOOKUPJOIN");
    auto joined = child<K, V2>(
      n, [lookup, key_fn, joiner, kind, n] { return lookup.template make_processor<K, V>(key_fn, joiner, kind, n); });
    attach_metrics(joined.node_, lookup, n);
    return joined;
  }

  /// Sends every record as an alert through `sink` (e.g. a Slack webhook); ends the stream. The
  /// records go through the internal topic "<application.id>-<name>-alerts" (a repartition topic:
  /// by key) and the sink runs in the sub-topology reading it, so under exactly_once_v2 it alerts
  /// only committed results; each alert is named by its position there (`alert_id`). The sink
  /// type supplies the processor; KS and VS serialize the records on the topic.
  template <serde KS = typename default_serde<K>::type, serde VS = typename alert_serde<V>::type, class AlertSink>
  void alert(AlertSink sink, std::string name = {}) const {
    auto n = name_or(name, "ALERT");
    auto alerting = through<KS, VS>(n + "-alerts").template child<K, V>(n, [sink, n] {
      return sink.template make_processor<K, V>(n);
    });
    attach_metrics(alerting.node_, sink, n);
  }

  /// Writes the stream through the internal topic "<application.id>-<name>-repartition" and reads
  /// it back, so records are partitioned by their (new) key: every record of a key meets in one task.
  template <serde KS = typename default_serde<K>::type, serde VS = typename default_serde<V>::type>
  stream repartition(std::string name = {}) const {
    return through<KS, VS>((name.empty() ? builder_->next_name("KSTREAM") : name) + "-repartition");
  }

  /// Groups by the current key, without repartitioning: the key must already decide the
  /// partition (as read, or after `repartition`). KS/VS serialize keys and values for stores
  /// and the late-records topic.
  template <serde KS = typename default_serde<K>::type, serde VS = typename default_serde<V>::type>
  grouped_stream<K, V, KS, VS> group_by_key(grouped<KS, VS> = {}) const {
    return grouped_stream<K, V, KS, VS>{builder_, node_, port_};
  }

  /// Groups by `selector(key, value)`: re-keys and writes through the internal topic
  /// "<application.id>-<name>-repartition" so every record of a new key meets in one task.
  template <class F, class K2 = std::remove_cvref_t<std::invoke_result_t<F&, const K&, const V&>>>
  grouped_stream<K2, V, typename default_serde<K2>::type, typename default_serde<V>::type>
  group_by(F selector, std::string name = {}) const {
    return group_by(std::move(selector),
                    grouped<typename default_serde<K2>::type, typename default_serde<V>::type>{std::move(name)});
  }

  /// As `group_by(selector, name)` with the serdes KS (new key) and VS (value) of `options`.
  template <class F, serde KS, serde VS>
  grouped_stream<typename KS::value_type, V, KS, VS> group_by(F selector, grouped<KS, VS> options) const {
    using K2 = typename KS::value_type;
    auto n = options.name.empty() ? builder_->next_name("KSTREAM-GROUPBY") : options.name;
    auto rekeyed = child<K2, V>(n + "-select", [f = std::move(selector), n] {
      return std::make_unique<detail::select_key_processor<K, V, K2, F>>(f, n + "-select");
    });
    auto s = rekeyed.template repartition<KS, VS>(n);
    return grouped_stream<K2, V, KS, VS>{builder_, s.node_, s.port_};
  }

  /// The builder and the node behind this handle. Used by the DSL.
  topology_builder& builder() const { return *builder_; }
  int node() const { return node_; }
  int port() const { return port_; }

private:
  friend class topology_builder;
  template <class, class>
  friend class stream;
  template <class, class, serde, serde>
  friend class table;
  stream(topology_builder* b, int node, int port) : builder_(b), node_(node), port_(port) {}

  std::string name_or(const std::string& name, const char* kind) const {
    return name.empty() ? builder_->next_name(kind) : name;
  }

  // Writes the stream to the internal topic `topic` and reads it back: a repartition topic
  // (partitioned by key; watermarks and source positions cross it).
  template <serde KS, serde VS>
  stream through(const std::string& topic) const {
    builder_->add_internal_topic(topic);
    to<KS, VS>(topic, topic + "-sink");
    return builder_->template stream<KS, VS>(std::vector<std::string>{topic}, topic + "-source");
  }

  // Node `node` reports `connector`'s counters to /metrics, if it keeps any.
  template <class Connector>
  void attach_metrics(int node, const Connector& connector, const std::string& name) const {
    if constexpr (requires(std::vector<metric_sample> & out) { connector.collect_metrics(name, out); })
      builder_->node(node).metrics = [connector, name](std::vector<metric_sample>& out) {
        connector.collect_metrics(name, out);
      };
  }

  template <class K2, class V2, class Make>
  stream<K2, V2> child(const std::string& name, Make make) const {
    auto node = builder_->add_node(name, node_kind::processor, {{node_, port_}}, {}, std::move(make));
    return stream<K2, V2>{builder_, node, 0};
  }

  topology_builder* builder_;
  int node_;
  int port_;
};

template <serde KS, serde VS>
stream<typename KS::value_type, typename VS::value_type> topology_builder::stream(std::vector<std::string> topics,
                                                                                  std::string name) {
  if (topics.empty())
    throw topology_error("a stream needs at least one source topic");
  auto n = name.empty() ? next_name("SOURCE") : name;
  auto node = add_node(n, node_kind::source, {}, std::move(topics),
                       [] { return std::make_unique<detail::source_processor<KS, VS>>(); });
  return sluice::stream<typename KS::value_type, typename VS::value_type>{this, node, 0};
}

template <serde KS, serde VS>
stream<typename KS::value_type, typename VS::value_type>
topology_builder::stream(const std::string& topic, consumed<typename VS::value_type> options) {
  auto n = options.name.empty() ? next_name("SOURCE") : options.name;
  auto node = add_node(n, node_kind::source, {}, {topic}, [options, n] {
    return std::make_unique<detail::timestamped_source_processor<KS, VS>>(options, n);
  });
  return sluice::stream<typename KS::value_type, typename VS::value_type>{this, node, 0};
}

} // namespace sluice

#include <sluice/topology/grouped_stream.hpp>
