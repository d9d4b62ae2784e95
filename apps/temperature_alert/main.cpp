// temperature-alert: alerts when a machine's mean temperature over a 5 s hopping window reaches 90 C
// (the Quix Streams anomaly-detection tutorial).
#include "sluice.hpp"
#include "temperature_alert.hpp"

#include <spdlog/spdlog.h>

#include <iostream>

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
  bool describe = false;
  cli.add_flag("--describe", describe, "print the topology and exit");
  CLI11_PARSE(cli, argc, argv);

  try {
    options.target.validate();
    auto config = flags.resolve();
    sluice::setup_logging(config.log_level);
    sluice::topology_builder builder;
    sluice::apps::build_temperature_alert(builder, options);
    auto topology = builder.build();
    // Internal topics by their full names, as the running app creates them.
    const auto description = topology.with_application_id(config.application_id).describe();
    if (describe) {
      std::cout << description;
      return 0;
    }
    spdlog::info("temperature-alert: application.id={} bootstrap.servers={} alerts to {}\n{}", config.application_id,
                 config.bootstrap_servers,
                 options.target.describe(),
                 description);
    sluice::kafka_streams streams{topology, config};
    return streams.run();
  } catch (const std::exception& e) {
    std::cerr << "temperature-alert: " << e.what() << "\n";
    return 2;
  }
}
