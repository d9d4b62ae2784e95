// Configuration: a properties file and the command line (`--set KEY=VALUE` and one flag per key)
// either apply or fail with the documented exception, and whatever they set reads back through
// `get` and survives being written out as a properties file and loaded again.
#include "fuzz_check.hpp"

#include <sluice/command_line.hpp>
#include <sluice/streams_config.hpp>

#include <sstream>
#include <vector>

using namespace sluice;
using sluice::fuzz::check;

namespace {

// Every setting of `c` as (key, value): each known key, then the pass-through maps.
std::vector<std::pair<std::string, std::string>> settings_of(const streams_config& c) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& k : config_keys())
    out.emplace_back(k.name, c.get(k.name));
  for (const auto& [prefix, map] :
       {std::pair{"kafka.consumer.", &c.kafka_consumer}, std::pair{"kafka.producer.", &c.kafka_producer},
        std::pair{"kafka.", &c.kafka_common}, std::pair{"topic.", &c.topic_configs}})
    for (const auto& [k, v] : *map)
      out.emplace_back(prefix + k, v);
  return out;
}

// True if `s` has no blank at either end (a properties file trims keys and values).
bool trimmed(const std::string& s) {
  return s.empty() || (s.find_first_of(" \t\r") != 0 && s.find_last_of(" \t\r") != s.size() - 1);
}

// A config that applied: every key reads back (`get`), and written out as properties and loaded
// into a default config it is the same config. A file can hold only keys without '=' or ':' and
// values without blanks at their ends (the command line can set others), so `exact` says whether
// to compare.
void check_reads_back(const streams_config& c, std::string_view input) {
  const auto settings = settings_of(c);
  std::string text;
  bool exact = true;
  for (const auto& [k, v] : settings) {
    text += k + "=" + v + "\n";
    exact = exact && k.find_first_of("=:") == std::string::npos && trimmed(k) && trimmed(v);
  }
  std::istringstream in{text};
  streams_config back;
  back.load_properties(in, "written");
  if (exact)
    check(settings_of(back) == settings, "a config written as properties loads back the same", input);
}

// The input's lines as arguments after the program name; `--config FILE` reads files, so it is left out.
std::vector<std::string> arguments_of(std::string_view input) {
  std::vector<std::string> args{"app"};
  while (!input.empty()) {
    const auto arg = fuzz::take(input, '\n');
    if (!arg.starts_with("--config"))
      args.emplace_back(arg);
  }
  return args;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto input = fuzz::text_of(data, size);

  // As a properties file.
  {
    streams_config c;
    std::istringstream in{std::string{input}};
    bool applied = true;
    try {
      c.load_properties(in, "fuzz.properties");
    } catch (const std::runtime_error&) {
      applied = false; // the documented failure; anything else escapes and is a crash
    }
    if (applied)
      check_reads_back(c, input);
  }

  // As command-line arguments, one per line.
  if (size > 4096)
    return 0;
  auto args = arguments_of(input);
  std::vector<char*> argv;
  for (auto& a : args)
    argv.push_back(a.data());
  CLI::App cli{"fuzz"};
  config_flags flags{cli, streams_config{}};
  try {
    cli.parse(static_cast<int>(argv.size()), argv.data());
  } catch (const CLI::Error&) {
    return 0; // a usage error (CLI11 prints nothing here; apps print it via cli.exit)
  }
  streams_config c;
  try {
    c = flags.resolve();
  } catch (const std::invalid_argument&) {
    return 0; // a bad key or value: named in the message
  } catch (const std::runtime_error&) {
    return 0;
  }
  check_reads_back(c, input);
  return 0;
}
