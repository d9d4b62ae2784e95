// Aggregation policies: how a grouped stream's records fold into an aggregate, how the aggregate
// is stored (through a serde, into reused buffers) and what result it yields. Internal to the
// DSL, except the built-in field aggregations in namespace `agg`.
#pragma once

#include <sluice/state/big_endian.hpp>
#include <sluice/topology/serdes.hpp>
#include <sluice/topology/windows.hpp>

#include <boost/json.hpp>

#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace sluice {

/// What a built-in field aggregation computes.
enum class field_op { count, sum, mean, min, max };

/// One built-in aggregation over a numeric input: `agg::mean("usage", "usage_avg")`.
template <class V>
struct field_aggregation {
  field_op op = field_op::count; ///<
  std::string output;            ///< the field of the result object
  /// The input number; nullopt (a missing or null field) is skipped, as SQL skips NULL.
  std::function<std::optional<double>(const V&)> input;
};

namespace agg {

/// The number of a top-level JSON field: nullopt if absent or null; throws if not a number.
inline std::function<std::optional<double>(const boost::json::value&)> json_number(std::string field) {
  return [field = std::move(field)](const boost::json::value& v) -> std::optional<double> {
    const auto* o = v.if_object();
    const auto* f = o ? o->if_contains(field) : nullptr;
    if (!f || f->is_null())
      return std::nullopt;
    if (!f->is_number())
      throw std::invalid_argument("field '" + field + "' is not a number");
    return f->to_number<double>();
  };
}

/// Number of records (with the field present, when one is named).
inline field_aggregation<boost::json::value> count(std::string output = "count") {
  return {field_op::count, std::move(output), {}};
}
/// Sum of JSON field `field`, written as `output` (default "<field>_sum").
inline field_aggregation<boost::json::value> sum(std::string field, std::string output = {}) {
  return {field_op::sum, output.empty() ? field + "_sum" : output, json_number(field)};
}
/// Mean of JSON field `field`, written as `output` (default "<field>_avg"); null if no values.
inline field_aggregation<boost::json::value> mean(std::string field, std::string output = {}) {
  return {field_op::mean, output.empty() ? field + "_avg" : output, json_number(field)};
}
/// Minimum of JSON field `field`, written as `output` (default "<field>_min"); null if no values.
inline field_aggregation<boost::json::value> min(std::string field, std::string output = {}) {
  return {field_op::min, output.empty() ? field + "_min" : output, json_number(field)};
}
/// Maximum of JSON field `field`, written as `output` (default "<field>_max"); null if no values.
inline field_aggregation<boost::json::value> max(std::string field, std::string output = {}) {
  return {field_op::max, output.empty() ? field + "_max" : output, json_number(field)};
}
/// A built-in aggregation `op` over `input(value)` for any value type.
template <class V, class F>
field_aggregation<V> of(field_op op, F input, std::string output) {
  return {op, std::move(output), [f = std::move(input)](const V& v) -> std::optional<double> { return f(v); }};
}

} // namespace agg

