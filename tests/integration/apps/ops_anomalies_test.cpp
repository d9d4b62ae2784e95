// End-to-end test of the ops-anomalies app (a child process) against the embedded broker hosted in
// the test process. Input: a fixed-seed `sluice-gen ops` run (logs with ERROR bursts, transactions
// with large withdrawals and two fraudulent users, ratings with three badly rated products) plus one
// late "flush" ERROR line that closes every 1-minute error window. Every output topic is compared
// with expectations computed here from the input read back from the broker: error counts per
// minute, counts per status, filters, per-user daily withdrawal sums and running balances, and the
// ten products with the lowest average rating.

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
#include <ctime>
#include <functional>
#include <map>
#include <random>
#include <set>
#include <thread>

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

// The tutorial's rules, restated here on purpose.
constexpr std::int64_t minute_ms = 60'000;
constexpr std::int64_t day_ms = 86'400'000;
constexpr std::int64_t min_errors = 5;
constexpr double large_amount = 1'000'000;
constexpr double daily_limit = 5'000'000;

std::size_t count_of(const kafka_test_client& client, const std::string& topic) {
  consume_options options;
  options.stop_at_end = true;
  options.idle_timeout = 1s;
  options.total_timeout = 10s;
  return client.consume(topic, options).size();
}

json::object parse_object(const std::optional<std::string>& text) {
  return json::parse(text.value_or("null")).as_object();
}

// A JSON value with every number as a double, serialized: input and output compare equal when they
// carry the same fields and numbers, whatever number formatting either side used.
std::string normalized(const json::value& v) {
  std::function<json::value(const json::value&)> norm = [&](const json::value& x) -> json::value {
    switch (x.kind()) {
    case json::kind::int64:
    case json::kind::uint64:
    case json::kind::double_:
      return x.to_number<double>();
    case json::kind::object: {
      json::object o;
      for (const auto& [k, y] : x.get_object())
        o[k] = norm(y);
      return o;
    }
    default:
      return x;
    }
  };
  return json::serialize(norm(v));
}

// "YYYY-MM-DD HH:MM:SS.ffffff" (UTC) as epoch ms, fraction truncated.
std::int64_t parse_utc_ms(const std::string& text) {
  std::tm tm{};
  int micros = 0;
  if (std::sscanf(text.c_str(), "%d-%d-%d %d:%d:%d.%d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min,
                  &tm.tm_sec, &micros) < 6)
    throw std::invalid_argument("bad date " + text);
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return static_cast<std::int64_t>(timegm(&tm)) * 1000 + micros / 1000;
}

std::string format_utc(std::int64_t ms) {
  const std::time_t s = ms / 1000;
  std::tm tm{};
  gmtime_r(&s, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02d %02d:%02d:%02d.%06d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms % 1000) * 1000);
  return buf;
}

std::int64_t floor_to(std::int64_t t, std::int64_t size) { return (t >= 0 ? t / size : (t - size + 1) / size) * size; }

bool close_to(double a, double b) { return std::abs(a - b) <= 1e-9 * std::max(1.0, std::abs(b)); }

std::size_t occurrences(const std::string& text, const std::string& needle) {
  std::size_t n = 0;
  for (auto pos = text.find(needle); pos != std::string::npos; pos = text.find(needle, pos + 1))
    ++n;
  return n;
}

struct balance {
  double deposits = 0, withdrawals = 0;
  std::size_t updates = 0;
};

struct product {
  std::int64_t sum = 0, n = 0;
};

// Everything the app must write, computed from the input.
struct expectations {
  std::map<std::int64_t, std::int64_t> error_windows; // window start -> ERROR count (>= 5, closed)
  std::map<std::string, std::int64_t> status_counts;  // status -> lines
  std::size_t logs = 0;
  std::multiset<std::string> large_withdrawals;                      // "tx_id | normalized value"
  std::map<std::pair<std::string, std::int64_t>, double> suspicious; // (user, day start) -> total > 5M
  std::map<std::string, balance> balances;                           // user -> sums
  std::size_t transactions = 0;
  std::multiset<std::string> bad_ratings;                            // normalized values
  std::vector<std::tuple<std::int64_t, double, std::int64_t>> worst; // (productid, avg, ratings), worst first
};

