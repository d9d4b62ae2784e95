// The metrics registry, its Prometheus text and /health's answer, and the HTTP server, without a broker.
#include "actors/http_server.hpp"
#include "actors/memory_trimmer.hpp"
#include "actors/metrics.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <memory>
#include <thread>

using namespace sluice;

namespace {

/// GET `target` from localhost:`port`: status and body.
std::pair<int, std::string> get(uint16_t port, const std::string& target) {
  auto answer = http_get("localhost:" + std::to_string(port), target, std::chrono::seconds(10));
  return {answer.status, std::move(answer.body)};
}

} // namespace

TEST(metrics, prometheus_text_groups_families_and_escapes_labels) {
  std::vector<metric_sample> samples{
    {"a_total", "As", metric_type::counter, {{"task", "0_1"}}, 3},
    {"b", "Bs", metric_type::gauge, {}, 1.5},
    {"a_total", "As", metric_type::counter, {{"task", "0_2"}, {"operator", "say \"hi\"\\\n"}}, 4},
    {"h_seconds_bucket", "Hs", metric_type::histogram, {{"le", "0.1"}}, 2},
    {"h_seconds_bucket", "Hs", metric_type::histogram, {{"le", "+Inf"}}, 3},
    {"h_seconds_sum", "Hs", metric_type::histogram, {}, 0.25},
    {"h_seconds_count", "Hs", metric_type::histogram, {}, 3},
  };
  EXPECT_EQ(prometheus_text(samples), "# HELP a_total As\n"
                                      "# TYPE a_total counter\n"
                                      "a_total{task=\"0_1\"} 3\n"
                                      "a_total{task=\"0_2\",operator=\"say \\\"hi\\\"\\\\\\n\"} 4\n"
                                      "# HELP b Bs\n"
                                      "# TYPE b gauge\n"
                                      "b 1.5\n"
                                      "# HELP h_seconds Hs\n"
                                      "# TYPE h_seconds histogram\n"
                                      "h_seconds_bucket{le=\"0.1\"} 2\n"
                                      "h_seconds_bucket{le=\"+Inf\"} 3\n"
                                      "h_seconds_sum 0.25\n"
                                      "h_seconds_count 3\n");
}

TEST(metrics, entries_are_scraped_while_their_owners_hold_them) {
  instance_metrics registry;
  auto filter = registry.add_operator("0_1", "usage-over-80");
  bump(filter->records_in, 10);
  bump(filter->records_in, 5);
  {
    auto gone = registry.add_operator("0_2", "usage-over-80");
    bump(gone->records_in, 100);
  }
  auto count = [&](const std::string& needle) {
    const auto text = prometheus_text(registry.collect());
    size_t n = 0;
    for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1))
      ++n;
    return n;
  };
  EXPECT_EQ(count("sluice_operator_records_in_total{task=\"0_1\",operator=\"usage-over-80\"} 15\n"), 1u);
  EXPECT_EQ(count("task=\"0_2\""), 0u);
  // No watermark yet: no sample; then the watermark as it is.
  EXPECT_EQ(count("sluice_watermark_milliseconds{"), 0u);
  filter->watermark = 1700000000000;
  EXPECT_EQ(count("sluice_watermark_milliseconds{task=\"0_1\",operator=\"usage-over-80\"} 1700000000000\n"), 1u);
}

TEST(metrics, consumer_lag_is_the_high_watermark_minus_the_position) {
  instance_metrics registry;
  auto p = registry.add_partition("readings", 3, "0_3");
  auto samples = [&] { return prometheus_text(registry.collect()); };
  EXPECT_EQ(samples().find("sluice_consumer_lag_records"), std::string::npos); // end not known yet
  p->end = 1000;
  p->position = 400;
  EXPECT_NE(samples().find("sluice_consumer_lag_records{topic=\"readings\",partition=\"3\",task=\"0_3\"} 600\n"),
            std::string::npos);
}

