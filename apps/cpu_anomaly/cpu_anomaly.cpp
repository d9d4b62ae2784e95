#include "cpu_anomaly.hpp"

#include "topology/stream.hpp"

namespace sluice::apps {

namespace json = boost::json;

void build_cpu_anomaly(topology_builder& builder, const cpu_anomaly_topics& topics) {
  // SELECT occurred_at AS time_ltz, hostname, cpu, usage FROM cpu_load_stats_real WHERE usage > 80
  builder.stream<serdes::json, serdes::json>(topics.readings)
    .filter([](const json::value& reading) { return reading.at("usage").to_number<double>() > cpu_usage_threshold; },
            "usage-over-80")
    .map_values(
      [](const json::value& reading) {
        const auto& r = reading.as_object();
        return json::value{{"time_ltz", r.at("occurred_at")},
                           {"hostname", r.at("hostname")},
                           {"cpu", r.at("cpu")},
                           {"usage", r.at("usage")}};
      },
      "to-filter-row")
    .to(topics.filtered, "filtered-sink");
}

} // namespace sluice::apps
