// End to end: the whole IoT CPU anomaly tutorial through the cpu-anomaly binary. An embedded broker
// in this process, a throwaway PostgreSQL with apps/cpu_anomaly/thresholds.sql loaded, a loopback
// HTTP receiver standing in for the Slack webhook, and a fixed-seed `sluice-gen cpu` input. Every
// output (cpu_load_stats_real_filter, cpu_agg_stats, cpu_alerts, the Slack texts) is compared with
// expectations computed here from the input as read back from the broker.

#include "app_instances.hpp"
#include "child_process.hpp"
#include "cpu_anomaly_support.hpp"
#include "embedded_broker.hpp"
#include "event_time_cases.hpp"
#include "http_receiver.hpp"
#include "kafka_test_client.hpp"
#include "offset_probe.hpp"
#include "output_rows.hpp"
#include "paths.hpp"
#include "pg_cluster.hpp"
#include <sluice/topology/serdes.hpp>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <charconv>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

namespace {

using namespace std::chrono_literals;
namespace json = boost::json;
using namespace sluice::test::cpu_anomaly;
using sluice::test::child_process;
using sluice::test::consume_options;
using sluice::test::consumed_record;
using sluice::test::kafka_test_client;
using sluice::test::tail_of;

constexpr std::int64_t window_ms = 30'000; // the tutorial's TUMBLE(..., INTERVAL '30' SECONDS)
constexpr std::int64_t grace_ms = 10'000;  // its watermark: time_ltz - INTERVAL '10' SECOND

// The tutorial's cpu_thresholds rows, restated here (not read from thresholds.sql).
const std::map<std::string, std::int64_t> thresholds = {{"doc", 20},   {"grumpy", 30}, {"sleepy", 40}, {"bashful", 60},
                                                        {"happy", 70}, {"sneezy", 80}, {"dopey", 90}};

// One window of one host and CPU.
struct window_key {
  std::string hostname;
  std::string cpu;
  std::int64_t start = 0;
  auto operator<=>(const window_key&) const = default;
};

// Running sums of a window, in input order.
struct window_acc {
  double sum = 0;
  double max = 0;
  std::int64_t n = 0;
};

// One cpu_agg_stats row (or cpu_alerts row with `extra` = allowed_top, else usage_max).
struct agg_row {
  std::string key; // compact JSON of the record key
  std::int64_t window_start = 0, window_end = 0;
  std::string hostname, cpu;
  double usage_avg = 0;
  double extra = 0;
  auto operator<=>(const agg_row&) const = default;
};

// Text of a double as Flink's CAST(DOUBLE AS STRING) for these values: shortest round trip, ".0" if integral.
std::string double_text(double v) {
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  std::string s(buf, end);
  if (s.find_first_of(".eE") == std::string::npos)
    s += ".0";
  return s;
}

// Expected Slack text for an alert row: the average with 2 decimals, as printf's %.2f.
std::string slack_text(const agg_row& a) {
  char avg[400];
  std::snprintf(avg, sizeof avg, "%.2f", a.usage_avg);
  return "host:" + a.hostname + " CPU: " + a.cpu + " avg CPU value:" + avg + " over the threshold " +
         std::to_string(static_cast<std::int64_t>(a.extra));
}

// Parses an output record with exactly the fields window_start, window_end, hostname, cpu, usage_avg
// and `extra_field`; throws std::invalid_argument otherwise.
agg_row parse_row(const consumed_record& r, const std::string& extra_field) {
  if (!r.value || !r.key)
    throw std::invalid_argument("null key or value");
  const auto v = sluice::serdes::parse_json(*r.value);
  const auto& o = v.as_object();
  if (o.size() != 6)
    throw std::invalid_argument("expected 6 fields: " + *r.value);
  agg_row row;
  row.key = json::serialize(json::parse(*r.key));
  row.window_start = o.at("window_start").as_int64();
  row.window_end = o.at("window_end").as_int64();
  row.hostname = o.at("hostname").as_string().c_str();
  row.cpu = o.at("cpu").as_string().c_str();
  row.usage_avg = o.at("usage_avg").to_number<double>();
  row.extra = o.at(extra_field).to_number<double>();
  return row;
}

// Compares rows field by field, numbers exactly: both sides read JSON as sluice does (correctly
// rounded) and the app adds a window's readings in input order, as the expectations do.
// Returns "" when equal, else a description of the first difference.
std::string compare_rows(const std::multiset<agg_row>& expected, const std::multiset<agg_row>& actual) {
  if (expected.size() != actual.size())
    return std::to_string(actual.size()) + " rows, expected " + std::to_string(expected.size());
  for (auto e = expected.begin(), a = actual.begin(); e != expected.end(); ++e, ++a)
    if (*e != *a)
      return "expected " + e->key + " [" + std::to_string(e->window_start) + "," + std::to_string(e->window_end) +
             ") " + e->hostname + "/" + e->cpu + " " + double_text(e->usage_avg) + " " + double_text(e->extra) +
             ", got " + a->key + " [" + std::to_string(a->window_start) + "," + std::to_string(a->window_end) + ") " +
             a->hostname + "/" + a->cpu + " " + double_text(a->usage_avg) + " " + double_text(a->extra);
  return "";
}

// Reads `topic` to its end (at least `n` records, if they arrive).
std::vector<consumed_record> read_topic(const kafka_test_client& client, const std::string& topic, std::size_t n) {
  consume_options options;
  options.stop_at_end = true;
  options.idle_timeout = 5s;
  options.total_timeout = 30s;
  auto records = client.consume(topic, options);
  if (records.size() < n) { // the end may have been read before the last records arrived
    options.stop_at_end = false;
    options.max_records = n;
    records = client.consume(topic, options);
  }
  return records;
}

// The windows the input must close, with their sums: epoch-aligned 30 s windows per host and CPU
// whose end + grace is at most the largest event time of the input (once every input is read and
// idle, event time is that). Throws std::logic_error if a window would close within 5 s of that
// time: the test's input must leave each window clearly closed or clearly open.
std::map<window_key, window_acc> closed_windows(const std::vector<consumed_record>& input) {
  std::map<window_key, window_acc> windows;
  std::int64_t max_time = 0;
  // A window's readings all come from one input partition (its host's), in input order, as the app
  // adds them.
  for (const auto& r : input) {
    const auto v = sluice::serdes::parse_json(*r.value); // usages read exactly as the app reads them
    const auto t = v.at("occurred_at").as_int64();
    const auto usage = v.at("usage").to_number<double>();
    max_time = std::max(max_time, t);
    auto& w = windows[{v.at("hostname").as_string().c_str(), v.at("cpu").as_string().c_str(), t - t % window_ms}];
    w.sum += usage;
    w.max = w.n == 0 ? usage : std::max(w.max, usage);
    ++w.n;
  }
  std::erase_if(windows, [&](const auto& kw) {
    const auto close = kw.first.start + window_ms + grace_ms;
    if (std::llabs(max_time - close) <= 5000)
      throw std::logic_error("test parameters put a window close at the end of the input");
    return close > max_time;
  });
  return windows;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(cpu_anomaly_full, filter_windows_thresholds_and_slack_alerts_match_the_input) {
  // 1251 readings 100 ms apart from 1700000000000: event time ends at 1700000125000, which closes
  // every window ending at or before 1700000115000 (four of them), with 15 s to spare.
  constexpr std::size_t readings = 1251;
  const auto t0 = std::chrono::steady_clock::now();
  auto progress = [t0](const char* what) {
    std::printf("[%5.1f s] %s\n", std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), what);
    std::fflush(stdout);
  };

  sluice::test::pg_cluster pg;
  pg.exec(read_file(SLUICE_CPU_THRESHOLDS_SQL));
  sluice::test::http_receiver slack;
  sluice::embedded_broker broker;
  const auto in = unique_name("cpu-in"), filtered = unique_name("cpu-filter"), agg = unique_name("cpu-agg"),
             alerts = unique_name("cpu-alerts"), app_id = unique_name("cpu-full");
  // Four input partitions, produced before the app starts: the app reads them as a backlog, each
  // input task at its own pace, and the windows must still hold every reading.
  broker.create_topic(in, 4);
  const kafka_test_client client(broker.bootstrap_servers());
  offset_probe probe(broker.bootstrap_servers());
  progress("PostgreSQL, HTTP receiver and broker up");

  child_process gen(sluice::test::built_binary("sluice-gen"),
                    {"cpu", "--bootstrap-servers", broker.bootstrap_servers(), "--topic", in, "--count",
                     std::to_string(readings), "--seed", "42"});
  const auto gen_status = gen.wait_for(30s);
  ASSERT_TRUE(gen_status && gen_status->success()) << tail_of(gen);
  consume_options all;
  all.max_records = readings;
  const auto input = client.consume(in, all);
  ASSERT_EQ(input.size(), readings);
  progress("input written and read back");

  std::multiset<agg_row> expected_agg, expected_alerts;
  std::multiset<std::string> expected_texts;
  for (const auto& [k, w] : closed_windows(input)) {
    const auto end = k.start + window_ms;
    const auto key = json::serialize(json::value{{"hostname", k.hostname}, {"cpu", k.cpu}});
    const double avg = w.sum / static_cast<double>(w.n);
    expected_agg.insert({key, k.start, end, k.hostname, k.cpu, avg, w.max});
    const auto top = thresholds.at(k.hostname);
    if (avg > static_cast<double>(top)) {
      agg_row a{key, k.start, end, k.hostname, k.cpu, avg, static_cast<double>(top)};
      expected_alerts.insert(a);
      expected_texts.insert(slack_text(a));
    }
  }
  const auto expected_filter = expected_outputs(input);
  ASSERT_GE(expected_agg.size(), 100u);                   // 35 host/CPU pairs, 4 closed windows
  ASSERT_GT(expected_alerts.size(), 50u);                 // usage is in [70, 100): most hosts are over
  ASSERT_LT(expected_alerts.size(), expected_agg.size()); // dopey (90) rarely is
  std::printf("expected: %zu filtered, %zu aggregates, %zu alerts\n", total(expected_filter), expected_agg.size(),
              expected_alerts.size());

  temp_dir state;
  child_process app(sluice::test::built_binary("cpu-anomaly"),
                    {"--bootstrap-servers",
                     broker.bootstrap_servers(),
                     "--application-id",
                     app_id,
                     "--input-topic",
                     in,
                     "--output-topic",
                     filtered,
                     "--agg-topic",
                     agg,
                     "--alerts-topic",
                     alerts,
                     "--state-dir",
                     state.path().string(),
                     "--commit-interval-ms",
                     "200",
                     "--set",
                     "kafka.session.timeout.ms=6000",
                     "--set",
                     "kafka.heartbeat.interval.ms=500",
                     "--postgres-url",
                     pg.conninfo(),
                     "--slack-webhook-url",
                     slack.url("/services/T000/B000/cpu-secret")},
                    {.env = sluice::test::app_environment()});
  const bool done = wait_until(
    [&] {
      return (probe.end_offset_sum(agg) >= static_cast<std::int64_t>(expected_agg.size()) &&
              probe.end_offset_sum(alerts) >= static_cast<std::int64_t>(expected_alerts.size()) &&
              probe.end_offset_sum(filtered) >= static_cast<std::int64_t>(total(expected_filter)) &&
              slack.request_count() >= expected_texts.size()) ||
             !app.running();
    },
    40s);
  progress("outputs complete (or timed out)");
  ASSERT_TRUE(done) << "agg " << probe.end_offset_sum(agg) << "/" << expected_agg.size() << ", alerts "
                    << probe.end_offset_sum(alerts) << "/" << expected_alerts.size() << ", slack "
                    << slack.request_count() << "/" << expected_texts.size() << "; stderr:\n"
                    << tail_of(app);
  ASSERT_TRUE(app.running()) << "cpu-anomaly ended; stderr:\n" << tail_of(app);
  // Once it consumed its input, anything beyond the expected is written (and posted).
  ASSERT_TRUE(sluice::test::wait_until_consumed(broker.bootstrap_servers(), app_id, {in}));
  app.terminate();
  const auto status = app.wait_for(30s);
  ASSERT_TRUE(status) << "cpu-anomaly ignored SIGTERM";
  EXPECT_TRUE(status->success()) << to_string(*status) << "\n" << tail_of(app);
  EXPECT_NE(app.stderr_text().find("thresholds with alerts to Slack webhook"), std::string::npos) << tail_of(app);
  EXPECT_EQ(app.stderr_text().find("Pw-Sluice-7f3a9c"), std::string::npos) << "the database password was logged";
  EXPECT_EQ(app.stderr_text().find("cpu-secret"), std::string::npos) << "the webhook secret was logged";

  // Stage 1: the filter, exactly.
  const auto filter_out = read_topic(client, filtered, total(expected_filter));
  const auto c = compare(expected_filter, parse_outputs(filter_out));
  EXPECT_EQ(c.missing + c.duplicates + c.unexpected, 0u) << c.first_problem;

  // Stage 2: one row per closed window and host/CPU, nothing for open windows.
  std::multiset<agg_row> actual_agg;
  for (const auto& r : read_topic(client, agg, expected_agg.size()))
    actual_agg.insert(parse_row(r, "usage_max"));
  EXPECT_EQ(compare_rows(expected_agg, actual_agg), "") << "cpu_agg_stats";

  // Stage 3: rows over their host's threshold, and the same alerts as Slack texts.
  std::multiset<agg_row> actual_alerts;
  for (const auto& r : read_topic(client, alerts, expected_alerts.size()))
    actual_alerts.insert(parse_row(r, "allowed_top"));
  EXPECT_EQ(compare_rows(expected_alerts, actual_alerts), "") << "cpu_alerts";
  std::multiset<std::string> texts;
  std::set<std::string> ids;
  const std::regex id_pattern{app_id + "-threshold-alert-alerts-[0-9]+-[0-9]+"}; // <alerts topic>-<partition>-<offset>
  for (const auto& req : slack.requests()) {
    EXPECT_EQ(req.method, "POST");
    EXPECT_EQ(req.target, "/services/T000/B000/cpu-secret");
    const auto body = json::parse(req.body).as_object();
    texts.insert(body.at("text").as_string().c_str());
    const std::string id{body.at("alert_id").as_string()};
    EXPECT_TRUE(std::regex_match(id, id_pattern)) << id;
    EXPECT_EQ(req.header("Idempotency-Key"), id);
    ids.insert(id);
  }
  EXPECT_EQ(ids.size(), slack.requests().size()) << "two alerts with one id";
  EXPECT_EQ(texts.size(), expected_texts.size());
  EXPECT_TRUE(texts == expected_texts) << "Slack texts differ; e.g. expected '" << *expected_texts.begin() << "'";
  for (const auto& t : expected_texts)
    if (!texts.contains(t)) {
      ADD_FAILURE() << "Slack text missing: " << t;
      break;
    }
  if (!texts.empty())
    std::printf("sample Slack text: %s\n", texts.begin()->c_str());
  progress("compared");
}

TEST(cpu_anomaly_full, runs_without_postgres_and_describes_its_stages) {
  child_process app(sluice::test::built_binary("cpu-anomaly"), {"--describe"},
                    {.env = {{"PGHOST", ""}, {"PGHOSTADDR", ""}, {"PGDATABASE", ""}, {"PGSERVICE", ""}}});
  auto status = app.wait_for(10s);
  ASSERT_TRUE(status && status->success()) << app.stderr_text();
  EXPECT_NE(app.stdout_text().find("thresholds off: no PostgreSQL configured"), std::string::npos) << app.stdout_text();
  EXPECT_NE(app.stdout_text().find("usage-30s"), std::string::npos) << app.stdout_text();
  EXPECT_EQ(app.stdout_text().find("cpu-thresholds"), std::string::npos) << app.stdout_text();

  child_process with_pg(sluice::test::built_binary("cpu-anomaly"),
                        {"--describe", "--postgres-url", "host=127.0.0.1 port=1 dbname=none"});
  status = with_pg.wait_for(10s);
  ASSERT_TRUE(status && status->success()) << with_pg.stderr_text();
  EXPECT_NE(with_pg.stdout_text().find("thresholds with alerts to console"), std::string::npos)
    << with_pg.stdout_text();
  EXPECT_NE(with_pg.stdout_text().find("cpu-thresholds"), std::string::npos) << with_pg.stdout_text();
}

// Event time on every way the input can arrive (backlog, live, several instances, a kill, an empty
// partition, a partition far behind): cpu_agg_stats holds exactly the closed windows of the input.
using sluice::test::check_rows;
using sluice::test::rows_of;

class cpu_anomaly_event_time : public testing::TestWithParam<sluice::test::event_time_case> {};

// A cpu_agg_stats row's identity: its key (host and CPU) and window start.
std::string window_identity(const consumed_record& r, const json::value& value) {
  const auto key = json::parse(r.key.value_or("null"));
  return json::serialize(json::object{{"hostname", key.at("hostname")}, {"cpu", key.at("cpu")}}) + " [" +
         std::to_string(value.at("window_start").as_int64()) + ")";
}

TEST_P(cpu_anomaly_event_time, every_closed_window_is_emitted_once_with_its_average_and_max) {
  const auto& c = GetParam();
  sluice::embedded_broker broker;
  const kafka_test_client client(broker.bootstrap_servers());
  const auto in = unique_name("cpu-in"), filtered = unique_name("cpu-filter"), agg = unique_name("cpu-agg");
  // 2000 readings 150 ms apart: 300 s of event time, ten closed windows per host and CPU.
  const auto records = sluice::test::generate("cpu", 42, 150, {"--count", "2000"});
  sluice::test::app_instances app(
    "cpu-anomaly", {"--input-topic", in, "--output-topic", filtered, "--agg-topic", agg, "--no-thresholds"},
    broker.bootstrap_servers(), c.instances);
  ASSERT_EQ(sluice::test::run_case(c, broker, records, {{"", in}},
                                   {"by-host-cpu-repartition", "usage-30s-store-changelog"}, app),
            "");

  const auto input = sluice::test::read_all(client, in);
  ASSERT_EQ(input.size(), records.size());
  sluice::test::expected_rows expected;
  for (const auto& [k, w] : closed_windows(input)) {
    const auto key = json::serialize(json::object{{"hostname", k.hostname}, {"cpu", k.cpu}});
    expected[key + " [" + std::to_string(k.start) + ")"].value = {{"window_start", k.start},
                                                                  {"window_end", k.start + window_ms},
                                                                  {"hostname", k.hostname},
                                                                  {"cpu", k.cpu},
                                                                  {"usage_avg", w.sum / static_cast<double>(w.n)},
                                                                  {"usage_max", w.max}};
  }
  ASSERT_GE(expected.size(), 300u); // 35 host/CPU pairs

  const auto out = sluice::test::settle_outputs(
    client, {{agg, expected.size()}},
    [&](const auto& t) { return check_rows(expected, rows_of(t.at(agg), window_identity)).missing == 0; }, app, {in});
  const auto windows = check_rows(expected, rows_of(out.at(agg), window_identity));
  std::printf("%s: cpu_agg_stats %s\n", c.name.c_str(), windows.summary().c_str());
  EXPECT_TRUE(windows.matches(c.may_repeat())) << windows.summary() << "\n" << app.logs();
  EXPECT_EQ(app.stop(), "");
}

INSTANTIATE_TEST_SUITE_P(cases, cpu_anomaly_event_time, testing::ValuesIn(sluice::test::event_time_cases()),
                         [](const auto& info) { return info.param.name; });

} // namespace