expectations expected_from(const std::vector<consumed_record>& logs, const std::vector<consumed_record>& txs,
                           const std::vector<consumed_record>& ratings, std::int64_t open_window_start) {
  expectations e;
  std::map<std::int64_t, std::int64_t> errors;
  for (const auto& r : logs) {
    const auto v = parse_object(r.value);
    const std::string status{v.at("status").as_string()};
    ++e.status_counts[status];
    ++e.logs;
    if (status == "ERROR")
      ++errors[floor_to(parse_utc_ms(std::string{v.at("date").as_string()}), minute_ms)];
  }
  for (const auto& [start, n] : errors)
    if (n >= min_errors && start < open_window_start)
      e.error_windows[start] = n;

  std::map<std::pair<std::string, std::int64_t>, double> daily;
  for (const auto& r : txs) {
    const auto v = parse_object(r.value);
    ++e.transactions;
    const std::string user = std::to_string(v.at("user-id").to_number<std::int64_t>());
    const double amount = v.at("amount").to_number<double>();
    const bool withdrawal = v.at("action").as_string() == "WITHDRAWAL";
    auto& b = e.balances[user];
    (withdrawal ? b.withdrawals : b.deposits) += amount;
    ++b.updates;
    if (!withdrawal)
      continue;
    if (amount > large_amount)
      e.large_withdrawals.insert(r.key.value_or("") + " | " + normalized(v));
    const auto t = std::llround(v.at("timestamp").to_number<double>() * 1000);
    daily[{user, floor_to(t, day_ms)}] += amount;
  }
  for (const auto& [k, total] : daily)
    if (total > daily_limit)
      e.suspicious[k] = total;

  std::map<std::int64_t, product> products;
  for (const auto& r : ratings) {
    const auto v = parse_object(r.value);
    const auto rating = v.at("rating").to_number<std::int64_t>();
    if (rating < 3)
      e.bad_ratings.insert(normalized(v));
    auto& p = products[v.at("productid").to_number<std::int64_t>()];
    p.sum += rating;
    ++p.n;
  }
  // Lowest average first; ties by the product id as text (the table key's bytes).
  std::vector<std::tuple<double, std::string, std::int64_t, std::int64_t>> ranked;
  for (const auto& [id, p] : products)
    ranked.emplace_back(static_cast<double>(p.sum) / static_cast<double>(p.n), std::to_string(id), id, p.n);
  std::sort(ranked.begin(), ranked.end());
  for (std::size_t i = 0; i < ranked.size() && i < 10; ++i)
    e.worst.emplace_back(std::get<2>(ranked[i]), std::get<0>(ranked[i]), std::get<3>(ranked[i]));
  return e;
}

// Output topic names of one app instance.
struct topics {
  std::string error_alerts = unique_name("log_error_alerts"), status_counts = unique_name("log_status_counts"),
              large = unique_name("large_withdrawals"), suspicious = unique_name("suspicious_users_daily"),
              balances = unique_name("user_balances"), bad_ratings = unique_name("bad_ratings"),
              worst = unique_name("worst_products");
};

