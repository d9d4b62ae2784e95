// Flow control by bytes: a partition over its share of input.buffer.max.bytes is held (its records
// wait in librdkafka) and read again when half of it is done. Held partitions lose nothing and
// keep their order, fetching restarts without stalling when the broker is 5 ms away, and a
// partition whose task is stuck does not hold the others back.
#include <sluice/kafka_streams.hpp>
#include "embedded_broker.hpp"
#include "kafka_test_client.hpp"
#include "test_helpers.hpp"
#include <sluice/topology/stream.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>

using namespace sluice;
using namespace std::chrono_literals;
using sluice::test::consume_options;
using sluice::test::kafka_test_client;
using sluice::test::outgoing_record;
using sluice::test::unique_name;

namespace {

constexpr int partitions = 4;

/// "p<p>-0" .. "p<p>-<n-1>": what partition p was given.
std::vector<std::string> sequence(int p, int n) {
  std::vector<std::string> v;
  for (int i = 0; i < n; ++i)
    v.push_back("p" + std::to_string(p) + "-" + std::to_string(i));
  return v;
}

struct flow_control : ::testing::Test {
  embedded_broker broker{1};
  kafka_test_client client{broker.bootstrap_servers()};
  std::string in = unique_name("in"), out = unique_name("out"), app = unique_name("app");
  sluice::test::temp_dir state{"sluice-flow-control"};

  void SetUp() override {
    broker.create_topic(in, partitions);
    broker.create_topic(out, partitions);
  }

  streams_config config() const {
    auto c = sluice::test::app_config(app, broker.bootstrap_servers(), state.path);
    c.commit_interval_ms = 500;
    c.set("input.buffer.max.bytes", "1"); // every partition gets the smallest share (64 KiB)
    c.set("num.stream.threads", "4");
    return c;
  }

  /// `per_partition` records "p<partition>-<sequence>" in each input partition, keyed by partition.
  void produce_backlog(int per_partition) {
    std::vector<outgoing_record> records;
    for (int i = 0; i < per_partition; ++i)
      for (int p = 0; p < partitions; ++p)
        records.push_back({"p" + std::to_string(p), "p" + std::to_string(p) + "-" + std::to_string(i), {}, p});
    client.produce(in, records);
  }

  /// The output's values by key, in offset order.
  std::map<std::string, std::vector<std::string>> output() const {
    consume_options o;
    o.stop_at_end = true;
    o.idle_timeout = 2s;
    std::map<std::string, std::vector<std::string>> by_key;
    for (const auto& r : client.consume(out, o))
      by_key[r.key.value_or("")].push_back(r.value.value_or(""));
    return by_key;
  }

  /// Waits until `streams` processed the whole backlog, closes it, and checks that the output
  /// holds every record of every partition once, in order.
  void expect_every_record_in_order(kafka_streams& streams, int per_partition) const {
    ASSERT_TRUE(
      sluice::test::wait_until([&] { return streams.records_processed() >= partitions * per_partition; }, 120s))
      << "processed " << streams.records_processed() << " " << streams.failure();
    streams.close();
    const auto got = output();
    for (int p = 0; p < partitions; ++p)
      EXPECT_EQ(got.at("p" + std::to_string(p)), sequence(p, per_partition)) << "partition " << p;
  }
};

} // namespace

TEST_F(flow_control, a_backlog_through_the_smallest_buffer_arrives_whole_and_in_order_5ms_away) {
  constexpr int per_partition = 20000; // ~300 shares of 64 KiB per partition: held and read again often
  produce_backlog(per_partition);
  broker.set_rtt(1, 5ms);
  topology_builder b;
  b.stream<serdes::string, serdes::string>(in).to(out);
  kafka_streams streams{b.build(), config()};
  streams.start();
  expect_every_record_in_order(streams, per_partition);
}

TEST_F(flow_control, a_stuck_partition_does_not_hold_back_the_others_and_loses_nothing) {
  constexpr int per_partition = 5000;
  produce_backlog(per_partition);
  std::mutex m;
  std::condition_variable cv;
  bool released = false;
  topology_builder b;
  b.stream<serdes::string, serdes::string>(in)
    .peek([&](const std::string& key, const std::string&) {
      if (key != "p0")
        return;
      std::unique_lock lock{m}; // partition 0's task is stuck until the test lets it go
      cv.wait_for(lock, 120s, [&] { return released; });
    })
    .to(out);
  kafka_streams streams{b.build(), config()};
  streams.start();
  // Everything of partitions 1-3 gets through while partition 0 holds its share.
  ASSERT_TRUE(sluice::test::wait_until(
    [&] {
      const auto got = output();
      for (int p = 1; p < partitions; ++p)
        if (auto it = got.find("p" + std::to_string(p)); it == got.end() || it->second.size() < per_partition)
          return false;
      return true;
    },
    120s))
    << "processed " << streams.records_processed() << " " << streams.failure();
  EXPECT_EQ(output().count("p0"), 0u);
  {
    std::lock_guard lock{m};
    released = true;
  }
  cv.notify_all();
  expect_every_record_in_order(streams, per_partition);
}
