// temperature-alert: alerts when a machine's mean temperature over a 5 s hopping window reaches 90 C
// (the Quix Streams anomaly-detection tutorial).
#include "app_main.hpp"
#include "temperature_alert.hpp"

int main(int argc, char** argv) {
  CLI::App cli{"temperature-alert: reads machine temperatures from temperature_readings (key: machine id,\n"
               "value {\"Temperature_C\", \"Timestamp\" in epoch ns}), averages them per machine over 5 s windows\n"
               "hopping by 1 s (updated on every reading) and, when a mean rounded to 2 decimals is >= 90,\n"
               "writes {machine_id, window_start, window_end, average_temperature} to alerts and prints\n"
               "\"Alerting for MID <id>: Average Temperature <mean>\" (or posts it to Slack)."};
  sluice::streams_config defaults;
  defaults.application_id = "temperature_alerter";
  sluice::config_flags flags{cli, defaults};
  sluice::apps::temperature_alert_options options;
  cli.add_option("--input-topic", options.topics.readings, "topic of the temperature readings")->capture_default_str();
  cli.add_option("--output-topic", options.topics.alerts, "topic of the alerts")->capture_default_str();
  cli.add_option("--threshold", options.threshold, "alert when the rounded window mean is >= this")
    ->capture_default_str();
  options.target.add_flags(cli);
  return sluice::apps::run_app(
    "temperature-alert", cli, flags,
    [&](const sluice::streams_config&, sluice::topology_builder& builder) {
      options.target.validate();
      sluice::apps::build_temperature_alert(builder, options);
      return "alerts to " + options.target.describe();
    },
    argc, argv);
}
