// cpu-anomaly: flags CPU readings over 80 % usage (the IoT anomaly tutorial's first pipeline).
#include "cpu_anomaly.hpp"
#include "sluice.hpp"

#include <spdlog/spdlog.h>

#include <iostream>

int main(int argc, char** argv) {
  CLI::App cli{"cpu-anomaly: reads CPU readings from cpu_load_stats_real and writes those with usage > 80\n"
               "to cpu_load_stats_real_filter as {time_ltz, hostname, cpu, usage}."};
  sluice::streams_config defaults;
  defaults.application_id = "cpu-anomaly";
  sluice::config_flags flags{cli, defaults};
  sluice::apps::cpu_anomaly_topics topics;
  cli.add_option("--input-topic", topics.readings, "topic of the readings")->capture_default_str();
  cli.add_option("--output-topic", topics.filtered, "topic of the readings over the threshold")->capture_default_str();
  bool describe = false;
  cli.add_flag("--describe", describe, "print the topology and exit");
  CLI11_PARSE(cli, argc, argv);

  try {
    auto config = flags.resolve();
    sluice::setup_logging(config.log_level);
    sluice::topology_builder builder;
    sluice::apps::build_cpu_anomaly(builder, topics);
    auto topology = builder.build();
    if (describe) {
      std::cout << topology.describe();
      return 0;
    }
    spdlog::info("cpu-anomaly: application.id={} bootstrap.servers={}\n{}", config.application_id,
                 config.bootstrap_servers, topology.describe());
    sluice::kafka_streams streams{topology, config};
    return streams.run();
  } catch (const std::exception& e) {
    std::cerr << "cpu-anomaly: " << e.what() << "\n";
    return 2;
  }
}
