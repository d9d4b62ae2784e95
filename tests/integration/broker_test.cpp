// Integration tests of the embedded broker: sluice-broker as a separate process (metadata,
// produce/consume round trip, pinned ports, SIGTERM), embedded_broker in-process with a broker
// outage, and sluice-gen writing through it.

#include "child_process.hpp"
#include "embedded_broker.hpp"
#include "kafka_test_client.hpp"
#include "paths.hpp"

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <map>
#include <set>
#include <sstream>
#include <thread>

namespace {

using namespace std::chrono_literals;
using sluice::test::child_process;
using sluice::test::kafka_test_client;

constexpr std::string_view bootstrap_prefix = "bootstrap.servers=";

// Starts sluice-broker with `args` and returns it with its bootstrap servers (from stdout's first line).
std::pair<std::unique_ptr<child_process>, std::string> start_broker(std::vector<std::string> args) {
  auto broker = std::make_unique<child_process>(sluice::test::built_binary("sluice-broker"), std::move(args));
  const auto line = broker->first_stdout_line(10s);
  if (!line || !line->starts_with(bootstrap_prefix))
    throw std::runtime_error("sluice-broker printed no bootstrap line; stderr: " + broker->stderr_text());
  return {std::move(broker), line->substr(bootstrap_prefix.size())};
}

// A TCP port on 127.0.0.1 that was free a moment ago, whose successor was free too.
int free_port_pair() {
  auto bindable = [](int port) {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<uint16_t>(port));
    socklen_t len = sizeof(addr);
    int result = -1;
    if (bind(fd, reinterpret_cast<sockaddr*>(&addr), len) == 0 &&
        getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0)
      result = ntohs(addr.sin_port);
    close(fd);
    return result;
  };
  for (;;) {
    const int port = bindable(0);
    if (port > 0 && port < 65535 && bindable(port + 1) == port + 1)
      return port;
  }
}

TEST(sluice_broker, serves_metadata_and_round_trips_records_then_stops_on_sigterm) {
  auto [broker, bootstrap] = start_broker({"--port", "0", "--topic", "t:6"});
  const kafka_test_client client(bootstrap);
  EXPECT_EQ(client.partition_count("t"), 6);

  constexpr int record_count = 10'000;
  std::vector<std::pair<std::string, std::string>> records;
  for (int i = 0; i < record_count; ++i)
    records.emplace_back("key-" + std::to_string(i % 100), std::to_string(i));
  client.produce("t", records);

  sluice::test::consume_options options;
  options.max_records = record_count;
  options.idle_timeout = 10s;
  const auto consumed = client.consume("t", options);
  ASSERT_EQ(consumed.size(), static_cast<size_t>(record_count));

  std::set<int> values;
  std::map<std::string, int32_t> partition_of_key;
  std::map<std::string, int> last_value_of_key;
  std::set<int32_t> partitions;
  for (const auto& r : consumed) {
    ASSERT_TRUE(r.key && r.value);
    const int value = std::stoi(*r.value);
    EXPECT_EQ(*r.key, "key-" + std::to_string(value % 100));
    values.insert(value);
    partitions.insert(r.partition);
    EXPECT_GE(r.partition, 0);
    EXPECT_LT(r.partition, 6);
    const auto [it, first] = partition_of_key.emplace(*r.key, r.partition);
    EXPECT_EQ(it->second, r.partition) << "key " << *r.key << " in two partitions";
    if (!first) {
      EXPECT_GT(value, last_value_of_key[*r.key]) << "records of key " << *r.key << " out of order";
    }
    last_value_of_key[*r.key] = value;
  }
  EXPECT_EQ(values.size(), static_cast<size_t>(record_count)); // each value exactly once
  EXPECT_GT(partitions.size(), 1u);

  broker->terminate();
  const auto status = broker->wait_for(10s);
  ASSERT_TRUE(status) << "sluice-broker ignored SIGTERM";
  EXPECT_TRUE(status->success()) << to_string(*status) << "; stderr: " << broker->stderr_text();
}

