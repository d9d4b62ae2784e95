// The pizza anomaly topologies of the Kafka + Flink tutorial (Aiven's pizza orders): prohibited
// toppings (ex-1), orders with more than 3 of them (ex-2), 5 s windowed counts per prohibited
// topping (ex-3) and rise-then-fall trends over those counts (ex-4, match_recognize).
#pragma once

#include <sluice/topology/pattern.hpp>
#include <sluice/topology/stream.hpp>
#include <sluice/topology/topology_builder.hpp>

#include <boost/json.hpp>

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace sluice::apps {

/// Topics of the pizza-anomaly app; defaults are the tutorial's names.
struct pizza_anomaly_topics {
  std::string orders = "pizzas";                        ///< input: sluice-gen pizza orders, key {"shop"}
  std::string filtered = "pizza_stream_out_filter";     ///< ex-1: {id, name, topping, orderTimestamp}
  std::string aggregated = "pizza_stream_out_agg";      ///< ex-2: {id, name, nr_bad_items, toppings, orderTimestamp}
  std::string windows = "pizza_stream_out_agg_windows"; ///< ex-3: {window_start, window_end, topping, nr_orders}
  std::string trends = "pizza_stream_out_trends";       ///< ex-4: {topping, trend_start, trend_detail}
};

/// Which ex-4 pattern runs.
enum class trend_pattern {
  /// The tutorial README's PATTERN (START_ROW NR_UP NR_DOWN): a rise, then a fall of more than 30 %.
  readme,
  /// The pattern the tutorial repository deploys, PATTERN (START_ROW NR_UP+ NR_DOWN{2}): strictly
  /// rising one or more times, then strictly falling twice.
  deployed,
};

/// What the app computes; defaults reproduce the tutorial.
struct pizza_anomaly_options {
  pizza_anomaly_topics topics{};                              ///< topic names
  trend_pattern pattern = trend_pattern::readme;              ///< ex-4 pattern
  std::chrono::milliseconds window = std::chrono::seconds{5}; ///< ex-3/ex-4 tumbling window size
  std::chrono::milliseconds grace = std::chrono::seconds{5};  ///< WATERMARK orderTimestamp - 5 s
  int64_t min_bad_items = 3;      ///< ex-2 emits orders with more than this many prohibited toppings
  int64_t min_window_orders = 10; ///< ex-3 emits windows with more than this many prohibited rows
};

/// The streams the app alerts on, for the caller to attach sinks to.
struct pizza_anomaly_alerts {
  stream<boost::json::value, boost::json::value> bad_orders; ///< ex-2 rows, key {"id"}
  stream<boost::json::value, boost::json::value> trends;     ///< ex-4 rows, key {"topping", "trend_start"}
};

/// True for the tutorial's prohibited toppings: the name after the emoji (or the whole text) is
/// pineapple, strawberry or banana, e.g. "🍍 pineapple".
bool is_prohibited_topping(std::string_view topping);

/// The ex-4 pattern over rows {"topping", "window_start", "window_end", "nr_orders"} of one
/// topping, in window order; measures {"topping", "trend_start", "trend_detail"} where trend_start
/// is the START_ROW's window_time (window_end - 1 ms, as Flink's) and trend_detail LISTAGG's
/// "n1,n2,...".
pattern_spec make_trend_pattern(trend_pattern pattern);

/// Adds the four pizza-anomaly pipelines to `builder`; returns the streams to alert on.
pizza_anomaly_alerts build_pizza_anomaly(topology_builder& builder, const pizza_anomaly_options& options = {});

} // namespace sluice::apps
