// The main every bundled app shares: flags, configuration, logging, --describe, run until stopped.
#pragma once

#include <sluice/command_line.hpp>
#include <sluice/sluice.hpp>

#include <functional>
#include <string>

namespace sluice::apps {

/// Builds an app's topology into `builder` for `config` and returns what runs, in a line (logged at
/// start, printed first by --describe); throws std::exception on a bad setting.
using app_plan = std::function<std::string(const streams_config& config, topology_builder& builder)>;

/// Runs a bundled app named `name`: adds --describe to `cli` (which holds the app's own flags and
/// the configuration's `flags`), parses the command line, resolves the configuration, sets up
/// logging and builds the topology with `plan`; then prints it (--describe) or runs it until
/// stopped. Returns the exit code: CLI11's for --help or bad flags, 2 (the message on stderr) for a
/// bad setting or a failure, else what kafka_streams::run returns.
int run_app(const std::string& name, CLI::App& cli, config_flags& flags, const app_plan& plan, int argc, char** argv);

} // namespace sluice::apps
