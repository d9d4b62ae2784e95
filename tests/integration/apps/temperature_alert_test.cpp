// End-to-end test of the temperature-alert app (a child process) against the embedded broker hosted
// in the test process. Input: a fixed-seed `sluice-gen temperature` run (machine 2 overheats until
// 100 C). Expected alerts are computed here from the input read back from the broker: every 5 s
// window hopping by 1 s that a reading falls in, the machine's running mean in that window at that
// reading (current emission), rounded to 2 decimals half-to-even on the exact mean, kept when >= 90.

#include "app_instances.hpp"
#include "child_process.hpp"
#include "embedded_broker.hpp"
#include "event_time_cases.hpp"
#include "kafka_test_client.hpp"
#include "offset_probe.hpp"
#include "output_rows.hpp"
#include "paths.hpp"
#include "test_helpers.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <map>
#include <random>
#include <set>
#include <thread>
#include <tuple>

namespace {

using namespace std::chrono_literals;
namespace json = boost::json;
using sluice::test::child_process;
using sluice::test::consume_options;
using sluice::test::consumed_record;
using sluice::test::kafka_test_client;
using sluice::test::read_all;
using sluice::test::tail_of;
using sluice::test::temp_dir;
using sluice::test::unique_name;
using sluice::test::wait_until;

constexpr std::int64_t window_ms = 5000; // the tutorial's hopping_window(duration_ms=5000, step_ms=1000)
constexpr std::int64_t step_ms = 1000;
constexpr std::int64_t threshold_cents = 9000; // window_value >= 90

// One alert: machine, window start, window end, mean in hundredths (exact after rounding).
using alert = std::tuple<std::string, std::int64_t, std::int64_t, std::int64_t>;

// round(sum / n, 2) * 100 as an integer: the exact quotient rounded half to even (Python's round).
std::int64_t rounded_hundredths(std::int64_t sum, std::int64_t n) {
  const std::int64_t num = 100 * sum;
  std::int64_t q = num / n, r = num % n;
  if (r < 0) {
    q -= 1;
    r += n;
  }
  if (2 * r > n || (2 * r == n && q % 2 != 0))
    ++q;
  return q;
}

std::int64_t floor_div(std::int64_t a, std::int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

// One hopping window of one machine: (machine, window start).
using window = std::pair<std::string, std::int64_t>;

// The running mean of every hopping window after each of its readings, in hundredths, in reading
// order: what current emission writes for the input.
std::map<window, std::vector<std::int64_t>> window_means(const std::vector<consumed_record>& input) {
  struct acc {
    std::int64_t sum = 0, n = 0;
  };
  std::map<window, acc> windows; // running sums
  std::map<window, std::vector<std::int64_t>> means;
  // Per machine the readings are in one partition, in order; process them per partition in order.
  for (const auto& r : input) {
    const auto v = json::parse(*r.value).as_object();
    const std::string machine = *r.key;
    const std::int64_t t = v.at("Timestamp").to_number<std::int64_t>() / 1'000'000; // ns -> ms
    const std::int64_t temp = v.at("Temperature_C").to_number<std::int64_t>();
    const std::int64_t last_start = floor_div(t, step_ms) * step_ms;
    for (std::int64_t start = last_start - window_ms + step_ms; start <= last_start; start += step_ms) {
      auto& w = windows[{machine, start}];
      w.sum += temp;
      ++w.n;
      means[{machine, start}].push_back(rounded_hundredths(w.sum, w.n));
    }
  }
  return means;
}

// The alerts the input must produce (a multiset: a window's mean can repeat).
std::multiset<alert> expected_alerts(const std::vector<consumed_record>& input,
                                     std::int64_t threshold = threshold_cents) {
  std::multiset<alert> out;
  for (const auto& [w, means] : window_means(input))
    for (const auto mean : means)
      if (mean >= threshold)
        out.insert({w.first, w.second, w.second + window_ms, mean});
  return out;
}

// An output record as an alert; throws if its shape is not {machine_id, window_start, window_end,
// average_temperature} or the key is not the machine id.
alert parse_alert(const consumed_record& r) {
  const auto v = json::parse(r.value.value_or("")).as_object();
  if (v.size() != 4)
    throw std::invalid_argument("unexpected fields in " + *r.value);
  const std::string machine{v.at("machine_id").as_string()};
  if (r.key != machine)
    throw std::invalid_argument("key " + r.key.value_or("<null>") + " is not the machine id of " + *r.value);
  const double avg = v.at("average_temperature").to_number<double>();
  const auto cents = static_cast<std::int64_t>(std::llround(avg * 100));
  if (std::abs(avg * 100 - static_cast<double>(cents)) > 1e-6)
    throw std::invalid_argument("average not rounded to 2 decimals: " + *r.value);
  return {machine, v.at("window_start").to_number<std::int64_t>(), v.at("window_end").to_number<std::int64_t>(), cents};
}

TEST(temperature_alert, alerts_match_every_hopping_window_mean_of_the_input) {
  sluice::embedded_broker broker;
  const auto in = unique_name("temperature-readings"), out = unique_name("alerts");
  broker.create_topic(in, 4);
  const kafka_test_client client(broker.bootstrap_servers());

  child_process gen(sluice::test::built_binary("sluice-gen"),
                    {"temperature", "--bootstrap-servers", broker.bootstrap_servers(), "--topic", in, "--count",
                     "20000", "--seed", "11"});
  const auto gen_status = gen.wait_for(60s);
  ASSERT_TRUE(gen_status && gen_status->success()) << tail_of(gen);
  // Read back in partition order: keys are machine ids, so each machine's readings stay in order.
  const auto input = read_all(client, in);
  ASSERT_GT(input.size(), 30u);
  ASSERT_LT(input.size(), 20000u) << "machine 2 never reached 100 C";

  const auto expected = expected_alerts(input);
  ASSERT_GT(expected.size(), 10u);
  std::set<std::string> alerted;
  for (const auto& a : expected)
    alerted.insert(std::get<0>(a));
  EXPECT_EQ(alerted, std::set<std::string>{"2"}) << "only the overheating machine should alert";

  temp_dir state;
  const auto app_id = unique_name("temp-app");
  child_process app(sluice::test::built_binary("temperature-alert"),
                    {"--bootstrap-servers", broker.bootstrap_servers(), "--application-id", app_id, "--input-topic", in,
                     "--output-topic", out, "--state-dir", state.path.string(), "--commit-interval-ms", "200", "--set",
                     "kafka.consumer.session.timeout.ms=6000", "--set", "kafka.consumer.heartbeat.interval.ms=500"},
                    {.env = sluice::test::app_environment()});
  ASSERT_TRUE(wait_until(
    [&] {
      return client.consume(out, {.idle_timeout = 1s, .stop_at_end = true}).size() >= expected.size() || !app.running();
    },
    40s))
    << "alerts incomplete; app:\n"
    << tail_of(app);
  ASSERT_TRUE(app.running()) << tail_of(app);
  // Once it consumed its input, anything beyond the expected alerts is written.
  ASSERT_TRUE(sluice::test::wait_until_consumed(broker.bootstrap_servers(), app_id, {in}));

  const auto output = read_all(client, out);
  std::multiset<alert> actual;
  for (const auto& r : output)
    actual.insert(parse_alert(r));
  EXPECT_EQ(actual.size(), expected.size());
  EXPECT_EQ(actual, expected);

  // The console shows the tutorial's line for every alert.
  const auto console = app.stdout_text();
  std::size_t lines = 0;
  for (auto pos = console.find("Alerting for MID 2: Average Temperature "); pos != std::string::npos;
       pos = console.find("Alerting for MID 2: Average Temperature ", pos + 1))
    ++lines;
  EXPECT_EQ(lines, expected.size()) << console.substr(0, 2000);
  const auto& top = *std::max_element(expected.begin(), expected.end(),
                                      [](const alert& a, const alert& b) { return std::get<3>(a) < std::get<3>(b); });
  // Printed like Python prints a float: 98.57, 92.3, 95.0.
  const auto cents = std::get<3>(top);
  char value[32];
  if (cents % 10 != 0)
    std::snprintf(value, sizeof value, "%.2f", static_cast<double>(cents) / 100);
  else
    std::snprintf(value, sizeof value, "%.1f", static_cast<double>(cents) / 100);
  const std::string line = std::string{"[temperature-alert] Alerting for MID 2: Average Temperature "} + value + "\n";
  EXPECT_NE(console.find(line), std::string::npos) << line << "\n" << console.substr(0, 2000);

  app.terminate();
  const auto status = app.wait_for(30s);
  ASSERT_TRUE(status) << "temperature-alert ignored SIGTERM";
  EXPECT_TRUE(status->success()) << tail_of(app);
}

TEST(temperature_alert, describe_prints_the_topology_and_help_lists_the_flags) {
  child_process describe(sluice::test::built_binary("temperature-alert"), {"--describe"});
  auto s = describe.wait_for(20s);
  ASSERT_TRUE(s && s->success()) << describe.stderr_text();
  EXPECT_NE(describe.stdout_text().find("temperature-5s"), std::string::npos) << describe.stdout_text();
  child_process help(sluice::test::built_binary("temperature-alert"), {"--help"});
  s = help.wait_for(20s);
  ASSERT_TRUE(s && s->success());
  for (const char* flag :
       {"--input-topic", "--output-topic", "--threshold", "--slack-webhook-url", "--bootstrap-servers"})
    EXPECT_NE(help.stdout_text().find(flag), std::string::npos) << flag;
}

// Event time on every way the input can arrive (backlog, live, several instances, a kill, empty
// partitions, a partition far behind). With threshold 0 every update is an alert: the output holds
// the running mean of every window after each of its readings, each window's in reading order.
class temperature_alert_event_time : public testing::TestWithParam<sluice::test::event_time_case> {};

std::string identity(const alert& a) {
  const auto& [machine, start, end, cents] = a;
  return machine + " [" + std::to_string(start) + ", " + std::to_string(end) + ") " + std::to_string(cents);
}

/// Runs case `c` with `flags` added to the app's and checks every window update.
void expect_every_window_update(const sluice::test::event_time_case& c, const std::vector<std::string>& flags) {
  sluice::embedded_broker broker;
  const kafka_test_client client(broker.bootstrap_servers());
  const auto in = unique_name("temperature-readings"), out = unique_name("alerts");
  // About 770 readings 100 ms apart (machine 2 reaches 100 C), each machine's in one partition.
  const auto records = sluice::test::generate("temperature", 11, 100, {"--count", "1500", "--overheat-bias", "0.05"});
  std::vector<std::string> args = {"--input-topic", in, "--output-topic", out, "--threshold", "0"};
  args.insert(args.end(), flags.begin(), flags.end());
  sluice::test::app_instances app("temperature-alert", args, broker.bootstrap_servers(), c.instances);
  ASSERT_EQ(
    sluice::test::run_case(c, broker, records, {{"", in}}, {"temperature-5s-store-changelog", "alert-alerts"}, app),
    "");

  const auto input = read_all(client, in);
  ASSERT_EQ(input.size(), records.size());
  sluice::test::expected_rows expected;
  for (const auto& a : expected_alerts(input, 0)) {
    const auto& [machine, start, end, cents] = a;
    auto [it, fresh] = expected.try_emplace(
      identity(a), sluice::test::expected_row{{{"machine_id", machine},
                                               {"window_start", start},
                                               {"window_end", end},
                                               {"average_temperature", static_cast<double>(cents) / 100}},
                                              0});
    ++it->second.times;
  }
  const auto expected_count = 5 * input.size(); // five windows per reading
  auto rows = [](const std::vector<consumed_record>& records) {
    return sluice::test::rows_of(records,
                                 [](const consumed_record& r, const json::value&) { return identity(parse_alert(r)); });
  };

  const auto output = sluice::test::settle_outputs(
    client, {{out, expected_count}},
    [&](const auto& o) { return sluice::test::check_rows(expected, rows(o.at(out))).missing == 0; }, app, {in});
  const auto check = sluice::test::check_rows(expected, rows(output.at(out)));
  std::printf("%s: alerts %s\n", c.name.c_str(), check.summary().c_str());
  EXPECT_EQ(check.expected, expected_count);
  EXPECT_TRUE(check.matches(c.may_repeat())) << check.summary() << "\n" << app.logs();
  if (!c.may_repeat()) { // without a replay, each window's updates come in the order of its readings
    std::map<window, std::vector<std::int64_t>> actual;
    for (const auto& r : output.at(out)) {
      const auto& [machine, start, end, cents] = parse_alert(r);
      actual[{machine, start}].push_back(cents);
    }
    EXPECT_TRUE(actual == window_means(input)) << "window updates out of reading order";
  }
  EXPECT_EQ(app.stop(), "");
}

TEST_P(temperature_alert_event_time, every_window_update_is_emitted_in_reading_order) {
  expect_every_window_update(GetParam(), {});
}

INSTANTIATE_TEST_SUITE_P(cases, temperature_alert_event_time, testing::ValuesIn(sluice::test::event_time_cases()),
                         [](const auto& info) { return info.param.name; });

// The same under exactly-once, for the cases with several instances (rebalances commit inside
// transactions; a killed instance's open transaction is left behind, and on the embedded broker
// its records stay visible, so these cases allow identical repeats as at-least-once does).
class temperature_alert_exactly_once : public temperature_alert_event_time {};

TEST_P(temperature_alert_exactly_once, every_window_update_is_emitted_in_reading_order) {
  expect_every_window_update(GetParam(), {"--processing-guarantee", "exactly_once_v2"});
}

INSTANTIATE_TEST_SUITE_P(cases, temperature_alert_exactly_once, testing::ValuesIn([] {
                           std::vector<sluice::test::event_time_case> several;
                           for (const auto& c : sluice::test::event_time_cases())
                             if (c.instances > 1)
                               several.push_back(c);
                           return several;
                         }()),
                         [](const auto& info) { return info.param.name; });

} // namespace
