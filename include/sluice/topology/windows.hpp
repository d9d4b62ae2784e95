// Window definitions (tumbling, hopping, sliding, session), emission and lateness options, the
// `windowed<K>` result key and its serde. Semantics with worked examples: docs/windowing.md.
#pragma once

#include <sluice/topology/serdes.hpp>

#include <boost/json.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>

namespace sluice {

/// When a windowed aggregation emits.
enum class emit_strategy {
  current, ///< every update emits the new value of each window it changed (Quix Streams' current())
  final,   ///< one result per window once the watermark reaches end + grace (Kafka Streams' onWindowClose)
};

/// The shape of a window definition.
enum class window_kind {
  time,    ///< fixed size, epoch-aligned: tumbling (advance == size) or hopping
  sliding, ///< Kafka Streams' SlidingWindows: [t - d, t] around records
  session, ///< per-key activity periods separated by an inactivity gap
};

/// A window definition with its emission and lateness options; make one with `tumbling`,
/// `hopping`, `sliding` or `session` and refine it with the fluent setters.
struct windows {
  window_kind kind = window_kind::time; ///<
  int64_t size_ms = 0;                  ///< time windows: size; sliding: max difference; session: inactivity gap
  int64_t advance_ms = 0;               ///< time windows: hop between window starts (== size for tumbling)
  /// 0 by default (as Kafka Streams' ofSizeWithNoGrace): results are exact for in-order input;
  /// set a grace to accept records that many ms out of order.
  int64_t grace_ms = 0;
  /// current by default: dashboards see values as they change; final gives one row per window.
  emit_strategy emission = emit_strategy::current;
  /// Empty by default: late records are dropped (and counted); else they are written here.
  std::string late_records_topic;
  /// Counts late records over all tasks; shared by copies so an app or test can read it.
  std::shared_ptr<std::atomic<uint64_t>> late_records = std::make_shared<std::atomic<uint64_t>>(0);
  /// 0 = max(1 day, size + grace), Kafka Streams' default: keeps windows for late-record checks
  /// and for final emission after a stream-time jump; a larger value costs disk only.
  int64_t retention_ms = 0;

  /// Accepts records up to `d` after a window's end (Kafka Streams' grace period).
  windows grace(std::chrono::milliseconds d) const {
    auto w = *this;
    w.grace_ms = d.count();
    return w;
  }
  /// Emits one result per window when it closes.
  windows emit_final() const {
    auto w = *this;
    w.emission = emit_strategy::final;
    return w;
  }
  /// Emits every update (the default).
  windows emit_current() const {
    auto w = *this;
    w.emission = emit_strategy::current;
    return w;
  }
  /// Writes late records (serialized as consumed by the aggregation) to `topic`.
  windows late_records_to(std::string topic) const {
    auto w = *this;
    w.late_records_topic = std::move(topic);
    return w;
  }
  /// Keeps windows `d` behind the newest window (at least size + grace is enforced).
  windows retain(std::chrono::milliseconds d) const {
    auto w = *this;
    w.retention_ms = d.count();
    return w;
  }