namespace detail {

using big_endian::append_i64;
using big_endian::read_i64;

/// A serde member that copies as a fresh instance (serdes may hold non-copyable buffers).
template <class S>
struct fresh {
  fresh() = default;
  fresh(const fresh&) {}
  fresh& operator=(const fresh&) { return *this; }
  S serde;
};

/// Kafka Streams' aggregate(initializer, aggregator[, session merger]); the aggregate is stored with AS.
template <class K, class V, serde AS, class Init, class Adder, class Merger>
class aggregate_policy {
public:
  using agg_type = typename AS::value_type;
  using result_type = agg_type;
  using result_serde = AS;
  static constexpr bool mergeable = std::is_invocable_v<Merger&, const K&, const agg_type&, const agg_type&>;
  aggregate_policy(Init init, Adder adder, Merger merger)
      : init_(std::move(init)), adder_(std::move(adder)), merger_(std::move(merger)) {}
  void first(agg_type& a, const K& k, const V& v) { a = adder_(k, v, init_()); }
  void add(agg_type& a, const K& k, const V& v) { a = adder_(k, v, std::move(a)); }
  void merge(agg_type& into, const agg_type& other, const K& k) {
    if constexpr (std::is_invocable_v<Merger&, const K&, const agg_type&, const agg_type&>)
      into = merger_(k, into, other);
    else
      throw std::logic_error("session windows need aggregate(init, adder, merger)");
  }
  void encode(const agg_type& a, std::string& out) { serde_.serde.serialize(a, out); }
  void decode(std::string_view in, agg_type& a) { a = serde_.serde.deserialize(in); }
  const result_type& result(const agg_type& a) const { return a; }

private:
  Init init_;
  Adder adder_;
  Merger merger_;
  fresh<AS> serde_;
};

/// Placeholder merger: aggregate() without one cannot be session-windowed.
struct no_merger {};

/// Kafka Streams' reduce: the first value is the aggregate, then reducer(aggregate, value).
template <class K, class V, serde VS, class Reducer>
class reduce_policy {
public:
  using agg_type = V;
  using result_type = V;
  using result_serde = VS;
  static constexpr bool mergeable = true;
  explicit reduce_policy(Reducer r) : reducer_(std::move(r)) {}
  void first(V& a, const K&, const V& v) { a = v; }
  void add(V& a, const K&, const V& v) { a = reducer_(a, v); }
  void merge(V& into, const V& other, const K&) { into = reducer_(other, into); }
  void encode(const V& a, std::string& out) { serde_.serde.serialize(a, out); }
  void decode(std::string_view in, V& a) { a = serde_.serde.deserialize(in); }
  const V& result(const V& a) const { return a; }

private:
  Reducer reducer_;
  fresh<VS> serde_;
};

/// Kafka Streams' count: int64 records per key (or window).
template <class K, class V>
class count_policy {
public:
  using agg_type = int64_t;
  using result_type = int64_t;
  using result_serde = serdes::int64;
  static constexpr bool mergeable = true;
  void first(int64_t& a, const K&, const V&) { a = 1; }
  void add(int64_t& a, const K&, const V&) { ++a; }
  void merge(int64_t& into, const int64_t& other, const K&) { into += other; }
  void encode(int64_t a, std::string& out) {
    out.clear();
    append_i64(out, a);
  }
  void decode(std::string_view in, int64_t& a) {
    if (in.size() != 8)
      throw std::invalid_argument("corrupt count in store");
    a = read_i64(in);
  }
  int64_t result(int64_t a) const { return a; }
};

/// Several built-in field aggregations at once; the aggregate is two doubles per aggregation
/// (values seen, accumulator), stored as raw bytes; the result is one JSON object.
template <class K, class V>
class fields_policy {
public:
  using agg_type = std::vector<double>;
  using result_type = boost::json::value;
  using result_serde = serdes::json;
  static constexpr bool mergeable = true;
  explicit fields_policy(std::vector<field_aggregation<V>> aggs) : aggs_(std::move(aggs)) {}
  void first(agg_type& a, const K& k, const V& v) {
    a.assign(2 * aggs_.size(), 0.0);
    add(a, k, v);
  }
  void add(agg_type& a, const K&, const V& v) {
    for (size_t i = 0; i < aggs_.size(); ++i) {
      const auto& g = aggs_[i];
      double& n = a[2 * i];
      double& acc = a[2 * i + 1];
      if (!g.input) {
        n += 1;
        continue;
      }
      const auto x = g.input(v);
      if (!x)
        continue;
      switch (g.op) {
      case field_op::count:
        break;
      case field_op::sum:
      case field_op::mean:
        acc += *x;
        break;
      case field_op::min:
        acc = n == 0 ? *x : std::min(acc, *x);
        break;
      case field_op::max:
        acc = n == 0 ? *x : std::max(acc, *x);
        break;
      }
      n += 1;
    }
  }
  void merge(agg_type& into, const agg_type& other, const K&) {
    for (size_t i = 0; i < aggs_.size(); ++i) {
      double &n = into[2 * i], &acc = into[2 * i + 1];
      const double on = other[2 * i], oacc = other[2 * i + 1];
      if (on == 0)
        continue;
      switch (aggs_[i].op) {
      case field_op::count:
        break;
      case field_op::sum:
      case field_op::mean:
        acc += oacc;
        break;
      case field_op::min:
        acc = n == 0 ? oacc : std::min(acc, oacc);
        break;
      case field_op::max:
        acc = n == 0 ? oacc : std::max(acc, oacc);
        break;
      }
      n += on;
    }
  }
  void encode(const agg_type& a, std::string& out) {
    out.resize(a.size() * sizeof(double));
    std::memcpy(out.data(), a.data(), out.size());
  }
  void decode(std::string_view in, agg_type& a) {
    if (in.size() != 2 * aggs_.size() * sizeof(double))
      throw std::invalid_argument("corrupt aggregate in store (were the aggregations changed?)");
    a.resize(2 * aggs_.size());
    std::memcpy(a.data(), in.data(), in.size());
  }
  boost::json::value result(const agg_type& a) const {
    boost::json::object o;
    o.reserve(aggs_.size());
    for (size_t i = 0; i < aggs_.size(); ++i) {
      const double n = a[2 * i], acc = a[2 * i + 1];
      auto& slot = o[aggs_[i].output];
      switch (aggs_[i].op) {
      case field_op::count:
        slot = static_cast<int64_t>(n);
        break;
      case field_op::sum:
        slot = acc;
        break;
      case field_op::mean:
        if (n > 0)
          slot = acc / n;
        break;
      case field_op::min:
      case field_op::max:
        if (n > 0)
          slot = acc;
        break;
      }
    }
    return o;
  }

private:
  std::vector<field_aggregation<V>> aggs_;
};

} // namespace detail
} // namespace sluice
