// State survives: a task's store is rebuilt from its changelog after the instance is killed and
// its state directory deleted, and moves with its task to another instance on rebalance; a
// standby replica takes over a killed instance's tasks restoring only the tail of their changelogs.
// The app keeps the largest value per key and emits every new maximum, so an uninterrupted run
// emits, per key, exactly the running maxima of its input: the tests compare against those.

#include "child_process.hpp"
#include "embedded_broker.hpp"
#include "kafka_test_client.hpp"
#include "offset_probe.hpp"
#include "paths.hpp"
#include "test_helpers.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <iostream>
#include <map>
#include <random>
#include <regex>
#include <set>
#include <thread>

namespace {

using namespace std::chrono_literals;
using sluice::test::child_process;
using sluice::test::consume_options;
using sluice::test::kafka_test_client;
using sluice::test::outgoing_record;

using per_key = std::map<std::string, std::set<int64_t>>;

std::vector<outgoing_record> make_input(int count, int keys, unsigned seed) {
  std::mt19937 rng{seed};
  std::vector<outgoing_record> out;
  for (int i = 0; i < count; ++i)
    out.push_back({"k" + std::to_string(rng() % static_cast<unsigned>(keys)), std::to_string(rng() % 10'000'000)});
  return out;
}

// The running maxima per key, in input order: what an uninterrupted run emits.
per_key running_maxima(const std::vector<outgoing_record>& input) {
  per_key out;
  std::map<std::string, int64_t> max;
  for (const auto& r : input) {
    auto v = std::stoll(*r.value);
    auto [it, fresh] = max.emplace(*r.key, v);
    if (fresh || v > it->second) {
      it->second = v;
      out[*r.key].insert(v);
    }
  }
  return out;
}

struct state_fixture : ::testing::Test {
  sluice::embedded_broker broker{1};
  kafka_test_client client{broker.bootstrap_servers()};
  std::filesystem::path dir =
    std::filesystem::temp_directory_path() / ("sluice-state-test-" + std::to_string(::getpid()) + "-" +
                                              ::testing::UnitTest::GetInstance()->current_test_info()->name());
  std::string app_id = std::string{"state-"} + ::testing::UnitTest::GetInstance()->current_test_info()->name();

  void SetUp() override {
    std::filesystem::remove_all(dir);
    broker.create_topic("state-in", 4);
    broker.create_topic("state-out", 4);
  }
  void TearDown() override { std::filesystem::remove_all(dir); }

  std::unique_ptr<child_process> start_app(const std::string& state_dir, const std::vector<std::string>& more = {}) {
    std::vector<std::string> args{"--bootstrap-servers",
                                  broker.bootstrap_servers(),
                                  "--application-id",
                                  app_id,
                                  "--state-dir",
                                  (dir / state_dir).string(),
                                  "--commit-interval-ms",
                                  "300",
                                  "--set",
                                  "kafka.session.timeout.ms=6000",
                                  "--set",
                                  "kafka.heartbeat.interval.ms=500"};
    args.insert(args.end(), more.begin(), more.end());
    return std::make_unique<child_process>(sluice::test::built_binary("sluice-test-stateful"), args);
  }

  per_key outputs() {
    consume_options options;
    options.stop_at_end = true;
    options.idle_timeout = 3s;
    per_key out;
    for (const auto& r : client.consume("state-out", options))
      out[*r.key].insert(std::stoll(*r.value));
    return out;
  }

