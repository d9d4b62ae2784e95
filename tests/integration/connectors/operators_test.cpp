// Integration tests of the DSL operators in src/connectors: stream.lookup_join with a
// postgres_lookup_source against a real PostgreSQL 15 (pg_cluster), and stream.alert with the
// HTTP alert sinks against a real loopback HTTP server (http_receiver). Topologies run on the
// topology_test_driver; one processor on its own uses batch_harness (one batch of many records).

#include "batch_harness.hpp"
#include <sluice/connectors/http/alert_sink.hpp>
#include <sluice/connectors/postgres/lookup_join.hpp>
#include "http_receiver.hpp"
#include "pg_cluster.hpp"
#include <sluice/topology/stream.hpp>
#include <sluice/topology/test_driver.hpp>

#include <boost/json.hpp>
#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <map>
#include <sstream>
#include <thread>

using namespace std::chrono_literals;
namespace json = boost::json;
using sluice::join_kind;
using sluice::postgres_lookup_options;
using sluice::postgres_lookup_source;
using sluice::topology_builder;
using sluice::topology_test_driver;
using sluice::test::http_receiver;
using sluice::test::pg_cluster;
using sluice::test::scripted_response;
using S = sluice::serdes::string;
using J = sluice::serdes::json;

namespace {

// Captures everything a component logs, to assert on it (e.g. no password, no token).
struct captured_log {
  std::ostringstream stream;
  std::shared_ptr<spdlog::logger> logger;
  captured_log() {
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(stream);
    logger = std::make_shared<spdlog::logger>("captured", sink);
    logger->set_level(spdlog::level::trace);
  }
  std::string text() {
    logger->flush();
    return stream.str();
  }
};

// The tutorial's alert text (Flink SQL: 'host:' || hostname || ' CPU: ' || cpu || ...).
constexpr const char* tutorial_alert =
  "host:{hostname} CPU: {cpu} avg CPU value:{usage_avg} over the threshold {allowed_top}";

json::value agg(const std::string& host, int cpu, double usage_avg) {
  return json::value{{"hostname", host}, {"cpu", cpu}, {"usage_avg", usage_avg}};
}

class Operators : public ::testing::Test {
protected:
  static void SetUpTestSuite() { cluster_ = std::make_unique<pg_cluster>(); }
  static void TearDownTestSuite() { cluster_.reset(); }

  void SetUp() override {
    cluster_->start(); // a failed restart test must not break the next test
    cluster_->exec("DROP TABLE IF EXISTS cpu_thresholds;"
                   "CREATE TABLE cpu_thresholds (hostname text PRIMARY KEY, allowed_top integer NOT NULL);"
                   "INSERT INTO cpu_thresholds VALUES ('doc', 20), ('grumpy', 30), ('sleepy', 40), "
                   "('bashful', 60), ('happy', 70), ('sneezy', 80), ('dopey', 90);");
  }

  postgres_lookup_options thresholds(std::shared_ptr<spdlog::logger> logger = nullptr) const {
    postgres_lookup_options o;
    o.conninfo = cluster_->conninfo();
    o.table = "cpu_thresholds";
    o.key_column = "hostname";
    o.retry_backoff_min = 50ms;
    o.retry_backoff_max = 400ms;
    o.logger = std::move(logger);
    return o;
  }

  // readings → lookup_join(thresholds) → "joined"
  static sluice::topology join_topology(const postgres_lookup_source& source, join_kind kind) {
    topology_builder b;
    b.stream<S, J>("readings")
      .lookup_join(source, sluice::json_field_key("hostname"), sluice::merge_row, kind, "thresholds-join")
      .to("joined");
    return b.build();
  }

