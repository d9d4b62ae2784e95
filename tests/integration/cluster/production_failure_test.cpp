// A record the producer cannot deliver is no bad input record: it fails the task
// (default.production.exception.handler=log_and_fail) or is skipped (log_and_continue), and never
// reaches the dead-letter topic. Both ways a producer fails are covered: the broker refusing a
// produce request (an error injected on the broker that leads the output topic, so the test's own
// producer on the input's broker is unaffected), and librdkafka refusing a record at once
// (larger than the producer's message.max.bytes).
#include <sluice/kafka_streams.hpp>
#include "embedded_broker.hpp"
#include "kafka_test_client.hpp"
#include "test_helpers.hpp"
#include <sluice/topology/stream.hpp>

#include <gtest/gtest.h>

#include <set>

using namespace sluice;
using namespace std::chrono_literals;
using sluice::test::consume_options;
using sluice::test::kafka_test_client;
using sluice::test::unique_name;

namespace {

constexpr int16_t produce_api = 0; // ApiKey of Produce
constexpr int input_broker = 1, output_broker = 2;

struct production_failure : ::testing::Test {
  embedded_broker broker{2};
  kafka_test_client client{broker.bootstrap_servers()};
  std::string in = unique_name("in"), out = unique_name("out"), app = unique_name("app");
  sluice::test::temp_dir state{"sluice-production-failure"};

  void SetUp() override {
    broker.create_topic(in, 2);
    broker.create_topic(out, 2);
    for (int p = 0; p < 2; ++p) {
      broker.set_partition_leader(in, p, input_broker);
      broker.set_partition_leader(out, p, output_broker);
    }
  }

  streams_config config() const {
    auto c = sluice::test::app_config(app, broker.bootstrap_servers(), state.path);
    c.commit_interval_ms = 300;
    c.set("kafka.session.timeout.ms", "6000");
    c.set("kafka.heartbeat.interval.ms", "500");
    return c;
  }

  /// in -> out unchanged, except that a value "big" becomes 2000 bytes.
  topology copy_topology() const {
    topology_builder b;
    b.stream<serdes::string, serdes::string>(in)
      .map_values([](const std::string& v) { return v == "big" ? std::string(2000, 'x') : v; })
      .to(out);
    return b.build();
  }

  void produce(const std::string& prefix, int count) {
    std::vector<std::pair<std::string, std::string>> records;
    for (int i = 0; i < count; ++i)
      records.emplace_back("k" + std::to_string(i), prefix + std::to_string(i));
    client.produce(in, records);
  }

  std::set<std::string> values_of(const std::string& topic) const {
    consume_options o;
    o.stop_at_end = true;
    o.idle_timeout = 2s;
    std::set<std::string> values;
    for (const auto& r : client.consume(topic, o))
      values.insert(r.value.value_or("(null)"));
    return values;
  }

  size_t dead_letters() const {
    consume_options o;
    o.stop_at_end = true;
    o.idle_timeout = 2s;
    return client.consume(app + "-dlq", o).size();
  }
};

} // namespace

TEST_F(production_failure, a_refused_output_fails_the_task_and_is_not_dead_lettered) {
  produce("a", 50);
  broker.push_broker_request_errors(output_broker, produce_api, {RD_KAFKA_RESP_ERR_INVALID_RECORD});
  kafka_streams streams{copy_topology(), config()};
  streams.start();
  ASSERT_TRUE(sluice::test::wait_until([&] { return streams.failed(); }, 60s))
    << "processed " << streams.records_processed();
  EXPECT_NE(streams.failure().find("could not be delivered"), std::string::npos) << streams.failure();
  EXPECT_NE(streams.failure().find(rd_kafka_err2str(RD_KAFKA_RESP_ERR_INVALID_RECORD)), std::string::npos)
    << streams.failure();
  streams.close();
  EXPECT_EQ(dead_letters(), 0u);
}

