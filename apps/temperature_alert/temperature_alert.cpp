#include "temperature_alert.hpp"

#include <chrono>
#include <cstdio>
#include <cstdlib>

namespace sluice::apps {

namespace json = boost::json;
using namespace std::chrono_literals;

double round_2_decimals(double x) {
  // printf rounds the exact binary value (ties to even), as Python's round does.
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.2f", x);
  return std::strtod(buf, nullptr);
}

void build_temperature_alert(topology_builder& builder, const temperature_alert_options& options) {
  const double threshold = options.threshold;
  // Event time: the "Timestamp" field (epoch ns); without it, the Kafka record timestamp (as Quix).
  auto readings = builder.stream<serdes::string, serdes::json>(
    options.topics.readings, consumed<json::value>{timestamps::json_field_ns("Timestamp"),
                                                   /*fallback_to_record_timestamp=*/true, "readings-source"});
  // sdf.hopping_window(duration_ms=5000, step_ms=1000).mean().current(), per machine (the key).
  auto alerts =
    readings.group_by_key()
      .windowed_by(hopping(5s, 1s).emit_current())
      .agg({agg::mean("Temperature_C", "mean")}, "temperature-5s")
      .to_stream("temperature-5s-updates")
      .map(
        [](const windowed<std::string>& w, const json::value& agg) {
          return std::pair{w.key,
                           json::value{{"machine_id", w.key},
                                       {"window_start", w.start},
                                       {"window_end", w.end},
                                       {"average_temperature", round_2_decimals(agg.at("mean").to_number<double>())}}};
        },
        "round-mean")
      .filter(
        [threshold](const json::value& a) { return a.at("average_temperature").to_number<double>() >= threshold; },
        "mean-at-least-threshold");
  alerts.to(options.topics.alerts, "alerts-sink");
  options.target.send(alerts, temperature_alert_name, temperature_alert_text, "alert");
}

} // namespace sluice::apps
