// The IoT CPU anomaly topology (stage 1 of the Flink + PostgreSQL + Slack tutorial).
#pragma once

#include "topology/topology_builder.hpp"

#include <string>

namespace sluice::apps {

/// Topics of the cpu-anomaly app; defaults are the tutorial's names.
struct cpu_anomaly_topics {
  std::string readings = "cpu_load_stats_real";         ///< input: {"hostname","cpu","usage","occurred_at"}
  std::string filtered = "cpu_load_stats_real_filter";  ///< output: {"time_ltz","hostname","cpu","usage"}
};

/// Readings with usage above this go to `filtered`.
inline constexpr double cpu_usage_threshold = 80.0;

/// Adds the cpu-anomaly streams to `builder`.
void build_cpu_anomaly(topology_builder& builder, const cpu_anomaly_topics& topics = {});

} // namespace sluice::apps
