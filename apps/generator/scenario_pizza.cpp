// Scenario "pizza": the pizza orders of the Kafka + Flink anomaly-detection tutorial (Aiven's fake
// data producer). Value, as Python's json.dumps writes it (", " and ": ", emoji as \uXXXX escapes
// unless --utf8):
//   {"id": 1, "shop": "Marios Pizza", "name": "Laura Rossi", "phoneNumber": "(555)314-1592",
//    "address": "1234 Maple Street\nSpringfield, CA 90210",
//    "pizzas": [{"pizzaName": "Diavola", "additionalToppings": ["\ud83c\udf45 tomato"]}],
//    "timestamp": 1700000000000}
// key: {"shop": "Marios Pizza"}. timestamp is the event time, which main also uses as the Kafka
// record timestamp. 1-10 pizzas per order, 1-5 additional toppings per pizza, as the original.
//
// Anomalies the tutorial's Flink apps look for:
// * prohibited toppings (pineapple, strawberry, banana): plain random orders already contain some;
//   --burst-rate starts bursts of --burst-size orders whose every pizza carries 2-5 prohibited
//   toppings (so "more than 3 prohibited toppings per order" fires);
// * trends over 5-second windows (START_ROW NR_UP NR_DOWN with a drop > 30 %): the weight of
//   --trend-topping follows a cycle of 4 event-time windows of 5 s: x1, x4, x1, x1, so its count
//   per window rises fourfold, then drops by ~75 %.

#include "scenario.hpp"

#include <CLI/CLI.hpp>

#include <array>

namespace sluice::gen {

namespace {

constexpr std::array<std::string_view, 6> shops = {"Marios Pizza",         "Luigis Pizza",
                                                   "Circular Pi Pizzeria", "Ill Make You a Pizza You Cant Refuse",
                                                   "Mammamia Pizza",       "Its-a me! Mario Pizza!"};

// Pizza names and the original's probabilities in per mille (0.4, 0.1, 0.3, 0.1, 0.05, 0.05).
constexpr std::array<std::string_view, 6> pizza_names = {"Margherita",   "Marinara", "Diavola",
                                                         "Mari & Monti", "Salami",   "Peperoni"};
constexpr std::array<std::uint64_t, 6> pizza_name_weights = {400, 100, 300, 100, 50, 50};

constexpr std::array<std::string_view, 13> toppings = {
  "🍅 tomato",    "🧀 blue cheese", "🥚 egg", "🫑 green peppers", "🌶️ hot pepper", "🥓 bacon",
  "🫒 olives", "🧄 garlic",      "🐟 tuna",   "🧅 onion",         "🍍 pineapple",        "🍓 strawberry",
  "🍌 banana"};
constexpr std::size_t first_prohibited = 10; // pineapple, strawberry, banana are the last three

constexpr std::array<std::string_view, 20> first_names = {
  "Laura", "Marco",  "Giulia", "Luca",  "Sofia",  "Matteo", "Anna",    "Paolo",  "Chiara", "Andrea",
  "Maria", "Daniel", "Emily",  "James", "Olivia", "Robert", "Jessica", "Thomas", "Sarah",  "David"};
constexpr std::array<std::string_view, 20> last_names = {
  "Rossi", "Bianchi", "Romano",   "Colombo", "Ricci",  "Marino", "Greco", "Bruno",    "Gallo",  "Conti",
  "Smith", "Johnson", "Williams", "Brown",   "Garcia", "Miller", "Davis", "Martinez", "Wilson", "Moore"};
constexpr std::array<std::string_view, 12> streets = {"Maple Street", "Oak Avenue", "Pine Road",   "Cedar Lane",
                                                      "Elm Street",   "Via Roma",   "Lake Drive",  "Hill Court",
                                                      "Park Place",   "River Road", "Sunset Blvd", "Corso Como"};
constexpr std::array<std::string_view, 8> cities = {"Springfield", "Riverside", "Fairview", "Milano",
                                                    "Greenville",  "Franklin",  "Clinton",  "Madison"};
constexpr std::array<std::string_view, 8> states = {"CA", "NY", "TX", "WA", "IL", "OR", "MA", "MI"};

constexpr std::int64_t trend_window_ms = 5000;
constexpr std::array<std::uint64_t, 4> trend_cycle = {1, 4, 1, 1};

void append_digits(std::string& out, random_engine& rng, int n) {
  for (int i = 0; i < n; ++i)
    out.push_back(static_cast<char>('0' + uniform_below(rng, 10)));
}

class pizza_scenario final : public scenario {
public:
  void add_options(CLI::App& command) override {
    command.add_flag("--utf8", utf8_, "write emoji as raw UTF-8 instead of \\uXXXX escapes (json.dumps default)");
    command
      .add_option("--burst-rate", burst_rate_,
                  "probability that an order starts a burst of orders loaded with prohibited toppings "
                  "(pineapple, strawberry, banana); 0 = plain random orders only")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1.0));
    command.add_option("--burst-size", burst_size_, "orders per prohibited-topping burst")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
    command
      .add_option("--trend-topping", trend_topping_,
                  "topping (name without emoji, e.g. pineapple) whose share cycles x1, x4, x1, x1 over "
                  "consecutive 5 s event-time windows (rise, then a >30% drop); 'none' = off")
      ->capture_default_str();
  }

