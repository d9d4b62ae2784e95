// An instance's HTTP endpoint (application.server): /metrics counts what happened, exactly, on a
// 4-partition backlog produced before the app starts; /health is ready only once every task runs;
// restore progress and store sizes show up for stateful tasks; interactive queries reach every
// instance of the application.
#include <sluice/kafka_streams.hpp>
#include "embedded_broker.hpp"
#include "kafka_test_client.hpp"
#include "test_helpers.hpp"
#include <sluice/topology/grouped_stream.hpp>
#include <sluice/topology/stream.hpp>
#include <sluice/topology/table.hpp>
#include <sluice/topology/windows.hpp>

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <algorithm>
#include <map>
#include <set>

using namespace sluice;
using namespace std::chrono_literals;
using sluice::test::http_get;
using sluice::test::kafka_test_client;
using sluice::test::metric_sum;
using sluice::test::outgoing_record;
using sluice::test::unique_name;

namespace {

constexpr int partitions = 4;

struct operability : ::testing::Test {
  embedded_broker broker{1};
  kafka_test_client client{broker.bootstrap_servers()};
  std::string in = unique_name("in"), out = unique_name("out"), app = unique_name("app");
  sluice::test::temp_dir state{"sluice-operability"};

  void SetUp() override {
    broker.create_topic(in, partitions);
    broker.create_topic(out, partitions);
  }

  streams_config config() const {
    auto c = sluice::test::app_config(app, broker.bootstrap_servers(), state.path);
    c.commit_interval_ms = 200;
    c.set("application.server", "localhost:0");
    return c;
  }

  std::string scrape(const kafka_streams& s) const {
    auto r = http_get(s.http_address(), "/metrics");
    EXPECT_EQ(r.status, 200);
    return r.body;
  }
};

} // namespace

TEST_F(operability, metrics_count_every_record_of_a_backlog_exactly) {
  // {"n": i} for i < per_partition in every partition, and a malformed value every 100th record.
  constexpr int per_partition = 3000;
  std::vector<outgoing_record> records;
  int evens = 0, malformed = 0;
  for (int i = 0; i < per_partition; ++i)
    for (int p = 0; p < partitions; ++p) {
      const bool bad = i % 100 == 99;
      records.push_back({"k" + std::to_string(p), bad ? "{not json" : "{\"n\":" + std::to_string(i) + "}", {}, p});
      malformed += bad;
      evens += !bad && i % 2 == 0;
    }
  client.produce(in, records);

  topology_builder b;
  b.stream<serdes::string, serdes::json>(in)
    .filter([](const std::string&, const boost::json::value& v) { return v.at("n").as_int64() % 2 == 0; }, "evens")
    .to(out, "to-out");
  kafka_streams streams{b.build(), config()};
  streams.start();
  ASSERT_FALSE(streams.http_address().empty());
  const int total = partitions * per_partition;
  ASSERT_TRUE(sluice::test::wait_until([&] { return streams.records_processed() >= total; }, 120s))
    << streams.records_processed() << " " << streams.failure();
  // Lag reaches 0 once the high watermarks were read again after the last batch.
  ASSERT_TRUE(sluice::test::wait_until(
    [&] {
      const auto m = scrape(streams);
      return metric_sum(m, "sluice_consumer_lag_records") == 0.0 && metric_sum(m, "sluice_commits_total") >= 1.0;
    },
    30s));
  const auto m = scrape(streams);
  EXPECT_EQ(metric_sum(m, "sluice_records_consumed_total"), total);
  EXPECT_EQ(metric_sum(m, "sluice_records_processed_total"), total);
  for (int p = 0; p < partitions; ++p)
    EXPECT_EQ(
      metric_sum(m, "sluice_partition_records_consumed_total", {{"topic", in}, {"partition", std::to_string(p)}}),
      per_partition)
      << "partition " << p;
  EXPECT_EQ(metric_sum(m, "sluice_operator_records_in_total", {{"operator", "evens"}}), total - malformed);
  EXPECT_EQ(metric_sum(m, "sluice_operator_records_out_total", {{"operator", "evens"}}), evens);
  EXPECT_EQ(metric_sum(m, "sluice_operator_records_in_total", {{"operator", "evens"}, {"task", "0_2"}}),
            per_partition - malformed / partitions);
  EXPECT_EQ(metric_sum(m, "sluice_records_produced_total", {{"operator", "to-out"}}), evens);
  EXPECT_EQ(metric_sum(m, "sluice_dead_letter_records_total"), malformed);
  EXPECT_EQ(metric_sum(m, "sluice_assigned_partitions"), partitions);
  EXPECT_EQ(metric_sum(m, "sluice_commit_latency_seconds_count"), metric_sum(m, "sluice_commits_total"));
  EXPECT_EQ(metric_sum(m, "sluice_commit_latency_seconds_bucket", {{"le", "+Inf"}}),
            metric_sum(m, "sluice_commits_total"));
  EXPECT_TRUE(metric_sum(m, "sluice_producer_queue_records").has_value());
  EXPECT_NE(m.find("# TYPE sluice_commit_latency_seconds histogram"), std::string::npos);
  EXPECT_NE(m.find("# TYPE sluice_operator_records_in_total counter"), std::string::npos);
  // HELP and TYPE once per family.
  size_t helps = 0;
  for (size_t at = m.find("# HELP sluice_operator_records_in_total "); at != std::string::npos;
       at = m.find("# HELP sluice_operator_records_in_total ", at + 1))
    ++helps;
  EXPECT_EQ(helps, 1u);

  const auto health = http_get(streams.http_address(), "/health");
  EXPECT_EQ(health.status, 200) << health.body;
  const auto h = boost::json::parse(health.body).as_object();
  EXPECT_EQ(h.at("ready"), true);
  EXPECT_EQ(h.at("state"), "running");
  EXPECT_EQ(h.at("tasks"), partitions);
  EXPECT_EQ(http_get(streams.http_address(), "/nothing-here").status, 404);
}