TEST_F(production_failure, log_and_continue_skips_refused_outputs_and_goes_on) {
  auto c = config();
  c.set("default.production.exception.handler", "log_and_continue");
  kafka_streams streams{copy_topology(), c};
  streams.start();
  auto has_all = [&](const std::string& prefix) {
    const auto got = values_of(out);
    for (int i = 0; i < 50; ++i)
      if (!got.count(prefix + std::to_string(i)))
        return false;
    return true;
  };
  produce("a", 50);
  ASSERT_TRUE(sluice::test::wait_until([&] { return has_all("a"); }, 60s)) << streams.failure();

  broker.push_broker_request_errors(output_broker, produce_api, {RD_KAFKA_RESP_ERR_INVALID_RECORD});
  produce("b", 50);
  ASSERT_TRUE(sluice::test::wait_until([&] { return streams.records_processed() >= 100; }, 60s)) << streams.failure();
  produce("c", 50); // delivered after the skipped ones
  ASSERT_TRUE(sluice::test::wait_until([&] { return has_all("c"); }, 60s)) << streams.failure();
  EXPECT_FALSE(streams.failed()) << streams.failure();

  int b_delivered = 0;
  for (const auto& v : values_of(out))
    b_delivered += v.starts_with("b");
  EXPECT_LT(b_delivered, 50); // the refused produce request's records were skipped, not retried
  streams.close();
  EXPECT_EQ(dead_letters(), 0u);
}

TEST_F(production_failure, a_record_the_producer_refuses_at_once_fails_the_task_not_as_a_bad_record) {
  client.produce(in,
                 std::vector<std::pair<std::string, std::string>>{{"k1", "small-1"}, {"k2", "big"}, {"k3", "small-2"}});
  auto c = config();
  c.set("kafka.producer.message.max.bytes", "1000"); // "big" becomes 2000 bytes
  kafka_streams streams{copy_topology(), c};
  streams.start();
  ASSERT_TRUE(sluice::test::wait_until([&] { return streams.failed(); }, 60s))
    << "processed " << streams.records_processed();
  EXPECT_NE(streams.failure().find("cannot produce to " + out), std::string::npos) << streams.failure();
  streams.close();
  EXPECT_EQ(dead_letters(), 0u); // before production failures had their own type, it landed there
}

TEST_F(production_failure, log_and_continue_skips_a_record_the_producer_refuses_at_once) {
  // One key: one partition, in order.
  client.produce(in,
                 std::vector<std::pair<std::string, std::string>>{{"k1", "small-1"}, {"k1", "big"}, {"k1", "small-2"}});
  auto c = config();
  c.set("kafka.producer.message.max.bytes", "1000");
  c.set("default.production.exception.handler", "log_and_continue");
  kafka_streams streams{copy_topology(), c};
  streams.start();
  ASSERT_TRUE(sluice::test::wait_until([&] { return values_of(out).count("small-2") > 0; }, 60s)) << streams.failure();
  EXPECT_FALSE(streams.failed()) << streams.failure();
  EXPECT_EQ(values_of(out), (std::set<std::string>{"small-1", "small-2"}));
  streams.close();
  EXPECT_EQ(dead_letters(), 0u);
}

TEST_F(production_failure, a_processing_failure_under_log_and_fail_stops_the_instance_and_says_why) {
  client.produce(in, std::vector<std::pair<std::string, std::string>>{{"k1", "x"}});
  auto c = config();
  c.set("default.processing.exception.handler", "log_and_fail");
  topology_builder b;
  b.stream<serdes::string, serdes::string>(in)
    .map_values([](const std::string& v) -> std::string { throw std::runtime_error("cannot map " + v); })
    .to(out);
  kafka_streams streams{b.build(), c};
  streams.start();
  ASSERT_TRUE(sluice::test::wait_until([&] { return streams.failed(); }, 60s));
  EXPECT_NE(streams.failure().find("cannot map x"), std::string::npos) << streams.failure();
}
