// `table<K, V>`: a changelog stream as Kafka Streams' KTable — the latest value per key, every
// update forwarded downstream; deletes travel as empty values. Tables come from
// `topology_builder::table` (a topic) or from aggregations of grouped streams.
#pragma once

#include <sluice/state/big_endian.hpp>
#include <sluice/topology/stateful_processors.hpp>
#include <sluice/topology/stream.hpp>

#include <boost/json.hpp>

#include <cstring>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace sluice {

template <class T>
struct default_serde<std::optional<T>> {
  using type = serdes::optional<typename default_serde<T>::type>;
};
template <class K>
struct default_serde<windowed<K>> {
  using type = serdes::windowed_json<typename default_serde<K>::type>;
};

/// Ranking order of `table::top_n`.
enum class ranking_order {
  ascending,  ///< lowest score first ("worst rated")
  descending, ///< highest score first ("most viewed")
};

/// One entry of a `top_n` ranking.
template <class K, class V>
struct ranked {
  K key;            ///< the table key
  V value;          ///< its current value
  double score = 0; ///< what it was ranked by
};

/// A `top_n` result: at most n entries, best first.
template <class K, class V>
using ranking = std::vector<ranked<K, V>>;

/// A table row change carried as a value (through the top-n repartition topic).
template <class K, class V>
using keyed_change = std::pair<K, std::optional<V>>;

namespace serdes {

/// A ranking as a JSON array [{"rank": 1, "key": ..., "value": ..., "score": ...}, ...].
template <serde KS, serde VS>
class ranking_json {
public:
  using value_type = ranking<typename KS::value_type, typename VS::value_type>;
  value_type deserialize(std::string_view in) {
    auto j = inner_.deserialize(in);
    if (!j.is_array())
      throw std::invalid_argument("expected a ranking array");
    value_type out;
    for (const auto& e : j.get_array())
      out.push_back({from_json_value<typename KS::value_type, KS>(e.at("key")),
                     from_json_value<typename VS::value_type, VS>(e.at("value")), e.at("score").to_number<double>()});
    return out;
  }
  void serialize(const value_type& v, std::string& out) {
    boost::json::array a;
    a.reserve(v.size());
    for (size_t i = 0; i < v.size(); ++i)
      a.push_back(boost::json::object{{"rank", static_cast<int64_t>(i + 1)},
                                      {"key", to_json_value<typename KS::value_type, KS>(v[i].key)},
                                      {"value", to_json_value<typename VS::value_type, VS>(v[i].value)},
                                      {"score", v[i].score}});
    out.clear();
    write_json(a, out);
  }

private:
  json inner_;
};

/// A `keyed_change` in binary: key length (4 bytes) | key (KS) | present flag | value (VS).
template <serde KS, serde VS>
class keyed_change_bytes {
public:
  using value_type = keyed_change<typename KS::value_type, typename VS::value_type>;
  value_type deserialize(std::string_view in) {
    if (in.size() < 5)
      throw std::invalid_argument("truncated keyed change");
    const auto n = static_cast<uint32_t>(big_endian::read<4>(in));
    if (in.size() < 5 + size_t{n})
      throw std::invalid_argument("truncated keyed change");
    value_type out{keys_.deserialize(in.substr(4, n)), std::nullopt};
    if (in[4 + n])
      out.second = values_.deserialize(in.substr(5 + n));
    return out;
  }
  void serialize(const value_type& v, std::string& out) {
    keys_.serialize(v.first, buf_);
    out.clear();
    big_endian::append<4>(out, buf_.size());
    out.append(buf_);
    out.push_back(v.second ? 1 : 0);
    if (v.second) {
      values_.serialize(*v.second, buf_);
      out.append(buf_);
    }
  }

private:
  KS keys_;
  VS values_;
  std::string buf_;
};

} // namespace serdes

template <class K, class V>
struct default_serde<keyed_change<K, V>> {
  using type = serdes::keyed_change_bytes<typename default_serde<K>::type, typename default_serde<V>::type>;
};
template <class K, class V>
struct default_serde<ranking<K, V>> {
  using type = serdes::ranking_json<typename default_serde<K>::type, typename default_serde<V>::type>;
};

/// One row for a windowed result: the key's fields (a JSON object key is spread, else "key"),
/// "window_start" and "window_end" (epoch ms), then the value's fields (spread, else "value").
template <class K, class V, class KS = void, class VS = void>
boost::json::value window_row(const windowed<K>& k, const V& v) {
  boost::json::object row;
  auto spread = [&row](boost::json::value j, const char* name) {
    if (auto* o = j.if_object())
      for (auto& [field, x] : *o)
        row[field] = std::move(x);
    else
      row[name] = std::move(j);
  };
  spread(to_json_value<K, KS>(k.key), "key");
  row["window_start"] = k.start;
  row["window_end"] = k.end;
  spread(to_json_value<V, VS>(v), "value");
  return row;
}