TEST_F(operability, health_is_not_ready_until_the_group_is_joined) {
  // A second away, joining the group (coordinator, join, sync) takes several seconds after start().
  broker.set_rtt(1, 1000ms);
  topology_builder b;
  b.stream<serdes::string, serdes::string>(in).to(out);
  kafka_streams streams{b.build(), config()};
  streams.start();
  EXPECT_EQ(http_get(streams.http_address(), "/health/live").status, 200);
  const auto health = http_get(streams.http_address(), "/health");
  EXPECT_EQ(health.status, 503) << health.body;
  const auto h = boost::json::parse(health.body).as_object();
  EXPECT_EQ(h.at("ready"), false);
  EXPECT_EQ(h.at("state"), "starting");
  EXPECT_FALSE(h.at("reason").as_string().empty());
  ASSERT_TRUE(sluice::test::wait_until([&] { return http_get(streams.http_address(), "/health").status == 200; }, 60s))
    << http_get(streams.http_address(), "/health").body;
  EXPECT_EQ(streams.assigned_partitions(), partitions);
}

TEST_F(operability, restore_progress_and_store_sizes_of_a_stateful_app) {
  constexpr int per_partition = 2000, keys_per_partition = 50;
  std::vector<outgoing_record> records;
  for (int i = 0; i < per_partition; ++i)
    for (int p = 0; p < partitions; ++p)
      records.push_back({"p" + std::to_string(p) + "-k" + std::to_string(i % keys_per_partition), "x", {}, p});
  client.produce(in, records);
  auto build = [&] {
    topology_builder b;
    b.stream<serdes::string, serdes::string>(in).group_by_key().count("counts").to_stream().to(out);
    return b.build();
  };
  double changelogged = 0;
  {
    kafka_streams first{build(), config()};
    first.start();
    ASSERT_TRUE(sluice::test::wait_until(
      [&] { return first.records_processed() >= partitions * per_partition && first.commits() >= 1; }, 120s))
      << first.failure();
    const auto m = scrape(first);
    EXPECT_EQ(metric_sum(m, "sluice_task_running"), partitions);
    const auto sizes = metric_sum(m, "sluice_store_size_bytes", {{"store", "counts-store"}});
    ASSERT_TRUE(sizes.has_value());
    EXPECT_GT(*sizes, 0);
    first.close(); // the last changelog records are written and acknowledged before it stops
    changelogged = *metric_sum(m, "sluice_changelog_records_total");
  }
  // The changelog's length, read independently: what a restore into an empty directory reads.
  const auto changelog = sluice::test::read_all(client, app + "-counts-store-changelog", 2s);
  ASSERT_GE(static_cast<double>(changelog.size()), changelogged);
  // A second instance with no local state restores every store from its changelog.
  sluice::test::temp_dir fresh{"sluice-operability-fresh"};
  auto c = config();
  c.state_dir = fresh.path.string();
  kafka_streams second{build(), c};
  second.start();
  ASSERT_TRUE(sluice::test::wait_until(
    [&] {
      const auto m = scrape(second);
      return metric_sum(m, "sluice_task_running") == partitions &&
             http_get(second.http_address(), "/health").status == 200;
    },
    60s));
  const auto m = scrape(second);
  EXPECT_EQ(metric_sum(m, "sluice_restore_records_total"), static_cast<double>(changelog.size()));
  EXPECT_EQ(metric_sum(m, "sluice_restore_remaining_records"), 0);
}