  static std::unique_ptr<pg_cluster> cluster_;
};

std::unique_ptr<pg_cluster> Operators::cluster_;

TEST_F(Operators, InnerJoinDropsMissesAndKeepsRecordOrder) {
  postgres_lookup_source source{thresholds()};
  topology_test_driver driver{join_topology(source, join_kind::inner)};
  const std::vector<std::pair<std::string, int>> input = {
    {"doc", 1}, {"nobody", 2}, {"grumpy", 3}, {"doc", 4}, {"dopey", 5}};
  for (const auto& [host, cpu] : input)
    driver.pipe<S, J>("readings", host, agg(host, cpu, 50.0));
  auto out = driver.read_output<S, J>("joined");
  ASSERT_EQ(out.size(), 4u);
  const std::vector<std::pair<std::string, std::int64_t>> expected = {
    {"doc", 20}, {"grumpy", 30}, {"doc", 20}, {"dopey", 90}};
  for (std::size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(out[i].first, expected[i].first);
    EXPECT_EQ(out[i].second.at("hostname").as_string(), expected[i].first);
    EXPECT_EQ(out[i].second.at("allowed_top").as_int64(), expected[i].second);
  }
  EXPECT_EQ(out[2].second.at("cpu").as_int64(), 4); // the record's own fields survive
  const auto m = source.metrics();
  EXPECT_EQ(m.records_in, 5u);
  EXPECT_EQ(m.records_joined, 4u);
  EXPECT_EQ(m.records_dropped, 1u);
  EXPECT_EQ(m.records_failed, 0u);
}

TEST_F(Operators, LeftJoinPassesMissesWithNullRow) {
  postgres_lookup_source source{thresholds()};
  topology_builder b;
  // A joiner with the key, recording whether a row was found.
  b.stream<S, J>("readings")
    .lookup_join(
      source, [](const std::string& key, const json::value&) { return key; },
      [](const std::string& key, const json::value& v, const sluice::lookup_row* row) {
        return json::value{
          {"key", key}, {"cpu", v.at("cpu")}, {"allowed_top", row ? row->at("allowed_top") : json::value(nullptr)}};
      },
      join_kind::left)
    .to("joined");
  topology_test_driver driver{b.build()};
  driver.pipe<S, J>("readings", "nobody", agg("nobody", 1, 10.0));
  driver.pipe<S, J>("readings", "happy", agg("happy", 2, 10.0));
  auto out = driver.read_output<S, J>("joined");
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].second.at("key").as_string(), "nobody");
  EXPECT_TRUE(out[0].second.at("allowed_top").is_null());
  EXPECT_EQ(out[1].second.at("allowed_top").as_int64(), 70);
}

TEST_F(Operators, CacheHitsAndMissesCounted) {
  postgres_lookup_source source{thresholds()};
  topology_test_driver driver{join_topology(source, join_kind::inner)};
  for (const auto* host : {"doc", "doc", "grumpy", "doc", "nobody", "nobody"})
    driver.pipe<S, J>("readings", host, agg(host, 0, 1.0));
  const auto m = source.metrics();
  EXPECT_EQ(m.lookup.cache_misses, 3u); // doc, grumpy, nobody (absent keys are cached too)
  EXPECT_EQ(m.lookup.cache_hits, 3u);
  EXPECT_EQ(m.lookup.queries, 3u);
  EXPECT_EQ(m.batches, 6u);
}

TEST_F(Operators, OneBatchIsOneQueryOverItsDistinctKeysJoinedInOrder) {
  postgres_lookup_source source{thresholds()};
  auto proc = source.make_processor<std::string, json::value>(sluice::json_field_key("hostname"), sluice::merge_row,
                                                              join_kind::inner, "join");
  sluice::test::batch_harness ctx;
  auto in = std::make_shared<sluice::record_batch<std::string, json::value>>();
  const std::vector<std::string> hosts = {"doc", "sleepy", "doc", "nobody", "happy", "sleepy", "doc"};
  for (std::size_t i = 0; i < hosts.size(); ++i)
    in->records.push_back(
      {hosts[i], agg(hosts[i], static_cast<int>(i), 1.0), {0, static_cast<int64_t>(i), 0, nullptr}});
  proc->process(in, ctx);
  EXPECT_EQ(ctx.deferred(), 1); // the join is not done on the calling thread
  ASSERT_TRUE(ctx.run_deferred(30s));
  ASSERT_EQ(ctx.forwarded.size(), 1u);
  const auto& out = static_cast<const sluice::record_batch<std::string, json::value>&>(*ctx.forwarded[0]);
  ASSERT_EQ(out.records.size(), 6u);
  std::vector<int64_t> offsets;
  for (const auto& r : out.records)
    offsets.push_back(r.meta.offset);
  EXPECT_EQ(offsets, (std::vector<int64_t>{0, 1, 2, 4, 5, 6}));
  EXPECT_EQ(out.records[1].value.at("allowed_top").as_int64(), 40);
  const auto m = source.metrics();
  EXPECT_EQ(m.lookup.queries, 1u);
  EXPECT_EQ(m.lookup.cache_misses, 4u); // doc, sleepy, nobody, happy
}

