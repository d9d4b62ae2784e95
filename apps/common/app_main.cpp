#include "app_main.hpp"

#include <spdlog/spdlog.h>

#include <iostream>

namespace sluice::apps {

int run_app(const std::string& name, CLI::App& cli, config_flags& flags, const app_plan& plan, int argc, char** argv) {
  bool describe = false;
  cli.add_flag("--describe", describe, "print the topology and exit");
  try {
    cli.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return cli.exit(e);
  }
  try {
    auto config = flags.resolve();
    setup_logging(config.log_level);
    topology_builder builder;
    const auto summary = plan(config, builder);
    auto topology = builder.build();
    // Internal topics by their full names, as the running app creates them.
    const auto description = topology.with_application_id(config.application_id).describe();
    if (describe) {
      std::cout << summary << "\n" << description;
      return 0;
    }
    spdlog::info("{}: application.id={} bootstrap.servers={} {}\n{}", name, config.application_id,
                 config.bootstrap_servers, summary, description);
    kafka_streams streams{topology, config};
    return streams.run();
  } catch (const std::exception& e) {
    std::cerr << name << ": " << e.what() << "\n";
    return 2;
  }
}

} // namespace sluice::apps