TEST(ops_anomalies, every_output_topic_matches_the_input) {
  sluice::embedded_broker broker;
  // Four partitions each, written before the app starts: the error windows get the ERROR lines of
  // four input tasks, each reading its backlog at its own pace.
  broker.create_topic("logs_topic", 4);
  broker.create_topic("transactions_topic", 4);
  broker.create_topic("ratings_topic", 4);
  const kafka_test_client client(broker.bootstrap_servers());

  // 6000 records, 100 ms apart (10 minutes of event time) split over the three topics.
  child_process gen(sluice::test::built_binary("sluice-gen"),
                    {"ops", "--bootstrap-servers", broker.bootstrap_servers(), "--count", "6000", "--seed", "5",
                     "--error-burst-rate", "0.01"});
  const auto gen_status = gen.wait_for(60s);
  ASSERT_TRUE(gen_status && gen_status->success()) << tail_of(gen);
  auto logs = read_all(client, "logs_topic");
  const auto txs = read_all(client, "transactions_topic");
  const auto ratings = read_all(client, "ratings_topic");
  ASSERT_EQ(logs.size() + txs.size() + ratings.size(), 6000u);

  // The flush line: an ERROR two minutes after the last line closes every window before its own.
  std::int64_t last = 0;
  for (const auto& r : logs)
    last = std::max(last, parse_utc_ms(std::string{parse_object(r.value).at("date").as_string()}));
  const std::int64_t flush_ms = last + 2 * minute_ms;
  outgoing_record flush;
  flush.value = R"({"date": ")" + format_utc(flush_ms) + R"(", "url": "/flush", "status": "ERROR"})";
  client.produce("logs_topic", std::vector<outgoing_record>{flush});
  logs = read_all(client, "logs_topic");

  const auto e = expected_from(logs, txs, ratings, floor_to(flush_ms, minute_ms));
  ASSERT_GE(e.error_windows.size(), 3u);
  ASSERT_GE(e.large_withdrawals.size(), 5u);
  ASSERT_GE(e.suspicious.size(), 1u);
  ASSERT_GE(e.bad_ratings.size(), 50u);
  ASSERT_EQ(e.worst.size(), 10u);
  std::printf("input: %zu logs, %zu transactions, %zu ratings; expected: %zu error windows, %zu statuses, %zu large "
              "withdrawals, %zu suspicious user-days, %zu users, %zu bad ratings\n",
              logs.size(), txs.size(), ratings.size(), e.error_windows.size(), e.status_counts.size(),
              e.large_withdrawals.size(), e.suspicious.size(), e.balances.size(), e.bad_ratings.size());
  std::fflush(stdout);

  temp_dir state;
  const topics t;
  const auto app_id = unique_name("ops-app");
  child_process app(sluice::test::built_binary("ops-anomalies"),
                    {"--bootstrap-servers",
                     broker.bootstrap_servers(),
                     "--application-id",
                     app_id,
                     "--state-dir",
                     state.path.string(),
                     "--commit-interval-ms",
                     "200",
                     "--set",
                     "kafka.consumer.session.timeout.ms=6000",
                     "--set",
                     "kafka.consumer.heartbeat.interval.ms=500",
                     "--error-alerts-topic",
                     t.error_alerts,
                     "--status-counts-topic",
                     t.status_counts,
                     "--large-withdrawals-topic",
                     t.large,
                     "--suspicious-users-topic",
                     t.suspicious,
                     "--user-balances-topic",
                     t.balances,
                     "--bad-ratings-topic",
                     t.bad_ratings,
                     "--worst-products-topic",
                     t.worst},
                    {.env = sluice::test::app_environment()});
  ASSERT_TRUE(wait_until(
    [&] {
      return !app.running() ||
             (count_of(client, t.error_alerts) >= e.error_windows.size() &&
              count_of(client, t.status_counts) >= e.logs && count_of(client, t.large) >= e.large_withdrawals.size() &&
              count_of(client, t.suspicious) >= e.suspicious.size() && count_of(client, t.balances) >= e.transactions &&
              count_of(client, t.bad_ratings) >= e.bad_ratings.size() && count_of(client, t.worst) >= 1);
    },
    45s))
    << "outputs incomplete; app:\n"
    << tail_of(app);
  ASSERT_TRUE(app.running()) << tail_of(app);
  // Once it consumed its input, anything beyond the expected rows (and the last ranking) is written.
  ASSERT_TRUE(sluice::test::wait_until_consumed(broker.bootstrap_servers(), app_id,
                                                {"logs_topic", "transactions_topic", "ratings_topic"}));

  // log_error_alerts: one row per closed minute with >= 5 ERRORs.
  {
    std::map<std::int64_t, std::int64_t> actual;
    for (const auto& r : read_all(client, t.error_alerts)) {
      const auto v = parse_object(r.value);
      EXPECT_EQ(r.key, "ERROR");
      EXPECT_EQ(v.size(), 4u) << *r.value;
      EXPECT_EQ(v.at("status").as_string(), "ERROR");
      const auto start = v.at("window_start").to_number<std::int64_t>();
      EXPECT_EQ(v.at("window_end").to_number<std::int64_t>(), start + minute_ms);
      EXPECT_TRUE(actual.emplace(start, v.at("count").to_number<std::int64_t>()).second)
        << "window twice: " << *r.value;
    }
    EXPECT_EQ(actual, e.error_windows);
  }
  // log_status_counts: one update per line; the last per status is its count.
  {
    const auto out = read_all(client, t.status_counts);
    EXPECT_EQ(out.size(), e.logs);
    std::map<std::string, std::int64_t> last_count;
    std::map<std::string, std::size_t> updates;
    for (const auto& r : out) {
      const auto v = parse_object(r.value);
      EXPECT_EQ(v.at("status").as_string(), r.key.value_or(""));
      last_count[*r.key] = v.at("count").to_number<std::int64_t>();
      ++updates[*r.key];
    }
    EXPECT_EQ(last_count, e.status_counts);
    for (const auto& [status, n] : e.status_counts)
      EXPECT_EQ(updates[status], static_cast<std::size_t>(n)) << status;
  }
  // large_withdrawals: the transactions as they came, keyed by tx_id.
  {
    std::multiset<std::string> actual;
    for (const auto& r : read_all(client, t.large))
      actual.insert(r.key.value_or("") + " | " + normalized(json::parse(*r.value)));
    EXPECT_EQ(actual, e.large_withdrawals);
  }
  // suspicious_users_daily: the last row per user and day is its total; only totals over 5M.
  {
    std::map<std::pair<std::string, std::int64_t>, double> actual;
    for (const auto& r : read_all(client, t.suspicious)) {
      const auto v = parse_object(r.value);
      EXPECT_EQ(std::to_string(v.at("user_id").to_number<std::int64_t>()), r.key.value_or(""));
      const auto start = v.at("window_start").to_number<std::int64_t>();
      EXPECT_EQ(v.at("window_end").to_number<std::int64_t>(), start + day_ms);
      const double total = v.at("total_withdrawal").to_number<double>();
      EXPECT_GT(total, daily_limit);
      actual[{*r.key, start}] = total;
    }
    ASSERT_EQ(actual.size(), e.suspicious.size());
    for (const auto& [k, total] : e.suspicious) {
      ASSERT_TRUE(actual.contains(k)) << "user " << k.first << " day " << k.second << " missing";
      EXPECT_TRUE(close_to(actual[k], total)) << actual[k] << " vs " << total;
    }
  }
  // user_balances: one update per transaction; the last per user holds the sums.
  {
    const auto out = read_all(client, t.balances);
    EXPECT_EQ(out.size(), e.transactions);
    std::map<std::string, std::pair<json::object, std::size_t>> last;
    for (const auto& r : out) {
      auto& slot = last[r.key.value_or("")];
      slot.first = parse_object(r.value);
      ++slot.second;
    }
    ASSERT_EQ(last.size(), e.balances.size());
    for (const auto& [user, b] : e.balances) {
      const auto& [v, updates] = last[user];
      EXPECT_EQ(v.size(), 3u);
      EXPECT_EQ(std::to_string(v.at("user_id").to_number<std::int64_t>()), user);
      EXPECT_TRUE(close_to(v.at("deposits").to_number<double>(), b.deposits)) << user;
      EXPECT_TRUE(close_to(v.at("withdrawals").to_number<double>(), b.withdrawals)) << user;
      EXPECT_EQ(updates, b.updates) << user;
    }
  }
  // bad_ratings: the ratings below 3 as they came.
  {
    std::multiset<std::string> actual;
    for (const auto& r : read_all(client, t.bad_ratings))
      actual.insert(normalized(json::parse(*r.value)));
    EXPECT_EQ(actual, e.bad_ratings);
  }
  // worst_products: the last ranking is the ten lowest averages over all ratings.
  {
    const auto out = read_all(client, t.worst);
    ASSERT_FALSE(out.empty());
    const auto products = parse_object(out.back().value).at("products").as_array();
    ASSERT_EQ(products.size(), e.worst.size()) << *out.back().value;
    for (std::size_t i = 0; i < products.size(); ++i) {
      const auto& p = products[i].as_object();
      const auto& [id, avg, n] = e.worst[i];
      EXPECT_EQ(p.at("productid").to_number<std::int64_t>(), id) << "rank " << i + 1 << ": " << *out.back().value;
      EXPECT_TRUE(close_to(p.at("avg_rating").to_number<double>(), avg)) << "rank " << i + 1;
      EXPECT_EQ(p.at("ratings").to_number<std::int64_t>(), n) << "rank " << i + 1;
    }
  }
  // Console alerts: one per error burst, large withdrawal and suspicious user-day.
  const auto console = app.stdout_text();
  EXPECT_EQ(occurrences(console, "[ops-anomalies] large withdrawal:"), e.large_withdrawals.size())
    << console.substr(0, 3000);
  EXPECT_EQ(occurrences(console, "[ops-anomalies] suspicious user"), e.suspicious.size());
  EXPECT_EQ(occurrences(console, "ERROR log lines in the minute"), e.error_windows.size());

  app.terminate();
  const auto status = app.wait_for(30s);
  ASSERT_TRUE(status) << "ops-anomalies ignored SIGTERM";
  EXPECT_TRUE(status->success()) << tail_of(app);
}