TEST(sluice_broker, pins_ports_and_reports_a_taken_port) {
  const int port = free_port_pair();
  auto [broker, bootstrap] = start_broker({"--port", std::to_string(port), "--brokers", "2"});
  EXPECT_EQ(bootstrap, "127.0.0.1:" + std::to_string(port) + ",127.0.0.1:" + std::to_string(port + 1));

  child_process second(sluice::test::built_binary("sluice-broker"), {"--port", std::to_string(port + 1)});
  const auto status = second.wait_for(10s);
  ASSERT_TRUE(status) << "a second broker on a taken port kept running";
  EXPECT_EQ(status->exited ? status->code : -1, 1) << to_string(*status);
  EXPECT_NE(second.stderr_text().find("cannot listen on 127.0.0.1:" + std::to_string(port + 1)), std::string::npos)
    << second.stderr_text();
  EXPECT_EQ(second.stdout_text(), "");
  EXPECT_TRUE(broker->running());
}

TEST(embedded_broker, producer_delivers_everything_after_the_broker_comes_back) {
  sluice::embedded_broker broker(1);
  broker.create_topic("faults", 3);
  sluice::test::kafka_test_producer producer(broker.bootstrap_servers(), {{"message.timeout.ms", "120000"}});
  auto send = [&](int from, int to) {
    for (int i = from; i < to; ++i)
      producer.send("faults", {"key-" + std::to_string(i % 10), std::to_string(i)});
  };

  send(0, 500);
  auto summary = producer.flush(30s);
  ASSERT_EQ(summary.delivered, 500u) << summary.first_error;

  broker.set_broker_down(1);
  send(500, 1000);
  std::this_thread::sleep_for(1500ms);
  summary = producer.summary();
  EXPECT_EQ(summary.delivered, 500u) << "records were acknowledged by a broker that is down";
  EXPECT_EQ(summary.failed, 0u) << summary.first_error;

  broker.set_broker_up(1);
  summary = producer.flush(60s);
  EXPECT_EQ(summary.delivered, 1000u);
  EXPECT_EQ(summary.failed, 0u) << summary.first_error;
  EXPECT_EQ(summary.pending, 0u);

  const kafka_test_client client(broker.bootstrap_servers());
  sluice::test::consume_options options;
  options.stop_at_end = true;
  const auto consumed = client.consume("faults", options);
  ASSERT_EQ(consumed.size(), 1000u); // idempotent producer: no duplicates from the retries
  std::map<std::string, int> last_value_of_key;
  std::set<int> values;
  for (const auto& r : consumed) {
    const int value = std::stoi(r.value.value());
    values.insert(value);
    const auto it = last_value_of_key.find(r.key.value());
    if (it != last_value_of_key.end()) {
      EXPECT_GT(value, it->second) << "records of key " << *r.key << " out of order";
    }
    last_value_of_key[*r.key] = value;
  }
  EXPECT_EQ(values.size(), 1000u);
}

TEST(sluice_gen, cpu_scenario_writes_the_seeded_records) {
  sluice::embedded_broker broker(1);
  const auto gen = sluice::test::built_binary("sluice-gen");
  child_process producer(gen, {"cpu", "-b", broker.bootstrap_servers(), "--seed", "7", "-n", "2000"});
  const auto status = producer.wait_for(60s);
  ASSERT_TRUE(status);
  ASSERT_TRUE(status->success()) << to_string(*status) << "; stderr: " << producer.stderr_text();
  EXPECT_NE(producer.stdout_text().find("delivered=2000 failed=0 topic=cpu_load_stats_real"), std::string::npos);

  child_process printer(gen, {"cpu", "--print", "--seed", "7", "-n", "2000"});
  ASSERT_TRUE(printer.wait_for(30s).value_or(sluice::test::exit_status{}).success());
  std::multiset<std::string> expected;
  std::istringstream lines(printer.stdout_text());
  for (std::string line; std::getline(lines, line);)
    expected.insert(line);

  sluice::test::consume_options options;
  options.stop_at_end = true;
  std::multiset<std::string> actual;
  for (const auto& r : kafka_test_client(broker.bootstrap_servers()).consume("cpu_load_stats_real", options)) {
    actual.insert(r.key.value() + "\t" + r.value.value());
    const auto occurred_at = r.value->substr(r.value->rfind(' ') + 1);
    EXPECT_EQ(std::to_string(r.timestamp_ms) + "}", occurred_at) << "record timestamp is not occurred_at";
  }
  EXPECT_EQ(actual.size(), 2000u);
  EXPECT_EQ(actual, expected);
}

} // namespace
