// Integration tests of the HTTP alert sinks against a loopback receiver (http_receiver).

#include <sluice/connectors/http/alert_client.hpp>
#include <sluice/connectors/http/alert_requests.hpp>
#include <sluice/connectors/http/message_template.hpp>
#include "connectors/redact.hpp"
#include "http_receiver.hpp"

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <future>
#include <sstream>

using namespace std::chrono_literals;
using sluice::alert_client;
using sluice::alert_client_options;
using sluice::delivery_report;
using sluice::test::http_receiver;
using sluice::test::scripted_response;

namespace {

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

alert_client_options fast_options(std::shared_ptr<spdlog::logger> logger = nullptr) {
  alert_client_options o;
  o.max_attempts = 4;
  o.retry_backoff_min = 20ms;
  o.retry_backoff_max = 200ms;
  o.request_timeout = 2s;
  o.logger = std::move(logger);
  return o;
}

// Submits and waits for the completion (on the client thread) from the test thread.
delivery_report deliver(alert_client& client, sluice::http_request request) {
  std::promise<delivery_report> promise;
  auto future = promise.get_future();
  EXPECT_TRUE(client.submit(std::move(request), [&](const delivery_report& r) { promise.set_value(r); }));
  EXPECT_EQ(future.wait_for(30s), std::future_status::ready);
  return future.get();
}

const boost::json::object tutorial_record = {
  {"hostname", "doc"}, {"cpu", "cpu1"}, {"usage_avg", 85.5}, {"allowed_top", 20}};
constexpr auto tutorial_template =
  "host:{hostname} CPU: {cpu} avg CPU value:{usage_avg} over the threshold {allowed_top}";
constexpr auto an_alert_id = "app-alerts-0-1";

TEST(MessageTemplate, RendersTheTutorialSlackText) {
  auto text = sluice::render(tutorial_template, tutorial_record);
  ASSERT_TRUE(text) << text.error().message;
  EXPECT_EQ(*text, "host:doc CPU: cpu1 avg CPU value:85.5 over the threshold 20");
}

TEST(MessageTemplate, UnknownFieldsAndBadSyntaxAreClearErrors) {
  auto missing = sluice::render("host:{hostname} at {rack}", tutorial_record);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, sluice::errc::template_error);
  EXPECT_NE(missing.error().message.find("unknown field 'rack'"), std::string::npos) << missing.error().message;
  EXPECT_NE(missing.error().message.find("hostname"), std::string::npos); // lists what exists
  EXPECT_FALSE(sluice::message_template::parse("oops {hostname"));
  EXPECT_FALSE(sluice::message_template::parse("oops }"));
  EXPECT_FALSE(sluice::message_template::parse("empty {}"));
  auto braces = sluice::render("{{literal}} {cpu}", tutorial_record);
  ASSERT_TRUE(braces);
  EXPECT_EQ(*braces, "{literal} cpu1");
}

TEST(MessageTemplate, NumberFormatting) {
  EXPECT_EQ(sluice::format_value(boost::json::value(85.5)), "85.5");
  EXPECT_EQ(sluice::format_value(boost::json::value(20.0)), "20.0");
  EXPECT_EQ(sluice::format_value(boost::json::value(0.1)), "0.1");
  EXPECT_EQ(sluice::format_value(boost::json::value(20)), "20");
  EXPECT_EQ(sluice::format_value(boost::json::value(-3)), "-3");
  EXPECT_EQ(sluice::format_value(boost::json::value(true)), "true");
  EXPECT_EQ(sluice::format_value(boost::json::value(nullptr)), "null");
}

TEST(ConsoleAlert, PrintsTitleAndFieldsReadably) {
  auto record = tutorial_record;
  record["text"] = *sluice::render(tutorial_template, tutorial_record);
  auto out = sluice::format_console_alert(record, {"text", true});
  EXPECT_EQ(out, "ALERT host:doc CPU: cpu1 avg CPU value:85.5 over the threshold 20\n"
                 "  hostname:    doc\n"
                 "  cpu:         cpu1\n"
                 "  usage_avg:   85.5\n"
                 "  allowed_top: 20\n");
}