TEST(ops_anomalies, describe_prints_the_topology_and_help_lists_the_flags) {
  child_process describe(sluice::test::built_binary("ops-anomalies"), {"--describe"});
  auto s = describe.wait_for(20s);
  ASSERT_TRUE(s && s->success()) << describe.stderr_text();
  for (const char* node :
       {"errors-per-minute", "status-counts", "daily-withdrawals", "user-balances", "worst-products"})
    EXPECT_NE(describe.stdout_text().find(node), std::string::npos) << node << "\n" << describe.stdout_text();
  child_process help(sluice::test::built_binary("ops-anomalies"), {"--help"});
  s = help.wait_for(20s);
  ASSERT_TRUE(s && s->success());
  for (const char* flag : {"--logs-topic", "--worst-products-topic", "--error-grace-ms", "--slack-webhook-url"})
    EXPECT_NE(help.stdout_text().find(flag), std::string::npos) << flag;
}

// Event time on every way the input can arrive (backlog, live, several instances, a kill, an empty
// partition, a partition far behind), on all three input topics alike: log_error_alerts holds
// exactly the closed minutes with 5 or more ERRORs, suspicious_users_daily ends with each
// suspicious user-day's total.
class ops_anomalies_event_time : public testing::TestWithParam<sluice::test::event_time_case> {};

