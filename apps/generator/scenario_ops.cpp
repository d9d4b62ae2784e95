// Scenario "ops": the three KSQL-tutorial streams in one run. Each record is, with equal
// probability, the next record of the logs, transactions or ratings scenario, written to
// logs_topic, transactions_topic or ratings_topic (--topic does not apply). Takes the anomaly flags
// of all three.

#include "scenario.hpp"

#include <array>

namespace sluice::gen {

std::unique_ptr<scenario> make_logs_scenario();
std::unique_ptr<scenario> make_transactions_scenario();
std::unique_ptr<scenario> make_ratings_scenario();

namespace {

constexpr std::array<std::string_view, 3> topics = {"logs_topic", "transactions_topic", "ratings_topic"};

class ops_scenario final : public scenario {
public:
  void add_options(CLI::App& command) override {
    for (auto& part : parts_)
      part->add_options(command);
  }

  void next(random_engine& rng, std::int64_t occurred_at_ms, std::string& key, std::string& value) override {
    current_ = uniform_below(rng, parts_.size());
    parts_[current_]->next(rng, occurred_at_ms, key, value);
  }

  std::string_view record_topic() const override { return topics[current_]; }

private:
  std::array<std::unique_ptr<scenario>, 3> parts_ = {make_logs_scenario(), make_transactions_scenario(),
                                                     make_ratings_scenario()};
  std::size_t current_ = 0;
};

} // namespace

std::unique_ptr<scenario> make_ops_scenario() { return std::make_unique<ops_scenario>(); }

} // namespace sluice::gen