  /// Window store retention in ms: the explicit one or the default, never below size + grace (+ gap for sessions).
  int64_t effective_retention_ms() const {
    const int64_t need = size_ms + grace_ms + (kind == window_kind::session ? size_ms : 0) + 1;
    return std::max(retention_ms > 0 ? retention_ms : int64_t{24} * 3600 * 1000, need);
  }
};

/// Epoch-aligned windows [k*size, (k+1)*size): every record falls in exactly one.
inline windows tumbling(std::chrono::milliseconds size) {
  windows w;
  w.size_ms = w.advance_ms = size.count();
  return w;
}

/// Epoch-aligned windows [k*advance, k*advance + size): a record falls in size/advance of them.
inline windows hopping(std::chrono::milliseconds size, std::chrono::milliseconds advance) {
  windows w;
  w.size_ms = size.count();
  w.advance_ms = advance.count();
  return w;
}

/// Kafka Streams' SlidingWindows: windows [t - d, t] ending at each record and [t + 1, t + 1 + d]
/// starting after it, both ends inclusive; a window exists only while it holds a record.
inline windows sliding(std::chrono::milliseconds max_difference) {
  windows w;
  w.kind = window_kind::sliding;
  w.size_ms = max_difference.count();
  return w;
}

/// Session windows: a key's records closer than `inactivity_gap` share one window [first, last].
inline windows session(std::chrono::milliseconds inactivity_gap) {
  windows w;
  w.kind = window_kind::session;
  w.size_ms = inactivity_gap.count();
  return w;
}

/// The key of a windowed result: the grouping key and the window, as Kafka Streams reports
/// them: `end` is exclusive for time windows ([start, end)), inclusive for sliding and session
/// windows ([start, end]).
template <class K>
struct windowed {
  using key_type = K;
  K key;             ///<
  int64_t start = 0; ///< epoch ms
  int64_t end = 0;   ///< epoch ms
  bool operator==(const windowed&) const = default;
};

/// JSON conversions used by the DSL's JSON serdes and row helpers: json values as they are,
/// strings, integers, floating point and bools as JSON scalars; other types through serde S.
template <class T, class S = void>
boost::json::value to_json_value(const T& v) {
  if constexpr (std::is_same_v<T, boost::json::value>)
    return v;
  else if constexpr (std::is_same_v<T, std::string> || std::is_arithmetic_v<T>)
    return boost::json::value(v);
  else {
    static_assert(!std::is_void_v<S>, "no JSON form for this type: pass a serde");
    std::string bytes;
    S{}.serialize(v, bytes);
    return boost::json::value(bytes);
  }
}

/// The inverse of `to_json_value`; throws std::invalid_argument on a type mismatch.
template <class T, class S = void>
T from_json_value(const boost::json::value& j) {
  if constexpr (std::is_same_v<T, boost::json::value>)
    return j;
  else if constexpr (std::is_same_v<T, std::string>) {
    if (!j.is_string())
      throw std::invalid_argument("expected a JSON string");
    return std::string{j.get_string()};
  } else if constexpr (std::is_same_v<T, bool>) {
    if (!j.is_bool())
      throw std::invalid_argument("expected a JSON bool");
    return j.get_bool();
  } else if constexpr (std::is_arithmetic_v<T>) {
    if (!j.is_number())
      throw std::invalid_argument("expected a JSON number");
    return j.to_number<T>();
  } else {
    static_assert(!std::is_void_v<S>, "no JSON form for this type: pass a serde");
    if (!j.is_string())
      throw std::invalid_argument("expected a JSON string");
    return S{}.deserialize(std::string_view{j.get_string().data(), j.get_string().size()});
  }
}

namespace serdes {

/// `windowed<K>` as JSON {"key": <key as JSON>, "start": ms, "end": ms}; KS serializes keys
/// that have no JSON form of their own.
template <serde KS>
class windowed_json {
public:
  using value_type = windowed<typename KS::value_type>;
  value_type deserialize(std::string_view in) {
    auto j = inner_.deserialize(in);
    const auto* o = j.if_object();
    if (!o || !o->contains("key") || !o->contains("start") || !o->contains("end"))
      throw std::invalid_argument("expected a windowed key {\"key\", \"start\", \"end\"}");
    return {from_json_value<typename KS::value_type, KS>(o->at("key")), o->at("start").to_number<int64_t>(),
            o->at("end").to_number<int64_t>()};
  }
  void serialize(const value_type& v, std::string& out) {
    out.clear();
    write_json(boost::json::value{{"key", to_json_value<typename KS::value_type, KS>(v.key)},
                                  {"start", v.start},
                                  {"end", v.end}},
               out);
  }

private:
  json inner_;
};

/// std::optional<T> through VS; nullopt is written as an empty value (the processor API has no
/// Kafka null for values) and an empty value reads back as nullopt.
template <serde VS>
struct optional {
  using value_type = std::optional<typename VS::value_type>;
  value_type deserialize(std::string_view in) {
    if (in.empty())
      return std::nullopt;
    return inner.deserialize(in);
  }
  void serialize(const value_type& v, std::string& out) {
    if (!v)
      out.clear();
    else
      inner.serialize(*v, out);
  }
  VS inner;
};

} // namespace serdes
} // namespace sluice