TEST_F(Operators, PostgresStoppedAndRestartedMidStreamLosesNothing) {
  captured_log log;
  postgres_lookup_source source{thresholds(log.logger)};
  topology_test_driver driver{join_topology(source, join_kind::inner)};
  driver.pipe<S, J>("readings", "doc", agg("doc", 1, 1.0));

  cluster_->stop();
  std::thread restarter([] {
    std::this_thread::sleep_for(1500ms);
    cluster_->start();
  });
  // Each pipe waits (deferred) while PostgreSQL is down; nothing is dropped or joined wrongly.
  const std::vector<std::string> during = {"grumpy", "sleepy", "doc", "nobody", "dopey"};
  for (std::size_t i = 0; i < during.size(); ++i)
    driver.pipe<S, J>("readings", during[i], agg(during[i], static_cast<int>(i + 2), 1.0));
  restarter.join();

  auto out = driver.read_output<S, J>("joined");
  ASSERT_EQ(out.size(), 5u);
  const std::vector<std::pair<std::string, std::int64_t>> expected = {
    {"doc", 20}, {"grumpy", 30}, {"sleepy", 40}, {"doc", 20}, {"dopey", 90}};
  for (std::size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(out[i].second.at("hostname").as_string(), expected[i].first);
    EXPECT_EQ(out[i].second.at("allowed_top").as_int64(), expected[i].second);
  }
  EXPECT_TRUE(driver.read_output("test-dlq").empty());
  EXPECT_GT(source.metrics().lookup.retries, 0u);
  const auto text = log.text();
  EXPECT_NE(text.find("PostgreSQL unavailable"), std::string::npos) << text;
  EXPECT_NE(text.find("PostgreSQL answered again"), std::string::npos) << text;
  EXPECT_EQ(text.find("Pw-Sluice-7f3a9c"), std::string::npos) << text;
}

TEST_F(Operators, StopWhilePostgresIsDownGivesUpWithoutJoining) {
  captured_log log;
  postgres_lookup_source source{thresholds(log.logger)};
  auto proc = source.make_processor<std::string, json::value>(sluice::json_field_key("hostname"), sluice::merge_row,
                                                              join_kind::inner, "join");
  sluice::test::batch_harness ctx;
  auto in = std::make_shared<sluice::record_batch<std::string, json::value>>();
  in->records.push_back({"doc", agg("doc", 1, 1.0), {}});
  cluster_->stop();
  proc->process(in, ctx);
  EXPECT_FALSE(ctx.run_deferred(300ms)); // still waiting for PostgreSQL
  const auto t0 = std::chrono::steady_clock::now();
  proc.reset(); // the task closes: request_stop, the worker gives up
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s);
  EXPECT_EQ(ctx.deferred(), 1); // never resumed: the batch is not committed
  EXPECT_TRUE(ctx.forwarded.empty());
  EXPECT_NE(log.text().find("processed again"), std::string::npos) << log.text();
}

TEST_F(Operators, ChangedThresholdSeenAfterTtl) {
  auto o = thresholds();
  o.cache_ttl = 700ms;
  auto elapsed_ms = std::make_shared<std::atomic<int64_t>>(0); // the cache's clock, moved by hand
  o.clock = [elapsed_ms] { return std::chrono::steady_clock::time_point{} + std::chrono::milliseconds(*elapsed_ms); };
  postgres_lookup_source source{o};
  topology_test_driver driver{join_topology(source, join_kind::inner)};
  driver.pipe<S, J>("readings", "doc", agg("doc", 1, 1.0));
  cluster_->exec("UPDATE cpu_thresholds SET allowed_top = 55 WHERE hostname = 'doc'");
  *elapsed_ms += 699;
  driver.pipe<S, J>("readings", "doc", agg("doc", 2, 1.0)); // within the TTL: cached row
  *elapsed_ms += 1;
  driver.pipe<S, J>("readings", "doc", agg("doc", 3, 1.0)); // at the TTL: looked up again
  auto out = driver.read_output<S, J>("joined");
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].second.at("allowed_top").as_int64(), 20);
  EXPECT_EQ(out[1].second.at("allowed_top").as_int64(), 20);
  EXPECT_EQ(out[2].second.at("allowed_top").as_int64(), 55);
}

TEST_F(Operators, RejectedQueryDeadLettersTheBatchWithReason) {
  auto o = thresholds();
  o.table = "no_such_table";
  postgres_lookup_source source{o};
  topology_test_driver driver{join_topology(source, join_kind::inner)};
  driver.pipe<S, J>("readings", "doc", agg("doc", 1, 1.0));
  EXPECT_TRUE(driver.read_output("joined").empty());
  auto dlq = driver.read_output("test-dlq");
  ASSERT_EQ(dlq.size(), 1u);
  EXPECT_NE(dlq[0].headers.at("error").find("query_failed"), std::string::npos) << dlq[0].headers.at("error");
  EXPECT_EQ(dlq[0].headers.at("error.node"), "thresholds-join");
}