TEST_F(operability, interactive_queries_read_key_value_and_window_stores) {
  // Keys "p<p>-k<j>", 30 records each, stamped 1 s apart from 2023-01-01: counts per key and per
  // key and 10 s window.
  constexpr int keys_per_partition = 20, per_key = 30;
  constexpr int64_t t0 = 1672531200000;
  std::vector<outgoing_record> records;
  std::map<std::string, int64_t> counts;
  std::map<std::pair<std::string, int64_t>, int64_t> windows;
  for (int i = 0; i < per_key; ++i)
    for (int p = 0; p < partitions; ++p)
      for (int j = 0; j < keys_per_partition; ++j) {
        const auto key = "p" + std::to_string(p) + "-k" + std::to_string(j);
        const int64_t t = t0 + i * 1000;
        records.push_back({key, "x", {}, p, t});
        ++counts[key];
        ++windows[{key, t - (t - t0) % 10000}];
      }
  client.produce(in, records);
  topology_builder b;
  auto grouped = b.stream<serdes::string, serdes::string>(in).group_by_key();
  grouped.count("counts").to_stream().to(out);
  grouped.windowed_by(tumbling(10s))
    .count("per-10s")
    .to_stream()
    .map([](const windowed<std::string>& k, int64_t n) {
      return std::pair{k.key, n};
    })
    .to(out + "-windows");
  broker.create_topic(out + "-windows", partitions);
  kafka_streams streams{b.build(), config()};
  streams.start();
  const auto total = static_cast<int64_t>(records.size());
  ASSERT_TRUE(sluice::test::wait_until([&] { return streams.records_processed() >= total; }, 120s))
    << streams.failure();
  const auto base = streams.http_address();
  auto get_json = [&](const std::string& path, int status) {
    const auto r = http_get(base, path);
    EXPECT_EQ(r.status, status) << path << ": " << r.body;
    return boost::json::parse(r.body).as_object();
  };

  // The list: both stores, in every task.
  const auto list = get_json("/stores", 200);
  std::map<std::string, size_t> tasks_of;
  for (const auto& s : list.at("stores").as_array())
    tasks_of[std::string{s.at("name").as_string()}] = s.at("tasks").as_array().size();
  EXPECT_EQ(tasks_of["counts-store"], static_cast<size_t>(partitions));
  EXPECT_EQ(tasks_of["per-10s-store"], static_cast<size_t>(partitions));

  // One key of a key-value store: its count, as a number.
  const auto one = get_json("/stores/counts-store/p2-k7", 200);
  ASSERT_EQ(one.at("results").as_array().size(), 1u);
  EXPECT_EQ(one.at("results").at(0).at("key"), "p2-k7");
  EXPECT_EQ(one.at("results").at(0).at("value"), counts["p2-k7"]);
  get_json("/stores/counts-store/no-such-key", 404);

  // A key range: every key from p1-k1 to p1-k3 in byte order, each with its count.
  const auto range = get_json("/stores/counts-store?from=p1-k1&to=p1-k3", 200);
  std::map<std::string, int64_t> expected_range, got_range;
  for (const auto& [k, n] : counts)
    if (k >= "p1-k1" && k <= "p1-k3")
      expected_range[k] = n;
  for (const auto& e : range.at("results").as_array())
    got_range[std::string{e.at("key").as_string()}] = e.at("value").as_int64();
  EXPECT_EQ(got_range, expected_range);

  // One key of a window store: each of its windows with its count; then a time range.
  std::map<int64_t, int64_t> expected_windows, got_windows;
  for (const auto& [kw, n] : windows)
    if (kw.first == "p3-k0")
      expected_windows[kw.second] = n;
  const auto all_windows = get_json("/stores/per-10s-store/p3-k0", 200);
  for (const auto& e : all_windows.at("results").as_array())
    got_windows[e.at("window_start").as_int64()] = e.at("value").as_int64();
  EXPECT_EQ(got_windows, expected_windows);
  const auto later = get_json("/stores/per-10s-store/p3-k0?from=" + std::to_string(t0 + 10000), 200);
  EXPECT_EQ(later.at("results").as_array().size(), expected_windows.size() - 1);

  get_json("/stores/no-such-store/x", 404);
  get_json("/stores/counts-store?limit=x", 400);
}

