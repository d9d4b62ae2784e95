#pragma once
// The scenario interface of sluice-gen: a scenario turns a random number generator and an event
// time into one record (key, value). main.cpp owns everything else (flags shared by all scenarios,
// pacing, the Kafka producer). To add a scenario: one scenario_<name>.cpp that implements this
// interface plus one line in registry.cpp and one in CMakeLists.txt.

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
  // An empty key is sent as a null key.
  virtual void next(random_engine& rng, std::int64_t occurred_at_ms, std::string& key, std::string& value) = 0;

  // True once the scenario has nothing more to write (e.g. a machine reached 100 °C); main stops
  // before the next record even if --count is not reached.
  virtual bool finished() const { return false; }

  // Topic of the record the last next() made; empty: the run's topic (--topic or the default).
  // Lets one scenario interleave several topics.
  virtual std::string_view record_topic() const { return {}; }
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

// Appends `text` (UTF-8) as a quoted JSON string. ascii_only: like Python's json.dumps default
// (ensure_ascii), every non-ASCII character becomes \uXXXX (lower-case hex, surrogate pairs above
// U+FFFF, e.g. "\ud83c\udf4d"); otherwise UTF-8 is copied through. Always escapes '"', '\\' and
// control characters (\n, \t, ... or \u00XX). Invalid UTF-8 bytes are written as U+FFFD.
void append_json_string(std::string& out, std::string_view text, bool ascii_only);

// Appends "YYYY-MM-DD HH:MM:SS.ffffff" (UTC) for epoch milliseconds, like Python's
// str(datetime.utcfromtimestamp(...)) with microseconds.
void append_utc_datetime(std::string& out, std::int64_t epoch_ms);

// Appends epoch milliseconds as epoch seconds with a fraction, like Python's time.time()
// ("1700000000.123", "1700000000.0").
void append_epoch_seconds(std::string& out, std::int64_t epoch_ms);

// Appends a UUID-4-shaped string ("8c3e6f0a-...") drawn from rng.
void append_uuid4(std::string& out, random_engine& rng);

// True with probability p (p <= 0: never; p >= 1: always), implementation-independent.
inline bool chance(random_engine& rng, double p) { return p > 0 && uniform_real(rng, 0.0, 1.0) < p; }

} // namespace sluice::gen