TEST_F(Operators, InvalidOptionsAreRejectedWhenTheTopologyIsBuilt) {
  postgres_lookup_options o;
  o.table = "cpu_thresholds"; // no key column
  EXPECT_THROW(postgres_lookup_source{o}, std::invalid_argument);
  EXPECT_THROW(sluice::slack_webhook_sink("http://x", "host:{hostname"), std::invalid_argument);
}

TEST_F(Operators, ConfigurationPropertiesBuildLookupOptions) {
  auto o = sluice::postgres_lookup_options_from({{"postgres.url", "host=h dbname=d"},
                                                 {"lookup.table", "cpu_thresholds"},
                                                 {"lookup.key.column", "hostname"},
                                                 {"lookup.columns", "hostname, allowed_top"},
                                                 {"lookup.cache.ttl.ms", "1500"},
                                                 {"lookup.cache.max.rows", "0"}});
  EXPECT_EQ(o.conninfo, "host=h dbname=d");
  EXPECT_EQ(o.columns, (std::vector<std::string>{"hostname", "allowed_top"}));
  EXPECT_EQ(o.cache_ttl, 1500ms);
  EXPECT_EQ(o.cache_max_rows, 0u);
  EXPECT_THROW(sluice::postgres_lookup_options_from({{"lookup.cache.ttl.ms", "soon"}}), std::invalid_argument);
}

// ---- alert sinks ----

sluice::alert_sink_options fast_retries(std::shared_ptr<spdlog::logger> logger = nullptr, int attempts = 5) {
  sluice::alert_sink_options o;
  o.client_options.max_attempts = attempts;
  o.client_options.retry_backoff_min = 20ms;
  o.client_options.retry_backoff_max = 100ms;
  o.client_options.logger = logger;
  o.logger = std::move(logger);
  return o;
}

TEST_F(Operators, TutorialAlertTextDeliveredFromJoinedRecord) {
  http_receiver receiver;
  postgres_lookup_source source{thresholds()};
  sluice::slack_webhook_sink slack{receiver.url("/services/T000/B000/webhooksecret"), tutorial_alert, fast_retries()};
  topology_builder b;
  b.stream<S, J>("cpu_agg_stats")
    .lookup_join(source, sluice::json_field_key("hostname"), sluice::merge_row)
    .filter([](const json::value& v) {
      return v.at("usage_avg").to_number<double>() > v.at("allowed_top").to_number<double>();
    })
    .alert(slack, "slack");
  topology_test_driver driver{b.build()};
  driver.pipe<S, J>("cpu_agg_stats", "doc", agg("doc", 3, 85.5));      // over 20
  driver.pipe<S, J>("cpu_agg_stats", "dopey", agg("dopey", 1, 85.5));  // under 90: no alert
  driver.pipe<S, J>("cpu_agg_stats", "happy", agg("happy", 2, 70.25)); // over 70
  // pipe() returns once the deferred alerts completed: delivered before the next record.
  auto requests = receiver.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0].target, "/services/T000/B000/webhooksecret");
  EXPECT_EQ(json::parse(requests[0].body).at("text").as_string(),
            "host:doc CPU: 3 avg CPU value:85.5 over the threshold 20");
  EXPECT_EQ(json::parse(requests[1].body).at("text").as_string(),
            "host:happy CPU: 2 avg CPU value:70.25 over the threshold 70");
  EXPECT_EQ(slack.metrics().delivered, 2u);
  EXPECT_NE(slack.target().find("***"), std::string::npos); // the webhook secret is redacted
  EXPECT_EQ(slack.target().find("webhooksecret"), std::string::npos);
}

