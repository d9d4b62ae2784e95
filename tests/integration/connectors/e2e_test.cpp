// End to end through the real runtime: sluice::kafka_streams in-process on an embedded broker,
// joining 30-second CPU averages with the tutorial's thresholds in a real PostgreSQL and sending
// the tutorial's Slack alert text to a loopback HTTP receiver. PostgreSQL is stopped and
// restarted mid-stream. Expectations are computed in the test from the input, not by the runtime;
// the alerts' ids are checked against the records of the alerts topic they were read from. The
// same alerts under exactly_once_v2, without PostgreSQL.

#include <sluice/kafka_streams.hpp>
#include <sluice/connectors/http/alert_sink.hpp>
#include <sluice/connectors/postgres/lookup_join.hpp>
#include "embedded_broker.hpp"
#include "http_receiver.hpp"
#include "kafka_test_client.hpp"
#include "test_helpers.hpp"
#include "pg_cluster.hpp"
#include <sluice/topology/stream.hpp>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>
#include <sstream>
#include <thread>
#include <unistd.h>

using namespace std::chrono_literals;
namespace json = boost::json;
using S = sluice::serdes::string;
using J = sluice::serdes::json;

namespace {

const std::map<std::string, int> thresholds = {{"doc", 20},   {"grumpy", 30}, {"sleepy", 40}, {"bashful", 60},
                                               {"happy", 70}, {"sneezy", 80}, {"dopey", 90}};

struct reading {
  std::string host;
  int cpu;
  double usage_avg;
};

std::string serialize(const reading& r) {
  return json::serialize(json::value{{"hostname", r.host}, {"cpu", r.cpu}, {"usage_avg", r.usage_avg}});
}

// The tutorial's text, written out here independently of the template engine.
std::string expected_text(const reading& r, int top) {
  std::ostringstream s;
  s << "host:" << r.host << " CPU: " << r.cpu << " avg CPU value:" << r.usage_avg << " over the threshold " << top;
  return s.str();
}

std::vector<reading> make_readings(int round) {
  std::vector<reading> out;
  int cpu = 0;
  for (const auto& [host, top] : thresholds) {
    (void)top;
    // usage_avg chosen as x.5 values so the decimal text is the same in every formatter
    const int c = cpu++;
    out.push_back({host, c, 25.5 + 10.0 * c + round});
  }
  out.push_back({"unknown-host", 9, 99.5}); // no threshold row: the inner join drops it
  return out;
}

} // namespace

