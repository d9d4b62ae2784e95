// Command-line flags for every configuration key, for apps built on sluice.
#pragma once

#include <sluice/streams_config.hpp>

#include <CLI/CLI.hpp>

#include <map>
#include <string>
#include <vector>

namespace sluice {

/// Registers `--config FILE`, `--set KEY=VALUE` and one flag per key (`--commit-interval-ms`) on `cli`.
class config_flags {
public:
  /// `defaults` are what the app runs with when nothing is configured (shown by --help).
  config_flags(CLI::App& cli, streams_config defaults);

  /// After `cli` parsed: defaults, then the file, then the environment, then flags.
  /// Throws std::exception with a message naming the bad key or file line.
  streams_config resolve() const;

private:
  streams_config defaults_;
  std::string file_;
  std::vector<std::string> sets_;
  std::map<std::string, std::string> flags_;
};

} // namespace sluice