namespace detail {

/// Keeps every row of a table (in the node's key-value store and in memory, ordered by score)
/// and emits the first n, once per batch, when they changed.
template <class K, class V, serde KS, serde VS, class F>
class top_n_processor final : public processor {
public:
  top_n_processor(size_t n, F score, ranking_order order, std::string name)
      : n_(n), score_(std::move(score)), order_(order), name_(std::move(name)) {}

  void process(const batch_ptr& in, processor_context& ctx) override {
    auto& b = records_of<std::string, keyed_change<K, V>>(in);
    auto& store = ctx.key_value_state();
    load(store, ctx);
    const record_meta* last = nullptr;
    each_record(b.records, ctx, name_, [&](const record<std::string, keyed_change<K, V>>& r) {
      const auto& [key, value] = r.value;
      keys_.serialize(key, key_buf_);
      if (value) {
        const double s = rank_score(key, *value); // may throw: then nothing changes
        values_.serialize(*value, value_buf_);
        checked(store.put(key_buf_, value_buf_, r.meta.timestamp), "top-n write");
        set(key_buf_, key, *value, s);
      } else {
        checked(store.remove(key_buf_, r.meta.timestamp), "top-n delete");
        erase(key_buf_);
      }
      last = &r.meta;
    });
    if (!last)
      return;
    ranking<K, V> top;
    top.reserve(std::min(n_, rows_.size()));
    for (auto it = order_by_.begin(); it != order_by_.end() && top.size() < n_; ++it) {
      const auto& row = rows_.find(it->second)->second;
      top.push_back({row.key, row.value, row.score});
    }
    ranking_serde_.serialize(top, value_buf_);
    if (value_buf_ == last_emitted_)
      return;
    last_emitted_ = value_buf_;
    auto out = make_batch_like<std::string, std::optional<ranking<K, V>>>(b, 1);
    out->records.push_back({name_, std::move(top), *last});
    ctx.forward(std::move(out));
  }

private:
  struct row {
    K key;
    V value;
    double score;
  };

  double rank_score(const K& k, const V& v) { return static_cast<double>(call_kv(score_, k, v)); }

  // Sort key: ascending score, or descending by negating it; ties by key bytes.
  double sort_key(double s) const { return order_ == ranking_order::ascending ? s : -s; }

  void erase(const std::string& key_bytes) {
    auto it = rows_.find(key_bytes);
    if (it == rows_.end())
      return;
    order_by_.erase({sort_key(it->second.score), key_bytes});
    rows_.erase(it);
  }

  void set(const std::string& key_bytes, const K& k, const V& v, double s) {
    erase(key_bytes);
    rows_.emplace(key_bytes, row{k, v, s});
    order_by_.emplace(sort_key(s), key_bytes);
  }

  // After a restart the rows come back from the (restored) store.
  void load(key_value_store& store, processor_context& ctx) {
    if (loaded_)
      return;
    loaded_ = true;
    auto it = store.all();
    for (; it->valid(); it->next()) {
      try {
        K k = keys_.deserialize(it->key());
        V v = values_.deserialize(it->value());
        const double s = rank_score(k, v);
        set(std::string{it->key()}, k, v, s);
      } catch (const std::exception& e) {
        ctx.processing_failed(record_meta{}, name_, e);
      }
    }
    if (auto s = it->status())
      throw state_failure("top-n scan: " + s->message);
  }

  size_t n_;
  F score_;
  ranking_order order_;
  std::string name_;
  KS keys_;
  VS values_;
  serdes::ranking_json<KS, VS> ranking_serde_;
  bool loaded_ = false;
  std::map<std::string, row, std::less<>> rows_;
  std::set<std::pair<double, std::string>> order_by_;
  std::string key_buf_, value_buf_, last_emitted_;
};

} // namespace detail

/// A table with keys K and values V; KS and VS serialize them (store keys, sinks, repartition).
template <class K, class V, serde KS = typename default_serde<K>::type, serde VS = typename default_serde<V>::type>
class table {
public:
  using key_type = K;
  using value_type = V;

  /// The updates as a stream (deletes dropped), like Kafka Streams' KTable#toStream without nulls.
  stream<K, V> to_stream(std::string name = {}) const {
    auto n = name.empty() ? b_->next_name("KTABLE-TOSTREAM") : name;
    auto node = b_->add_node(n, node_kind::processor, {{node_, port_}}, {},
                             [] { return std::make_unique<detail::table_to_stream_processor<K, V>>(); });
    return stream<K, V>{b_, node, 0};
  }

