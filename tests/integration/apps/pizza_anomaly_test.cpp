// End-to-end test of the pizza-anomaly app (two child processes: the README trend pattern and the
// deployed one) against the embedded broker hosted in the test process. Input: a fixed-seed
// `sluice-gen pizza` run with prohibited-topping bursts and a pineapple trend, plus one late
// "flush" order that moves event time past every window. All four output topics are compared with
// expectations computed here from the input read back from the broker: unnesting, the prohibited
// set, counts per 5 s window and topping, and the trend patterns by a hand-written scan.

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
#include <cstdio>
#include <map>
#include <random>
#include <set>
#include <thread>
#include <tuple>

namespace {

using namespace std::chrono_literals;
namespace json = boost::json;
using sluice::test::check_rows;
using sluice::test::child_process;
using sluice::test::consume_options;
using sluice::test::consumed_record;
using sluice::test::kafka_test_client;
using sluice::test::outgoing_record;
using sluice::test::read_all;
using sluice::test::tail_of;
using sluice::test::temp_dir;
using sluice::test::unique_name;
using sluice::test::wait_until;

constexpr std::int64_t window_ms = 5000;
constexpr std::int64_t grace_ms = 5000;
const std::set<std::string> prohibited = {"\xF0\x9F\x8D\x8D pineapple", "\xF0\x9F\x8D\x93 strawberry",
                                          "\xF0\x9F\x8D\x8C banana"}; // 🍍 🍓 🍌, as the tutorial's IN (...)

// Output rows as canonical strings: "key | value" with objects serialized in a fixed field order.
using rows = std::multiset<std::string>;

std::string row(const json::object& key, const json::object& value) {
  return json::serialize(key) + " | " + json::serialize(value);
}

// The object `text` with the fields in `fields` order; throws if a field is missing or extra.
json::object pick(const std::string& text, const std::vector<std::string>& fields) {
  const auto parsed = json::parse(text);
  const auto& o = parsed.as_object();
  if (o.size() != fields.size())
    throw std::invalid_argument("unexpected fields in " + text);
  json::object out;
  for (const auto& f : fields)
    out[f] = o.at(f);
  return out;
}

// Re-serializes a record's key and value with the fields in `key_fields` / `value_fields` order,
// so expected and actual compare as strings; throws if a field is missing or extra.
std::string canonical(const consumed_record& r, const std::vector<std::string>& key_fields,
                      const std::vector<std::string>& value_fields) {
  return row(pick(r.key.value_or("{}"), key_fields), pick(r.value.value_or("{}"), value_fields));
}

rows canonical_all(const std::vector<consumed_record>& records, const std::vector<std::string>& key_fields,
                   const std::vector<std::string>& value_fields) {
  rows out;
  for (const auto& r : records)
    out.insert(canonical(r, key_fields, value_fields));
  return out;
}

// One window count: topping, window start -> rows (pizza toppings) in it.
using window_counts = std::map<std::pair<std::string, std::int64_t>, std::int64_t>;

// What the app must write, computed from the input.
struct expectations {
  rows filtered, aggregated, windows, trends_readme, trends_deployed;
};

// The README pattern over one topping's counts: START_ROW NR_UP NR_DOWN with NR_UP > START_ROW
// and a drop of more than 30 % from NR_UP; after a match, go on past its last row.
std::vector<std::size_t> scan_readme(const std::vector<std::int64_t>& c, std::vector<std::size_t>& ends) {
  std::vector<std::size_t> starts;
  for (std::size_t i = 0; i + 2 < c.size();) {
    const bool up = c[i + 1] > c[i];
    const bool down =
      (static_cast<double>(c[i + 1]) - static_cast<double>(c[i + 2])) * 100.0 / static_cast<double>(c[i + 1]) > 30;
    if (up && down) {
      starts.push_back(i);
      ends.push_back(i + 2);
      i += 3;
    } else {
      ++i;
    }
  }
  return starts;
}

// The deployed pattern: START_ROW NR_UP+ NR_DOWN{2}, each NR_UP above the row before, each
// NR_DOWN below the row before.
std::vector<std::size_t> scan_deployed(const std::vector<std::int64_t>& c, std::vector<std::size_t>& ends) {
  std::vector<std::size_t> starts;
  for (std::size_t i = 0; i < c.size();) {
    std::size_t j = i + 1;
    while (j < c.size() && c[j] > c[j - 1])
      ++j; // j: first row after the rising run
    if (j > i + 1 && j + 1 < c.size() && c[j] < c[j - 1] && c[j + 1] < c[j]) {
      starts.push_back(i);
      ends.push_back(j + 1);
      i = j + 2;
    } else {
      ++i;
    }
  }
  return starts;
}

expectations expected_from(const std::vector<consumed_record>& input) {
  expectations e;
  window_counts counts;
  std::int64_t event_time = 0; // the largest timestamp of the input
  for (const auto& r : input) {
    const auto parsed = json::parse(*r.value);
    const auto& order = parsed.as_object();
    const auto ts = r.timestamp_ms;
    event_time = std::max(event_time, ts);
    std::int64_t bad = 0;
    std::string list;
    for (const auto& pizza : order.at("pizzas").as_array())
      for (const auto& t : pizza.at("additionalToppings").as_array()) {
        const std::string topping(t.as_string());
        if (!prohibited.count(topping))
          continue;
        e.filtered.insert(row(json::object{{"shop", order.at("shop")}}, json::object{{"id", order.at("id")},
                                                                                     {"name", order.at("name")},
                                                                                     {"topping", topping},
                                                                                     {"orderTimestamp", ts}}));
        list += (bad++ ? "," : "") + topping;
        ++counts[{topping, ts - ts % window_ms}];
      }
    if (bad > 3)
      e.aggregated.insert(row(json::object{{"id", order.at("id")}}, json::object{{"id", order.at("id")},
                                                                                 {"name", order.at("name")},
                                                                                 {"nr_bad_items", bad},
                                                                                 {"toppings", list},
                                                                                 {"orderTimestamp", ts}}));
  }
  // Windows close once event time reaches end + grace; once all input is read and idle, event
  // time is the largest timestamp of the input.
  std::map<std::string, std::vector<std::pair<std::int64_t, std::int64_t>>> closed; // topping -> (start, n)
  for (const auto& [k, n] : counts) {
    const auto& [topping, start] = k;
    if (start + window_ms + grace_ms > event_time)
      continue;
    closed[topping].push_back({start, n});
    if (n > 10)
      e.windows.insert(
        row(json::object{{"topping", topping}, {"window_start", start}, {"window_end", start + window_ms}},
            json::object{
              {"window_start", start}, {"window_end", start + window_ms}, {"topping", topping}, {"nr_orders", n}}));
  }
  for (const auto& [topping, windows] : closed) { // std::map: windows in start order
    std::vector<std::int64_t> c;
    for (const auto& w : windows)
      c.push_back(w.second);
    auto add = [&, &windows = windows, &topping = topping](rows& out, const std::vector<std::size_t>& starts,
                                                           const std::vector<std::size_t>& ends) {
      for (std::size_t m = 0; m < starts.size(); ++m) {
        std::string detail;
        for (std::size_t i = starts[m]; i <= ends[m]; ++i)
          detail += (i > starts[m] ? "," : "") + std::to_string(c[i]);
        const std::int64_t trend_start = windows[starts[m]].first + window_ms - 1; // window_time
        out.insert(row(json::object{{"topping", topping}, {"trend_start", trend_start}},
                       json::object{{"topping", topping}, {"trend_start", trend_start}, {"trend_detail", detail}}));
      }
    };
    std::vector<std::size_t> ends_r, ends_d;
    const auto starts_r = scan_readme(c, ends_r);
    const auto starts_d = scan_deployed(c, ends_d);
    add(e.trends_readme, starts_r, ends_r);
    add(e.trends_deployed, starts_d, ends_d);
  }
  return e;
}

// Sum of a topic's records as read now.
std::size_t count_of(const kafka_test_client& client, const std::string& topic) {
  consume_options options;
  options.stop_at_end = true;
  options.idle_timeout = 2s;
  options.total_timeout = 10s;
  return client.consume(topic, options).size();
}

struct app_topics {
  std::string filtered, aggregated, windows, trends;
};

app_topics topics_for(const std::string& prefix) {
  return {unique_name(prefix + "-filter"), unique_name(prefix + "-agg"), unique_name(prefix + "-windows"),
          unique_name(prefix + "-trends")};
}

std::unique_ptr<child_process> start_app(const std::string& bootstrap, const std::string& app_id, const std::string& in,
                                         const app_topics& t, const std::string& pattern,
                                         const std::filesystem::path& state_dir) {
  return std::make_unique<child_process>(sluice::test::built_binary("pizza-anomaly"),
                                         std::vector<std::string>{"--bootstrap-servers",
                                                                  bootstrap,
                                                                  "--application-id",
                                                                  app_id,
                                                                  "--input-topic",
                                                                  in,
                                                                  "--filter-topic",
                                                                  t.filtered,
                                                                  "--agg-topic",
                                                                  t.aggregated,
                                                                  "--windows-topic",
                                                                  t.windows,
                                                                  "--trends-topic",
                                                                  t.trends,
                                                                  "--trend-pattern",
                                                                  pattern,
                                                                  "--state-dir",
                                                                  state_dir.string(),
                                                                  "--commit-interval-ms",
                                                                  "200",
                                                                  "--set",
                                                                  "kafka.consumer.session.timeout.ms=6000",
                                                                  "--set",
                                                                  "kafka.consumer.heartbeat.interval.ms=500"},
                                         sluice::test::child_options{.env = sluice::test::app_environment()});
}

TEST(pizza_anomaly, all_four_outputs_match_the_input_for_both_trend_patterns) {
  constexpr std::size_t orders = 2000;
  sluice::embedded_broker broker;
  const auto in = unique_name("pizzas");
  // Four input partitions, written before the app starts: the app reads them as a backlog, and the
  // per-topping window tasks get each topping's rows from four input tasks, each at its own pace.
  broker.create_topic(in, 4);
  const kafka_test_client client(broker.bootstrap_servers());

  // 200 ms of event time per order: ~25 orders per 5 s window; bursts make ex-2 fire, the
  // pineapple cycle (x1, x4, x1, x1 per window) makes ex-3 and ex-4 fire.
  child_process gen(sluice::test::built_binary("sluice-gen"),
                    {"pizza", "--bootstrap-servers", broker.bootstrap_servers(), "--topic", in, "--count",
                     std::to_string(orders), "--seed", "42", "--step-ms", "200", "--burst-rate", "0.02",
                     "--trend-topping", "pineapple"});
  const auto gen_status = gen.wait_for(60s);
  ASSERT_TRUE(gen_status && gen_status->success()) << tail_of(gen);
  auto input = read_all(client, in);
  ASSERT_EQ(input.size(), orders);
  // The generator writes emoji as \ud83c\udf4d escapes (Python's json.dumps): they must parse.
  ASSERT_NE(input[0].value->find("\\ud83c"), std::string::npos);

  // The flush order, 60 s after the last one: closes every window the generated orders opened.
  const auto flush_ts = input.back().timestamp_ms + 60'000;
  outgoing_record flush;
  flush.key = R"({"shop": "flush"})";
  flush.value = R"({"id": 999999, "shop": "flush", "name": "Flush Order", "phoneNumber": "", "address": "",)"
                R"( "pizzas": [{"pizzaName": "Margherita", "additionalToppings": ["\ud83c\udf4d pineapple",)"
                R"( "\ud83c\udf53 strawberry", "\ud83c\udf4c banana"]}], "timestamp": )" +
                std::to_string(flush_ts) + "}";
  flush.timestamp_ms = flush_ts;
  client.produce(in, std::vector<outgoing_record>{flush});
  input = read_all(client, in);
  ASSERT_EQ(input.size(), orders + 1);

  const auto e = expected_from(input);
  ASSERT_GT(e.aggregated.size(), 5u);
  ASSERT_GT(e.windows.size(), 10u);
  ASSERT_GE(e.trends_readme.size(), 5u);
  ASSERT_GE(e.trends_deployed.size(), 1u);

  temp_dir state_a, state_b;
  const auto ta = topics_for("readme"), tb = topics_for("deployed");
  const auto id_a = unique_name("pizza-app"), id_b = unique_name("pizza-app");
  auto a = start_app(broker.bootstrap_servers(), id_a, in, ta, "readme", state_a.path);
  auto b = start_app(broker.bootstrap_servers(), id_b, in, tb, "deployed", state_b.path);

  auto done = [&](const app_topics& t, const rows& trends) {
    return count_of(client, t.filtered) >= e.filtered.size() && count_of(client, t.aggregated) >= e.aggregated.size() &&
           count_of(client, t.windows) >= e.windows.size() && count_of(client, t.trends) >= trends.size();
  };
  ASSERT_TRUE(wait_until(
    [&] { return (done(ta, e.trends_readme) && done(tb, e.trends_deployed)) || !a->running() || !b->running(); }, 40s))
    << "outputs incomplete; readme app:\n"
    << tail_of(*a) << "\ndeployed app:\n"
    << tail_of(*b);
  ASSERT_TRUE(a->running()) << tail_of(*a);
  ASSERT_TRUE(b->running()) << tail_of(*b);
  // Once both consumed their input, anything beyond the expected rows is written.
  ASSERT_TRUE(sluice::test::wait_until_consumed(broker.bootstrap_servers(), id_a, {in}));
  ASSERT_TRUE(sluice::test::wait_until_consumed(broker.bootstrap_servers(), id_b, {in}));

  for (const auto* t : {&ta, &tb}) {
    const auto filtered = read_all(client, t->filtered);
    EXPECT_EQ(canonical_all(filtered, {"shop"}, {"id", "name", "topping", "orderTimestamp"}), e.filtered);
    // Emoji come out as UTF-8.
    ASSERT_FALSE(filtered.empty());
    EXPECT_NE(filtered[0].value->find("\xF0\x9F"), std::string::npos) << *filtered[0].value;
    EXPECT_EQ(canonical_all(read_all(client, t->aggregated), {"id"},
                            {"id", "name", "nr_bad_items", "toppings", "orderTimestamp"}),
              e.aggregated);
    EXPECT_EQ(canonical_all(read_all(client, t->windows), {"topping", "window_start", "window_end"},
                            {"window_start", "window_end", "topping", "nr_orders"}),
              e.windows);
  }
  EXPECT_EQ(
    canonical_all(read_all(client, ta.trends), {"topping", "trend_start"}, {"topping", "trend_start", "trend_detail"}),
    e.trends_readme);
  EXPECT_EQ(
    canonical_all(read_all(client, tb.trends), {"topping", "trend_start"}, {"topping", "trend_start", "trend_detail"}),
    e.trends_deployed);

  // Console alerts for ex-2 orders and ex-4 trends.
  const auto alerts = a->stdout_text();
  EXPECT_NE(alerts.find("[pizza-anomaly] order "), std::string::npos) << alerts.substr(0, 2000);
  EXPECT_NE(alerts.find("[pizza-anomaly] trend for "), std::string::npos) << alerts.substr(0, 2000);
  std::printf("expected rows: filter %zu, agg %zu, windows %zu, trends %zu (readme) %zu (deployed)\n",
              e.filtered.size(), e.aggregated.size(), e.windows.size(), e.trends_readme.size(),
              e.trends_deployed.size());

  for (auto* app : {a.get(), b.get()}) {
    app->terminate();
    const auto status = app->wait_for(30s);
    ASSERT_TRUE(status) << "pizza-anomaly ignored SIGTERM";
    EXPECT_TRUE(status->success()) << to_string(*status) << tail_of(*app);
  }
}

TEST(pizza_anomaly, describe_prints_the_topology_and_help_lists_the_flags) {
  child_process describe(sluice::test::built_binary("pizza-anomaly"), {"--describe"});
  auto s = describe.wait_for(20s);
  ASSERT_TRUE(s && s->success()) << describe.stderr_text();
  EXPECT_NE(describe.stdout_text().find("trends"), std::string::npos) << describe.stdout_text();
  child_process help(sluice::test::built_binary("pizza-anomaly"), {"--help"});
  s = help.wait_for(20s);
  ASSERT_TRUE(s && s->success());
  for (const char* flag : {"--trend-pattern", "--input-topic", "--slack-webhook-url", "--bootstrap-servers"})
    EXPECT_NE(help.stdout_text().find(flag), std::string::npos) << flag;
}

// Event time on every way the input can arrive (backlog, live, several instances, a kill, an empty
// partition, a partition far behind): ex-3 holds exactly the busy windows closed by the input and
// ex-4 exactly the trends over all its closed windows.
class pizza_anomaly_event_time : public testing::TestWithParam<sluice::test::event_time_case> {};

// Expected rows ("key | value") keyed by their key.
sluice::test::expected_rows keyed(const rows& expected) {
  sluice::test::expected_rows out;
  for (const auto& r : expected) {
    const auto bar = r.find(" | ");
    auto [it, fresh] = out.try_emplace(r.substr(0, bar), sluice::test::expected_row{json::parse(r.substr(bar + 3)), 0});
    ++it->second.times;
  }
  return out;
}

// Output rows keyed by their key, re-serialized with the fields in `key_fields` order.
sluice::test::actual_rows keyed(const std::vector<consumed_record>& records,
                                const std::vector<std::string>& key_fields) {
  return sluice::test::rows_of(records, [&](const consumed_record& r, const json::value&) {
    return json::serialize(pick(r.key.value_or("{}"), key_fields));
  });
}

TEST_P(pizza_anomaly_event_time, windows_and_trends_match_the_closed_windows_of_the_input) {
  const auto& c = GetParam();
  sluice::embedded_broker broker;
  const kafka_test_client client(broker.bootstrap_servers());
  const auto in = unique_name("pizzas");
  const auto t = topics_for("pizza");
  // 1513 orders 200 ms apart (302.4 s of event time, no window closes within 2 s of its end), with
  // bursts and the pineapple cycle, as in the test above.
  const auto records = sluice::test::generate(
    "pizza", 42, 200, {"--count", "1513", "--burst-rate", "0.02", "--trend-topping", "pineapple"});
  sluice::test::app_instances app("pizza-anomaly",
                                  {"--input-topic", in, "--filter-topic", t.filtered, "--agg-topic", t.aggregated,
                                   "--windows-topic", t.windows, "--trends-topic", t.trends, "--trend-pattern",
                                   "readme"},
                                  broker.bootstrap_servers(), c.instances);
  ASSERT_EQ(sluice::test::run_case(c, broker, records, {{"", in}},
                                   {"by-topping-repartition", "toppings-5s-store-changelog", "trends-store-changelog",
                                    "bad-order-alerts-alerts", "trend-alerts-alerts"},
                                   app),
            "");

  const auto input = read_all(client, in);
  ASSERT_EQ(input.size(), records.size());
  const auto last = std::max_element(input.begin(), input.end(), [](const auto& a, const auto& b) {
                      return a.timestamp_ms < b.timestamp_ms;
                    })->timestamp_ms;
  ASSERT_GE(std::min(last % window_ms, window_ms - last % window_ms), 2000) << "a window closes near the end";
  const auto e = expected_from(input);
  const auto windows = keyed(e.windows), trends = keyed(e.trends_readme);
  ASSERT_GT(windows.size(), 100u);
  ASSERT_GE(trends.size(), 5u);
  const std::vector<std::string> window_key = {"topping", "window_start", "window_end"},
                                 trend_key = {"topping", "trend_start"};

  const auto out =
    sluice::test::settle_outputs(client, {{t.windows, windows.size()}, {t.trends, trends.size()}},
                                 [&](const auto& o) {
                                   return check_rows(windows, keyed(o.at(t.windows), window_key)).missing == 0 &&
                                          check_rows(trends, keyed(o.at(t.trends), trend_key)).missing == 0;
                                 },
                                 app, {in});
  const auto w = check_rows(windows, keyed(out.at(t.windows), window_key));
  const auto tr = check_rows(trends, keyed(out.at(t.trends), trend_key));
  std::printf("%s: windows %s\n%s: trends %s\n", c.name.c_str(), w.summary().c_str(), c.name.c_str(),
              tr.summary().c_str());
  EXPECT_TRUE(w.matches(c.may_repeat())) << "windows: " << w.summary() << "\n" << app.logs();
  EXPECT_TRUE(tr.matches(c.may_repeat())) << "trends: " << tr.summary();
  EXPECT_EQ(app.stop(), "");
}

INSTANTIATE_TEST_SUITE_P(cases, pizza_anomaly_event_time, testing::ValuesIn(sluice::test::event_time_cases()),
                         [](const auto& info) { return info.param.name; });

} // namespace