TEST(AlertClient, SlackWebhookDelivered) {
  http_receiver receiver;
  alert_client client{fast_options()};
  auto text = *sluice::render(tutorial_template, tutorial_record);
  auto report =
    deliver(client, sluice::slack_webhook_request(receiver.url("/services/T1/B2/xyz"), text, "app-slack-alerts-2-17"));
  EXPECT_TRUE(report.ok) << report.reason;
  EXPECT_EQ(report.attempts, 1);
  EXPECT_EQ(report.http_status, 200);
  auto requests = receiver.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].method, "POST");
  EXPECT_EQ(requests[0].target, "/services/T1/B2/xyz");
  EXPECT_NE(requests[0].header("Content-Type").find("application/json"), std::string::npos);
  EXPECT_EQ(requests[0].header("Idempotency-Key"), "app-slack-alerts-2-17");
  EXPECT_EQ(boost::json::parse(requests[0].body),
            boost::json::parse(R"({"text":"host:doc CPU: cpu1 avg CPU value:85.5 over the threshold 20",)"
                               R"("alert_id":"app-slack-alerts-2-17"})"));
}

TEST(AlertClient, GenericJsonWebhookPostsTheRecord) {
  http_receiver receiver;
  alert_client client{fast_options()};
  auto report = deliver(client, sluice::json_webhook_request(receiver.url("/hook"), tutorial_record,
                                                             "app-hook-alerts-0-3", {{"X-Source", "sluice"}}));
  EXPECT_TRUE(report.ok) << report.reason;
  auto requests = receiver.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(boost::json::parse(requests[0].body), boost::json::value(tutorial_record));
  EXPECT_EQ(requests[0].header("X-Source"), "sluice");
  EXPECT_EQ(requests[0].header("Idempotency-Key"), "app-hook-alerts-0-3");
}

TEST(AlertClient, ServerErrorsAreRetriedUntilSuccess) {
  http_receiver receiver;
  receiver.enqueue({500, "boom"}, 2);
  alert_client client{fast_options()};
  auto report = deliver(client, sluice::slack_webhook_request(receiver.url("/hook"), "hi", an_alert_id));
  EXPECT_TRUE(report.ok) << report.reason;
  EXPECT_EQ(report.attempts, 3);
  EXPECT_EQ(receiver.request_count(), 3u);
  EXPECT_EQ(client.metrics().retries, 2u);
  for (const auto& r : receiver.requests()) // a retry is the same alert: a receiver can drop repeats
    EXPECT_EQ(r.header("Idempotency-Key"), an_alert_id);
}

TEST(AlertClient, PersistentServerErrorFailsAfterMaxAttemptsWithReason) {
  http_receiver receiver;
  receiver.set_default({503, "down for maintenance"});
  captured_log log;
  auto o = fast_options(log.logger);
  o.max_attempts = 3;
  alert_client client{o};
  auto report = deliver(client, sluice::slack_webhook_request(receiver.url("/hook"), "hi", an_alert_id));
  EXPECT_FALSE(report.ok);
  EXPECT_EQ(report.attempts, 3);
  EXPECT_EQ(report.http_status, 503);
  EXPECT_NE(report.reason.find("gave up after 3 attempt(s)"), std::string::npos) << report.reason;
  EXPECT_NE(report.reason.find("HTTP 503"), std::string::npos) << report.reason;
  EXPECT_EQ(receiver.request_count(), 3u);
  EXPECT_EQ(client.metrics().failed, 1u);
  EXPECT_NE(log.text().find("retrying"), std::string::npos);
}

TEST(AlertClient, ClientErrorIsNotRetried) {
  http_receiver receiver;
  receiver.set_default({404, "no_service"});
  alert_client client{fast_options()};
  auto report = deliver(client, sluice::slack_webhook_request(receiver.url("/hook"), "hi", an_alert_id));
  EXPECT_FALSE(report.ok);
  EXPECT_EQ(report.attempts, 1);
  EXPECT_NE(report.reason.find("no_service"), std::string::npos) << report.reason;
}

TEST(AlertClient, TooManyRequestsHonoursRetryAfter) {
  http_receiver receiver;
  receiver.enqueue({429, "slow down", {{"Retry-After", "1"}}});
  alert_client client{fast_options()}; // backoff alone would retry after 20 ms
  auto report = deliver(client, sluice::slack_webhook_request(receiver.url("/hook"), "hi", an_alert_id));
  EXPECT_TRUE(report.ok) << report.reason;
  EXPECT_EQ(report.attempts, 2);
  auto requests = receiver.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_GE(requests[1].received - requests[0].received, 950ms);
}