TEST(metrics, commit_latency_is_a_cumulative_histogram) {
  instance_metrics registry;
  registry.observe_commit(std::chrono::milliseconds(3));
  registry.observe_commit(std::chrono::milliseconds(30));
  registry.observe_commit(std::chrono::seconds(20));
  const auto text = prometheus_text(registry.collect());
  EXPECT_NE(text.find("sluice_commit_latency_seconds_bucket{le=\"0.005\"} 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("sluice_commit_latency_seconds_bucket{le=\"0.025\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("sluice_commit_latency_seconds_bucket{le=\"0.05\"} 2\n"), std::string::npos);
  EXPECT_NE(text.find("sluice_commit_latency_seconds_bucket{le=\"10\"} 2\n"), std::string::npos);
  EXPECT_NE(text.find("sluice_commit_latency_seconds_bucket{le=\"+Inf\"} 3\n"), std::string::npos);
  EXPECT_NE(text.find("sluice_commit_latency_seconds_count 3\n"), std::string::npos);
  EXPECT_NE(text.find("sluice_commit_latency_seconds_sum 20.033\n"), std::string::npos);
}

TEST(metrics, health_is_ready_only_when_running_with_every_task_restored) {
  instance_metrics registry;
  EXPECT_FALSE(registry.health().ready);
  EXPECT_EQ(registry.health().state, "starting");
  registry.state = instance_state::running;
  EXPECT_TRUE(registry.health().ready); // no tasks (more instances than partitions): ready
  auto a = registry.add_task("0_0");
  auto b = registry.add_task("0_1");
  a->running = true;
  auto h = registry.health();
  EXPECT_FALSE(h.ready);
  EXPECT_EQ(h.state, "restoring");
  EXPECT_EQ(h.reason, "1 of 2 task(s) restoring their stores");
  b->running = true;
  EXPECT_TRUE(registry.health().ready);
  registry.state = instance_state::rebalancing;
  EXPECT_FALSE(registry.health().ready);
  const auto json = boost::json::parse(registry.health().json()).as_object();
  EXPECT_EQ(json.at("state"), "rebalancing");
  EXPECT_EQ(json.at("tasks"), 2);
  EXPECT_EQ(json.at("ready"), false);
}

TEST(metrics, heap_in_use_counts_what_the_process_holds) {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  GTEST_SKIP() << "a sanitizer's allocator replaces glibc's heaps";
#endif
  auto in_use = [] {
    std::vector<metric_sample> samples;
    heap_usage()(samples);
    for (const auto& s : samples)
      if (s.name == "sluice_heap_in_use_bytes")
        return s.value;
    return -1.0;
  };
  const double before = in_use();
  constexpr std::size_t held = 64 << 20;
  auto block = std::make_unique<char[]>(held); // value-initialised: every page touched
  const double during = in_use();
  EXPECT_GE(during - before, static_cast<double>(held));
  block.reset();
  EXPECT_LT(in_use(), during - static_cast<double>(held) / 2);
}

TEST(http_server, answers_requests_on_its_own_thread_and_stops) {
  const auto caller = std::this_thread::get_id();
  std::thread::id served_on;
  auto server = std::make_unique<http_server>("localhost:0", [&](std::string_view target) -> http_response {
    served_on = std::this_thread::get_id();
    if (target == "/boom")
      throw std::runtime_error("it broke");
    return {target == "/" ? 200 : 404, "text/plain", "you asked for " + std::string{target}};
  });
  ASSERT_NE(server->port(), 0);
  EXPECT_EQ(get(server->port(), "/"), std::make_pair(200, std::string{"you asked for /"}));
  EXPECT_EQ(get(server->port(), "/x?y=1"), std::make_pair(404, std::string{"you asked for /x?y=1"}));
  EXPECT_EQ(get(server->port(), "/boom"), std::make_pair(500, std::string{"it broke\n"}));
  EXPECT_NE(served_on, caller);
  const auto port = server->port();
  server.reset();
  EXPECT_THROW(get(port, "/"), std::exception);
}

TEST(http_server, a_port_in_use_is_a_clear_error) {
  http_server first{"localhost:0", [](std::string_view) { return http_response{}; }};
  try {
    http_server second{"localhost:" + std::to_string(first.port()), [](std::string_view) { return http_response{}; }};
    FAIL() << "a second server on the same port";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string{e.what()}.find("cannot serve HTTP on localhost:"), std::string::npos) << e.what();
  }
}
