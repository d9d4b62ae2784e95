// Scenario "temperature": the machine temperatures of the Quix Streams anomaly-detection tutorial.
// Records cycle through machines "0", "1", "2" (the key, a plain string); value:
//   {"Temperature_C": 65, "Timestamp": 1700000000000000000}
// Timestamp is the event time in epoch nanoseconds (the record's event time in ms * 1 000 000; the
// Kafka record timestamp is the same instant in ms). Every reading changes the machine's
// temperature by -1, 0 or +1: machines 0 and 1 start in [60, 70] and stay there; machine 2 (the
// malfunctioning one) starts in [70, 80] and steps +1 with probability --overheat-bias (otherwise
// -1/0/+1 uniformly), so it drifts upward. The scenario ends after a machine's reading of 100 C.

#include "scenario.hpp"

#include <CLI/CLI.hpp>

#include <algorithm>
#include <array>

namespace sluice::gen {

namespace {

constexpr std::array<std::string_view, 3> machine_ids = {"0", "1", "2"};
constexpr std::size_t hot_machine = 2;
constexpr std::int64_t normal_low = 60;
constexpr std::int64_t normal_high = 70;
constexpr std::int64_t stop_temperature = 100;

class temperature_scenario final : public scenario {
public:
  void add_options(CLI::App& command) override {
    command
      .add_option("--overheat-bias", overheat_bias_,
                  "probability that machine 2's reading steps +1 (else -1/0/+1 uniformly); 0 = machine 2 "
                  "behaves like the others and never overheats (then only --count ends the run)")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1.0));
  }

  void next(random_engine& rng, std::int64_t occurred_at_ms, std::string& key, std::string& value) override {
    if (readings_ == 0) {
      for (std::size_t m = 0; m < machine_ids.size(); ++m) {
        const bool hot = m == hot_machine && overheat_bias_ > 0;
        temperatures_[m] = (hot ? normal_high : normal_low) + static_cast<std::int64_t>(uniform_below(rng, 11));
      }
    } else if (readings_ >= machine_ids.size()) {
      step(rng, machine_); // each machine's first reading is its start temperature
    }
    ++readings_;
    key.assign(machine_ids[machine_]);
    value.assign(R"({"Temperature_C": )");
    append_int(value, temperatures_[machine_]);
    value.append(R"(, "Timestamp": )");
    append_int(value, occurred_at_ms * 1'000'000);
    value.push_back('}');
    if (temperatures_[machine_] >= stop_temperature)
      finished_ = true;
    machine_ = (machine_ + 1) % machine_ids.size();
  }

  bool finished() const override { return finished_; }

private:
  // Moves the temperature of machine m by -1, 0 or +1.
  void step(random_engine& rng, std::size_t m) {
    auto& t = temperatures_[m];
    if (m == hot_machine && overheat_bias_ > 0) {
      t += chance(rng, overheat_bias_) ? 1 : static_cast<std::int64_t>(uniform_below(rng, 3)) - 1;
      return;
    }
    t += static_cast<std::int64_t>(uniform_below(rng, 3)) - 1;
    t = std::clamp(t, normal_low, normal_high);
  }

  double overheat_bias_ = 0.5;
  std::uint64_t readings_ = 0;
  bool finished_ = false;
  std::size_t machine_ = 0;
  std::array<std::int64_t, 3> temperatures_{};
};

} // namespace

std::unique_ptr<scenario> make_temperature_scenario() { return std::make_unique<temperature_scenario>(); }

} // namespace sluice::gen
