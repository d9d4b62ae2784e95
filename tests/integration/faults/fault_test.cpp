// Fault tests with exact accounting: the cpu-anomaly app (child processes) on the embedded broker
// hosted in this process, through one fault each: a storm of SIGKILLs across three instances with
// windowed state, bursts of 429 and 500 from the Slack webhook, PostgreSQL restarted while the
// threshold lookup join runs, the broker unreachable while exactly-once transactions are open.
// The expected output is computed here from the input as read back from the broker (Boost.JSON and
// plain arithmetic, no runtime code). Each test prints `lost=N duplicated=N dead_lettered=N` (also
// recorded as test properties) and asserts that nothing was lost:
//   lost          an expected output missing, or present only with a wrong value (for a window:
//                 missing or with a wrong final value; for an alert: never answered 2xx and not
//                 dead-lettered);
//   duplicated    an output beyond the expected number, with the expected value (a window emitted
//                 again, an alert delivered again);
//   dead_lettered records the app wrote to its dead-letter topic.

#include "app_instances.hpp"
#include "embedded_broker.hpp"
#include "event_time_cases.hpp"
#include "http_receiver.hpp"
#include "kafka_test_client.hpp"
#include "output_rows.hpp"
#include "pg_cluster.hpp"
#include "test_helpers.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <thread>

