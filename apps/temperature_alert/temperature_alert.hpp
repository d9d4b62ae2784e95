// The machine-temperature alerting topology of the Quix Streams anomaly-detection tutorial.
#pragma once

#include <sluice/connectors/http/alert_target.hpp>
#include <sluice/topology/stream.hpp>
#include <sluice/topology/topology_builder.hpp>

#include <string>

namespace sluice::apps {

/// Topics of the temperature-alert app; defaults are the tutorial's names.
struct temperature_alert_topics {
  std::string readings = "temperature_readings"; ///< input: key machine id, {"Temperature_C", "Timestamp" (ns)}
  std::string alerts = "alerts"; ///< output: {"machine_id", "window_start", "window_end", "average_temperature"}
};

/// Settings of the temperature-alert topology.
struct temperature_alert_options {
  temperature_alert_topics topics; ///< topic names
  double threshold = 90.0;         ///< a window mean >= this (after rounding to 2 decimals) alerts
  alert_target target;             ///< alert destination
};

/// The app name: console label and default application.id.
inline constexpr const char* temperature_alert_name = "temperature-alert";

/// The alert text, as the tutorial prints it.
inline constexpr const char* temperature_alert_text =
  "Alerting for MID {machine_id}: Average Temperature {average_temperature}";

/// `x` rounded to 2 decimals the way Python's round(x, 2) does (correctly rounded, ties to even).
double round_2_decimals(double x);

/// Adds the temperature-alert streams to `builder`: per machine, the mean temperature over 5 s
/// windows hopping by 1 s, emitted on every reading; means >= threshold go to `alerts` and the alert sink.
void build_temperature_alert(topology_builder& builder, const temperature_alert_options& options = {});

} // namespace sluice::apps