TEST_F(Operators, EveryHttpAlertNamesItsAlertsTopicRecordInTheIdempotencyKeyAndTheBody) {
  http_receiver receiver;
  receiver.set_default(scripted_response{200, R"({"ok":true})", {}, 0ms, "application/json"});
  const auto text = "{hostname} ({alert_id})";
  sluice::slack_webhook_sink webhook{receiver.url("/webhook"), text, fast_retries()};
  sluice::slack_post_message_sink api{"xoxb-t", "C1", text, receiver.url("/api"), fast_retries()};
  sluice::json_webhook_sink hook{receiver.url("/hook"), {}, fast_retries()};
  topology_builder b;
  auto over = b.stream<S, J>("cpu_over_threshold");
  over.alert(webhook, "webhook");
  over.alert(api, "api");
  over.alert(hook, "hook");
  topology_test_driver driver{b.build(), "cpu"};
  driver.pipe<S, J>("cpu_over_threshold", "doc", json::value{{"hostname", "doc"}});
  driver.pipe<S, J>("cpu_over_threshold", "happy", json::value{{"hostname", "happy"}});

  // The driver reads each alerts topic back as partition 0 from offset 0: the n-th alert of
  // sink "x" was read at "cpu-x-alerts-0-<n>". pipe() returns once its alerts were delivered.
  std::map<std::string, std::vector<std::pair<std::string, json::object>>> by_target; // id, body
  for (const auto& r : receiver.requests()) {
    auto body = json::parse(r.body).as_object();
    by_target[r.target].emplace_back(r.header("Idempotency-Key"), std::move(body));
  }
  ASSERT_EQ(by_target.size(), 3u);
  for (const std::string sink : {"webhook", "api"}) { // each sink posts to "/<its name>"
    const auto& alerts = by_target["/" + sink];
    ASSERT_EQ(alerts.size(), 2u) << sink;
    for (std::size_t n = 0; n < 2; ++n) {
      const auto id = "cpu-" + sink + "-alerts-0-" + std::to_string(n);
      EXPECT_EQ(alerts[n].first, id);
      EXPECT_EQ(alerts[n].second.at("alert_id"), json::value(id));
      EXPECT_EQ(alerts[n].second.at("text"), json::value((n == 0 ? "doc (" : "happy (") + id + ")"));
    }
  }
  const auto& hooked = by_target["/hook"];
  ASSERT_EQ(hooked.size(), 2u);
  EXPECT_EQ(hooked[0].first, "cpu-hook-alerts-0-0");
  EXPECT_EQ(hooked[0].second, (json::object{{"hostname", "doc"}, {"alert_id", "cpu-hook-alerts-0-0"}}));
  EXPECT_EQ(hooked[1].first, "cpu-hook-alerts-0-1");
  EXPECT_EQ(hooked[1].second, (json::object{{"hostname", "happy"}, {"alert_id", "cpu-hook-alerts-0-1"}}));
}

TEST_F(Operators, SlackRateLimited429ThenSuccess) {
  captured_log log;
  http_receiver receiver;
  receiver.enqueue(
    scripted_response{429, R"({"ok":false,"error":"ratelimited"})", {{"Retry-After", "1"}}, 0ms, "application/json"});
  receiver.set_default(scripted_response{200, R"({"ok":true,"ts":"1.2"})", {}, 0ms, "application/json"});
  const std::string token = "xoxb-secret-token-123456";
  sluice::slack_post_message_sink slack{token, "C0CPUALERTS", tutorial_alert, receiver.url("/api/chat.postMessage"),
                                        fast_retries(log.logger)};
  topology_builder b;
  b.stream<S, J>("alerts").alert(slack);
  topology_test_driver driver{b.build()};
  const auto t0 = std::chrono::steady_clock::now();
  driver.pipe<S, J>("alerts", "doc",
                    json::value{{"hostname", "doc"}, {"cpu", 1}, {"usage_avg", 99.5}, {"allowed_top", 20}});
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 900ms); // Retry-After was honoured
  auto requests = receiver.requests();
  ASSERT_EQ(requests.size(), 2u);
  for (const auto& r : requests) {
    EXPECT_EQ(r.header("Authorization"), "Bearer " + token);
    auto body = json::parse(r.body);
    EXPECT_EQ(body.at("channel").as_string(), "C0CPUALERTS");
    EXPECT_EQ(body.at("text").as_string(), "host:doc CPU: 1 avg CPU value:99.5 over the threshold 20");
  }
  EXPECT_TRUE(driver.read_output("test-dlq").empty());
  EXPECT_EQ(slack.metrics().delivered, 1u);
  EXPECT_EQ(log.text().find(token), std::string::npos) << log.text();
}

