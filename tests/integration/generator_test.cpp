// Integration tests of sluice-gen's tutorial scenarios (pizza, temperature, logs, transactions,
// ratings, ops): a seed reproduces the --print output byte for byte, the records written to an
// embedded broker are exactly the printed ones (with the event time as record timestamp), the
// fields have the tutorials' names and types, and the injected anomalies are there.

#include "child_process.hpp"
#include "embedded_broker.hpp"
#include "kafka_test_client.hpp"
#include "paths.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <regex>
#include <set>
#include <sstream>

namespace {

using namespace std::chrono_literals;
using sluice::test::child_process;
using sluice::test::kafka_test_client;
namespace json = boost::json;

constexpr std::int64_t seeded_start_ms = 1700000000000; // sluice-gen's default with --seed
constexpr std::int64_t step_ms = 100;                   // sluice-gen's default --step-ms

// Runs sluice-gen with `args`; returns its stdout, failing the test if it does not exit with 0.
std::string run_gen(const std::vector<std::string>& args) {
  child_process gen(sluice::test::built_binary("sluice-gen"), args);
  const auto status = gen.wait_for(30s);
  EXPECT_TRUE(status && status->success())
    << (status ? to_string(*status) : std::string("still running")) << "; stderr: " << gen.stderr_text();
  return gen.stdout_text();
}

// `sluice-gen <scenario> --print --seed <seed> -n <count> <extra...>`, split into lines.
std::vector<std::string> print_lines(const std::string& scenario, int seed, int count,
                                     std::vector<std::string> extra = {}) {
  std::vector<std::string> args = {scenario, "--print", "--seed", std::to_string(seed), "-n", std::to_string(count)};
  args.insert(args.end(), extra.begin(), extra.end());
  std::vector<std::string> lines;
  std::istringstream in(run_gen(args));
  for (std::string line; std::getline(in, line);)
    lines.push_back(line);
  return lines;
}

// A printed line "KEY<TAB>VALUE" split in two.
std::pair<std::string, std::string> split_record(const std::string& line) {
  const auto tab = line.find('\t');
  EXPECT_NE(tab, std::string::npos) << line;
  return {line.substr(0, tab), line.substr(tab + 1)};
}

json::object parse_object(const std::string& text) {
  json::error_code ec;
  auto parsed = json::parse(text, ec);
  EXPECT_FALSE(ec) << "not JSON: " << text;
  EXPECT_TRUE(parsed.is_object()) << text;
  return parsed.is_object() ? parsed.as_object() : json::object{};
}

// Event time in ms that a record of `scenario` carries in its value.
std::int64_t event_time_ms(const std::string& scenario, const json::object& value) {
  if (scenario == "pizza")
    return value.at("timestamp").as_int64();
  if (scenario == "temperature")
    return value.at("Timestamp").as_int64() / 1'000'000;
  if (scenario == "transactions")
    return std::llround(value.at("timestamp").as_double() * 1000);
  if (scenario == "ratings")
    return std::llround(value.at("date").as_double() * 1000);
  return -1; // logs: a date string, checked on its own
}

class every_scenario : public testing::TestWithParam<std::string> {};

TEST_P(every_scenario, same_seed_prints_identical_records_and_another_seed_differs) {
  const auto first = print_lines(GetParam(), 42, 300);
  const auto second = print_lines(GetParam(), 42, 300);
  ASSERT_FALSE(first.empty());
  EXPECT_LE(first.size(), 300u);
  if (GetParam() != "temperature") { // temperature ends when machine 2 reaches 100 C
    EXPECT_EQ(first.size(), 300u);
  }
  EXPECT_EQ(first, second);
  EXPECT_NE(first, print_lines(GetParam(), 43, 300));
}

TEST_P(every_scenario, broker_receives_exactly_the_printed_records_at_their_event_time) {
  const std::string scenario = GetParam();
  constexpr int count = 500;
  sluice::embedded_broker broker(1);
  const auto out = run_gen({scenario, "-b", broker.bootstrap_servers(), "--seed", "7", "-n", std::to_string(count)});
  EXPECT_NE(out.find("failed=0"), std::string::npos) << out;
  const auto printed = print_lines(scenario, 7, count);
  ASSERT_FALSE(printed.empty());

  const bool multi_topic = scenario == "ops";
  const std::map<std::string, std::string> default_topic = {{"pizza", "pizzas"},
                                                            {"temperature", "temperature_readings"},
                                                            {"logs", "logs_topic"},
                                                            {"transactions", "transactions_topic"},
                                                            {"ratings", "ratings_topic"}};
  const std::vector<std::string> topics =
    multi_topic ? std::vector<std::string>{"logs_topic", "transactions_topic", "ratings_topic"}
                : std::vector<std::string>{default_topic.at(scenario)};
  const std::map<std::string, std::string> scenario_of_topic = {{"logs_topic", "logs"},
                                                                {"transactions_topic", "transactions"},
                                                                {"ratings_topic", "ratings"},
                                                                {"pizzas", "pizza"},
                                                                {"temperature_readings", "temperature"}};
  const kafka_test_client client(broker.bootstrap_servers());
  sluice::test::consume_options options;
  options.stop_at_end = true;
  std::multiset<std::string> actual;
  for (const auto& topic : topics) {
    for (const auto& r : client.consume(topic, options)) {
      ASSERT_TRUE(r.value);
      const std::string& topic_scenario = scenario_of_topic.at(topic);
      const bool keyed = topic_scenario != "logs" && topic_scenario != "ratings";
      EXPECT_EQ(r.key.has_value(), keyed) << "null key expected only for logs and ratings";
      actual.insert((multi_topic ? topic + "\t" : std::string()) + r.key.value_or("") + "\t" + *r.value);
      if (const auto t = event_time_ms(topic_scenario, parse_object(*r.value)); t >= 0) {
        EXPECT_EQ(r.timestamp_ms, t) << "record timestamp is not the event time: " << *r.value;
      }
    }
  }
  EXPECT_EQ(actual, std::multiset<std::string>(printed.begin(), printed.end()));
}

INSTANTIATE_TEST_SUITE_P(sluice_gen, every_scenario,
                         testing::Values("pizza", "temperature", "logs", "transactions", "ratings", "ops"));

// The toppings as UTF-8, as the tutorial shows them.
const std::set<std::string> all_toppings = {
  "\U0001F345 tomato",        "\U0001F9C0 blue cheese",      "\U0001F95A egg",
  "\U0001FAD1 green peppers", "\U0001F336\uFE0F hot pepper", "\U0001F953 bacon",
  "\U0001FAD2 olives",        "\U0001F9C4 garlic",           "\U0001F41F tuna",
  "\U0001F9C5 onion",         "\U0001F34D pineapple",        "\U0001F353 strawberry",
  "\U0001F34C banana"};
const std::set<std::string> prohibited = {"\U0001F34D pineapple", "\U0001F353 strawberry", "\U0001F34C banana"};

TEST(sluice_gen_pizza, orders_have_the_tutorial_fields_and_json_dumps_emoji_escapes) {
  const auto escaped = print_lines("pizza", 5, 200);
  const auto utf8 = print_lines("pizza", 5, 200, {"--utf8"});
  ASSERT_EQ(escaped.size(), 200u);
  ASSERT_EQ(utf8.size(), 200u);
  EXPECT_NE(escaped[0].find("\\ud83c"), std::string::npos) << "emoji not written as \\ud83c-style escapes";
  for (std::size_t i = 0; i < escaped.size(); ++i) {
    for (const unsigned char c : escaped[i])
      ASSERT_LT(c, 0x80) << "default output must be ASCII: " << escaped[i];
    const auto [key, value_text] = split_record(escaped[i]);
    const auto [utf8_key, utf8_value_text] = split_record(utf8[i]);
    const auto value = parse_object(value_text);
    EXPECT_EQ(json::parse(key), json::parse(utf8_key));
    EXPECT_EQ(value, parse_object(utf8_value_text)) << "--utf8 changes more than the encoding";
    EXPECT_EQ(json::parse(key), (json::object{{"shop", value.at("shop")}}));
    EXPECT_EQ(value.at("id").as_int64(), static_cast<std::int64_t>(i + 1));
    EXPECT_TRUE(value.at("shop").is_string());
    EXPECT_TRUE(value.at("name").is_string());
    EXPECT_TRUE(value.at("phoneNumber").is_string());
    EXPECT_TRUE(value.at("address").is_string());
    EXPECT_EQ(value.at("timestamp").as_int64(), seeded_start_ms + static_cast<std::int64_t>(i) * step_ms);
    const auto& pizzas = value.at("pizzas").as_array();
    EXPECT_GE(pizzas.size(), 1u);
    EXPECT_LE(pizzas.size(), 10u);
    for (const auto& pizza : pizzas) {
      EXPECT_TRUE(pizza.at("pizzaName").is_string());
      for (const auto& topping : pizza.at("additionalToppings").as_array())
        EXPECT_TRUE(all_toppings.contains(std::string(topping.as_string()))) << topping;
    }
  }
  EXPECT_NE(escaped[0].find(R"("timestamp": 1700000000000})"), std::string::npos) << escaped[0];
}

TEST(sluice_gen_pizza, bursts_of_prohibited_toppings_and_a_rise_then_drop_per_topping) {
  // 2000 orders at 100 ms: 40 windows of 5 s.
  const auto lines = print_lines("pizza", 11, 2000, {"--burst-rate", "0.02"});
  std::map<std::int64_t, int> pineapple_per_window;
  int orders_with_many_prohibited = 0;
  for (const auto& line : lines) {
    const auto value = parse_object(split_record(line).second);
    int prohibited_count = 0;
    for (const auto& pizza : value.at("pizzas").as_array())
      for (const auto& topping : pizza.at("additionalToppings").as_array()) {
        const std::string name(topping.as_string());
        prohibited_count += prohibited.contains(name) ? 1 : 0;
        if (name == "\U0001F34D pineapple")
          ++pineapple_per_window[value.at("timestamp").as_int64() / 5000];
      }
    orders_with_many_prohibited += prohibited_count > 3 ? 1 : 0;
  }
  EXPECT_GT(orders_with_many_prohibited, 20);
  // START_ROW NR_UP NR_DOWN: up, then a drop of more than 30 %.
  int trends = 0;
  for (auto it = pineapple_per_window.begin(); std::next(it, 2) != pineapple_per_window.end(); ++it) {
    const int start = it->second, up = std::next(it)->second, down = std::next(it, 2)->second;
    trends += (up > start && (up - down) * 100.0 / up > 30) ? 1 : 0;
  }
  EXPECT_GE(trends, 8) << "expected a rise then >30% drop in most 4-window cycles";
}

TEST(sluice_gen_temperature, readings_cycle_through_machines_until_machine_2_reaches_100) {
  const auto lines = print_lines("temperature", 3, 100000);
  ASSERT_GT(lines.size(), 30u);
  ASSERT_LT(lines.size(), 100000u) << "machine 2 never reached 100 C";
  std::map<std::string, std::int64_t> last;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const auto [key, value_text] = split_record(lines[i]);
    EXPECT_EQ(key, std::to_string(i % 3));
    const auto value = parse_object(value_text);
    ASSERT_EQ(value.size(), 2u) << value_text;
    const auto temperature = value.at("Temperature_C").as_int64();
    EXPECT_EQ(value.at("Timestamp").as_int64(), (seeded_start_ms + static_cast<std::int64_t>(i) * step_ms) * 1'000'000)
      << "Timestamp must be epoch nanoseconds of the event time";
    if (last.contains(key)) {
      EXPECT_LE(std::abs(temperature - last[key]), 1);
    }
    last[key] = temperature;
    if (key != "2") {
      EXPECT_GE(temperature, 60);
      EXPECT_LE(temperature, 70);
    }
  }
  EXPECT_EQ(split_record(lines.back()).first, "2");
  EXPECT_EQ(last["2"], 100);
}