TEST(AlertClient, TimeoutIsRetried) {
  http_receiver receiver;
  receiver.enqueue({200, "late", {}, 3s});
  auto o = fast_options();
  o.request_timeout = 500ms;
  alert_client client{o};
  auto report = deliver(client, sluice::slack_webhook_request(receiver.url("/hook"), "hi", an_alert_id));
  EXPECT_TRUE(report.ok) << report.reason;
  EXPECT_EQ(report.attempts, 2);
}

TEST(AlertClient, ConnectionRefusedFailsAfterMaxAttempts) {
  std::string url;
  {
    http_receiver gone;
    url = gone.url("/hook");
  } // closed: nothing listens there any more
  auto o = fast_options();
  o.max_attempts = 2;
  alert_client client{o};
  auto report = deliver(client, sluice::slack_webhook_request(url, "hi", an_alert_id));
  EXPECT_FALSE(report.ok);
  EXPECT_EQ(report.attempts, 2);
  EXPECT_EQ(report.http_status, 0);
  EXPECT_NE(report.reason.find("connection error"), std::string::npos) << report.reason;
}

TEST(AlertClient, SlowReceiverDoesNotBlockSubmit) {
  http_receiver receiver;
  receiver.set_default({200, "ok", {}, 1500ms});
  alert_client client{fast_options()};
  std::atomic<int> done{0};
  for (int i = 0; i < 5; ++i)
    ASSERT_TRUE(client.submit(sluice::slack_webhook_request(receiver.url("/hook"), "hi", an_alert_id),
                              [&](const delivery_report& r) {
                                EXPECT_TRUE(r.ok) << r.reason;
                                done++;
                              }));
  // All five were accepted while the receiver still holds the first answer back.
  EXPECT_EQ(done, 0);
  EXPECT_EQ(client.in_flight(), 5u);
  EXPECT_TRUE(client.drain(20s));
  EXPECT_EQ(done, 5);
}

TEST(AlertClient, InFlightIsBounded) {
  http_receiver receiver;
  receiver.set_default({200, "ok", {}, 1s});
  auto o = fast_options();
  o.max_in_flight = 2;
  alert_client client{o};
  std::atomic<int> done{0};
  auto count = [&](const delivery_report&) { done++; };
  EXPECT_TRUE(client.submit(sluice::slack_webhook_request(receiver.url("/a"), "1", an_alert_id), count));
  EXPECT_TRUE(client.submit(sluice::slack_webhook_request(receiver.url("/b"), "2", an_alert_id), count));
  EXPECT_FALSE(client.submit(sluice::slack_webhook_request(receiver.url("/c"), "3", an_alert_id), count));
  EXPECT_EQ(client.metrics().rejected, 1u);
  EXPECT_TRUE(client.drain(20s));
  EXPECT_EQ(done, 2);
  EXPECT_TRUE(client.submit(sluice::slack_webhook_request(receiver.url("/c"), "3", an_alert_id), count));
  EXPECT_TRUE(client.drain(20s));
  EXPECT_EQ(done, 3);
  EXPECT_EQ(receiver.request_count(), 3u);
}

TEST(AlertClient, StopFailsPendingRequests) {
  http_receiver receiver;
  receiver.set_default({500, "boom"});
  auto o = fast_options();
  o.retry_backoff_min = 10s; // stays waiting for its retry
  o.retry_backoff_max = 10s;
  alert_client client{o};
  std::promise<delivery_report> promise;
  ASSERT_TRUE(client.submit(sluice::slack_webhook_request(receiver.url("/hook"), "hi", an_alert_id),
                            [&](const delivery_report& r) { promise.set_value(r); }));
  ASSERT_TRUE(receiver.wait_for_requests(1, 10s));
  client.stop();
  auto report = promise.get_future().get();
  EXPECT_FALSE(report.ok);
  EXPECT_EQ(report.reason, "alert client stopped");
  EXPECT_FALSE(client.submit(sluice::slack_webhook_request(receiver.url("/hook"), "x", an_alert_id), {}));
}