TEST(ConnectorsEndToEnd, ThresholdJoinAndSlackAlertsThroughTheRuntimeSurvivePostgresRestart) {
  sluice::test::pg_cluster pg;
  pg.exec("CREATE TABLE cpu_thresholds (hostname text PRIMARY KEY, allowed_top integer NOT NULL);"
          "INSERT INTO cpu_thresholds VALUES ('doc', 20), ('grumpy', 30), ('sleepy', 40), ('bashful', 60), "
          "('happy', 70), ('sneezy', 80), ('dopey', 90);");
  sluice::test::http_receiver receiver;
  sluice::embedded_broker broker;
  broker.create_topic("cpu_agg_stats", 2);
  sluice::test::kafka_test_client kafka{broker.bootstrap_servers()};

  sluice::postgres_lookup_options o;
  o.conninfo = pg.conninfo();
  o.table = "cpu_thresholds";
  o.key_column = "hostname";
  o.retry_backoff_min = 50ms;
  o.retry_backoff_max = 500ms;
  o.cache_max_rows = 0; // every batch asks PostgreSQL, so the outage is felt
  sluice::postgres_lookup_source source{o};
  sluice::alert_sink_options alert_options;
  alert_options.client_options.retry_backoff_min = 20ms;
  sluice::slack_webhook_sink slack{
    receiver.url("/services/T1/B1/e2esecret"),
    "host:{hostname} CPU: {cpu} avg CPU value:{usage_avg} over the threshold {allowed_top}", alert_options};

  sluice::topology_builder builder;
  auto over = builder.stream<S, J>("cpu_agg_stats")
                .lookup_join(source, sluice::json_field_key("hostname"), sluice::merge_row, sluice::join_kind::inner,
                             "thresholds")
                .filter([](const json::value& v) {
                  return v.at("usage_avg").to_number<double>() > v.at("allowed_top").to_number<double>();
                });
  over.alert(slack, "slack");
  over.to("cpu_over_threshold");

  const auto state_dir = std::filesystem::temp_directory_path() / ("sluice-e2e-" + std::to_string(getpid()));
  auto config = sluice::test::app_config("connectors-e2e", broker.bootstrap_servers(), state_dir);
  config.commit_interval_ms = 300;
  config.set("kafka.session.timeout.ms", "6000");
  sluice::kafka_streams streams{builder.build(), config};
  streams.start();

  // Expected alerts, computed here.
  std::vector<reading> all;
  std::vector<std::string> expected;
  auto produce_round = [&](int round) {
    auto rs = make_readings(round);
    std::vector<std::pair<std::string, std::string>> records;
    for (const auto& r : rs) {
      records.emplace_back(r.host, serialize(r));
      all.push_back(r);
      auto it = thresholds.find(r.host);
      if (it != thresholds.end() && r.usage_avg > it->second)
        expected.push_back(expected_text(r, it->second));
    }
    kafka.produce("cpu_agg_stats", records);
  };

  produce_round(0);
  ASSERT_TRUE(receiver.wait_for_requests(expected.size(), 60s)) << "alerts so far: " << receiver.request_count();

  pg.stop(); // records keep arriving while PostgreSQL is down
  produce_round(1);
  produce_round(2);
  std::this_thread::sleep_for(1500ms);
  const auto during_outage = receiver.request_count();
  pg.start();
  ASSERT_TRUE(receiver.wait_for_requests(expected.size(), 60s)) << "alerts so far: " << receiver.request_count();
  // Every reading went through its task, and every alert through the alert's task once more.
  const auto processed = static_cast<int64_t>(all.size() + expected.size());
  sluice::test::wait_until([&] { return streams.records_processed() >= processed; }, 30s, 20ms);
  EXPECT_EQ(streams.records_processed(), processed);
  streams.close();
  EXPECT_FALSE(streams.failed()) << streams.failure();
  EXPECT_GT(streams.commits(), 0);

  // The alerts went through "<application.id>-slack-alerts": each alert's id is the position of
  // its record there (the data records; watermark announcements have neither key nor value).
  const std::string alerts_topic = "connectors-e2e-slack-alerts";
  std::map<std::string, std::string> key_at; // "<topic>-<partition>-<offset>" -> record key
  for (const auto& r : kafka.consume(alerts_topic))
    if (r.key)
      key_at[alerts_topic + "-" + std::to_string(r.partition) + "-" + std::to_string(r.offset)] = *r.key;
  EXPECT_EQ(key_at.size(), expected.size());

  std::vector<std::string> got;
  std::set<std::string> ids;
  for (const auto& r : receiver.requests()) {
    EXPECT_EQ(r.target, "/services/T1/B1/e2esecret");
    const auto body = json::parse(r.body).as_object();
    const std::string text{body.at("text").as_string()}, id{body.at("alert_id").as_string()};
    got.push_back(text);
    ids.insert(id);
    EXPECT_EQ(r.header("Idempotency-Key"), id);
    ASSERT_TRUE(key_at.count(id)) << id << " names no record of " << alerts_topic;
    EXPECT_EQ(text.rfind("host:" + key_at.at(id) + " ", 0), 0u) << id << ": " << text;
  }
  std::sort(got.begin(), got.end());
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(got, expected);          // every alert once: none lost while PostgreSQL was down, none joined wrongly
  EXPECT_EQ(ids.size(), got.size()); // one id per alert
  EXPECT_EQ(during_outage, expected.size() / 3) << "no alert can be sent without its threshold";
  EXPECT_GT(source.metrics().lookup.retries, 0u);

  // The joined records also went to the output topic, one per expected alert.
  sluice::test::consume_options co;
  co.max_records = expected.size();
  co.idle_timeout = 5s;
  auto out = kafka.consume("cpu_over_threshold", co);
  EXPECT_EQ(out.size(), expected.size());
  for (const auto& r : out) {
    auto v = json::parse(*r.value);
    EXPECT_EQ(v.at("allowed_top").as_int64(), thresholds.at(std::string(v.at("hostname").as_string())));
  }
  std::error_code ec;
  std::filesystem::remove_all(state_dir, ec);
}

