#pragma once
// The scenario interface of sluice-gen: a scenario turns a random number generator and an event
// time into one record (key, value). main.cpp owns everything else (flags shared by all scenarios,
// pacing, the Kafka producer). To add a scenario: one scenario_<name>.cpp that implements this
// interface plus one line in registry.cpp.

#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace CLI {
class App;
}

namespace sluice::gen {

// The random source of all scenarios; fixed algorithm, so a seed gives the same records everywhere.
using random_engine = std::mt19937_64;

// Uniform integer in [0, n) for n >= 1, independent of the standard library's distributions
// (which differ between implementations).
inline std::uint64_t uniform_below(random_engine& rng, std::uint64_t n) {
  return static_cast<std::uint64_t>((static_cast<unsigned __int128>(rng()) * n) >> 64);
}

// Uniform double in [lo, hi) from 53 random bits, implementation-independent.
inline double uniform_real(random_engine& rng, double lo, double hi) {
  return lo + (hi - lo) * (static_cast<double>(rng() >> 11) * 0x1.0p-53);
}

class scenario {
public:
  virtual ~scenario() = default;

  // Registers the scenario's own flags on its subcommand (called before parsing).
  virtual void add_options(CLI::App& command) { (void)command; }

  // Writes the next record into key and value, replacing their contents (callers reuse the
  // buffers, so an implementation that only appends to them allocates nothing once warmed up).
  // occurred_at_ms is the record's event time. Must draw randomness only from rng.
  virtual void next(random_engine& rng, std::int64_t occurred_at_ms, std::string& key,
                    std::string& value) = 0;
};

// One entry of the registry: a subcommand of sluice-gen.
struct scenario_info {
  std::string_view name;          // subcommand name, e.g. "cpu"
  std::string_view description;   // one line for --help
  std::string_view default_topic; // topic used when --topic is not given
  std::unique_ptr<scenario> (*make)();
};

// All scenarios, in the order --help lists them.
const std::vector<scenario_info>& scenarios();

// Appends a double in the shortest form that reads back exactly, like Python's repr
// ("98.3335306302198", "70.0"). Allocates nothing beyond out's growth.
void append_double(std::string& out, double value);

// Appends a decimal integer. Allocates nothing beyond out's growth.
void append_int(std::string& out, std::int64_t value);

} // namespace sluice::gen