namespace {

using namespace std::chrono_literals;
namespace json = boost::json;
using sluice::test::app_instances;
using sluice::test::arrival;
using sluice::test::check_rows;
using sluice::test::consumed_record;
using sluice::test::event_time_case;
using sluice::test::expected_rows;
using sluice::test::kafka_test_client;
using sluice::test::read_all;
using sluice::test::row_check;
using sluice::test::rows_of;
using sluice::test::unique_name;
using sluice::test::wait_until;

constexpr std::int64_t window_ms = 30'000; // the app's tumbling window
constexpr std::int64_t grace_ms = 10'000;  // and its grace
constexpr double filter_threshold = 80.0;  // readings with usage over this are written as they are

// The tutorial's cpu_thresholds rows, restated here (not read from thresholds.sql).
const std::map<std::string, std::int64_t> thresholds = {{"doc", 20},   {"grumpy", 30}, {"sleepy", 40}, {"bashful", 60},
                                                        {"happy", 70}, {"sneezy", 80}, {"dopey", 90}};

// Internal topics of cpu-anomaly without thresholds, and with them (names after "<application.id>-").
const std::vector<std::string> window_topics = {"by-host-cpu-repartition", "usage-30s-store-changelog"};
const std::vector<std::string> threshold_topics = {"by-host-cpu-repartition", "usage-30s-store-changelog",
                                                   "threshold-alert-alerts"};

// What a fault did to an app's outputs.
struct accounting {
  std::size_t lost = 0;          // expected outputs missing, or present only with a wrong value
  std::size_t duplicated = 0;    // outputs beyond the expected number, with the expected value
  std::size_t dead_lettered = 0; // records in the app's dead-letter topic
};

// Prints `lost=N duplicated=N dead_lettered=N` and records the three as properties of the test.
void report(const accounting& a) {
  std::printf("lost=%zu duplicated=%zu dead_lettered=%zu\n", a.lost, a.duplicated, a.dead_lettered);
  std::fflush(stdout);
  testing::Test::RecordProperty("lost", static_cast<int>(a.lost));
  testing::Test::RecordProperty("duplicated", static_cast<int>(a.duplicated));
  testing::Test::RecordProperty("dead_lettered", static_cast<int>(a.dead_lettered));
}

// The records of the app's dead-letter topic.
std::vector<consumed_record> dead_letters(const kafka_test_client& client, const app_instances& app) {
  return read_all(client, app.application_id() + "-dlq", 1s);
}

// The value of header `name` of `r`, "" if absent.
std::string header_of(const consumed_record& r, const std::string& name) {
  for (const auto& [k, v] : r.headers)
    if (k == name)
      return v;
  return "";
}

// Identity of an output row about one window of one host and CPU: "doc/cpu3 [1700000010000)".
std::string window_identity(const json::value& row) {
  return std::string(row.at("hostname").as_string()) + "/" + std::string(row.at("cpu").as_string()) + " [" +
         std::to_string(row.at("window_start").as_int64()) + ")";
}

// Identity of a filter row: the reading's host, CPU and time (one reading per time).
std::string reading_identity(const json::value& row) {
  return std::string(row.at("hostname").as_string()) + "/" + std::string(row.at("cpu").as_string()) + " @" +
         std::to_string(row.at("time_ltz").as_int64());
}

// The outputs cpu-anomaly must write for an input, per topic, by row identity.
struct cpu_anomaly_expectation {
  expected_rows filtered; // cpu_load_stats_real_filter: readings over 80 %
  expected_rows windows;  // cpu_agg_stats: every closed window's average and max
  expected_rows alerts;   // cpu_alerts: the windows whose average is over their host's threshold
};

// Computes what cpu-anomaly must write for `input` (its readings read back in partition order: a
// window's readings all come from its host's partition, in the order the app adds them). A window
// is closed once its end plus the grace is at most the input's largest event time; throws
// std::logic_error if one would close within 5 s of it (the input must leave every window clearly
// closed or clearly open).
cpu_anomaly_expectation expected_outputs(const std::vector<consumed_record>& input) {
  struct window_sums {
    std::string hostname, cpu;
    std::int64_t start = 0;
    double sum = 0, max = 0;
    std::int64_t n = 0;
  };
  cpu_anomaly_expectation e;
  std::map<std::string, window_sums> windows;
  std::int64_t max_time = 0;
  for (const auto& r : input) {
    const auto v = json::parse(r.value.value_or("null")).as_object();
    const std::string hostname{v.at("hostname").as_string()}, cpu{v.at("cpu").as_string()};
    const auto usage = v.at("usage").to_number<double>();
    const auto t = v.at("occurred_at").as_int64();
    max_time = std::max(max_time, t);
    if (usage > filter_threshold) {
      const json::value row{{"time_ltz", t}, {"hostname", hostname}, {"cpu", cpu}, {"usage", usage}};
      auto [it, fresh] = e.filtered.try_emplace(reading_identity(row), sluice::test::expected_row{row, 0});
      ++it->second.times;
    }
    const auto start = t - t % window_ms;
    auto& w = windows[hostname + "/" + cpu + " [" + std::to_string(start) + ")"];
    if (w.n == 0)
      w = {hostname, cpu, start, 0, usage, 0};
    w.sum += usage;
    w.max = std::max(w.max, usage);
    ++w.n;
  }
  for (const auto& [id, w] : windows) {
    const auto close = w.start + window_ms + grace_ms;
    if (std::llabs(max_time - close) <= 5000)
      throw std::logic_error("the input ends within 5 s of a window's close: " + id);
    if (close > max_time)
      continue;
    const double avg = w.sum / static_cast<double>(w.n);
    e.windows[id].value = {{"window_start", w.start}, {"window_end", w.start + window_ms},
                           {"hostname", w.hostname},  {"cpu", w.cpu},
                           {"usage_avg", avg},        {"usage_max", w.max}};
    const auto top = thresholds.at(w.hostname);
    if (avg > static_cast<double>(top))
      e.alerts[id].value = {{"window_start", w.start}, {"window_end", w.start + window_ms},
                            {"hostname", w.hostname},  {"cpu", w.cpu},
                            {"usage_avg", avg},        {"allowed_top", top}};
  }
  return e;
}

// An output topic's rows by identity (watermark announcements, without a value, left out).
sluice::test::actual_rows rows_by(const std::vector<consumed_record>& records,
                                  std::string (*identity)(const json::value&)) {
  std::vector<consumed_record> data;
  for (const auto& r : records)
    if (r.value)
      data.push_back(r);
  return rows_of(data, [identity](const consumed_record&, const json::value& v) { return identity(v); });
}

// Adds an output's comparison to the accounting and prints it under `what`.
void account(accounting& a, const std::string& what, const row_check& c) {
  std::printf("%s: %s\n", what.c_str(), c.summary().c_str());
  a.lost += c.missing;
  a.duplicated += c.duplicates;
}

// How often `text` occurs in the current logs of `app`'s instances.
std::size_t logged_times(app_instances& app, const std::string& text) {
  std::size_t n = 0;
  for (int i = 0; i < app.size(); ++i) {
    const auto log = app[i].stderr_text();
    for (auto pos = log.find(text); pos != std::string::npos; pos = log.find(text, pos + 1))
      ++n;
  }
  return n;
}

// An output of the app as a fault test checks it: its name in the report, its topic, the rows
// expected in it and how a row is named.
struct checked_output {
  std::string name;
  std::string topic;
  const expected_rows& expected;
  std::string (*identity)(const json::value&);
};

// Waits (up to `timeout`) until every output holds all its expected rows and the app consumed its
// `input` to the end, then accounts for what was lost and duplicated in each and for the dead
// letters, prints it, and expects nothing lost, wrong or unexpected, no dead letter, and a clean
// stop of the app.
void expect_nothing_lost(const kafka_test_client& client, app_instances& app, const std::string& input,
                         const std::vector<checked_output>& outputs, std::chrono::seconds timeout) {
  std::map<std::string, std::size_t> counts;
  for (const auto& o : outputs)
    counts[o.topic] = o.expected.size();
  const auto out = sluice::test::settle_outputs(
    client, counts,
    [&](const auto& t) {
      return std::all_of(outputs.begin(), outputs.end(), [&](const checked_output& o) {
        return check_rows(o.expected, rows_by(t.at(o.topic), o.identity)).missing == 0;
      });
    },
    app, {input}, timeout);
  accounting a;
  std::string summaries;
  std::size_t wrong = 0;
  for (const auto& o : outputs) {
    const auto c = check_rows(o.expected, rows_by(out.at(o.topic), o.identity));
    account(a, o.name, c);
    summaries += o.name + ": " + c.summary() + "\n";
    wrong += c.wrong + c.unexpected;
  }
  a.dead_lettered = dead_letters(client, app).size();
  report(a);
  EXPECT_EQ(a.lost, 0u) << summaries << app.logs();
  EXPECT_EQ(wrong, 0u) << summaries;
  EXPECT_EQ(a.dead_lettered, 0u);
  EXPECT_EQ(app.stop(), "");
}

// The thresholds table of the tutorial, loaded into `pg` from apps/cpu_anomaly/thresholds.sql.
void load_thresholds(const sluice::test::pg_cluster& pg) {
  std::ifstream in(SLUICE_CPU_THRESHOLDS_SQL);
  std::stringstream sql;
  sql << in.rdbuf();
  pg.exec(sql.str());
}

// 1. SIGKILL storm: three instances share six partitions of readings (a backlog, then live input
// over 15 s); five SIGKILLs, one every 2.5 s, rotate over the instances, each restarted at once on
// its state directory, so rebalances overlap and windows are restored from their changelog again
// and again. Every closed window must still come out with its exact average and max (a window
// emitted again after a replay is a duplicate), and every reading over 80 % through the filter.
TEST(faults, a_storm_of_sigkills_across_three_instances_loses_no_window) {
  sluice::embedded_broker broker;
  const kafka_test_client client(broker.bootstrap_servers());
  const auto in = unique_name("cpu-in"), filtered = unique_name("cpu-filter"), agg = unique_name("cpu-agg");
  // 6000 readings 50 ms apart: 300 s of event time, nine closed windows per host and CPU.
  const auto records = sluice::test::generate("cpu", 7, 50, {"--count", "6000"});
  app_instances app("cpu-anomaly",
                    {"--input-topic", in, "--output-topic", filtered, "--agg-topic", agg, "--no-thresholds"},
                    broker.bootstrap_servers(), 3);
  const event_time_case storm{.name = "sigkill_storm",
                              .partitions = 6,
                              .input = arrival::backlog_then_live,
                              .instances = 3,
                              .kills = 5,
                              .live_time = 15s};
  ASSERT_EQ(sluice::test::run_case(storm, broker, records, {{"", in}}, window_topics, app), "");

  const auto input = read_all(client, in);
  ASSERT_EQ(input.size(), records.size());
  const auto expected = expected_outputs(input);
  ASSERT_GE(expected.windows.size(), 300u); // 35 host/CPU pairs
  expect_nothing_lost(client, app, in,
                      {{"cpu_agg_stats", agg, expected.windows, window_identity},
                       {"cpu_load_stats_real_filter", filtered, expected.filtered, reading_identity}},
                      90s);
}

// The Slack text of an expected alert row, written out here: the average with 2 decimals (%.2f).
std::string slack_text(const json::value& alert) {
  char avg[64];
  std::snprintf(avg, sizeof avg, "%.2f", alert.at("usage_avg").to_number<double>());
  return "host:" + std::string(alert.at("hostname").as_string()) + " CPU: " + std::string(alert.at("cpu").as_string()) +
         " avg CPU value:" + avg + " over the threshold " + std::to_string(alert.at("allowed_top").as_int64());
}

// What became of the expected alerts. An alert is named by its id (Idempotency-Key); what it says
// is its text, which names the window's host, CPU, average and threshold (two windows may say the
// same, so alerts are matched with the expected ones as a multiset of texts).
struct alert_outcome {
  accounting counts;
  std::size_t delivered = 0;  // alerts (ids) answered 2xx at least once
  std::size_t retried = 0;    // requests answered with an error (then retried by the app)
  std::size_t unexpected = 0; // alerts whose text no expected alert has, or one too many of a text
  std::string first_problem;  // one lost or unexpected alert, "" if none
};

// Matches the webhook's requests (with the status each was answered) and the dead letters of
// `alert_node` (whose source position is the alert's id) with the expected alerts.
alert_outcome check_alerts(const expected_rows& expected, const std::vector<sluice::test::recorded_request>& requests,
                           const std::vector<consumed_record>& dlq, const std::string& alert_node) {
  alert_outcome o;
  auto note = [&o](std::string problem) {
    if (o.first_problem.empty())
      o.first_problem = std::move(problem);
  };
  std::map<std::string, std::size_t> expected_texts; // text -> alerts expected to say it
  for (const auto& [window, row] : expected)
    ++expected_texts[slack_text(row.value)];
  std::map<std::string, std::string> text_of;     // id -> text
  std::map<std::string, std::size_t> accepted_of; // id -> requests answered 2xx
  for (const auto& req : requests) {
    const auto id = req.header("Idempotency-Key");
    json::error_code ec;
    const auto body = json::parse(req.body, ec);
    const auto* text = body.is_object() ? body.as_object().if_contains("text") : nullptr;
    const auto* alert_id = body.is_object() ? body.as_object().if_contains("alert_id") : nullptr;
    if (ec || text == nullptr || !text->is_string() || alert_id == nullptr || *alert_id != json::value(id)) {
      ++o.unexpected;
      note("request that is not an alert named by its Idempotency-Key: " + req.target + " " + req.body);
      continue;
    }
    text_of[id] = text->as_string().c_str();
    accepted_of[id] += req.answered / 100 == 2 ? 1 : 0;
    o.retried += req.answered / 100 == 2 ? 0 : 1;
  }
  std::set<std::string> dead_ids;
  for (const auto& d : dlq) {
    ++o.counts.dead_lettered;
    const auto id =
      header_of(d, "source.topic") + "-" + header_of(d, "source.partition") + "-" + header_of(d, "source.offset");
    if (header_of(d, "error.node") != alert_node || !text_of.contains(id)) {
      ++o.unexpected;
      note("dead letter of no alert sent: " + id + " " + header_of(d, "error"));
      continue;
    }
    dead_ids.insert(id);
  }
  std::map<std::string, std::size_t> accounted; // text -> alerts delivered or dead-lettered
  for (const auto& [id, text] : text_of) {
    const auto accepted = accepted_of[id];
    if (accepted == 0 && !dead_ids.contains(id))
      continue; // still being retried, or given up without a dead letter: counted as lost below
    o.delivered += accepted > 0 ? 1 : 0;
    o.counts.duplicated += accepted > 1 ? accepted - 1 : 0;
    ++accounted[text];
  }
  for (const auto& [text, n] : expected_texts) {
    const auto got = accounted.contains(text) ? accounted.at(text) : 0;
    if (got < n) {
      o.counts.lost += n - got;
      note("alert never delivered nor dead-lettered: " + text);
    } else {
      o.counts.duplicated += got - n; // the same alert sent again under another id
    }
  }
  for (const auto& [text, n] : accounted)
    if (!expected_texts.contains(text)) {
      o.unexpected += n;
      note("alert for no expected window: " + text);
    }
  return o;
}

// 2. Webhook bursts: while the full app runs (windows, PostgreSQL thresholds, Slack alerts; a
// backlog, then live input over 8 s), the Slack webhook answers in bursts: 4 accepted, 3 x 429
// (Retry-After: 1), 4 accepted, 3 x 500, twelve times over, then accepts everything. A burst is
// shorter than an alert's 5 attempts; an alert given up anyway must be dead-lettered. Every expected
// alert must be accepted or dead-lettered (matched by its Idempotency-Key, with its text); an alert
// accepted twice is a duplicate.
TEST(faults, webhook_bursts_of_429_and_500_lose_no_alert) {
  sluice::test::pg_cluster pg;
  load_thresholds(pg);
  sluice::test::http_receiver slack;
  for (int burst = 0; burst < 12; ++burst) {
    slack.enqueue({}, 4);
    slack.enqueue({.status = 429, .body = "rate limited", .headers = {{"Retry-After", "1"}}}, 3);
    slack.enqueue({}, 4);
    slack.enqueue({.status = 500, .body = "internal error"}, 3);
  }
  sluice::embedded_broker broker;
  const kafka_test_client client(broker.bootstrap_servers());
  const auto in = unique_name("cpu-in"), filtered = unique_name("cpu-filter"), agg = unique_name("cpu-agg"),
             alerts = unique_name("cpu-alerts");
  // 3000 readings 100 ms apart: 300 s of event time, nine closed windows per host and CPU.
  const auto records = sluice::test::generate("cpu", 11, 100, {"--count", "3000"});
  app_instances app("cpu-anomaly",
                    {"--input-topic", in, "--output-topic", filtered, "--agg-topic", agg, "--alerts-topic", alerts,
                     "--postgres-url", pg.conninfo(), "--slack-webhook-url", slack.url("/services/T000/B000/fault")},
                    broker.bootstrap_servers(), 1);
  const event_time_case bursts{
    .name = "webhook_bursts", .partitions = 4, .input = arrival::backlog_then_live, .live_time = 8s};
  ASSERT_EQ(sluice::test::run_case(bursts, broker, records, {{"", in}}, threshold_topics, app), "");

  const auto input = read_all(client, in);
  ASSERT_EQ(input.size(), records.size());
  const auto expected = expected_outputs(input);
  ASSERT_GE(expected.alerts.size(), 200u);
  auto outcome = [&] {
    return check_alerts(expected.alerts, slack.requests(), dead_letters(client, app), "threshold-alert");
  };
  wait_until(
    [&] {
      if (!app.all_running() || slack.request_count() < expected.alerts.size())
        return !app.all_running();
      const auto o = outcome();
      return o.counts.lost == 0;
    },
    60s, 1s);
  // Stopped, the app sends nothing more: what the receiver holds now is all it will get.
  EXPECT_EQ(app.stop(), "");
  const auto o = outcome();
  std::printf("%zu alerts expected: %zu delivered, %zu requests answered with an error, %zu unexpected; %s\n",
              expected.alerts.size(), o.delivered, o.retried, o.unexpected, o.first_problem.c_str());
  report(o.counts);
  EXPECT_EQ(o.counts.lost, 0u) << o.first_problem << "\n" << app.logs();
  EXPECT_EQ(o.unexpected, 0u) << o.first_problem;
  EXPECT_EQ(o.retried, 72u) << "every scripted 429 and 500 was answered to an alert request";
}

// 3. PostgreSQL restarted while the lookup join runs: two instances of the full app (thresholds
// looked up for every window: no cache) on four partitions, a backlog, then live input over 10 s;
// half-way through it PostgreSQL is stopped (fast shutdown: sessions cut) until the join has found
// it down, then started again. Every window over its host's threshold must still come out joined
// with that threshold, and every closed window be aggregated.
TEST(faults, postgres_restarted_while_the_lookup_join_runs_loses_no_joined_window) {
  sluice::test::pg_cluster pg;
  load_thresholds(pg);
  sluice::embedded_broker broker;
  const kafka_test_client client(broker.bootstrap_servers());
  const auto in = unique_name("cpu-in"), filtered = unique_name("cpu-filter"), agg = unique_name("cpu-agg"),
             alerts = unique_name("cpu-alerts");
  const auto records = sluice::test::generate("cpu", 13, 100, {"--count", "3000"});
  app_instances app("cpu-anomaly",
                    {"--input-topic", in, "--output-topic", filtered, "--agg-topic", agg, "--alerts-topic", alerts,
                     "--postgres-url", pg.conninfo(), "--thresholds-cache-ttl-ms", "0"},
                    broker.bootstrap_servers(), 2);
  auto logged = [&app](const std::string& text) { return logged_times(app, text) > 0; };
  const event_time_case restart{.name = "postgres_restart",
                                .partitions = 4,
                                .input = arrival::backlog_then_live,
                                .instances = 2,
                                .live_time = 10s,
                                .mid_stream = [&]() -> std::string {
                                  pg.stop();
                                  const bool felt =
                                    wait_until([&] { return logged("PostgreSQL unavailable"); }, 20s, 50ms);
                                  pg.start();
                                  return felt ? "" : "the lookup join never found PostgreSQL down\n" + app.logs();
                                }};
  ASSERT_EQ(sluice::test::run_case(restart, broker, records, {{"", in}}, threshold_topics, app), "");
  EXPECT_TRUE(wait_until([&] { return logged("PostgreSQL answered again"); }, 30s)) << app.logs();

  const auto input = read_all(client, in);
  ASSERT_EQ(input.size(), records.size());
  const auto expected = expected_outputs(input);
  ASSERT_GE(expected.alerts.size(), 200u);
  expect_nothing_lost(client, app, in,
                      {{"cpu_alerts", alerts, expected.alerts, window_identity},
                       {"cpu_agg_stats", agg, expected.windows, window_identity}},
                      60s);
}

// 4. The broker unreachable under exactly-once: two instances (processing.guarantee=exactly_once_v2,
// a transaction every 200 ms) on four partitions, a backlog, then live input over 10 s; half-way
// through it the broker is down for 3 s, with transactions open (records are being produced and
// processed). Every closed window and every reading over 80 % must come out. The embedded broker's
// transactions are not real (no markers: aborted records stay visible), so outputs of a transaction
// aborted by the outage and processed again are counted as duplicates, not failures. `app_flags`
// are added to the app's.
void expect_nothing_lost_when_the_broker_is_down_for_3_s(const std::vector<std::string>& app_flags) {
  sluice::embedded_broker broker;
  const kafka_test_client client(broker.bootstrap_servers());
  const auto in = unique_name("cpu-in"), filtered = unique_name("cpu-filter"), agg = unique_name("cpu-agg");
  const auto records = sluice::test::generate("cpu", 17, 100, {"--count", "3000"});
  std::vector<std::string> args = {"--input-topic",  in,  "--output-topic",  filtered,
                                   "--agg-topic",    agg, "--no-thresholds", "--processing-guarantee",
                                   "exactly_once_v2"};
  args.insert(args.end(), app_flags.begin(), app_flags.end());
  app_instances app("cpu-anomaly", args, broker.bootstrap_servers(), 2);
  const event_time_case outage{.name = "broker_outage",
                               .partitions = 4,
                               .input = arrival::backlog_then_live,
                               .instances = 2,
                               .live_time = 10s,
                               .mid_stream = [&]() -> std::string {
                                 broker.set_broker_down(1);
                                 std::this_thread::sleep_for(3s); // the outage itself, not a wait for anything
                                 broker.set_broker_up(1);
                                 return "";
                               }};
  ASSERT_EQ(sluice::test::run_case(outage, broker, records, {{"", in}}, window_topics, app), "");

  const auto input = read_all(client, in);
  ASSERT_EQ(input.size(), records.size());
  const auto expected = expected_outputs(input);
  expect_nothing_lost(client, app, in,
                      {{"cpu_agg_stats", agg, expected.windows, window_identity},
                       {"cpu_load_stats_real_filter", filtered, expected.filtered, reading_identity}},
                      60s);
  std::printf("transactions aborted: %zu\n", logged_times(app, "the transaction is aborted"));
  // Live input keeps partitions at their end between records: the outage must have been noticed.
  EXPECT_GT(logged_times(app, "not confirmed: their broker does not answer"), 0u) << app.logs();
}

TEST(faults, the_broker_unreachable_during_exactly_once_transactions_loses_nothing) {
  // idle.timeout.ms longer than the outage (with the instances' reconnection): see the next test.
  expect_nothing_lost_when_the_broker_is_down_for_3_s({"--set", "idle.timeout.ms=10000"});
}

// The same with the tests' idle.timeout.ms of 1 s, shorter than the outage: a caught-up partition
// whose consumer lost its brokers is not confirmed caught up any more, so it does not turn idle
// and let the other partitions' watermark run ahead of the records it has not fetched yet.
TEST(faults, a_broker_outage_longer_than_the_idle_timeout_loses_no_window) {
  expect_nothing_lost_when_the_broker_is_down_for_3_s({});
}

} // namespace