// Under processing.guarantee=exactly_once_v2 the alerts cross their topic in transactions and go
// out from the alert's own sub-topology, read read_committed: every reading over the limit is
// alerted once, its body the reading plus the id of the committed record it was read from.
TEST(ConnectorsEndToEnd, UnderExactlyOnceEachAlertIsSentOnceNamedByItsCommittedRecord) {
  sluice::test::http_receiver receiver;
  sluice::embedded_broker broker;
  broker.create_topic("readings", 4);
  sluice::test::kafka_test_client kafka{broker.bootstrap_servers()};
  sluice::alert_sink_options alert_options;
  alert_options.client_options.retry_backoff_min = 20ms;
  sluice::json_webhook_sink hook{receiver.url("/hook"), {}, alert_options};

  sluice::topology_builder builder;
  builder.stream<S, J>("readings")
    .filter([](const json::value& v) { return v.at("usage").to_number<double>() > 80; }, "over-80")
    .alert(hook, "hook");

  std::vector<std::pair<std::string, std::string>> readings;
  std::map<std::string, json::value> expected; // key -> the alerted reading
  for (int i = 0; i < 200; ++i) {
    const auto key = "r" + std::to_string(i);
    const json::value v{{"host", "h" + std::to_string(i % 7)}, {"usage", 60.0 + (i * 37) % 40}};
    readings.emplace_back(key, json::serialize(v));
    if (v.at("usage").as_double() > 80)
      expected[key] = v;
  }
  kafka.produce("readings", readings);

  const auto state_dir = std::filesystem::temp_directory_path() / ("sluice-e2e-eos-" + std::to_string(getpid()));
  auto config = sluice::test::app_config("connectors-eos", broker.bootstrap_servers(), state_dir);
  config.set("processing.guarantee", "exactly_once_v2");
  sluice::kafka_streams streams{builder.build(), config};
  streams.start();
  ASSERT_TRUE(receiver.wait_for_requests(expected.size(), 60s)) << "alerts so far: " << receiver.request_count();
  const auto processed = static_cast<int64_t>(readings.size() + expected.size());
  sluice::test::wait_until([&] { return streams.records_processed() >= processed; }, 30s, 20ms);
  EXPECT_EQ(streams.records_processed(), processed);
  streams.close();
  EXPECT_FALSE(streams.failed()) << streams.failure();

  const std::string alerts_topic = "connectors-eos-hook-alerts";
  sluice::test::consume_options committed;
  committed.isolation_level = "read_committed";
  committed.stop_at_end = true;
  std::map<std::string, std::string> key_at; // "<topic>-<partition>-<offset>" -> reading key
  for (const auto& r : kafka.consume(alerts_topic, committed))
    if (r.key)
      key_at[alerts_topic + "-" + std::to_string(r.partition) + "-" + std::to_string(r.offset)] = *r.key;
  EXPECT_EQ(key_at.size(), expected.size());

  const auto requests = receiver.requests();
  EXPECT_EQ(requests.size(), expected.size()); // each once
  std::set<std::string> alerted;
  for (const auto& r : requests) {
    auto body = json::parse(r.body).as_object();
    const std::string id{body.at("alert_id").as_string()};
    EXPECT_EQ(r.header("Idempotency-Key"), id);
    ASSERT_TRUE(key_at.count(id)) << id << " names no committed record of " << alerts_topic;
    const auto& key = key_at.at(id);
    ASSERT_TRUE(expected.count(key)) << key << " was not over the limit";
    body.erase("alert_id");
    EXPECT_EQ(json::value(body), expected.at(key)) << key;
    alerted.insert(key);
  }
  EXPECT_EQ(alerted.size(), expected.size());
  std::error_code ec;
  std::filesystem::remove_all(state_dir, ec);
}

