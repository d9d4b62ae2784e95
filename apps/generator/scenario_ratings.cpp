// Scenario "ratings": the product ratings of the KSQL tutorial (mock_ratings.py). Value:
//   {"date": 1700000000.1, "userid": 123, "productid": 7, "description": "Works as expected",
//    "rating": 4}
// no key; date is the event time in epoch seconds. Users 1-500, products 1-50; plain ratings are
// 5/4/3/2/1 with 35/35/15/10/5 %. --bad-products products (drawn from the seed) are rated 1/2/3
// with 50/40/10 %, so they top the tutorial's worst-products table and its "rating < 3" stream.

#include "scenario.hpp"

#include <CLI/CLI.hpp>

#include <algorithm>
#include <array>

namespace sluice::gen {

namespace {

constexpr std::uint64_t user_count = 500;
constexpr std::uint64_t product_count = 50;

// Descriptions per rating (index rating - 1).
constexpr std::array<std::array<std::string_view, 3>, 5> descriptions = {{
  {"Terrible, broke after one day", "Complete waste of money", "Does not work at all"},
  {"Poor quality", "Not as described", "Disappointed with this purchase"},
  {"Average product", "It is okay for the price", "Does the job, nothing more"},
  {"Works as expected", "Good value", "Happy with it"},
  {"Excellent product", "Exceeded my expectations", "Would buy again"},
}};

// Cumulative per-mille thresholds for ratings 1..5.
constexpr std::array<std::uint64_t, 5> plain_cumulative = {50, 150, 300, 650, 1000};
constexpr std::array<std::uint64_t, 5> bad_cumulative = {500, 900, 1000, 1000, 1000};

class ratings_scenario final : public scenario {
public:
  void add_options(CLI::App& command) override {
    command
      .add_option("--bad-products", bad_product_count_,
                  "products (ids drawn from the seed) that are consistently rated 1-3; 0 = none")
      ->capture_default_str()
      ->check(CLI::Range(0, 50));
  }

  void next(random_engine& rng, std::int64_t occurred_at_ms, std::string& key, std::string& value) override {
    if (!bad_products_drawn_) {
      bad_products_drawn_ = true;
      while (bad_products_.size() < bad_product_count_) {
        const auto product = static_cast<std::int64_t>(1 + uniform_below(rng, product_count));
        if (std::find(bad_products_.begin(), bad_products_.end(), product) == bad_products_.end())
          bad_products_.push_back(product);
      }
    }
    const auto user = static_cast<std::int64_t>(1 + uniform_below(rng, user_count));
    const auto product = static_cast<std::int64_t>(1 + uniform_below(rng, product_count));
    const bool bad = std::find(bad_products_.begin(), bad_products_.end(), product) != bad_products_.end();
    const auto& cumulative = bad ? bad_cumulative : plain_cumulative;
    const auto draw = uniform_below(rng, 1000);
    std::size_t rating = 0;
    while (draw >= cumulative[rating])
      ++rating;
    const auto& texts = descriptions[rating];
    key.clear();
    value.assign(R"({"date": )");
    append_epoch_seconds(value, occurred_at_ms);
    value.append(R"(, "userid": )");
    append_int(value, user);
    value.append(R"(, "productid": )");
    append_int(value, product);
    value.append(R"(, "description": ")").append(texts[uniform_below(rng, texts.size())]);
    value.append(R"(", "rating": )");
    append_int(value, static_cast<std::int64_t>(rating + 1));
    value.push_back('}');
  }

private:
  std::size_t bad_product_count_ = 3;

  bool bad_products_drawn_ = false;
  std::vector<std::int64_t> bad_products_;
};

} // namespace

std::unique_ptr<scenario> make_ratings_scenario() { return std::make_unique<ratings_scenario>(); }

} // namespace sluice::gen