TEST(sluice_gen_logs, lines_have_a_utc_microsecond_date_and_errors_come_in_bursts) {
  const auto plain = print_lines("logs", 9, 3000, {"--error-burst-rate", "0"});
  const auto bursty = print_lines("logs", 9, 3000, {"--error-burst-rate", "0.005"});
  const std::regex date_format(R"(\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{6})");
  const std::set<std::string> statuses = {"ERROR", "SUCCESS", "WARNING", "HEALTHCHECK"};
  auto errors_per_minute = [&](const std::vector<std::string>& lines) {
    std::map<std::string, int> per_minute;
    for (const auto& line : lines) {
      const auto [key, value_text] = split_record(line);
      EXPECT_EQ(key, "");
      const auto value = parse_object(value_text);
      const std::string date(value.at("date").as_string());
      EXPECT_TRUE(std::regex_match(date, date_format)) << date;
      EXPECT_TRUE(value.at("url").is_string());
      EXPECT_TRUE(statuses.contains(std::string(value.at("status").as_string())));
      per_minute[date.substr(0, 16)] += value.at("status") == "ERROR" ? 1 : 0;
    }
    int max = 0;
    for (const auto& [minute, errors] : per_minute)
      max = std::max(max, errors);
    return max;
  };
  ASSERT_FALSE(plain.empty());
  EXPECT_EQ(parse_object(split_record(plain[0]).second).at("date"), "2023-11-14 22:13:20.000000");
  EXPECT_EQ(parse_object(split_record(plain[1]).second).at("date"), "2023-11-14 22:13:20.100000");
  EXPECT_LT(errors_per_minute(plain), 5);
  EXPECT_GE(errors_per_minute(bursty), 5);
}