  void next(random_engine& rng, std::int64_t occurred_at_ms, std::string& key, std::string& value) override {
    if (!prepared_)
      prepare();
    if (burst_left_ == 0 && chance(rng, burst_rate_))
      burst_left_ = burst_size_;
    const bool prohibited_order = burst_left_ > 0;
    if (prohibited_order)
      --burst_left_;

    const auto shop = shops[uniform_below(rng, shops.size())];
    key.assign(R"({"shop": )");
    append_json_string(key, shop, !utf8_);
    key.push_back('}');

    value.assign(R"({"id": )");
    append_int(value, static_cast<std::int64_t>(++order_id_));
    value.append(R"(, "shop": )");
    append_json_string(value, shop, !utf8_);
    value.append(R"(, "name": ")");
    value.append(first_names[uniform_below(rng, first_names.size())]).push_back(' ');
    value.append(last_names[uniform_below(rng, last_names.size())]);
    value.append(R"(", "phoneNumber": "()");
    append_digits(value, rng, 3);
    value.push_back(')');
    append_digits(value, rng, 3);
    value.push_back('-');
    append_digits(value, rng, 4);
    value.append(R"(", "address": ")");
    append_int(value, 1 + static_cast<std::int64_t>(uniform_below(rng, 9999)));
    value.push_back(' ');
    value.append(streets[uniform_below(rng, streets.size())]);
    value.append(R"(\n)"); // Faker's addresses have a line break, escaped by json.dumps
    value.append(cities[uniform_below(rng, cities.size())]).append(", ");
    value.append(states[uniform_below(rng, states.size())]).push_back(' ');
    append_digits(value, rng, 5);
    value.append(R"(", "pizzas": [)");

    const std::uint64_t trend_weight = trend_weight_at(occurred_at_ms);
    const auto pizza_count = 1 + uniform_below(rng, 10);
    for (std::uint64_t p = 0; p < pizza_count; ++p) {
      if (p > 0)
        value.append(", ");
      value.append(R"({"pizzaName": )");
      value.append(pizza_names_json_[pick_pizza_name(rng)]);
      value.append(R"(, "additionalToppings": [)");
      const auto topping_count = prohibited_order ? 2 + uniform_below(rng, 4) : 1 + uniform_below(rng, 5);
      for (std::uint64_t t = 0; t < topping_count; ++t) {
        if (t > 0)
          value.append(", ");
        const std::size_t topping = prohibited_order
                                      ? first_prohibited + uniform_below(rng, toppings.size() - first_prohibited)
                                      : pick_topping(rng, trend_weight);
        value.append(toppings_json_[topping]);
      }
      value.append("]}");
    }
    value.append(R"(], "timestamp": )");
    append_int(value, occurred_at_ms);
    value.push_back('}');
  }

private:
  // Encodes the fixed strings once, in the chosen form, and resolves --trend-topping.
  void prepare() {
    prepared_ = true;
    for (std::size_t i = 0; i < toppings.size(); ++i) {
      append_json_string(toppings_json_[i], toppings[i], !utf8_);
      const auto name = toppings[i].substr(toppings[i].find(' ') + 1);
      if (name == trend_topping_ || toppings[i] == trend_topping_)
        trend_index_ = i;
    }
    for (std::size_t i = 0; i < pizza_names.size(); ++i)
      append_json_string(pizza_names_json_[i], pizza_names[i], !utf8_);
    if (trend_topping_ != "none" && trend_index_ == toppings.size())
      throw std::runtime_error("--trend-topping: unknown topping '" + trend_topping_ + "'");
  }

  // Weight of the trend topping (the others weigh 1) in the 5 s window that holds occurred_at_ms.
  std::uint64_t trend_weight_at(std::int64_t occurred_at_ms) const {
    if (trend_index_ == toppings.size())
      return 1;
    std::int64_t window = occurred_at_ms / trend_window_ms;
    if (occurred_at_ms < 0 && occurred_at_ms % trend_window_ms != 0)
      --window;
    const auto phase = static_cast<std::size_t>(((window % 4) + 4) % 4);
    return trend_cycle[phase];
  }

  std::size_t pick_topping(random_engine& rng, std::uint64_t trend_weight) const {
    if (trend_weight == 1)
      return uniform_below(rng, toppings.size());
    std::uint64_t draw = uniform_below(rng, toppings.size() - 1 + trend_weight);
    if (draw < trend_weight)
      return trend_index_;
    draw -= trend_weight;
    return draw < trend_index_ ? draw : draw + 1;
  }

  static std::size_t pick_pizza_name(random_engine& rng) {
    std::uint64_t draw = uniform_below(rng, 1000);
    std::size_t i = 0;
    while (draw >= pizza_name_weights[i]) {
      draw -= pizza_name_weights[i];
      ++i;
    }
    return i;
  }

  bool utf8_ = false;
  double burst_rate_ = 0.01;
  std::uint64_t burst_size_ = 5;
  std::string trend_topping_ = "pineapple";

  bool prepared_ = false;
  std::array<std::string, toppings.size()> toppings_json_;
  std::array<std::string, pizza_names.size()> pizza_names_json_;
  std::size_t trend_index_ = toppings.size();
  std::uint64_t burst_left_ = 0;
  std::uint64_t order_id_ = 0;
};

} // namespace

std::unique_ptr<scenario> make_pizza_scenario() { return std::make_unique<pizza_scenario>(); }

} // namespace sluice::gen