TEST_P(ops_anomalies_event_time, error_minutes_and_daily_withdrawals_match_the_input) {
  const auto& c = GetParam();
  sluice::embedded_broker broker;
  const kafka_test_client client(broker.bootstrap_servers());
  const std::map<std::string, std::string> inputs = {{"logs_topic", unique_name("logs")},
                                                     {"transactions_topic", unique_name("transactions")},
                                                     {"ratings_topic", unique_name("ratings")}};
  const topics t;
  // 3000 records 200 ms apart (10 minutes of event time) over the three topics; ERROR bursts in
  // most minutes.
  const auto records = sluice::test::generate("ops", 5, 200, {"--count", "3000", "--error-burst-rate", "0.03"});
  sluice::test::app_instances app("ops-anomalies",
                                  {"--logs-topic",
                                   inputs.at("logs_topic"),
                                   "--transactions-topic",
                                   inputs.at("transactions_topic"),
                                   "--ratings-topic",
                                   inputs.at("ratings_topic"),
                                   "--error-alerts-topic",
                                   t.error_alerts,
                                   "--status-counts-topic",
                                   t.status_counts,
                                   "--large-withdrawals-topic",
                                   t.large,
                                   "--suspicious-users-topic",
                                   t.suspicious,
                                   "--user-balances-topic",
                                   t.balances,
                                   "--bad-ratings-topic",
                                   t.bad_ratings,
                                   "--worst-products-topic",
                                   t.worst},
                                  broker.bootstrap_servers(), c.instances);
  const std::vector<std::string> internal = {
    "errors-by-status-repartition",     "errors-per-minute-store-changelog", "logs-by-status-repartition",
    "status-counts-store-changelog",    "withdrawals-by-user-repartition",   "daily-withdrawals-store-changelog",
    "transactions-by-user-repartition", "user-balances-store-changelog",     "ratings-by-product-repartition",
    "product-ratings-store-changelog",  "worst-products-repartition",        "worst-products-store-changelog",
    "error-alerts-alert-alerts",        "large-withdrawals-alert-alerts",    "suspicious-users-alert-alerts"};
  ASSERT_EQ(sluice::test::run_case(c, broker, records, inputs, internal, app), "");

  const auto logs = read_all(client, inputs.at("logs_topic"));
  const auto txs = read_all(client, inputs.at("transactions_topic"));
  const auto ratings = read_all(client, inputs.at("ratings_topic"));
  ASSERT_EQ(logs.size() + txs.size() + ratings.size(), records.size());
  // A minute closes once event time, the largest date of the logs, reaches its end + 10 s grace.
  std::int64_t last = 0;
  for (const auto& r : logs)
    last = std::max(last, parse_utc_ms(std::string{parse_object(r.value).at("date").as_string()}));
  const auto since_close = (last - 10'000) % minute_ms;
  ASSERT_TRUE(since_close >= 2000 && since_close <= minute_ms - 2000) << "a minute closes near the end";
  const auto e = expected_from(logs, txs, ratings, last - 10'000 - minute_ms + 1);
  ASSERT_GE(e.error_windows.size(), 7u);
  ASSERT_GE(e.suspicious.size(), 1u);

  // Rows of both outputs are identified by their key and window start.
  auto by_key_and_window = [](const std::vector<consumed_record>& records) {
    return sluice::test::rows_of(records, [](const consumed_record& r, const json::value& v) {
      return r.key.value_or("<null>") + " " + std::to_string(v.at("window_start").to_number<std::int64_t>());
    });
  };
  sluice::test::expected_rows minutes;
  for (const auto& [start, n] : e.error_windows)
    minutes["ERROR " + std::to_string(start)].value = {
      {"window_start", start}, {"window_end", start + minute_ms}, {"status", "ERROR"}, {"count", n}};
  // Each suspicious user-day: every row over the limit and at most its total, the last one its total.
  auto daily_problem = [&](const sluice::test::actual_rows& actual) -> std::string {
    for (const auto& [id, values] : actual)
      if (!e.suspicious.contains({id.substr(0, id.find(' ')), std::stoll(id.substr(id.find(' ') + 1))}))
        return "user-day " + id + " is not suspicious: " + std::to_string(values.size()) + " rows, the last " +
               json::serialize(values.back());
    for (const auto& [k, total] : e.suspicious) {
      const auto it = actual.find(k.first + " " + std::to_string(k.second));
      if (it == actual.end())
        return "user " + k.first + " day " + std::to_string(k.second) + " missing";
      for (const auto& v : it->second)
        if (!(v.at("total_withdrawal").to_number<double>() > daily_limit &&
              v.at("total_withdrawal").to_number<double>() <= total * (1 + 1e-12)))
          return "user " + k.first + ": " + json::serialize(v) + " with a total of " + std::to_string(total);
      if (!close_to(it->second.back().at("total_withdrawal").to_number<double>(), total))
        return "user " + k.first + " ends at " + json::serialize(it->second.back()) + ", expected " +
               std::to_string(total);
    }
    return "";
  };

  const auto out = sluice::test::settle_outputs(
    client, {{t.error_alerts, minutes.size()}, {t.suspicious, e.suspicious.size()}},
    [&](const auto& o) {
      return check_rows(minutes, by_key_and_window(o.at(t.error_alerts))).missing == 0 &&
             daily_problem(by_key_and_window(o.at(t.suspicious))).empty();
    },
    app, {inputs.at("logs_topic"), inputs.at("transactions_topic"), inputs.at("ratings_topic")});
  const auto errors = check_rows(minutes, by_key_and_window(out.at(t.error_alerts)));
  std::printf("%s: log_error_alerts %s\n", c.name.c_str(), errors.summary().c_str());
  EXPECT_TRUE(errors.matches(c.may_repeat())) << errors.summary() << "\n" << app.logs();
  EXPECT_EQ(daily_problem(by_key_and_window(out.at(t.suspicious))), "");
  EXPECT_EQ(app.stop(), "");
}

INSTANTIATE_TEST_SUITE_P(cases, ops_anomalies_event_time, testing::ValuesIn(sluice::test::event_time_cases()),
                         [](const auto& info) { return info.param.name; });

} // namespace
