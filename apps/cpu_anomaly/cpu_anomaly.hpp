// The IoT CPU anomaly topology (the Flink + PostgreSQL + Slack tutorial): readings over 80 %,
// 30-second averages per host and CPU, and alerts for averages over a host's PostgreSQL threshold.
#pragma once

#include <sluice/connectors/http/alert_target.hpp>
#include <sluice/connectors/postgres/lookup_join.hpp>
#include <sluice/topology/topology_builder.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <variant>

namespace sluice::apps {

/// Topics of the cpu-anomaly app; defaults are the tutorial's names.
struct cpu_anomaly_topics {
  std::string readings = "cpu_load_stats_real";        ///< input: {"hostname","cpu","usage","occurred_at"}
  std::string filtered = "cpu_load_stats_real_filter"; ///< output: {"time_ltz","hostname","cpu","usage"}
  std::string aggregated =
    "cpu_agg_stats"; ///< output: {"window_start","window_end","hostname","cpu","usage_avg","usage_max"}
  std::string alerts =
    "cpu_alerts"; ///< output: {"window_start","window_end","hostname","cpu","usage_avg","allowed_top"}
};

/// Readings with usage above this go to `filtered`.
inline constexpr double cpu_usage_threshold = 80.0;

/// The tutorial's Slack message, as an alert-sink template over an alert row (the average with 2 decimals).
inline constexpr const char* cpu_alert_text =
  "host:{hostname} CPU: {cpu} avg CPU value:{usage_avg:.2f} over the threshold {allowed_top}";

/// The third pipeline: thresholds looked up in PostgreSQL and where alerts over them go.
struct cpu_thresholds_stage {
  postgres_lookup_source thresholds; ///< table cpu_thresholds(hostname, allowed_top), keyed by hostname
  alert_target target;               ///< receives one alert per window over its host's threshold
};

/// Which pipelines run and their windowing.
struct cpu_anomaly_options {
  /// false: only the `usage > 80` filter (the tutorial's first pipeline).
  bool aggregate = true;
  /// Tumbling window of the averages (the tutorial's INTERVAL '30' SECONDS).
  std::chrono::milliseconds window = std::chrono::seconds{30};
  /// Out-of-orderness accepted before a window closes (the tutorial's watermark: occurred_at - 10 s).
  std::chrono::milliseconds grace = std::chrono::seconds{10};
  /// nullopt: no threshold lookup and no alerts (the app then needs no PostgreSQL).
  std::optional<cpu_thresholds_stage> thresholds = std::nullopt;
};

/// postgres_lookup_options for `table` (hostname → allowed_top) over `conninfo` (empty: PG* env).
postgres_lookup_options cpu_thresholds_lookup(std::string conninfo, std::string table = "cpu_thresholds");

/// Adds the cpu-anomaly streams to `builder`.
void build_cpu_anomaly(topology_builder& builder, const cpu_anomaly_topics& topics = {},
                       const cpu_anomaly_options& options = {});

} // namespace sluice::apps