TEST(SlackPostMessage, SendsBearerTokenAndChannel) {
  http_receiver receiver;
  receiver.set_default({200, R"({"ok":true,"channel":"C123","ts":"1.2"})", {}, 0ms, "application/json"});
  captured_log log;
  alert_client client{fast_options(log.logger)};
  sluice::slack_api_options slack{"xoxb-test-token-5551", receiver.url("/api/chat.postMessage")};
  auto text = *sluice::render(tutorial_template, tutorial_record);
  auto report = deliver(client, sluice::slack_post_message_request(slack, "C123", text, "app-slack-alerts-1-5"));
  EXPECT_TRUE(report.ok) << report.reason;
  auto requests = receiver.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].target, "/api/chat.postMessage");
  EXPECT_EQ(requests[0].header("Authorization"), "Bearer xoxb-test-token-5551");
  auto body = boost::json::parse(requests[0].body).as_object();
  EXPECT_EQ(body.at("channel").as_string(), "C123");
  EXPECT_EQ(body.at("text").as_string(), text);
  EXPECT_EQ(body.at("alert_id").as_string(), "app-slack-alerts-1-5");
  EXPECT_EQ(requests[0].header("Idempotency-Key"), "app-slack-alerts-1-5");
  EXPECT_EQ(log.text().find("xoxb-test-token"), std::string::npos);
}

TEST(SlackPostMessage, OkFalseIsAFailureAndRatelimitedIsRetried) {
  http_receiver receiver;
  captured_log log;
  alert_client client{fast_options(log.logger)};
  sluice::slack_api_options slack{"xoxb-test-token-5551", receiver.url("/api/chat.postMessage")};

  receiver.enqueue({200, R"({"ok":false,"error":"channel_not_found"})", {}, 0ms, "application/json"});
  auto failed = deliver(client, sluice::slack_post_message_request(slack, "CNOPE", "hi", an_alert_id));
  EXPECT_FALSE(failed.ok);
  EXPECT_EQ(failed.attempts, 1);
  EXPECT_NE(failed.reason.find("channel_not_found"), std::string::npos) << failed.reason;

  receiver.enqueue({200, R"({"ok":false,"error":"ratelimited"})", {}, 0ms, "application/json"});
  receiver.enqueue({429, R"({"ok":false,"error":"ratelimited"})", {{"Retry-After", "1"}}, 0ms, "application/json"});
  receiver.enqueue({200, R"({"ok":true})", {}, 0ms, "application/json"});
  auto retried = deliver(client, sluice::slack_post_message_request(slack, "C123", "hi", an_alert_id));
  EXPECT_TRUE(retried.ok) << retried.reason;
  EXPECT_EQ(retried.attempts, 3);

  const auto text = log.text();
  EXPECT_NE(text.find("channel_not_found"), std::string::npos) << text;
  EXPECT_EQ(text.find("xoxb-test-token"), std::string::npos) << text;
}

TEST(Redaction, TokensNeverInUrlsOrHeadersAsLogged) {
  EXPECT_EQ(sluice::redact_url("https://hooks.slack.com/services/T000/B000/XXXXSECRET"),
            "https://hooks.slack.com/services/***");
  EXPECT_EQ(sluice::redact_url("https://example.com/hook?token=abc&x=1"), "https://example.com/hook?token=***&x=1");
  EXPECT_EQ(sluice::redact_url("https://user:pw@example.com/a"), "https://user:***@example.com/a");
  EXPECT_EQ(sluice::redact_header("Authorization", "Bearer xoxb-1"), "Bearer ***");
  EXPECT_EQ(sluice::redact_header("Content-Type", "application/json"), "application/json");
}

TEST(AlertClient, WebhookSecretPathNotLogged) {
  http_receiver receiver;
  receiver.set_default({500, "boom"});
  captured_log log;
  auto o = fast_options(log.logger);
  o.max_attempts = 2;
  alert_client client{o};
  auto report = deliver(
    client, sluice::json_webhook_request(receiver.url("/hook?token=tok-secret-8812"), tutorial_record, an_alert_id));
  EXPECT_FALSE(report.ok);
  const auto text = log.text();
  EXPECT_NE(text.find("token=***"), std::string::npos) << text;
  EXPECT_EQ(text.find("tok-secret-8812"), std::string::npos) << text;
  EXPECT_EQ(report.reason.find("tok-secret-8812"), std::string::npos) << report.reason;
}

} // namespace