// Under exactly_once_v2 a webhook that holds an alert back (429 with Retry-After) does not hold
// the transaction: the alert's sub-topology writes no records, so it commits outside it. While
// the first alert waits, readings produced meanwhile are committed and every result is readable read
// committed; after the wait that alert goes out again and every alert has been sent once.
TEST(ConnectorsEndToEnd, UnderExactlyOnceARateLimitedWebhookDoesNotHoldTheTransaction) {
  sluice::test::http_receiver receiver;
  receiver.enqueue({429, "slow down", {{"Retry-After", "20"}}});
  sluice::embedded_broker broker;
  broker.create_topic("readings", 4);
  broker.create_topic("hot", 4);
  sluice::test::kafka_test_client kafka{broker.bootstrap_servers()};
  sluice::alert_sink_options alert_options;
  alert_options.client_options.retry_backoff_min = 20ms;
  sluice::json_webhook_sink hook{receiver.url("/hook"), {}, alert_options};

  sluice::topology_builder builder;
  auto hot = builder.stream<S, J>("readings")
               .filter([](const json::value& v) { return v.at("usage").to_number<double>() > 80; }, "over-80");
  hot.to("hot");
  hot.alert(hook, "hook");

  std::vector<std::pair<std::string, std::string>> readings;
  std::set<std::string> expected; // keys over the limit
  for (int i = 0; i < 200; ++i) {
    const auto key = "r" + std::to_string(i);
    const json::value v{{"host", "h" + std::to_string(i % 7)}, {"usage", 60.0 + (i * 37) % 40}};
    readings.emplace_back(key, json::serialize(v));
    if (v.at("usage").as_double() > 80)
      expected.insert(key);
  }
  const std::vector<std::pair<std::string, std::string>> before(readings.begin(), readings.begin() + 100);
  const std::vector<std::pair<std::string, std::string>> after(readings.begin() + 100, readings.end());
  kafka.produce("readings", before);

  const auto state_dir = std::filesystem::temp_directory_path() / ("sluice-e2e-eos-429-" + std::to_string(getpid()));
  auto config = sluice::test::app_config("connectors-eos-429", broker.bootstrap_servers(), state_dir);
  config.set("processing.guarantee", "exactly_once_v2");
  sluice::kafka_streams streams{builder.build(), config};
  streams.start();
  ASSERT_TRUE(receiver.wait_for_requests(1, 60s));
  const auto held = receiver.requests().front().header("Idempotency-Key");
  ASSERT_FALSE(held.empty());
  kafka.produce("readings", after); // read while the alert waits
  sluice::test::consume_options to_end;
  to_end.stop_at_end = true;
  std::map<int32_t, int64_t> end_of; // readings partition -> its end offset
  for (const auto& r : kafka.consume("readings", to_end))
    end_of[r.partition] = std::max(end_of[r.partition], r.offset + 1);

  const bool input_committed = sluice::test::wait_until(
    [&] {
      for (const auto& [partition, end] : end_of)
        if (kafka.committed_offset(config.application_id, "readings", partition) != end)
          return false;
      return true;
    },
    15s, 50ms);
  auto sent_of = [&](const std::string& id) {
    const auto requests = receiver.requests();
    return std::count_if(requests.begin(), requests.end(),
                         [&](const auto& r) { return r.header("Idempotency-Key") == id; });
  };
  EXPECT_TRUE(input_committed) << "the readings' offsets were not committed while an alert waited";
  EXPECT_EQ(sent_of(held), 1) << "the held alert went out again before the checks: the Retry-After did not hold it";
  sluice::test::consume_options committed = to_end;
  committed.isolation_level = "read_committed";
  std::set<std::string> hot_keys;
  for (const auto& r : kafka.consume("hot", committed))
    if (r.key)
      hot_keys.insert(*r.key);
  EXPECT_EQ(hot_keys, expected);

  ASSERT_TRUE(receiver.wait_for_requests(expected.size() + 1, 60s)) << "alerts so far: " << receiver.request_count();
  const auto processed = static_cast<int64_t>(readings.size() + expected.size());
  sluice::test::wait_until([&] { return streams.records_processed() >= processed; }, 30s, 20ms);
  streams.close();
  EXPECT_FALSE(streams.failed()) << streams.failure();
  const auto requests = receiver.requests();
  EXPECT_EQ(requests.size(), expected.size() + 1); // each once, the held one twice
  EXPECT_EQ(sent_of(held), 2);
  std::set<std::string> alerted;
  for (const auto& r : requests)
    alerted.insert(r.header("Idempotency-Key"));
  EXPECT_EQ(alerted.size(), expected.size());
  std::error_code ec;
  std::filesystem::remove_all(state_dir, ec);
}