TEST_F(operability, interactive_queries_reach_the_instance_that_holds_the_key) {
  // Two instances share 4 partitions of keys "p<p>-k<j>", counted; either one answers for every
  // key, its own from its tasks and the other's through it, and a range merges both. When one
  // closes, the other takes its tasks over and answers for all of them itself.
  constexpr int keys_per_partition = 25, per_key = 8;
  std::vector<outgoing_record> records;
  std::map<std::string, int64_t> counts;
  for (int i = 0; i < per_key; ++i)
    for (int p = 0; p < partitions; ++p)
      for (int j = 0; j < keys_per_partition; ++j) {
        const auto key = "p" + std::to_string(p) + "-k" + std::to_string(j);
        records.push_back({key, "x", {}, p});
        ++counts[key];
      }
  client.produce(in, records);
  auto build = [&] {
    topology_builder b;
    b.stream<serdes::string, serdes::string>(in).group_by_key().count("counts").to_stream().to(out);
    return b.build();
  };
  sluice::test::temp_dir other_state{"sluice-operability-other"};
  auto other_config = config();
  other_config.state_dir = other_state.path.string();
  kafka_streams a{build(), config()};
  kafka_streams b{build(), other_config};
  a.start();
  b.start();
  auto server_of = [](const kafka_streams& s) { // "http://localhost:1234/" → "localhost:1234"
    auto address = s.http_address().substr(std::string_view{"http://"}.size());
    return address.substr(0, address.size() - 1);
  };
  auto get_json = [&](const kafka_streams& s, const std::string& path) {
    const auto r = http_get(s.http_address(), path);
    auto v = boost::json::parse(r.body).as_object();
    v["status"] = r.status;
    return v;
  };
  // Every key answered through `via` with its count; the servers that answered, by key.
  auto answers = [&](const kafka_streams& via) {
    std::map<std::string, std::string> served_by;
    for (const auto& [key, n] : counts) {
      const auto r = get_json(via, "/stores/counts-store/" + key);
      if (r.at("status") != 200 || r.at("results").as_array().size() != 1 || r.at("results").at(0).at("value") != n)
        return std::map<std::string, std::string>{};
      served_by[key] = std::string{r.at("instance").as_string()};
    }
    return served_by;
  };
  ASSERT_TRUE(sluice::test::wait_until(
    [&] {
      return a.assigned_partitions() > 0 && b.assigned_partitions() > 0 &&
             a.assigned_partitions() + b.assigned_partitions() == partitions && !answers(a).empty() &&
             !answers(b).empty();
    },
    120s))
    << a.failure() << b.failure();

  // Through either instance every key is found, some of them on the other instance.
  for (const auto* via : {&a, &b}) {
    std::map<std::string, int> keys_by_server;
    for (const auto& [key, server] : answers(*via))
      ++keys_by_server[server];
    EXPECT_EQ(keys_by_server.size(), 2u);
    EXPECT_EQ(keys_by_server[server_of(a)], keys_per_partition * a.assigned_partitions());
    EXPECT_EQ(keys_by_server[server_of(b)], keys_per_partition * b.assigned_partitions());
  }
  // A range merges both instances' tasks.
  const auto all = get_json(a, "/stores/counts-store");
  EXPECT_EQ(all.at("status"), 200);
  EXPECT_EQ(all.at("tasks").as_array().size(), static_cast<size_t>(partitions));
  std::map<std::string, int64_t> got;
  for (const auto& e : all.at("results").as_array())
    got[std::string{e.at("key").as_string()}] = e.at("value").as_int64();
  EXPECT_EQ(got, counts);
  // Asked for its own tasks only, an instance has part of them.
  const auto own = get_json(a, "/stores/counts-store?local=1");
  EXPECT_EQ(own.at("results").as_array().size(), static_cast<size_t>(keys_per_partition * a.assigned_partitions()));
  // The list names both instances and their tasks.
  const auto list = get_json(a, "/stores");
  std::set<std::string> servers;
  for (const auto& i : list.at("instances").as_array())
    servers.insert(std::string{i.at("server").as_string()});
  EXPECT_EQ(servers, (std::set<std::string>{server_of(a), server_of(b)}));
  EXPECT_EQ(get_json(a, "/stores/counts-store/no-such-key").at("status"), 404);

  // One instance closes: the other restores its tasks and answers every key itself.
  b.close();
  ASSERT_TRUE(sluice::test::wait_until(
    [&] {
      const auto served_by = answers(a);
      return a.assigned_partitions() == partitions && served_by.size() == counts.size() &&
             std::all_of(served_by.begin(), served_by.end(), [&](auto& s) { return s.second == server_of(a); });
    },
    60s))
    << a.failure();
  // Its entry is gone from the directory.
  ASSERT_TRUE(
    sluice::test::wait_until([&] { return get_json(a, "/stores").at("instances").as_array().size() == 1; }, 30s));
}
