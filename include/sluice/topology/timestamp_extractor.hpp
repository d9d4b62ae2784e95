// Timestamp extractors: where a source's event time (`record_meta::timestamp`) comes from.
#pragma once

#include <sluice/topology/json_text.hpp>
#include <sluice/topology/record.hpp>

#include <boost/json.hpp>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace sluice {

/// The event time of a record in epoch ms, or nullopt if the record carries no usable one.
template <class V>
using timestamp_extractor = std::function<std::optional<int64_t>(const V& value, const record_meta& meta)>;

/// Parses "YYYY-MM-DD HH:MM:SS[.f...]" (UTC) or ISO-8601 "YYYY-MM-DDTHH:MM:SS[.f...][Z|±HH[:]MM]"
/// to epoch ms (fractions truncated to ms; second 60 is a leap second); nullopt if malformed or
/// not a date of the calendar (February 30).
std::optional<int64_t> parse_datetime_ms(std::string_view text);

/// Ready-made extractors. JSON ones read a top-level field of an object value.
namespace timestamps {

/// The Kafka record timestamp (what sources use when no extractor is given).
template <class V>
timestamp_extractor<V> record_time() {
  return [](const V&, const record_meta& m) -> std::optional<int64_t> { return m.timestamp; };
}

/// A JSON number field holding epoch milliseconds (floored); nullopt when absent, not a number or
/// outside int64 (so for the extractors below). V: boost::json::value or json_text.
template <class V = boost::json::value>
timestamp_extractor<V> json_field_ms(std::string field);

/// A JSON number field holding epoch nanoseconds (floored to ms).
template <class V = boost::json::value>
timestamp_extractor<V> json_field_ns(std::string field);

/// A JSON number field holding epoch seconds, possibly fractional (rounded to the nearest ms).
template <class V = boost::json::value>
timestamp_extractor<V> json_field_seconds(std::string field);

/// A JSON string field holding a UTC date-time, as `parse_datetime_ms` reads it.
template <class V = boost::json::value>
timestamp_extractor<V> json_field_datetime(std::string field);

/// Any function of the value returning epoch ms (or nullopt when it has none).
template <class V, class F>
timestamp_extractor<V> function(F f) {
  return [f = std::move(f)](const V& v, const record_meta&) -> std::optional<int64_t> { return f(v); };
}

} // namespace timestamps

/// How a source reads its topic: the timestamp extractor and its fallback, and the node name.
template <class V>
struct consumed {
  /// The Kafka record timestamp, no fallback needed.
  consumed() = default;
  /// Event time from `extractor`; see the members for the other options.
  consumed(timestamp_extractor<V> extractor, bool fallback = false, std::string node_name = {}) // NOLINT: implicit
      : timestamp(std::move(extractor)), fallback_to_record_timestamp(fallback), name(std::move(node_name)) {}
  /// Empty: the Kafka record timestamp.
  timestamp_extractor<V> timestamp;
  /// Off by default so a record without a usable event time is a processing failure
  /// (dead-lettered), not silently placed at its produce time; turn on to fall back instead.
  bool fallback_to_record_timestamp = false;
  /// Source node name; empty = generated.
  std::string name;
};

/// Thrown (and dead-lettered) when a record has no usable event time and there is no fallback.
class missing_timestamp : public std::runtime_error {
  using std::runtime_error::runtime_error;
};

} // namespace sluice