  // Waits until the outputs hold the final maximum of every key.
  per_key wait_for_final(const per_key& expected, std::chrono::seconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    per_key got;
    while (std::chrono::steady_clock::now() < deadline) {
      got = outputs();
      bool done = got.size() == expected.size();
      for (const auto& [k, values] : expected)
        done = done && got.count(k) && got[k].count(*values.rbegin());
      if (done)
        return got;
      std::this_thread::sleep_for(500ms);
    }
    return got;
  }
};

TEST_F(state_fixture, store_is_restored_from_changelog_after_kill_and_lost_state_directory) {
  auto input = make_input(20000, 40, 7);
  const std::vector<outgoing_record> first(input.begin(), input.begin() + 10000);
  const std::vector<outgoing_record> second(input.begin() + 10000, input.end());
  client.produce("state-in", first);

  auto a = start_app("a");
  wait_for_final(running_maxima(first), 60s);
  // Killed only once everything it read is committed: the restore must then bring back all of it.
  ASSERT_TRUE(sluice::test::wait_until_consumed(broker.bootstrap_servers(), app_id, {"state-in"}));
  a->kill();
  a->wait_for(10s);
  std::filesystem::remove_all(dir / "a"); // the state is gone: only the changelog has it

  client.produce("state-in", second);
  auto b = start_app("a");
  const auto expected = running_maxima(input);
  auto got = wait_for_final(expected, 90s);
  EXPECT_TRUE(b->wait_for_output("restored task", 1s, true)) << b->stderr_text();
  b->terminate();
  auto status = b->wait_for(30s);
  ASSERT_TRUE(status);
  EXPECT_TRUE(status->success()) << b->stderr_text();

  // Without the restored maxima, b would emit smaller "new maxima" that an uninterrupted run never does.
  EXPECT_EQ(got, expected);
}

TEST_F(state_fixture, tasks_move_with_their_state_when_an_instance_joins) {
  auto input = make_input(30000, 40, 11);
  const std::vector<outgoing_record> first(input.begin(), input.begin() + 15000);
  const std::vector<outgoing_record> second(input.begin() + 15000, input.end());
  client.produce("state-in", first);

  auto a = start_app("a");
  wait_for_final(running_maxima(first), 60s);
  auto b = start_app("b"); // its own state directory: moved tasks restore from changelogs
  ASSERT_TRUE(b->wait_for_output("assigned", 60s, true)) << b->stderr_text();
  ASSERT_TRUE(b->wait_for_output("restored task", 30s, true)) << b->stderr_text();
  client.produce("state-in", second);

  const auto expected = running_maxima(input);
  auto got = wait_for_final(expected, 90s);
  for (auto* app : {a.get(), b.get()}) {
    app->terminate();
    auto status = app->wait_for(30s);
    ASSERT_TRUE(status);
    EXPECT_TRUE(status->success()) << app->stderr_text();
  }
  EXPECT_EQ(got, expected);
}

TEST_F(state_fixture, a_standby_takes_over_a_killed_instance_restoring_only_the_tail) {
  using sluice::test::http_get;
  using sluice::test::metric_sum;
  auto input = make_input(60000, 4000, 13);
  const std::vector<outgoing_record> first(input.begin(), input.begin() + 30000),
    second(input.begin() + 30000, input.begin() + 50000), third(input.begin() + 50000, input.end());
  client.produce("state-in", first);
  const std::vector<std::string> with_standby{"--http-port", "0", "--set", "num.standby.replicas=1"};
  auto address_of = [](child_process& app) {
    EXPECT_TRUE(app.wait_for_output("serving the live page at", 30s, true)) << app.stderr_text();
    std::smatch m;
    const auto text = app.stderr_text();
    return std::regex_search(text, m, std::regex{"serving the live page at (http://[^ ]+/)"}) ? m[1].str() : "";
  };
  auto metrics_of = [](const std::string& address) { return http_get(address, "/metrics").body; };

  auto a = start_app("a", with_standby);
  const auto a_http = address_of(*a);
  wait_for_final(running_maxima(first), 60s);
  auto b = start_app("b", with_standby);
  const auto b_http = address_of(*b);
  client.produce("state-in", second);
  wait_for_final(running_maxima({input.begin(), input.begin() + 50000}), 90s);
  // Both run tasks, and b keeps an up-to-date standby of each of a's.
  std::set<std::string> tasks_of_a;
  ASSERT_TRUE(sluice::test::wait_until(
    [&] {
      const auto ma = metrics_of(a_http), mb = metrics_of(b_http);
      const auto on_a = metric_sum(ma, "sluice_assigned_partitions").value_or(0);
      const auto on_b = metric_sum(mb, "sluice_assigned_partitions").value_or(0);
      tasks_of_a.clear();
      for (int p = 0; p < 4; ++p)
        if (metric_sum(ma, "sluice_task_running", {{"task", "0_" + std::to_string(p)}}) == 1)
          tasks_of_a.insert("0_" + std::to_string(p));
      return on_a > 0 && on_b > 0 && on_a + on_b == 4 && tasks_of_a.size() == static_cast<size_t>(on_a) &&
             metric_sum(mb, "sluice_standby_tasks") == on_a && metric_sum(mb, "sluice_standby_lag_records") == 0;
    },
    90s))
    << a->stderr_text() << b->stderr_text();

  a->kill();
  // b takes a's tasks over from its standbys: it restores only what a committed after b's last catch-up.
  ASSERT_TRUE(sluice::test::wait_until(
    [&] {
      const auto mb = metrics_of(b_http);
      // ... and drops its standbys: every task runs here now, and no other instance is left to keep them for.
      return metric_sum(mb, "sluice_assigned_partitions") == 4 && metric_sum(mb, "sluice_task_running") == 4 &&
             metric_sum(mb, "sluice_standby_tasks") == 0;
    },
    90s))
    << b->stderr_text();
  const auto mb = metrics_of(b_http);
  const auto changelog = sluice::test::read_all(client, app_id + "-max-store-changelog", 2s);
  double restored = 0, changelogged = 0;
  for (const auto& task : tasks_of_a) {
    restored += metric_sum(mb, "sluice_restore_records_total", {{"task", task}}).value_or(0);
    for (const auto& r : changelog)
      changelogged += "0_" + std::to_string(r.partition) == task;
  }
  std::cout << "moved tasks: restored " << restored << " of " << changelogged << " changelog records\n";
  EXPECT_GT(changelogged, 1000);
  EXPECT_LT(restored * 20, changelogged); // under 5 %: a full restore would read them all

  client.produce("state-in", third);
  const auto expected = running_maxima(input);
  auto got = wait_for_final(expected, 90s);
  b->terminate();
  auto status = b->wait_for(30s);
  ASSERT_TRUE(status);
  EXPECT_TRUE(status->success()) << b->stderr_text();
  // A standby with the wrong state would make b emit "new maxima" an uninterrupted run never does.
  EXPECT_EQ(got, expected);
}

} // namespace