TEST(sluice_gen_transactions, large_withdrawals_and_users_over_five_million) {
  const auto lines = print_lines("transactions", 13, 3000);
  std::map<std::int64_t, double> withdrawn;
  int large = 0;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const auto [key, value_text] = split_record(lines[i]);
    const auto value = parse_object(value_text);
    EXPECT_EQ(key, value.at("tx_id").as_string());
    const std::string action(value.at("action").as_string());
    EXPECT_TRUE(action == "DEPOSIT" || action == "WITHDRAWAL") << action;
    const auto user = value.at("user-id").as_int64();
    EXPECT_GE(user, 1);
    EXPECT_LE(user, 50);
    const double amount = value.at("amount").to_number<double>();
    EXPECT_GT(amount, 0);
    EXPECT_DOUBLE_EQ(value.at("timestamp").as_double(),
                     static_cast<double>(seeded_start_ms + static_cast<std::int64_t>(i) * step_ms) / 1000.0);
    if (action == "WITHDRAWAL") {
      withdrawn[user] += amount;
      large += amount > 1'000'000 ? 1 : 0;
    }
  }
  EXPECT_GT(large, 5);
  int over = 0;
  for (const auto& [user, sum] : withdrawn)
    over += sum > 5'000'000 ? 1 : 0;
  EXPECT_GE(over, 2) << "the --fraud-users should each withdraw over 5,000,000 (within 300 s of event time)";
}

TEST(sluice_gen_ratings, fields_and_consistently_bad_products) {
  const auto lines = print_lines("ratings", 17, 3000);
  std::map<std::int64_t, std::pair<int, int>> sum_and_count;
  for (const auto& line : lines) {
    const auto value = parse_object(split_record(line).second);
    EXPECT_TRUE(value.at("date").is_double());
    EXPECT_TRUE(value.at("userid").is_int64());
    EXPECT_TRUE(value.at("description").is_string());
    const auto rating = value.at("rating").as_int64();
    EXPECT_GE(rating, 1);
    EXPECT_LE(rating, 5);
    auto& [sum, count] = sum_and_count[value.at("productid").as_int64()];
    sum += static_cast<int>(rating);
    ++count;
  }
  int bad = 0;
  for (const auto& [product, sc] : sum_and_count)
    bad += sc.second >= 20 && sc.first < 2.0 * sc.second ? 1 : 0;
  EXPECT_EQ(bad, 3) << "expected the 3 default --bad-products to average below 2";
}

} // namespace
