#include <sluice/command_line.hpp>

#include <stdexcept>

namespace sluice {

config_flags::config_flags(CLI::App& cli, streams_config defaults) : defaults_(std::move(defaults)) {
  cli.add_option("--config", file_, "properties file (key=value lines) applied before environment and flags");
  cli.add_option("--set", sets_, "KEY=VALUE for any configuration key, e.g. kafka.session.timeout.ms=6000")
    ->type_name("KEY=VALUE");
  cli
    .add_option_function<int>(
      "--http-port", [this](int port) { flags_["application.server"] = "localhost:" + std::to_string(port); },
      "serve /metrics, /health, /stores and the live page on localhost:PORT (0: a free port; "
      "application.server for other hosts)")
    ->type_name("PORT");
  for (const auto& k : config_keys()) {
    std::string flag = "--" + k.name;
    std::replace(flag.begin(), flag.end(), '.', '-');
    cli
      .add_option_function<std::string>(
        flag, [this, key = k.name](const std::string& v) { flags_[key] = v; },
        k.doc + " (" + k.name + ", default: " + defaults_.get(k.name) + ")")
      ->type_name("VALUE");
  }
  cli.footer("Environment: SLUICE_<KEY> (dots as underscores, e.g. SLUICE_BOOTSTRAP_SERVERS).\n"
             "Any kafka.<librdkafka setting> passes through (kafka.consumer.* / kafka.producer.* for one side).");
}

streams_config config_flags::resolve() const {
  streams_config c = defaults_;
  if (!file_.empty())
    c.load_file(file_);
  c.load_environment();
  for (const auto& s : sets_) {
    auto eq = s.find('=');
    if (eq == std::string::npos || eq == 0)
      throw std::invalid_argument("--set expects KEY=VALUE, got '" + s + "'");
    c.set(s.substr(0, eq), s.substr(eq + 1));
  }
  for (const auto& [k, v] : flags_)
    c.set(k, v);
  return c;
}

} // namespace sluice