TEST_F(Operators, Webhook500ExhaustsAttemptsThenDeadLettersWithReason) {
  captured_log log;
  http_receiver receiver;
  receiver.set_default(scripted_response{500, "boom", {}, 0ms, "text/plain"});
  sluice::json_webhook_sink hook{
    receiver.url("/hook"), {{"Authorization", "Bearer hook-secret-99"}}, fast_retries(log.logger, 3)};
  topology_builder b;
  b.stream<S, J>("alerts").alert(hook, "webhook");
  topology_test_driver driver{b.build()};
  driver.pipe<S, J>("alerts", "doc", json::value{{"hostname", "doc"}, {"usage_avg", 99.0}});
  EXPECT_EQ(receiver.request_count(), 3u);
  EXPECT_EQ(json::parse(receiver.requests()[0].body).at("hostname").as_string(), "doc");
  auto dlq = driver.read_output("test-dlq");
  ASSERT_EQ(dlq.size(), 1u);
  const auto& reason = dlq[0].headers.at("error");
  EXPECT_NE(reason.find("after 3 attempt(s)"), std::string::npos) << reason;
  EXPECT_NE(reason.find("500"), std::string::npos) << reason;
  EXPECT_EQ(dlq[0].headers.at("error.node"), "webhook");
  EXPECT_EQ(dlq[0].headers.at("source.topic"), "test-webhook-alerts"); // the alert's record, read from its topic
  EXPECT_EQ(dlq[0].headers.at("source.offset"), "0");
  EXPECT_EQ(hook.metrics().dead_lettered, 1u);
  EXPECT_EQ(log.text().find("hook-secret-99"), std::string::npos) << log.text();
}

TEST_F(Operators, FullClientIsResubmittedLaterWithoutBlockingTheCaller) {
  http_receiver receiver;
  receiver.set_default(scripted_response{200, "ok", {}, 100ms, "text/plain"});
  auto options = fast_retries();
  options.client_options.max_in_flight = 1;
  sluice::json_webhook_sink hook{receiver.url("/hook"), {}, options};
  auto proc = hook.make_processor<std::string, json::value>("webhook");
  sluice::test::batch_harness ctx;
  auto in = std::make_shared<sluice::record_batch<std::string, json::value>>();
  for (int i = 0; i < 5; ++i)
    in->records.push_back({"k", json::value{{"n", i}}, {0, i, 0, nullptr}});
  const auto t0 = std::chrono::steady_clock::now();
  proc->process(in, ctx);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 100ms); // process() did not wait for HTTP
  ASSERT_TRUE(ctx.run_deferred(30s));
  EXPECT_EQ(receiver.request_count(), 5u);
  EXPECT_TRUE(ctx.failed.empty());
  const auto m = hook.metrics();
  EXPECT_EQ(m.delivered, 5u);
  EXPECT_GT(m.resubmissions, 0u);
}

TEST_F(Operators, TemplateNamingAMissingFieldDeadLettersTheRecord) {
  http_receiver receiver;
  sluice::slack_webhook_sink slack{receiver.url("/services/T/B/x"), tutorial_alert, fast_retries()};
  topology_builder b;
  b.stream<S, J>("alerts").alert(slack, "slack");
  topology_test_driver driver{b.build()};
  driver.pipe<S, J>("alerts", "doc", json::value{{"hostname", "doc"}});
  EXPECT_EQ(receiver.request_count(), 0u);
  auto dlq = driver.read_output("test-dlq");
  ASSERT_EQ(dlq.size(), 1u);
  EXPECT_NE(dlq[0].headers.at("error").find("cpu"), std::string::npos) << dlq[0].headers.at("error");
}

TEST_F(Operators, ConsoleSinkPrintsOneLabelledLinePerAlert) {
  std::ostringstream out;
  sluice::console_alert_sink console{"cpu-anomaly", tutorial_alert, &out};
  topology_builder b;
  b.stream<S, J>("alerts").alert(console);
  topology_test_driver driver{b.build()};
  driver.pipe<S, J>("alerts", "doc",
                    json::value{{"hostname", "doc"}, {"cpu", 1}, {"usage_avg", 85.5}, {"allowed_top", 20}});
  driver.pipe<S, J>("alerts", "grumpy",
                    json::value{{"hostname", "grumpy"}, {"cpu", 2}, {"usage_avg", 31.25}, {"allowed_top", 30}});
  EXPECT_EQ(out.str(), "[cpu-anomaly] host:doc CPU: 1 avg CPU value:85.5 over the threshold 20\n"
                       "[cpu-anomaly] host:grumpy CPU: 2 avg CPU value:31.25 over the threshold 30\n");
  std::ostringstream raw;
  sluice::console_alert_sink plain{"ALERT", "", &raw};
  EXPECT_EQ(*plain.format(json::object{{"a", 1}}), "[ALERT] {\"a\":1}");
}

} // namespace