  /// Every change, deletes as nullopt (written as empty values by `to`).
  stream<K, std::optional<V>> changes() const { return stream<K, std::optional<V>>{b_, node_, port_}; }

  /// Keeps rows for which `predicate(key, value)` (or `(value)`) holds; others become deletes.
  template <class F>
  table filter(F predicate, std::string name = {}) const {
    auto n = name.empty() ? b_->next_name("KTABLE-FILTER") : name;
    auto node = b_->add_node(n, node_kind::processor, {{node_, port_}}, {}, [f = std::move(predicate), n] {
      return std::make_unique<detail::table_filter_processor<K, V, F>>(f, n);
    });
    return table{b_, node, 0};
  }

  /// Maps every present value with `mapper(value)` or `mapper(key, value)`; VS2 serializes the result.
  template <class F, class V2 = detail::kv_result_t<F, K, V>, serde VS2 = typename default_serde<V2>::type>
  table<K, V2, KS, VS2> map_values(F mapper, std::string name = {}) const {
    auto n = name.empty() ? b_->next_name("KTABLE-MAPVALUES") : name;
    auto node = b_->add_node(n, node_kind::processor, {{node_, port_}}, {}, [f = std::move(mapper), n] {
      return std::make_unique<detail::table_map_values_processor<K, V, V2, F>>(f, n);
    });
    return table<K, V2, KS, VS2>{b_, node, 0};
  }

  /// Writes every change to `topic` (deletes as empty values).
  void to(const std::string& topic, std::string name = {}) const {
    changes().template to<KS, serdes::optional<VS>>(topic, name);
  }

  /// For windowed results: one JSON row per update keyed by the grouping key, as `window_row` builds it.
  template <class W = K, class K0 = typename W::key_type>
  stream<K0, boost::json::value> to_rows(std::string name = {}) const {
    static_assert(std::is_same_v<W, windowed<K0>>, "to_rows is for windowed tables");
    return to_stream(name.empty() ? std::string{} : name + "-stream")
      .map(
        [](const windowed<K0>& k, const V& v) {
          return std::pair{k.key, window_row(k, v)};
        },
        name.empty() ? std::string{} : name);
  }

  /// The n best rows by `score(key, value)` (or `(value)`), re-emitted whenever they change,
  /// under the key `name`. Every change goes through "<application.id>-<name>-repartition" to
  /// one partition (all rows must meet in one task to be ranked); the rows live in the store
  /// "<name>-store".
  template <class F>
  table<std::string, ranking<K, V>, serdes::string, serdes::ranking_json<KS, VS>>
  top_n(size_t n, F score, ranking_order order = ranking_order::ascending, std::string name = {}) const {
    auto nm = name.empty() ? b_->next_name("KTABLE-TOPN") : name;
    auto single = changes()
                    .map(
                      [nm](const K& k, const std::optional<V>& v) {
                        return std::pair{nm, keyed_change<K, V>{k, v}};
                      },
                      nm + "-select")
                    .template repartition<serdes::string, serdes::keyed_change_bytes<KS, VS>>(nm);
    auto node = b_->add_node(nm, node_kind::processor, {{single.node(), single.port()}}, {}, [n, score, order, nm] {
      return std::make_unique<detail::top_n_processor<K, V, KS, VS, F>>(n, score, order, nm);
    });
    b_->node(node).store = store_spec{nm + "-store", false, 0};
    return table<std::string, ranking<K, V>, serdes::string, serdes::ranking_json<KS, VS>>{b_, node, 0};
  }

  /// The node behind this handle. Used by the DSL.
  int node() const { return node_; }

private:
  template <class, class, serde, serde>
  friend class table;
  template <class, class, serde, serde>
  friend class grouped_stream;
  template <class, class, serde, serde>
  friend class windowed_stream;
  friend class topology_builder;
  table(topology_builder* b, int node, int port) : b_(b), node_(node), port_(port) {}

  topology_builder* b_;
  int node_;
  int port_;
};

template <serde KS, serde VS>
table<typename KS::value_type, typename VS::value_type, KS, VS>
topology_builder::table(const std::string& topic, consumed<typename VS::value_type> options) {
  auto n = options.name.empty() ? next_name("KTABLE-SOURCE") : options.name;
  auto node = add_node(n, node_kind::source, {}, {topic},
                       [options, n] { return std::make_unique<detail::table_source_processor<KS, VS>>(options, n); });
  this->node(node).store = store_spec{n + "-store", false, 0, detail::serde_store_view<KS, VS>()};
  return sluice::table<typename KS::value_type, typename VS::value_type, KS, VS>{this, node, 0};
}

} // namespace sluice
